#!/usr/bin/env python3
"""Writes N Learn-shaped SessionEvents for bench/import and the import tests, shaped like the
rows caliper-copy-ceiling copies (same site IRIs, 20,000 users, actions at random).

  bench/import_events.py N [--layout lines|envelopes|array] [--per-envelope K] [--seed S]

lines: JSON Lines of bare events (the importer wraps them); envelopes: JSON Lines of envelopes
of K events; array: one JSON array of bare events. Output on stdout; the same seed gives the
same event ids (a second import of the output adds 0 rows)."""
import argparse
import json
import random
import sys
import uuid

SITE = "https://caliper-mapping.cloudbb.blackboard.com/v1/sites/0f3a6c2e-5b1d-4e8a-9c7f-2d4b6a8e1c35"
ACTIONS = ("LoggedIn", "LoggedOut", "TimedOut")


def event(rng):
    user = rng.randrange(20000)
    action = ACTIONS[rng.randrange(3)]
    user_iri = f"{SITE}/users/u{user}"
    session = {"id": f"{SITE}/sessions/S{user}", "type": "LtiSession", "name": f"S{user}"}
    e = {
        "@context": "http://purl.imsglobal.org/ctx/caliper/v1p1",
        "id": f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}",
        "type": "SessionEvent",
        "action": action,
        "eventTime": f"2026-11-27T09:00:00.{rng.randrange(1000):03d}Z",
        "edApp": f"{SITE}/applications/learn",
    }
    if action == "TimedOut":
        e["actor"] = {"id": f"{SITE}/applications/learn", "type": "SoftwareApplication"}
        e["object"] = {**session, "user": {"id": user_iri, "type": "Person"}}
    else:
        e["actor"] = {"id": user_iri, "type": "Person",
                      "extensions": {"bb:user.id": f"_{user}_1", "bb:user.externalId": f"s{user}"}}
        e["object"] = {"id": f"{SITE}/applications/learn", "type": "SoftwareApplication",
                       "extensions": {"bb:request.headers.agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
                                      "bb:request.headers.ipAddress": f"198.51.100.{rng.randrange(250)}"}}
        e["federatedSession"] = session
    return e


def main():
    p = argparse.ArgumentParser()
    p.add_argument("n", type=int)
    p.add_argument("--layout", choices=("lines", "envelopes", "array"), default="lines")
    p.add_argument("--per-envelope", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    rng = random.Random(a.seed)
    out = sys.stdout
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    if a.layout == "envelopes":
        for start in range(0, a.n, a.per_envelope):
            data = [event(rng) for _ in range(min(a.per_envelope, a.n - start))]
            out.write(dumps({"sensor": SITE, "sendTime": "2026-11-27T09:00:01.000Z",
                             "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p1", "data": data}) + "\n")
        return
    if a.layout == "array":
        out.write("[\n")
    for i in range(a.n):
        line = dumps(event(rng))
        if a.layout == "array":
            out.write(line + (",\n" if i + 1 < a.n else "\n"))
        else:
            out.write(line + "\n")
    if a.layout == "array":
        out.write("]\n")


if __name__ == "__main__":
    main()
