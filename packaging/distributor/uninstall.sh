#!/bin/sh
# SSM Distributor: remove ecs-anywhere-lb-agent. The package's removal script stops the agent
# and deregisters this host's targets; the package is purged (agent.env and the agent's state
# go with it), and the OpenVPN client configuration and unit ordering install.sh placed from
# SSM_VPN_CONFIG_PARAMETER go too. The openvpn package stays.
cd "$(dirname "$0")" || exit 1
# shellcheck source=common.sh
. ./common.sh
if package_installed; then remove_package; else say "the $NAME package is not installed"; fi
rm -rf "$ROOT${STATE_DIR:?}" "$ROOT/etc/${NAME:?}"
if [ -f "$ROOT$VPN_CONF" ] || [ -f "$ROOT$DROPIN" ]; then
  if systemd_running; then systemctl disable --now "$VPN_UNIT" || true; fi
  rm -f "$ROOT$VPN_CONF" "$ROOT$DROPIN"
  rmdir "$ROOT${DROPIN%/*}" 2>/dev/null || true
fi
if systemd_running; then systemctl daemon-reload; fi
say "removed"
