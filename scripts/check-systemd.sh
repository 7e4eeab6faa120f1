#!/usr/bin/env bash
# Checks the systemd units offline (no systemd as PID 1 needed), for CI:
#  1. `systemd-analyze verify` reports nothing at all for every unit in systemd/. The agent
#     binary is not installed on a build machine, so temporary copies of the units whose
#     ExecStart= names an existing executable are verified; every other message fails the check.
#  2. `systemd-analyze security --offline=true` exposure of each service (the agent and its
#     Docker proxy) is at most MAX_EXPOSURE; the tables are printed and written to
#     dist/systemd-security.txt.
#  3. the units agree with the agent: TimeoutStopSec= outlasts the agent's default drain
#     timeout (DEFAULT_DRAIN_TIMEOUT in agent/config-options.ts) by STOP_MARGIN,
#     RestartPreventExitStatus= is the agent's configuration-error status (EXIT_CONFIG in
#     agent/exit-codes.ts), and the proxy's socket is where the agent looks for it by default
#     (DEFAULT_DOCKER_HOST in agent/config-options.ts).
# Needs systemd-analyze >= 250 (Debian 12's `systemd` package has 252).
set -euo pipefail

readonly UNIT_NAME=ecs-anywhere-lb-agent.service
readonly PROXY_SOCKET=ecs-anywhere-lb-agent-docker-proxy.socket
readonly SERVICES=("$UNIT_NAME" ecs-anywhere-lb-agent-docker-proxy.service)
readonly INSTALLED_BINARY=/usr/local/bin/ecs-anywhere-lb-agent
readonly MAX_EXPOSURE=2.0
# What TimeoutStopSec= must add to the drain timeout: the final deregistration and exit.
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

# The copies keep the units' names (verify derives the unit type and name from them) and swap
# only the agent's path in ExecStart= for an executable that exists everywhere.
stand_in=$(type -P true) || fail "no true(1) executable on PATH"
for file in "$root"/systemd/*.service "$root"/systemd/*.socket; do
  name=$(basename "$file")
  sed "s#^ExecStart=$INSTALLED_BINARY\\([[:space:]]\\|\$\\)#ExecStart=$stand_in\\1#" "$file" >"$work/$name"
  if [[ $name == *.service ]] && { grep -q "^ExecStart=$INSTALLED_BINARY" "$work/$name" || ! grep -q "^ExecStart=$stand_in" "$work/$name"; }; then
    fail "expected ExecStart=$INSTALLED_BINARY ... in systemd/$name; update this script if the unit changed on purpose"
  fi
done

mkdir -p "$out_dir"
: >"$out_dir/systemd-security.txt"
for file in "$work"/*.service "$work"/*.socket; do
  name=$(basename "$file")
  echo "== systemd-analyze verify $name (systemd $version; ExecStart= pointed at $stand_in)"
  set +e
  verify_output=$(cd "$work" && systemd-analyze verify --man=no "$file" 2>&1)
  verify_status=$?
  set -e
  if ((verify_status != 0)) || [[ -n $verify_output ]]; then
    printf '%s\n' "${verify_output//"$work"/systemd}" >&2
    fail "systemd-analyze verify reported problems (exit status $verify_status) in systemd/$name"
  fi
  echo "verify: clean"
done

for name in "${SERVICES[@]}"; do
  [[ -f $work/$name ]] || fail "systemd/$name does not exist"
  echo "== systemd-analyze security --offline=true $name"
  set +e
  security_output=$(cd "$work" && systemd-analyze security --offline=true --no-pager "$work/$name" 2>&1)
  set -e
  printf '%s\n' "$security_output"
  {
    echo "# systemd-analyze security --offline=true systemd/$name (systemd $version)"
    printf '%s\n' "$security_output"
  } >>"$out_dir/systemd-security.txt"
  exposure=$(printf '%s\n' "$security_output" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\).*/\1/p' | tail -n 1)
  [[ -n $exposure ]] || fail "no 'Overall exposure level' in the systemd-analyze security output for $name"
  if awk -v e="$exposure" -v max="$MAX_EXPOSURE" 'BEGIN { exit !(e > max) }'; then
    fail "$name: exposure $exposure is above $MAX_EXPOSURE: a hardening setting was lost (see systemd/README.md)"
  fi
  echo "$name exposure: $exposure (limit $MAX_EXPOSURE), written to dist/systemd-security.txt"
done

echo "== the unit agrees with the agent"
# Prints the value of a unit setting (its last assignment), or fails.
unit_setting() {
  local value
  value=$(sed -n "s/^$1=\\(.*\\)\$/\\1/p" "$unit" | tail -n 1)
  [[ -n $value ]] || fail "$1= missing from $unit"
  printf '%s\n' "$value"
}
# Prints what an agent constant `export const NAME = <value>;` is set to, quotes removed, or fails.
agent_constant() {
  local value
  value=$(sed -n "s/^export const $2 = '\\{0,1\\}\\([^';]*\\)'\\{0,1\\};.*/\\1/p" "$root/$1" | head -n 1)
  [[ -n $value ]] || fail "cannot find 'export const $2 = ...' in $1: update scripts/check-systemd.sh to follow the agent"
  printf '%s\n' "$value"
}
# Seconds of a duration written as N, Ns or Nm.
seconds() {
  case $1 in
    *[!0-9ms]* | '') fail "cannot read the duration '$1'" ;;
    *m) echo $((${1%m} * 60)) ;;
    *s) echo "${1%s}" ;;
    *) echo "$1" ;;
  esac
}
drain=$(seconds "$(agent_constant agent/config-options.ts DEFAULT_DRAIN_TIMEOUT)")
stop_timeout=$(seconds "$(unit_setting TimeoutStopSec)")
((stop_timeout >= drain + STOP_MARGIN)) ||
  fail "TimeoutStopSec=$stop_timeout s is shorter than the agent's default drain timeout ($drain s) + $STOP_MARGIN s: systemd would kill the agent mid-drain"
echo "TimeoutStopSec=$stop_timeout s >= drain timeout $drain s + $STOP_MARGIN s"
exit_config=$(agent_constant agent/exit-codes.ts EXIT_CONFIG)
prevent=$(unit_setting RestartPreventExitStatus)
[[ $prevent == "$exit_config" ]] ||
  fail "RestartPreventExitStatus=$prevent but the agent exits $exit_config on a configuration error (EXIT_CONFIG in agent/exit-codes.ts)"
echo "RestartPreventExitStatus=$prevent = the agent's configuration-error status"
docker_host=$(agent_constant agent/config-options.ts DEFAULT_DOCKER_HOST)
listen=$(sed -n 's/^ListenStream=\(.*\)$/\1/p' "$root/systemd/$PROXY_SOCKET" | tail -n 1)
[[ "unix://$listen" == "$docker_host" ]] ||
  fail "systemd/$PROXY_SOCKET listens on $listen but the agent looks for its proxy at $docker_host (DEFAULT_DOCKER_HOST in agent/config-options.ts)"
echo "ListenStream=$listen = the agent's default --docker-host"
echo "check-systemd: OK"
