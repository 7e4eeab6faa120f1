# The unit's state on Debian, Ubuntu and Raspberry Pi OS: deb-systemd-helper (init-system-helpers)
# enables and disables with or without a running systemd and remembers an administrator's
# "disable" across upgrades; deb-systemd-invoke honours policy-rc.d.
unit_enable() {
  for unit in $UNITS; do
    deb-systemd-helper unmask "$unit" >/dev/null 2>&1 || true
    if deb-systemd-helper --quiet was-enabled "$unit"; then
      deb-systemd-helper enable "$unit" >/dev/null 2>&1 || say "warning: could not enable $unit"
    else
      deb-systemd-helper update-state "$unit" >/dev/null 2>&1 || true
    fi
  done
}
unit_reload() { systemctl --system daemon-reload >/dev/null 2>&1 || true; }
unit_invoke() { deb-systemd-invoke "$1" "$2"; }
# As debhelper does: the enabling links stay until purge (masked on removal), so that a
# reinstall finds the unit enabled or disabled as the administrator left it.
unit_disable() { :; }
# remove: masked while only the configuration is left; purge: no trace in systemd's state.
unit_forget() {
  for unit in $UNITS; do
    if [ "$1" = purge ]; then
      deb-systemd-helper purge "$unit" >/dev/null 2>&1 || true
      deb-systemd-helper unmask "$unit" >/dev/null 2>&1 || true
    else
      deb-systemd-helper mask "$unit" >/dev/null 2>&1 || true
    fi
  done
}
