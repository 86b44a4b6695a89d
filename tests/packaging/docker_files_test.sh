#!/usr/bin/env bash
# docker_files_test: what can be checked of docker/ without a Docker engine.
# - every COPY source of docker/Dockerfile exists in the build context (the repository root);
# - its RUN steps call the scripts CI runs (scripts/bootstrap, scripts/package), which exist;
# - both stages are debian:bookworm; the runtime runs as a non-root user, exposes 8443, has a
#   HEALTHCHECK on /healthz and a volume for /var/lib/caliper-sessiond;
# - docker/caliper-sessiond.toml passes check-config once its secret files exist;
# - docker/compose.yaml is valid for docker-compose (skipped with a message when neither
#   `docker compose` nor docker-compose is installed).
#   docker_files_test.sh SOURCE_DIR BINARY
set -euo pipefail
src=$1
binary=$2
dockerfile=$src/docker/Dockerfile
compose=$src/docker/compose.yaml
status=0
fail() { echo "FAIL: $*"; status=1; }
ok() { echo "ok: $*"; }

# Instructions with their continuation lines joined, comments dropped.
instructions=$(sed -e '/^[[:space:]]*#/d' "$dockerfile" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta')

while read -r line; do
  [[ $line == COPY* ]] || continue
  [[ $line == *--from=* ]] && continue
  read -ra words <<<"$line"
  args=()
  for w in "${words[@]:1}"; do [[ $w == --* ]] || args+=("$w"); done
  for s in "${args[@]:0:${#args[@]}-1}"; do
    if [[ $s == . || -e $src/$s ]]; then ok "COPY source $s exists"; else fail "COPY source $s does not exist"; fi
  done
done <<<"$instructions"

runs=$(grep '^RUN' <<<"$instructions" || true)
for script in $(grep -o 'scripts/[a-z_-]*' <<<"$runs" | sort -u); do
  [[ -x $src/$script ]] && ok "RUN uses $script, which exists" || fail "RUN uses $script, which is not an executable in the repository"
done
grep -q 'scripts/bootstrap' <<<"$runs" && ok "the build stage installs packages with scripts/bootstrap" ||
  fail "the build stage does not run scripts/bootstrap"
grep -q 'scripts/package' <<<"$runs" && ok "the build stage builds with scripts/package" ||
  fail "the build stage does not run scripts/package"

froms=$(grep '^FROM' <<<"$instructions")
[[ $(wc -l <<<"$froms") -ge 2 ]] && ok "multi-stage" || fail "not a multi-stage build"
if grep -qv '^FROM debian:bookworm' <<<"$froms"; then fail "a stage is not debian:bookworm: $froms"; else ok "every stage is debian:bookworm"; fi
runtime=$(awk '/^FROM/ {n++} n >= 2' <<<"$instructions")
user=$(grep '^USER' <<<"$runtime" | tail -n 1 | awk '{print $2}')
[[ -n $user && $user != root && $user != 0 ]] && ok "runs as $user" || fail "the runtime stage runs as root"
grep -q '^EXPOSE 8443' <<<"$runtime" && ok "EXPOSE 8443" || fail "no EXPOSE 8443"
grep -q '^HEALTHCHECK.*curl.*https://localhost:8443/healthz' <<<"$runtime" && ok "HEALTHCHECK curl /healthz" ||
  fail "no HEALTHCHECK with curl on https://localhost:8443/healthz"
grep -q '^VOLUME.*/var/lib/caliper-sessiond' <<<"$runtime" && ok "VOLUME /var/lib/caliper-sessiond" ||
  fail "no VOLUME /var/lib/caliper-sessiond"

# The image's configuration is a valid configuration once the compose secrets exist.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
  -keyout "$work/tls_key" -out "$work/tls_cert" >/dev/null 2>&1
printf 'docker-files-test-secret-0123456789\n' >"$work/learn_prod"
sed "s#/run/secrets/#$work/#" "$src/docker/caliper-sessiond.toml" >"$work/config.toml"
if out=$(env -i PATH=/usr/bin:/bin "$binary" --config "$work/config.toml" check-config 2>&1); then
  ok "docker/caliper-sessiond.toml passes check-config"
else
  fail "docker/caliper-sessiond.toml: $out"
fi

compose_cmd=()
if command -v docker >/dev/null && docker compose version >/dev/null 2>&1; then compose_cmd=(docker compose)
elif command -v docker-compose >/dev/null; then compose_cmd=(docker-compose)
fi
if [[ ${#compose_cmd[@]} -eq 0 ]]; then
  echo "skipped: compose.yaml not validated: neither 'docker compose' nor docker-compose is installed"
elif out=$(CALIPER_DB_PASSWORD=test "${compose_cmd[@]}" -f "$compose" config 2>&1); then
  ok "${compose_cmd[*]} config accepts docker/compose.yaml"
  for want in 'pg_isready' 'https://localhost:8443/healthz' 'journal:/var/lib/caliper-sessiond' 'learn_prod' 'CALIPER_DATABASE_URL'; do
    grep -q -- "$want" <<<"$out" || fail "the resolved compose.yaml lacks $want"
  done
else
  fail "${compose_cmd[*]} config: $out"
fi
exit $status
