# ecs-anywhere-lb-agent package lifecycle: the logic every .deb maintainer script and .rpm
# scriptlet runs (scripts/build-packages.ts puts systemd-deb.sh or systemd-rpm.sh, this file
# and the one call of each script together). POSIX sh.
#
#   installed first|upgrade  after the files are in place. first: enable the unit, and start it
#                            when the configuration is valid (the packaged agent.env names no
#                            target group, so a fresh install says what to set). upgrade:
#                            restart a running agent, which keeps its targets (--on-exit auto:
#                            the host is not shutting down).
#   removing                 before the files go, on removal only (never on upgrade): stop the
#                            agent, deregister this host's targets, disable the unit. A failed
#                            deregistration is reported, not fatal: removal must go on.
#   removed remove|purge     after the files are gone; purge also deletes the agent's state.
#
# Without a running systemd (containers, chroots, image builds) nothing is started or stopped;
# enabling still takes effect at the next boot. The generator puts two lines before this file:
# ROOT, the system's root ("" for /; ${DPKG_ROOT:-} in the .deb scripts, which dpkg sets when it
# installs into another root without chroot: dpkg --root DIR --force-script-chrootless), and
# UNITS, every unit file of systemd/ that the package ships (*.service, *.socket), all enabled.
# UNIT, the agent's service, is the one started, restarted and stopped; it pulls in the others.

UNIT=ecs-anywhere-lb-agent.service
BIN=$ROOT/usr/bin/ecs-anywhere-lb-agent
CONFIG=$ROOT/etc/ecs-anywhere-lb-agent/agent.env
STATE_DIR=$ROOT/var/lib/ecs-anywhere-lb-agent

say() { echo "ecs-anywhere-lb-agent: $*"; }

systemd_running() { [ -d "$ROOT/run/systemd/system" ]; }

# The agent as the unit runs it: the configuration file, none of the caller's environment.
run_agent() { env -i PATH="$PATH" "$BIN" "$@"; }

config_valid() { [ -f "$CONFIG" ] && run_agent config validate --config "$CONFIG" >/dev/null 2>&1; }

installed() {
  unit_enable "$1"
  if systemd_running; then unit_reload; fi
  if [ "$1" = first ]; then
    if ! config_valid; then
      say "installed and enabled, not started: $CONFIG names no valid target group yet. Set it, then start:"
      say "  ecs-anywhere-lb-agent config set --config /etc/ecs-anywhere-lb-agent/agent.env ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS=arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID"
      say "  systemctl start $UNIT"
    elif systemd_running; then
      unit_invoke start "$UNIT" || say "warning: starting $UNIT failed; see journalctl -u $UNIT"
    fi
  elif systemd_running; then
    if config_valid; then
      unit_invoke try-restart "$UNIT" || say "warning: restarting $UNIT failed; see journalctl -u $UNIT"
    else
      say "warning: not restarted: $CONFIG is not valid (ecs-anywhere-lb-agent config validate --config $CONFIG)"
    fi
  fi
}

removing() {
  if systemd_running; then
    # The agent first: the units it requires (a socket, a helper) stay up until it is gone.
    unit_invoke stop "$UNIT" || say "warning: stopping $UNIT failed"
    for unit in $UNITS; do
      [ "$unit" = "$UNIT" ] || unit_invoke stop "$unit" || say "warning: stopping $unit failed"
    done
  fi
  if [ -x "$BIN" ] && config_valid; then
    # --state-dir: under another root (dpkg --root), that root's state, not this machine's.
    run_agent deregister --all --config "$CONFIG" --state-dir "$STATE_DIR" ||
      say "warning: deregister --all failed: this host's targets may stay in their target groups (failing health checks); remove them with 'aws elbv2 deregister-targets'"
  elif [ -f "$STATE_DIR/state.json" ]; then
    say "warning: not deregistering: $CONFIG is missing or invalid, so targets recorded in $STATE_DIR may stay registered"
  fi
  unit_disable
}

removed() {
  if systemd_running; then unit_reload; fi
  unit_forget "$1"
  if [ "$1" = purge ]; then rm -rf "$STATE_DIR"; fi
}
