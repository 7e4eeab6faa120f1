# The unit's state on RPM distributions (Fedora, RHEL, CentOS, Amazon Linux, openSUSE): systemctl,
# whose enable/disable also work offline; without systemctl (a bare chroot) nothing is done.
have_systemctl() { command -v systemctl >/dev/null 2>&1; }
unit_enable() {
  have_systemctl || return 0
  # An upgrade keeps whatever the administrator chose.
  [ "$1" = first ] || return 0
  # shellcheck disable=SC2086 # UNITS is a list of unit names
  systemctl enable $UNITS >/dev/null 2>&1 || say "warning: could not enable $UNITS"
}
unit_reload() { systemctl daemon-reload >/dev/null 2>&1 || true; }
unit_invoke() { systemctl "$1" "$2"; }
# shellcheck disable=SC2086 # UNITS is a list of unit names
unit_disable() { if have_systemctl; then systemctl disable $UNITS >/dev/null 2>&1 || true; fi; }
unit_forget() { :; }
