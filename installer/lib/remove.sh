# shellcheck shell=bash
# install.sh, removing: --uninstall and --purge, from the manifest (and the package).
# Sourced by install.sh: uses its constants, options and messages; defines functions only.

# ---------------------------------------------------------------- uninstall
FALLBACK_ENTRIES=("$BIN_PATH" "$UNIT_PATH" "$DROPIN_PATH" "${DROPIN_PATH%/*}/" "$VPN_CONF_PATH"
  "$POLICY_PATH" "$CONFIG_PATH" "$CONFIG_DIR/")

manifest_entries() {
  if [[ -f $R$MANIFEST_PATH ]]; then
    read_manifest
    return 0
  fi
  local entry
  for entry in "${FALLBACK_ENTRIES[@]}"; do
    [[ -e $R${entry%/} ]] && printf '%s\n' "$entry"
  done
  return 0
}

# What --uninstall removes: everything but the configuration; --purge: everything.
removable() {
  [[ $MODE == purge ]] && return 0
  [[ $1 != "$CONFIG_PATH" ]]
}

count_removable() {
  local entry count=0
  for entry in "$@"; do
    # Directories go only as a consequence of their files going.
    [[ $entry != */ ]] && removable "$entry" && [[ -e $R$entry ]] && count=$((count + 1))
  done
  [[ -z $PKG_KIND ]] || count=$((count + 1))
  [[ $MODE != purge || ! -e $R$STATE_DIR ]] || count=$((count + 1))
  printf '%d' "$count"
}

do_uninstall() {
  require_root
  local -a entries=()
  PKG_KIND=$(installed_package || true)
  mapfile -t entries < <(manifest_entries)
  if (($(count_removable ${entries[@]+"${entries[@]}"}) == 0)); then
    info "Nothing to remove under ${R:-/}$( [[ $MODE == purge ]] || [[ ! -e $R$CONFIG_PATH ]] || printf ' (configuration kept in %s; --purge removes it)' "$CONFIG_PATH")."
    return 0
  fi
  [[ -f $R$MANIFEST_PATH || -n $PKG_KIND ]] || warn "no manifest at $R$MANIFEST_PATH: removing the well-known paths that exist"
  set -- ${entries[@]+"${entries[@]}"}
  print_removal_plan "$@"
  ((DRY_RUN == 0)) || return 0
  stop_and_deregister
  disable_units "$@"
  remove_entries "$@"
  remove_agent_package
  if use_systemctl; then sc_run daemon-reload; fi
  [[ $MODE != purge ]] || rm -rf -- "$R$STATE_DIR"
  if [[ $MODE == purge ]]; then
    info "Done: $AGENT, its configuration and its state are removed."
  else
    info "Done: $AGENT is removed (kept $CONFIG_PATH; --purge removes it and $STATE_DIR)."
  fi
}

print_removal_plan() {
  local entry
  info "Removing$(dry_run_note):"
  [[ -z $PKG_KIND ]] || info "  - package $AGENT ($PKG_KIND$( [[ $MODE != purge ]] || printf ', purged'))"
  for entry in "$@"; do
    if [[ $entry == */ ]]; then
      info "  - $entry (directory, if left empty)"
    elif removable "$entry"; then
      info "  - $entry"
    else
      info "  = $entry (kept)"
    fi
  done
  [[ $MODE != purge ]] || info "  - $STATE_DIR/ (agent state)"
}

# The agent is stopped first so that it cannot re-register what deregister --all removes; if
# deregistering fails, it is started again and nothing is removed (unless --force). A host
# where the agent never registered anything deregisters at once, without AWS.
stop_and_deregister() {
  local was_active=0 status=0
  local -a state_dir=()
  [[ -z $R ]] || state_dir=(--state-dir "$R$STATE_DIR")
  TOOL=$R$BIN_PATH
  [[ -z $PKG_KIND ]] || TOOL=$PKG_BIN_PATH
  if use_systemctl && sc is-active --quiet "$UNIT_NAME"; then
    was_active=1
    sc_run stop "$UNIT_NAME"
  fi
  if [[ ! -x $TOOL ]]; then
    info "Not deregistering: ${TOOL#"$R"} is not installed"
  elif [[ ! -f $R$CONFIG_PATH ]]; then
    warn "cannot deregister this host's targets: $CONFIG_PATH is missing"
  else
    info "Running: ${TOOL#"$R"} deregister --all --config $CONFIG_PATH"
    agent deregister --all --config "$R$CONFIG_PATH" ${state_dir[@]+"${state_dir[@]}"} || status=$?
  fi
  if ((status != 0)); then
    if ((FORCE)); then
      warn "'$AGENT deregister --all' failed (exit $status); continuing (--force): this host's targets may stay registered"
      return 0
    fi
    ((was_active == 0)) || sc_run start "$UNIT_NAME"
    die "'$AGENT deregister --all' failed (exit $status), so this host's targets may still be registered; nothing was removed. Fix credentials/IAM and re-run, or pass --force to remove anyway."
  fi
}

disable_units() {
  use_systemctl || return 0
  local entry
  [[ ! -e $R$UNIT_PATH ]] || sc_run disable "$UNIT_NAME"
  disable_other_units "$@"
  for entry in "$@"; do
    if [[ $entry == "$VPN_CONF_PATH" ]]; then sc_run disable --now "$VPN_UNIT"; fi
  done
}

# Files first, then directories deepest first and only when empty; the manifest is rewritten
# to list what is left (or removed with the rest).
remove_entries() {
  local entry
  local -a kept=()
  for entry in "$@"; do
    [[ $entry == */ ]] && continue
    if removable "$entry"; then rm -f -- "$R$entry"; else kept+=("$entry"); fi
  done
  while IFS= read -r entry; do
    rmdir -- "$R${entry%/}" 2>/dev/null || kept+=("$entry")
  done < <(printf '%s\n' "$@" | grep '/$' | LC_ALL=C sort -r)
  if ((${#kept[@]} == 0)) || [[ $MODE == purge ]]; then
    rm -f -- "$R$MANIFEST_PATH"
    [[ -n $PKG_KIND ]] || rmdir -- "$R$CONFIG_DIR" 2>/dev/null || true
    while IFS= read -r entry; do
      rmdir -- "$R${entry%/}" 2>/dev/null || true
    done < <(printf '%s\n' "$@" | grep '/$' | LC_ALL=C sort -r)
  else
    {
      printf '# Installed by ecs-anywhere-lb-agent install.sh; left after --uninstall (--purge removes them).\n'
      printf '%s\n' "${kept[@]}" | LC_ALL=C sort -u
    } >"$R$MANIFEST_PATH"
  fi
  [[ $MODE != purge || -n $PKG_KIND || ! -d $R$CONFIG_DIR ]] || warn "$R$CONFIG_DIR is not empty (files not installed by $PROG): left in place"
}

# The package's own scripts stop, deregister (again: nothing left by now) and disable the unit.
remove_agent_package() {
  [[ -n $PKG_KIND ]] || return 0
  local status=0
  info "Removing the $PKG_KIND package $AGENT"
  if [[ $PKG_KIND == deb ]]; then
    if [[ $MODE == purge ]]; then dpkg -P "$AGENT" || status=$?; else dpkg -r "$AGENT" || status=$?; fi
  else
    rpm -e "$AGENT" || status=$?
    [[ $MODE != purge ]] || rm -f -- "$CONFIG_PATH" "$CONFIG_PATH.rpmsave"
  fi
  ((status == 0)) || die "removing the $PKG_KIND package $AGENT failed (exit $status)"
  [[ $MODE != purge ]] || rmdir -- "$CONFIG_DIR" 2>/dev/null || true
  [[ $MODE != purge || ! -d $CONFIG_DIR ]] || warn "$CONFIG_DIR is not empty (files not installed by $PROG): left in place"
}
