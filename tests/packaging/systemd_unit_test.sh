#!/usr/bin/env bash
# systemd_unit_test: `systemd-analyze verify` accepts config/systemd/caliper-sessiond.service
# without a single warning, and `systemd-analyze security --offline` rates it at most 2.0
# ("OK"). The unit names /usr/bin/caliper-sessiond, which verify requires to exist, so a copy
# with the path of the built binary is verified.
#   systemd_unit_test.sh UNIT BINARY
# Exit 77 (skipped) only when systemd-analyze is missing or cannot run here at all.
set -euo pipefail
unit=$1
binary=$(realpath "$2")

if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze is not installed (Debian package systemd; scripts/bootstrap installs it)"
  exit 77
fi
if ! systemd-analyze --version >/dev/null 2>&1; then
  echo "SKIP: systemd-analyze cannot run in this environment"
  exit 77
fi
[[ -x "$binary" ]] || { echo "FAIL: $binary is not an executable"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
copy=$work/caliper-sessiond.service
sed "s#/usr/bin/caliper-sessiond#$binary#g" "$unit" >"$copy"
grep -q "$binary" "$copy" || { echo "FAIL: the unit does not run /usr/bin/caliper-sessiond"; exit 1; }

status=0
# verify exits 0 on unknown keys and unparsable values; they are warnings on its output.
if ! systemd-analyze verify "$copy" >"$work/verify.out" 2>&1; then
  echo "FAIL: systemd-analyze verify exited non-zero:"; cat "$work/verify.out"; status=1
elif [[ -s "$work/verify.out" ]]; then
  echo "FAIL: systemd-analyze verify printed warnings:"; cat "$work/verify.out"; status=1
else
  echo "ok: systemd-analyze verify"
fi

# The settings the operations contract needs, checked by name so that a deletion is noticed.
for setting in Type=notify WatchdogSec= ExecReload= ExecStartPre= User= ProtectSystem=strict \
               StateDirectory=caliper-sessiond NoNewPrivileges=yes LoadCredential= \
               'CapabilityBoundingSet=$' Restart=on-failure TimeoutStopSec=; do
  if ! grep -q "^$setting" "$unit"; then echo "FAIL: the unit has no $setting"; status=1; fi
done

if systemd-analyze security --offline=true --threshold=20 "$copy" >"$work/security.out" 2>&1; then
  echo "ok: $(grep 'Overall exposure' "$work/security.out" | sed 's/^→ //')"
else
  echo "FAIL: systemd-analyze security rates the unit above 2.0:"; tail -n 40 "$work/security.out"; status=1
fi
exit $status
