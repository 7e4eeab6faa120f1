# shellcheck shell=bash
# install.sh, placing: the plan of files (new, updated, unchanged), the manifest, the packages
# (openvpn, the agent's), moving files into place with rollback, systemctl and the final check.
# Sourced by install.sh: uses its constants, options and messages; defines functions only.

# ---------------------------------------------------------------- plan
# Each entry: destination (without --root), staged source, mode, and what applying it does:
# new | update (content) | attrs (mode or owner only) | same.
plan_add() {
  local dest=$1 src=$2 mode=$3 target=$R$1 state=same
  if [[ ! -e $target && ! -L $target ]]; then
    state=new
  elif [[ -L $target || ! -f $target ]] || ! cmp -s -- "$src" "$target"; then
    state=update
  else
    local attrs want="${mode#0} 0:0"
    attrs=$(stat -c '%a %u:%g' -- "$target")
    ((EUID == 0)) || want="${mode#0} ${attrs#* }"   # only root can (and must) set the owner
    [[ $attrs == "$want" ]] || state=attrs
  fi
  PLAN_DEST+=("$dest") PLAN_SRC+=("$src") PLAN_MODE+=("$mode") PLAN_STATE+=("$state")
  plan_parent_dirs "$dest"
}

plan_parent_dirs() {
  local dir=${1%/*} d
  while [[ -n $dir && ! -d $R$dir ]]; do
    for d in ${PLAN_DIRS[@]+"${PLAN_DIRS[@]}"}; do [[ $d != "$dir" ]] || return 0; done
    PLAN_DIRS+=("$dir")
    dir=${dir%/*}
  done
}

build_plan() {
  [[ -z $BIN_SOURCE || -n $PKG_KIND ]] || plan_add "$BIN_PATH" "$BIN_SOURCE" 0755
  [[ -z $UNIT_SOURCE ]] || plan_add "$UNIT_PATH" "$UNIT_SOURCE" 0644
  plan_other_units
  if [[ -n $OPT_VPN ]]; then
    plan_add "$DROPIN_PATH" "$STAGE/10-vpn.conf" 0644
    plan_add "$VPN_CONF_PATH" "$STAGE/vpn.conf" 0600
  fi
  plan_add "$CONFIG_PATH" "$STAGE/agent.env" 0640
  plan_add "$POLICY_PATH" "$STAGE/iam-policy.json" 0644
  # Shallowest first: the order to create them in.
  if ((${#PLAN_DIRS[@]} > 0)); then
    mapfile -t PLAN_DIRS < <(printf '%s\n' "${PLAN_DIRS[@]}" | awk '{ print length($0) "\t" $0 }' | sort -n | cut -f2-)
  fi
  stage_manifest
  plan_add "$MANIFEST_PATH" "$STAGE/manifest" 0644
}

read_manifest() {
  [[ -f $R$MANIFEST_PATH ]] || return 0
  grep -v '^#' "$R$MANIFEST_PATH" | sed '/^$/d'
}

# The manifest remembers everything ever installed (old entries are kept), so --uninstall
# also removes files from earlier runs. With a package, agent.env is the package's conffile.
stage_manifest() {
  local d
  {
    printf '# Installed by ecs-anywhere-lb-agent install.sh; --uninstall removes these (directories\n'
    printf '# only when empty), --purge also %s. Do not edit.\n' "$CONFIG_PATH"
    {
      read_manifest
      printf '%s\n' "${PLAN_DEST[@]}"
      for d in ${PLAN_DIRS[@]+"${PLAN_DIRS[@]}"}; do printf '%s/\n' "$d"; done
    } | { if [[ -n $PKG_KIND ]]; then grep -vx -e "$CONFIG_PATH" -e "$CONFIG_DIR/"; else cat; fi; } | LC_ALL=C sort -u
  } >"$STAGE/manifest"
}

dry_run_note() { ((DRY_RUN == 0)) || printf ' (dry run: nothing is changed)'; }

print_plan() {
  local i d verb
  info "Changes$(dry_run_note):"
  if [[ -n $PKG_LABEL ]]; then
    if ((PKG_NEW)); then info "  + package $PKG_LABEL ($PKG_KIND)"; else info "  = package $AGENT $(installed_version) (already installed)"; fi
  fi
  for d in ${PLAN_DIRS[@]+"${PLAN_DIRS[@]}"}; do info "  + $d/ (new directory)"; done
  for i in "${!PLAN_DEST[@]}"; do
    case ${PLAN_STATE[$i]} in
      new) verb="+ %s (new, mode ${PLAN_MODE[$i]})" ;;
      update) verb="~ %s (updated)" ;;
      attrs) verb="~ %s (mode/owner set to ${PLAN_MODE[$i]} root:root)" ;;
      same) verb="= %s (unchanged)" ;;
    esac
    # shellcheck disable=SC2059 # the format is built above from fixed strings
    info "  $(printf "$verb" "${PLAN_DEST[$i]}")"
  done
}

changed() {
  local i
  for i in "${!PLAN_DEST[@]}"; do
    [[ ${PLAN_DEST[$i]} == "$1" ]] && { [[ ${PLAN_STATE[$i]} != same ]]; return; }
  done
  return 1
}

# ---------------------------------------------------------------- packages (openvpn, the agent's)
openvpn_present() { command -v openvpn >/dev/null 2>&1 || [[ -x /usr/sbin/openvpn ]]; }

package_install_command() {
  if [[ -n $PKG_CMD ]]; then
    printf '%s openvpn' "$PKG_CMD"
  elif command -v apt-get >/dev/null 2>&1; then
    printf 'apt-get install -y openvpn'
  elif command -v dnf >/dev/null 2>&1; then
    printf 'dnf install -y openvpn'
  elif command -v yum >/dev/null 2>&1; then
    printf 'yum install -y openvpn'
  elif command -v zypper >/dev/null 2>&1; then
    printf 'zypper --non-interactive install openvpn'
  fi
}

install_vpn_package() {
  [[ -n $OPT_VPN ]] || return 0
  local cmd status=0
  local -a argv
  PKG_CMD=${PKG_CMD:-${ECS_ANYWHERE_LB_INSTALL_PACKAGE_MANAGER_CMD:-}}
  if [[ -z $PKG_CMD ]]; then
    if [[ -n $R ]]; then
      info "OpenVPN: not installing the package into --root $R (install it in that system)"
      return 0
    fi
    if openvpn_present; then
      info "OpenVPN: already installed"
      return 0
    fi
  fi
  cmd=$(package_install_command)
  [[ -n $cmd ]] || die "no supported package manager (apt-get, dnf, yum, zypper) found to install openvpn; install it yourself and re-run; nothing was changed"
  if ((DRY_RUN)); then info "Would run: $cmd"; return 0; fi
  info "Installing OpenVPN: $cmd"
  read -ra argv <<<"$cmd"
  if [[ ${argv[0]} == apt-get && -z $PKG_CMD ]]; then
    (umask 022 && { DEBIAN_FRONTEND=noninteractive "${argv[@]}" || { apt-get update && DEBIAN_FRONTEND=noninteractive "${argv[@]}"; }; }) || status=$?
  else
    (umask 022 && "${argv[@]}") || status=$?
  fi
  ((status == 0)) && return 0
  local hint=""
  [[ ${argv[0]} != dnf && ${argv[0]} != yum ]] || hint=" On RHEL, CentOS and Amazon Linux, openvpn comes from EPEL: enable it first."
  die "installing the openvpn package with '$cmd' failed (exit $status); nothing was changed.$hint"
}

# dpkg keeps an edited agent.env on upgrades (--force-confold); rpm's %config(noreplace) does.
install_agent_package() {
  local status=0
  info "Installing the $PKG_KIND package: $PKG_LABEL"
  if [[ $PKG_KIND == deb ]]; then
    (umask 022 && DEBIAN_FRONTEND=noninteractive dpkg -i --force-confdef --force-confold "$STAGE/package.deb") || status=$?
  else
    (umask 022 && rpm -U --replacepkgs "$STAGE/package.rpm") || status=$?
  fi
  ((status == 0)) || die "installing $PKG_LABEL failed (exit $status); no other file was changed"
}

# ---------------------------------------------------------------- apply (with rollback)
set_owner() { ((EUID != 0)) || chown 0:0 -- "$1"; }

place_file() {
  local i=$1 target=$R${PLAN_DEST[$1]} tmp
  tmp=$(dirname -- "$target")/.${target##*/}.install-tmp.$$
  if [[ ${PLAN_STATE[$i]} == update ]]; then
    cp -pP -- "$target" "$STAGE/backup/$i" || return 1
  fi
  if ! { cp -- "${PLAN_SRC[$i]}" "$tmp" && chmod "${PLAN_MODE[$i]}" "$tmp" && set_owner "$tmp" &&
    mv -fT -- "$tmp" "$target"; }; then
    rm -f -- "$tmp"
    return 1
  fi
  if [[ ${PLAN_STATE[$i]} == update ]]; then APPLIED+=("update:$i"); else APPLIED+=("new:$target"); fi
}

rollback() {
  local k entry
  warn "rolling back the files moved so far"
  for ((k = ${#APPLIED[@]} - 1; k >= 0; k--)); do
    entry=${APPLIED[$k]}
    case $entry in
      dir:*) rmdir -- "${entry#dir:}" 2>/dev/null || true ;;
      new:*) rm -f -- "${entry#new:}" ;;
      update:*) mv -fT -- "$STAGE/backup/${entry#update:}" "$R${PLAN_DEST[${entry#update:}]}" || true ;;
    esac
  done
}

# Directories (shallowest first), then files in plan order (the manifest last).
apply_plan() {
  local d i
  for d in ${PLAN_DIRS[@]+"${PLAN_DIRS[@]}"}; do
    mkdir -m 0755 -- "$R$d" || { rollback; die "cannot create $R$d"; }
    APPLIED+=("dir:$R$d")
  done
  for i in "${!PLAN_DEST[@]}"; do
    case ${PLAN_STATE[$i]} in
      new | update) place_file "$i" || { rollback; die "cannot install $R${PLAN_DEST[$i]}"; } ;;
      attrs) { chmod "${PLAN_MODE[$i]}" -- "$R${PLAN_DEST[$i]}" && set_owner "$R${PLAN_DEST[$i]}"; } ||
        { rollback; die "cannot set the mode of $R${PLAN_DEST[$i]}"; } ;;
    esac
  done
}

# ---------------------------------------------------------------- systemctl and check
use_systemctl() {
  ((NO_SYSTEMCTL == 0)) || return 1
  [[ -z $R || -n ${ECS_ANYWHERE_LB_INSTALL_SYSTEMCTL:-} ]]
}

sc() {
  local -a cmd
  read -ra cmd <<<"${ECS_ANYWHERE_LB_INSTALL_SYSTEMCTL:-systemctl}"
  "${cmd[@]}" "$@"
}

sc_run() {
  info "Running: systemctl $*"
  sc "$@" || { warn "systemctl $* failed"; SYSTEMCTL_FAILED=1; }
}

enable_and_start() {
  local unit=$1 restart=$2
  if ((NO_START)); then
    sc_run enable "$unit"
    return 0
  fi
  if ((restart)) && sc is-active --quiet "$unit"; then
    sc_run restart "$unit"
  fi
  sc_run enable --now "$unit"
}

systemctl_phase() {
  use_systemctl || { info "Skipping systemctl (--no-systemctl or --root)"; return 0; }
  # A new package was (re)started by its own postinst; what changed here decides the rest.
  local agent_changed=0 path
  if changed "$UNIT_PATH" || changed "$DROPIN_PATH" || other_units_changed; then sc_run daemon-reload; fi
  for path in "$BIN_PATH" "$UNIT_PATH" "$DROPIN_PATH" "$CONFIG_PATH"; do
    changed "$path" && agent_changed=1
  done
  ! other_units_changed || agent_changed=1
  enable_other_units
  if [[ -n $OPT_VPN ]]; then
    if changed "$VPN_CONF_PATH"; then enable_and_start "$VPN_UNIT" 1; else enable_and_start "$VPN_UNIT" 0; fi
  fi
  enable_and_start "$UNIT_NAME" "$agent_changed"
}

run_agent_check() {
  ((NO_CHECK == 0)) || return 0
  local status=0 bin=$R$BIN_PATH
  [[ -z $PKG_KIND ]] || bin=$PKG_BIN_PATH
  info "Checking: ${bin#"$R"} check --config $CONFIG_PATH"
  TOOL=$bin agent check --config "$R$CONFIG_PATH" >"$STAGE/check.out" 2>&1 || status=$?
  sed 's/^/  | /' "$STAGE/check.out"
  if ((status != 0)); then
    CHECK_FAILED=1
    warn "'$AGENT check' failed (exit $status). The files stay installed: fix the configuration (re-run $PROG with corrected flags, or edit $CONFIG_PATH) or attach the IAM policy below, then re-run $PROG or '$AGENT check --config $CONFIG_PATH'."
  else
    info "Check passed."
  fi
}

print_policy_instructions() {
  local file=$1 shown=$2
  info ""
  info "IAM policy for the instance role (${shown}):"
  cat -- "$file"
  info ""
  info "Attach it to the role (with IAM administrator credentials, e.g. from your workstation"
  info "after copying the file there):"
  info "  aws iam put-role-policy --role-name $IAM_ROLE --policy-name $POLICY_NAME --policy-document file://$shown"
  if grep -q ':targetgroup/\*"' "$file"; then
    warn "--allow-any-target-group: the policy lets this host register targets in every target group of the region"
  fi
}
