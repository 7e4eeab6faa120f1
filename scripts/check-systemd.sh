#!/usr/bin/env bash
# Checks the systemd unit offline (no systemd as PID 1 needed), for CI:
#  1. `systemd-analyze verify` reports nothing at all. The agent binary is not installed on a
#     build machine, so a temporary copy of the unit whose ExecStart= names an existing
#     executable is verified; every other message fails the check.
#  2. `systemd-analyze security --offline=true` exposure is at most MAX_EXPOSURE; the table is
#     printed and written to dist/systemd-security.txt.
#  3. TimeoutStopSec= leaves the agent time to drain (see DRAIN_TIMEOUT_DEFAULT below).
# Needs systemd-analyze >= 250 (Debian 12's `systemd` package has 252).
set -euo pipefail

readonly UNIT_NAME=ecs-anywhere-lb-agent.service
readonly INSTALLED_BINARY=/usr/local/bin/ecs-anywhere-lb-agent
readonly MAX_EXPOSURE=3.0
# The agent's default drain timeout in seconds (ECS_ANYWHERE_LB_DRAIN_TIMEOUT) and the margin
# TimeoutStopSec= must add for the final deregistration and exit. Keep in step with the agent.
readonly DRAIN_TIMEOUT_DEFAULT=120
readonly STOP_MARGIN=15

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
unit="$root/systemd/$UNIT_NAME"
out_dir="$root/dist"

fail() {
  echo "check-systemd: FAIL: $*" >&2
  exit 1
}

command -v systemd-analyze >/dev/null 2>&1 ||
  fail "systemd-analyze not found: install Debian's 'systemd' package (apt-get install systemd)"
version=$(systemd-analyze --version | awk 'NR == 1 { print $2 }')
[[ $version =~ ^[0-9]+$ ]] || fail "cannot read the systemd version from 'systemd-analyze --version'"
((version >= 250)) || fail "systemd-analyze $version is too old: --offline=true needs systemd >= 250"
[[ -f $unit ]] || fail "$unit does not exist"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The copy keeps the unit's name (verify derives the unit type and name from it) and swaps
# only the agent's path in ExecStart= for an executable that exists everywhere.
stand_in=$(type -P true) || fail "no true(1) executable on PATH"
sed "s#^ExecStart=$INSTALLED_BINARY\\([[:space:]]\\|\$\\)#ExecStart=$stand_in\\1#" "$unit" >"$work/$UNIT_NAME"
if grep -q "^ExecStart=$INSTALLED_BINARY" "$work/$UNIT_NAME" || ! grep -q "^ExecStart=$stand_in" "$work/$UNIT_NAME"; then
  fail "expected ExecStart=$INSTALLED_BINARY ... in $unit; update this script if the unit changed on purpose"
fi

echo "== systemd-analyze verify $UNIT_NAME (systemd $version; ExecStart= pointed at $stand_in)"
set +e
verify_output=$(cd "$work" && systemd-analyze verify --man=no "$work/$UNIT_NAME" 2>&1)
verify_status=$?
set -e
if ((verify_status != 0)) || [[ -n $verify_output ]]; then
  printf '%s\n' "${verify_output//"$work"/systemd}" >&2
  fail "systemd-analyze verify reported problems (exit status $verify_status) in systemd/$UNIT_NAME"
fi
echo "verify: clean"

echo "== systemd-analyze security --offline=true $UNIT_NAME"
set +e
security_output=$(cd "$work" && systemd-analyze security --offline=true --no-pager "$work/$UNIT_NAME" 2>&1)
set -e
printf '%s\n' "$security_output"
mkdir -p "$out_dir"
{
  echo "# systemd-analyze security --offline=true systemd/$UNIT_NAME (systemd $version)"
  printf '%s\n' "$security_output"
} >"$out_dir/systemd-security.txt"

exposure=$(printf '%s\n' "$security_output" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\).*/\1/p' | tail -n 1)
[[ -n $exposure ]] || fail "no 'Overall exposure level' in the systemd-analyze security output"
if awk -v e="$exposure" -v max="$MAX_EXPOSURE" 'BEGIN { exit !(e > max) }'; then
  fail "exposure $exposure is above $MAX_EXPOSURE: a hardening setting was lost (see systemd/README.md)"
fi
echo "exposure: $exposure (limit $MAX_EXPOSURE), written to dist/systemd-security.txt"

echo "== drain time"
stop_timeout=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s\{0,1\}[[:space:]]*$/\1/p' "$unit" | tail -n 1)
[[ -n $stop_timeout ]] || fail "TimeoutStopSec= (in plain seconds) missing from $unit"
((stop_timeout >= DRAIN_TIMEOUT_DEFAULT + STOP_MARGIN)) ||
  fail "TimeoutStopSec=$stop_timeout is shorter than the agent's drain timeout ($DRAIN_TIMEOUT_DEFAULT s) + $STOP_MARGIN s: systemd would kill the agent mid-drain"
echo "TimeoutStopSec=$stop_timeout >= drain timeout $DRAIN_TIMEOUT_DEFAULT s + $STOP_MARGIN s"
echo "check-systemd: OK"
