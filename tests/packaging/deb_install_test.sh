#!/usr/bin/env bash
# deb_install_e2etest: builds the release .deb (scripts/package, reusing build/release), installs
# it with dpkg and checks what an operator relies on: the installed binary runs, check-config
# names the credential and TLS files the shipped example still lacks and passes once they exist,
# the conffile is 0640 root:caliper-sessiond, the system user exists, the unit verifies at its
# installed path; then purges the package.
#   deb_install_test.sh SOURCE_DIR
#   CALIPER_TEST_DEB=path.deb   test this package instead of building one
# Exit 77 (skipped) when not root or when a caliper-sessiond package is already installed.
set -euo pipefail
src=$1
pkg=caliper-sessiond
conf=/etc/caliper-sessiond/caliper-sessiond.toml
bin=/usr/bin/caliper-sessiond

if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: installing a .deb needs root (CI runs as root)"; exit 77
fi
if [[ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)" != "" &&
      "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" != "not-installed" ]]; then
  echo "SKIP: package $pkg is already on this machine; this test would purge it"; exit 77
fi

# One run at a time per tree: runs share build/release and the machine's dpkg database.
mkdir -p "$src/build"
exec 9>"$src/build/.deb_install_test.lock"
if ! flock -w 1500 9; then echo "FAIL: another deb_install_e2etest holds $src/build/.deb_install_test.lock"; exit 1; fi

status=0
fail() { echo "FAIL: $*"; status=1; }
ok() { echo "ok: $*"; }

deb=${CALIPER_TEST_DEB:-}
if [[ -z "$deb" ]]; then
  echo "building the package (scripts/package)..."
  deb=$(CALIPER_JOBS=${CALIPER_JOBS:-2} "$src/scripts/package" 2>"${TMPDIR:-/tmp}/deb_install_test.build.log") || {
    echo "FAIL: scripts/package failed:"; tail -n 40 "${TMPDIR:-/tmp}/deb_install_test.build.log"; exit 1; }
fi
echo "package: $deb"

had_user=no
getent passwd caliper-sessiond >/dev/null && had_user=yes
work=$(mktemp -d)
cleanup() {
  dpkg --purge "$pkg" >"$work/purge.out" 2>&1 || { echo "purge failed:"; cat "$work/purge.out"; }
  if [[ $had_user == no ]]; then
    deluser --quiet --system caliper-sessiond >/dev/null 2>&1 || true
    delgroup --quiet --system caliper-sessiond >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

if ! dpkg -i "$deb" >"$work/install.out" 2>&1; then
  echo "FAIL: dpkg -i:"; cat "$work/install.out"; exit 1
fi
ok "dpkg -i $(basename "$deb")"

# A clean environment: no CALIPER_* from the caller.
run() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }

out=$(run "$bin" version 2>&1) && [[ $out == "caliper-sessiond "* ]] && ok "$out" || fail "version: $out"

# The shipped example needs files an operator provides: check-config names each key.
if out=$(run "$bin" --config "$conf" check-config 2>&1); then
  fail "check-config passed on the shipped example without certificate, key or API key: $out"
else
  missing=()
  for key in server.tls_cert server.tls_key 'api_keys\[0\].secret_file'; do
    grep -q "^$key: " <<<"$out" || missing+=("$key")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then ok "check-config names the missing files:"; sed 's/^/    /' <<<"$out"
  else fail "check-config output does not name ${missing[*]}: $out"; fi
fi

# The service user reads the conffile (0640, group caliper-sessiond): only the files are missing.
if out=$(runuser -u caliper-sessiond -- env -i PATH=/usr/bin:/bin "$bin" --config "$conf" check-config 2>&1); then
  fail "check-config as caliper-sessiond passed unexpectedly: $out"
elif grep -q '^--config' <<<"$out"; then
  fail "user caliper-sessiond cannot read $conf: $out"
else
  ok "user caliper-sessiond reads $conf"
fi

# With a certificate, a key and a secret it passes: the example with secret_file pointing at a
# temporary file, the key given as the unit gives it (CALIPER_SERVER_TLS_KEY).
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
  -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1
printf 'deb-install-test-secret-0123456789\n' >"$work/learn-prod"
sed "s#/run/credentials/caliper-sessiond.service/learn-prod#$work/learn-prod#" "$conf" >"$work/config.toml"
if out=$(run CALIPER_SERVER_TLS_CERT="$work/cert.pem" CALIPER_SERVER_TLS_KEY="$work/key.pem" \
         "$bin" --config "$work/config.toml" check-config 2>&1); then
  ok "check-config passes with certificate, key and secret: $out"
else
  fail "check-config with every file present: $out"
fi

mode=$(stat -c '%a %U %G' "$conf")
[[ $mode == "640 root caliper-sessiond" ]] && ok "$conf is $mode" || fail "$conf is $mode, want 640 root caliper-sessiond"
dpkg-query -W -f='${Conffiles}\n' "$pkg" | grep -q " $conf " && ok "$conf is a conffile" || fail "$conf is not a conffile"

if entry=$(getent passwd caliper-sessiond); then
  uid=$(cut -d: -f3 <<<"$entry")
  shell=$(cut -d: -f7 <<<"$entry")
  if ((uid < 1000)) && [[ $shell == */nologin || $shell == */false ]]; then ok "system user: $entry"
  else fail "caliper-sessiond is not a system user: $entry"; fi
else
  fail "no user caliper-sessiond"
fi
getent group caliper-sessiond >/dev/null && ok "group caliper-sessiond" || fail "no group caliper-sessiond"

unit=/lib/systemd/system/caliper-sessiond.service
[[ -f $unit ]] && ok "$unit" || fail "no $unit"
ls /usr/share/caliper-sessiond/sql/*.sql >/dev/null 2>&1 && ok "migrations in /usr/share/caliper-sessiond/sql" ||
  fail "no migrations in /usr/share/caliper-sessiond/sql"
[[ $(stat -c '%a' /etc/caliper-sessiond/credentials) == 700 ]] && ok "/etc/caliper-sessiond/credentials is 0700" ||
  fail "/etc/caliper-sessiond/credentials is not 0700"
if command -v systemd-analyze >/dev/null; then
  out=$(systemd-analyze verify "$unit" 2>&1) && [[ -z $out ]] && ok "systemd-analyze verify $unit" ||
    fail "systemd-analyze verify $unit: $out"
fi

dpkg --purge "$pkg" >"$work/purge.out" 2>&1 || fail "dpkg --purge: $(cat "$work/purge.out")"
[[ ! -e $bin && ! -e $conf && ! -e $unit ]] && ok "purged" || fail "files left after purge"

if [[ $status -eq 0 ]]; then echo "deb_install_e2etest: passed"; else echo "deb_install_e2etest: FAILED"; fi
exit $status
