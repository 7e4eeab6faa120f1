# shellcheck shell=bash
# install.sh, the other systemd units: every *.service and *.socket that comes with the agent's
# unit (the release tarball, or a checkout's systemd/), such as a helper the agent's unit
# requires, is placed in /etc/systemd/system next to it and enabled (a .socket also started).
# --unit FILE names the agent's unit alone. Sourced by install.sh: uses its constants, options
# and messages; defines functions only.

OTHER_UNITS=()          # names of the other units staged in $STAGE/units

stage_other_units() {
  local dir=$1 file name
  mkdir -p "$STAGE/units"
  for file in "$dir"/*.service "$dir"/*.socket; do
    [[ -f $file ]] || continue
    name=${file##*/}
    [[ $name != "$UNIT_NAME" ]] || continue
    [[ $name =~ ^[A-Za-z0-9@._-]+$ ]] || die "$file: a unit name may hold only letters, digits and @._-"
    cp -- "$file" "$STAGE/units/$name" || die "cannot copy $file"
    OTHER_UNITS+=("$name")
  done
}

plan_other_units() {
  local name
  for name in ${OTHER_UNITS[@]+"${OTHER_UNITS[@]}"}; do
    plan_add "/etc/systemd/system/$name" "$STAGE/units/$name" 0644
  done
}

# 1 when one of them changed (systemd must reload, the agent restart).
other_units_changed() {
  local name
  for name in ${OTHER_UNITS[@]+"${OTHER_UNITS[@]}"}; do
    changed "/etc/systemd/system/$name" && return 0
  done
  return 1
}

enable_other_units() {
  local name restart
  for name in ${OTHER_UNITS[@]+"${OTHER_UNITS[@]}"}; do
    restart=0
    changed "/etc/systemd/system/$name" && restart=1
    case $name in
      *.socket) enable_and_start "$name" "$restart" ;;
      *) sc_run enable "$name" ;;   # started by its socket or by the agent's unit
    esac
  done
}

# --uninstall: every unit the manifest lists but the agent's own (disabled by disable_units).
disable_other_units() {
  local entry name
  for entry in "$@"; do
    [[ $entry == /etc/systemd/system/*.service || $entry == /etc/systemd/system/*.socket ]] || continue
    [[ $entry != "$UNIT_PATH" ]] || continue
    name=${entry##*/}
    [[ ! -e $R$entry ]] || sc_run disable --now "$name"
  done
}
