#!/usr/bin/env python3
"""The side-by-side table of bench/run from its results.jsonl (one JSON object per run).

usage: bench/report.py results.jsonl
Each figure is the median of the runs of its cell, taken figure by figure.
"""
import json
import statistics
import sys


def med(rows, key):
    values = [r[key] for r in rows if key in r]
    return statistics.median(values) if values else None


def fmt(v, digits=0):
    if v is None:
        return "–"
    return f"{v:,.{digits}f}"


def main(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    machine = next((r for r in rows if r["kind"] == "machine"), {})
    end = next((r for r in rows if r["kind"] == "machine_end"), {})
    cells = {}
    for r in rows:
        if r["kind"] in ("machine", "machine_end"):
            continue
        cells.setdefault((r["kind"], r.get("size", 0)), []).append(r)

    copy = med(cells.get(("copy", 0), []), "events_per_s")
    # COPY of the same rows into a plain table: no partitions, no caliper.sessions trigger.
    raw = med(cells.get(("rawcopy", 0), []), "events_per_s")
    # CPU per row of the COPY ceiling over (server + PostgreSQL) CPU per event: the throughput
    # ratio the two would have on a machine of their own with both CPU-bound, steadier than
    # the events/s ratio on a shared machine.
    copy_cpu = med(cells.get(("copy", 0), []), "pg_cpu_ns_per_event")
    sizes = sorted({s for (k, s) in cells if k in ("nginx", "journal", "database")})
    print(f"Machine: {machine.get('nproc')} cores, {machine.get('cpu')}; load average "
          f"{machine.get('load_start')} at the start, {end.get('load_end', '?')} at the end; "
          f"{machine.get('date')}, commit {machine.get('commit')}; {machine.get('connections')} connections, "
          f"{machine.get('seconds')} s per run, medians of {machine.get('runs')} runs.\n")
    print("| what | events/envelope | events/s | requests/s | p50 ms | p99 ms | p99.9 ms "
          "| server CPU µs/event | PostgreSQL CPU µs/event | peak RSS MB | exactly once | % of COPY | % of raw COPY "
          "| % of nginx | CPU: COPY / this |")
    print("|" + " --- |" * 15)

    def line(name, kind, size):
        rs = cells.get((kind, size))
        if not rs:
            return None
        ev = med(rs, "events_per_s")
        sustained = ev
        if kind == "journal":  # what reached PostgreSQL: acknowledged events over load + drain time
            sustained = statistics.median(
                r["events"] / (r["seconds"] + r.get("drain_ms", 0) / 1000) for r in rs)
        nginx = med(cells.get(("nginx", size), []), "events_per_s")
        srv = med(rs, "server_cpu_ns_per_event")
        pg = med(rs, "pg_cpu_ns_per_event")
        rss = med(rs, "rss_peak_kb")
        check = "–"
        if any("missing" in r for r in rs):
            bad = sum(r.get("missing", 0) + r.get("extra", 0) for r in rs)
            check = "yes" if bad == 0 else f"NO ({bad} ids)"
        evs = fmt(ev)
        if kind == "journal":
            evs += f" ({fmt(sustained)} into PostgreSQL)"
        print(f"| {name} | {size if size else 'any'} | {evs} | {fmt(med(rs, 'requests_per_s'))} "
              f"| {fmt(med(rs, 'p50_ms'), 2)} | {fmt(med(rs, 'p99_ms'), 2)} | {fmt(med(rs, 'p999_ms'), 2)} "
              f"| {fmt(srv / 1000 if srv is not None else None, 1)} | {fmt(pg / 1000 if pg is not None else None, 1)} "
              f"| {fmt(rss / 1024 if rss else None, 1)} | {check} "
              f"| {fmt(100 * sustained / copy, 0) + '%' if copy and kind in ('journal', 'database') else '–'} "
              f"| {fmt(100 * sustained / raw, 0) + '%' if raw and kind in ('journal', 'database') else '–'} "
              f"| {fmt(100 * ev / nginx, 0) + '%' if nginx and kind in ('journal', 'database') else '–'} "
              f"| {fmt(100 * copy_cpu / ((srv or 0) + (pg or 0)), 0) + '%' if copy_cpu and kind in ('journal', 'database') and (srv or pg) else '–'} |")
        return sustained

    line("COPY ceiling (requests = COPY of 1,000 rows)", "copy", 0)
    line("raw COPY ceiling (plain table: no partitions, no sessions trigger)", "rawcopy", 0)
    results = {}
    for size in sizes:
        line("nginx ceiling (TLS, return 200)", "nginx", size)
        for mode in ("journal", "database"):
            results[(mode, size)] = line(f"caliper-sessiond, {mode}", mode, size)

    print("\nFixed rate, half the median maximum (target: p99 <= 20 ms):\n")
    print("| what | events/envelope | requests/s offered | requests/s done | p50 ms | p99 ms | p99.9 ms | exactly once | p99 target |")
    print("|" + " --- |" * 9)
    for size in sizes:
        for mode in ("journal", "database"):
            for r in cells.get((f"{mode}-rate", size), []):
                ok = r.get("missing", 0) + r.get("extra", 0) == 0
                print(f"| caliper-sessiond, {mode} | {size} | {fmt(r.get('rate_offered'), 0)} | {fmt(r['requests_per_s'], 0)} "
                      f"| {fmt(r['p50_ms'], 2)} | {fmt(r['p99_ms'], 2)} | {fmt(r['p999_ms'], 2)} | {'yes' if ok else 'NO'} "
                      f"| {'met' if r['p99_ms'] <= 20 else 'missed'} |")

    print("\nTargets:\n")
    for mode in ("journal", "database"):
        v = results.get((mode, 10))
        if v and copy:
            pct = 100 * v / copy
            print(f"- 10-event envelopes, {mode}: {pct:.0f}% of the COPY ceiling (target >= 70%): "
                  f"{'met' if pct >= 70 else 'missed'}")
        if v and raw:
            pct = 100 * v / raw
            print(f"- 10-event envelopes, {mode}: {pct:.0f}% of the raw COPY ceiling (issue 12 target >= 70%): "
                  f"{'met' if pct >= 70 else 'missed'}")
        v = results.get((mode, 1))
        nginx1 = med(cells.get(("nginx", 1), []), "events_per_s")
        low = min(x for x in (copy, nginx1) if x) if (copy or nginx1) else None
        if v and low:
            pct = 100 * v / low
            print(f"- 1-event envelopes, {mode}: {pct:.0f}% of the lower ceiling ({fmt(low)} events/s) "
                  f"(target >= 50%): {'met' if pct >= 50 else 'missed'}")
    for r in cells.get(("memory", 10), []):
        mb = r["rss_max_kb"] / 1024
        print(f"- memory, {r.get('idle_open', 0)} idle keep-alive connections + {r['connections']} busy at "
              f"{r['rate']} requests/s: RSS max {mb:.1f} MB, VmHWM {r['rss_peak_kb'] / 1024:.1f} MB "
              f"(target <= 60 MB): {'met' if mb <= 60 else 'missed'}; exactly once: "
              f"{'yes' if r['missing'] + r['extra'] == 0 else 'NO'}")
    for r in cells.get(("soak", 10), []):
        a, b, c = r["rss_10pct_kb"] / 1024, r["rss_50pct_kb"] / 1024, r["rss_end_kb"] / 1024
        flat = c <= b * 1.05 + 1  # the first half is the warm-up (allocator arenas, journal segments)
        # A load that stopped early (every connection lost) is no soak, whatever the RSS did.
        wanted = r.get("soak_seconds", r["seconds"])
        whole = r["seconds"] >= wanted * 0.95
        verdict = ("met" if flat else "missed") if whole else f"NOT MEASURED: the load stopped after {r['seconds']:.0f} of {wanted} s"
        print(f"- soak {r['seconds']:.0f} s at {r['rate']} requests/s: RSS {a:.1f} MB at 10%, {b:.1f} MB at 50%, "
              f"{c:.1f} MB at the end (flat = the end within 5% + 1 MB of the 50% point): {verdict}; "
              f"exactly once: {'yes' if r['missing'] + r['extra'] == 0 else 'NO'}; "
              f"connections closed by the server and opened again: {r.get('server_closes', 0)}")


if __name__ == "__main__":
    main(sys.argv[1])
