#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# install.sh: install, upgrade or remove ecs-anywhere-lb-agent on an Amazon ECS Anywhere host.
# Run as root; `install.sh --help` lists every flag.
#
# The agent owns its configuration: this script stages the agent binary first (checksum and CPU
# checked, or extracted from a .deb/.rpm), then lets it write and judge agent.env (`config set`,
# which refuses an invalid result with the message `run` would give) and render the IAM policy
# (`iam-policy`). What stays here is what must happen before a binary can run, or around it:
# architecture, download, checksum, package managers, OpenVPN, systemctl, manifest, rollback.
#
# Everything is staged in a temporary directory first: a bad flag, a missing file, a checksum
# mismatch or a failing package manager stops the run with the host unchanged. Packages
# (openvpn, then --package) are installed before any file is moved; files are moved one by one
# (atomic rename, rolled back on failure), and one whose content, mode and owner already match
# is not touched, so an identical re-run changes nothing. The manifest
# /etc/ecs-anywhere-lb-agent/.installed-files lists what this script placed: --uninstall removes
# exactly that (and the package), keeping agent.env; --purge removes agent.env and the state too.
#
# A release tarball (--tarball) holds one directory with ecs-anywhere-lb-agent-linux-<arch>, the
# systemd units and these scripts with the release key (keys/, lib/release-key.sh); ./install.sh
# run from it (or from a source checkout: ../dist/bin, ../systemd) finds them without flags.
# Whatever it is given (--tarball, --package, --binary, --url) must be listed in the release's
# SHA256SUMS, whose signature SHA256SUMS.asc by the pinned release key is checked first
# (lib/trust.sh), or match --sha256; --insecure-skip-signature skips this, with a warning.
#
# Exit status: 0 done; 1 error, host unchanged; 2 bad usage or configuration, host unchanged;
# 3 installed, but `ecs-anywhere-lb-agent check` failed; 4 installed, but systemctl failed.
# Test hooks (environment): ECS_ANYWHERE_LB_INSTALL_ARCH (--arch),
# ECS_ANYWHERE_LB_INSTALL_PACKAGE_MANAGER_CMD (--package-manager-cmd), ECS_ANYWHERE_LB_INSTALL_SYSTEMCTL
# (run instead of systemctl, also under --root). The agent never sees this script's
# ECS_ANYWHERE_LB_* variables: the unit gives it only agent.env.
# Written for bash >= 4.2 (Amazon Linux 2, CentOS 7): arrays that may be empty are expanded as
# ${a[@]+"${a[@]}"}, which older bash needs under `set -u`.

set -euo pipefail
# Every file this script creates starts 0600 (the VPN config holds a private key); modes are
# widened where a file needs it, after it is written. Package managers run with umask 022.
umask 077

readonly PROG=install.sh
readonly AGENT=ecs-anywhere-lb-agent
readonly BIN_PATH=/usr/local/bin/ecs-anywhere-lb-agent
readonly PKG_BIN_PATH=/usr/bin/ecs-anywhere-lb-agent
readonly CONFIG_DIR=/etc/ecs-anywhere-lb-agent
readonly CONFIG_PATH=$CONFIG_DIR/agent.env
readonly POLICY_PATH=$CONFIG_DIR/iam-policy.json
readonly MANIFEST_PATH=$CONFIG_DIR/.installed-files
readonly UNIT_NAME=ecs-anywhere-lb-agent.service
readonly UNIT_PATH=/etc/systemd/system/$UNIT_NAME
readonly DROPIN_PATH=/etc/systemd/system/$UNIT_NAME.d/10-vpn.conf
readonly VPN_UNIT=openvpn-client@ecs-anywhere.service
readonly VPN_CONF_PATH=/etc/openvpn/client/ecs-anywhere.conf
readonly STATE_DIR=/var/lib/ecs-anywhere-lb-agent
readonly PREFIX=ECS_ANYWHERE_LB_
readonly POLICY_NAME=ecs-anywhere-lb-agent
readonly EXIT_ERROR=1 EXIT_USAGE=2 EXIT_CHECK_FAILED=3 EXIT_SYSTEMCTL_FAILED=4
# The agent's exit status for an invalid configuration (EXIT_CONFIG in agent/main.ts).
readonly AGENT_EXIT_CONFIG=78
# Flag -> agent.env key, in the order a new agent.env lists them (--set keys follow). The agent
# validates every value; these flags only name keys.
readonly -a CONFIG_FLAGS_TABLE=(
  --interface=INTERFACE --host-ip=HOST_IP --vpc-cidr=VPC_CIDR --availability-zone=AVAILABILITY_ZONE
  --on-exit=ON_EXIT --drain-timeout=DRAIN_TIMEOUT --reconcile-interval=RECONCILE_INTERVAL
  --log-level=LOG_LEVEL --log-format=LOG_FORMAT --mapping-file=MAPPING_FILE
  --include-non-ecs=INCLUDE_NON_ECS --metrics-address=METRICS_ADDRESS --region=AWS_REGION
)

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR
# What install.sh does is split by concern; the files travel with it (tarball: lib/).
for lib in trust source place remove units; do
  [[ -f $SCRIPT_DIR/lib/$lib.sh ]] || { printf '%s: error: %s is missing: run install.sh from its release tarball or checkout\n' "${0##*/}" "$SCRIPT_DIR/lib/$lib.sh" >&2; exit 1; }
done
source "$SCRIPT_DIR/lib/trust.sh"
source "$SCRIPT_DIR/lib/source.sh"
source "$SCRIPT_DIR/lib/place.sh"
source "$SCRIPT_DIR/lib/remove.sh"
source "$SCRIPT_DIR/lib/units.sh"

# ---------------------------------------------------------------- options (set by parse_args)
MODE=install            # install | upgrade | uninstall | purge | print-iam-policy | validate-only | help
SRC_BINARY="" SRC_TARBALL="" SRC_URL="" SRC_PACKAGE="" OPT_SHA256="" SKIP_SIGNATURE=0
OPT_UNIT="" OPT_VPN="" IAM_ROLE=ecsAnywhereInstanceRole OPT_ARCH="" PKG_CMD=""
R=""                    # --root without its trailing slash; "" is the real root
NO_SYSTEMCTL=0 NO_CHECK=0 NO_START=0 DRY_RUN=0 FORCE=0
TG_ARNS=() ALLOW_ANY=0
SET_KEYS=()             # keys the flags set, in the order given (FLAG_VALUE holds the values)
UNSET_KEYS=()
CONFIG_FLAGS=()         # every configuration flag given (to refuse them where they make no sense)
declare -A FLAG_VALUE=()

# ---------------------------------------------------------------- run state
STAGE="" ARCH="" ARCH_NAME=""
TOOL=""                 # the agent binary this run asks: the staged one, else the installed one
BIN_SOURCE="" UNIT_SOURCE="" TARBALL_DIR="" VPN_DEV=""
PKG_KIND=""             # deb | rpm when a package is (to be) installed
PKG_NEW=0               # 1: the staged package must be installed (not already this version)
PKG_LABEL=""            # the package file or URL, for messages
PLAN_DEST=() PLAN_SRC=() PLAN_MODE=() PLAN_STATE=() PLAN_DIRS=()
CHECK_FAILED=0 SYSTEMCTL_FAILED=0
APPLIED=()              # "dir:PATH", "new:PATH" or "update:INDEX", in the order applied

# ---------------------------------------------------------------- messages
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit "$EXIT_ERROR"; }
usage_error() {
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  printf 'Run "%s --help" for the list of flags.\n' "$PROG" >&2
  exit "$EXIT_USAGE"
}
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
info() { printf '%s\n' "$*"; }

usage() {
  cat <<EOF
Usage: $PROG [FLAGS]            install or reconfigure (re-runs are idempotent)
       $PROG --upgrade [SOURCE]   replace binary and unit (or package), keep configuration and state
       $PROG --uninstall [--purge] | --purge
       $PROG --print-iam-policy [--target-groups ARN,...]
Installs ecs-anywhere-lb-agent, which registers this ECS Anywhere host's task containers as IP
targets in ELBv2 target groups. Run as root.

Source (the binary must match this host's CPU). Each is checked against the release's
SHA256SUMS, once SHA256SUMS.asc verifies with the release key pinned in this installer (both
next to the file, or in the same directory of the server), or against --sha256:
  --package FILE.deb|.rpm  a release package: dpkg or rpm then owns the binary and the units
  --binary FILE            ecs-anywhere-lb-agent-linux-<arch>
  --tarball FILE.tar.gz    a release tarball
  --url URL                download a binary, .tar.gz, .deb or .rpm over https (plain http only
                           from this machine's loopback, 127.0.0.1 or localhost; a redirect must
                           stay on https)
  --sha256 HEX             expected SHA-256 of the file given by the flag above
  --insecure-skip-signature  install without a signed checksum (air-gapped builds; logged as a
                           warning)
  --arch ARCH              override \`uname -m\` (x86_64 | aarch64; also ECS_ANYWHERE_LB_INSTALL_ARCH)
  With no source, a fresh install uses ecs-anywhere-lb-agent-linux-<arch> next to this script or
  in ../dist/bin; a re-run keeps the installed binary or package.

Configuration: $CONFIG_PATH (0640), written and checked by the agent itself
(\`$AGENT config set\`): a re-run changes only the keys its flags name and keeps every other
line; a value the agent refuses stops the run, with its message, before anything is written.
  --target-groups ARN[,ARN...]  -> ${PREFIX}ALLOWED_TARGET_GROUPS (repeatable; also
                                --allowed-target-groups)
  --allow-any-target-group      -> ${PREFIX}ALLOW_ANY_TARGET_GROUP=true (the IAM policy then
                                covers every target group of --region)
  --interface NAME, --host-ip IPV4   the address to register (each replaces the other)
  --vpc-cidr CIDR[,CIDR...], --availability-zone AZ|all, --on-exit auto|deregister|keep,
  --drain-timeout DURATION, --reconcile-interval DURATION, --log-level LEVEL,
  --log-format json|text, --mapping-file PATH, --include-non-ecs (--no-include-non-ecs),
  --metrics-address HOST:PORT   each -> ${PREFIX}<NAME>; \`$AGENT --help\` says what they do
  --region REGION               -> AWS_REGION (the IAM policy's region with --allow-any-target-group)
  --set NAME=VALUE              any other option (NAME, ${PREFIX}NAME or AWS_NAME),
                                e.g. --set FLEET_SIZE=500
  --unset NAME                  remove NAME from the file (a misspelt one too)

VPN (routed OpenVPN; the load balancer must reach this host's tunnel address):
  --vpn-config FILE.ovpn   install openvpn (apt-get, dnf, yum or zypper), place FILE as
                           $VPN_CONF_PATH (0600), enable $VPN_UNIT,
                           order the agent after it and register the tunnel (dev tun -> tun0)
                           unless --interface or --host-ip says otherwise. FILE must inline
                           <ca>, <cert>, <key>, <tls-auth>, <tls-crypt> instead of naming files.
  --package-manager-cmd CMD run "CMD openvpn" instead (tests; also
                           ECS_ANYWHERE_LB_INSTALL_PACKAGE_MANAGER_CMD)

Service and IAM:
  --unit FILE              the agent's unit for --binary/--tarball/--url, alone (default: every
                           *.service and *.socket from the tarball, next
                           to this script, or ../systemd/$UNIT_NAME)
  --no-start               enable the services but do not start or restart them
  --no-systemctl           run no systemctl at all (implied by --root unless
                           ECS_ANYWHERE_LB_INSTALL_SYSTEMCTL names a stand-in)
  --no-check               do not run "$AGENT check" after installing
  --iam-role NAME          role in the printed put-role-policy command (ecsAnywhereInstanceRole)
  --print-iam-policy       print the IAM policy JSON (stdout) and the command that attaches it
                           (stderr); changes nothing

Modes and safety:
  --upgrade                replace binary and unit, or the package (no configuration flags)
  --uninstall              stop the agent, "$AGENT deregister --all" (at once when it never
                           registered anything), remove what the manifest lists and the package;
                           agent.env and openvpn stay; refused if deregistering fails, unless --force
  --purge                  --uninstall, and remove agent.env, the manifest and $STATE_DIR
  --force                  with --uninstall/--purge: go on when deregistering fails
  --dry-run                show what would change; change nothing
  --validate-only          check the flags (with the agent) and the files they name, then exit
  --root DIR               install into the tree DIR (not with --package)
  -h, --help               this text

After installing: systemctl enable and (re)start, "$AGENT check --config $CONFIG_PATH", and the
IAM policy with the command that attaches it. Exit status: 0 done; 1 error (host unchanged);
2 bad usage or configuration (host unchanged); 3 installed, but the check failed (fix, re-run);
4 installed, but systemctl failed.
EOF
}

# ---------------------------------------------------------------- argument parsing
# Flags taking a value accept "--flag VALUE" and "--flag=VALUE".
readonly -a VALUE_FLAGS=(--binary --tarball --url --package --sha256 --arch --unit --vpn-config --iam-role
  --root --package-manager-cmd --target-groups --allowed-target-groups --interface --host-ip --vpc-cidr
  --availability-zone --on-exit --drain-timeout --reconcile-interval --log-level --log-format
  --mapping-file --metrics-address --region --set --unset)

takes_value() { [[ " ${VALUE_FLAGS[*]} " == *" $1 "* ]]; }

parse_args() {
  local flag value inline
  while (($# > 0)); do
    flag=$1 value="" inline=0
    if [[ $flag == --*=* ]]; then
      value=${flag#*=} flag=${flag%%=*} inline=1
    fi
    if takes_value "$flag"; then
      if ((inline == 0)); then
        (($# >= 2)) || usage_error "$flag needs a value"
        value=$2
        shift
      fi
      [[ -n $value && $value != --* ]] || usage_error "$flag needs a value (got '${value}')"
      take_value_flag "$flag" "$value"
    else
      ((inline == 0)) || usage_error "$flag takes no value"
      take_switch "$flag"
    fi
    shift
  done
}

set_mode() {
  local new=$1
  if [[ $MODE != install && $MODE != "$new" ]]; then
    # --uninstall --purge is the one combination that means something (it is --purge).
    if [[ $MODE/$new == uninstall/purge || $MODE/$new == purge/uninstall ]]; then
      MODE=purge
      return
    fi
    usage_error "--$MODE and --$new cannot be combined"
  fi
  MODE=$new
}

take_switch() {
  case $1 in
    -h | --help) MODE=help ;;
    --upgrade) set_mode upgrade ;;
    --uninstall) set_mode uninstall ;;
    --purge) set_mode purge ;;
    --print-iam-policy) set_mode print-iam-policy ;;
    --validate-only) set_mode validate-only ;;
    --insecure-skip-signature) SKIP_SIGNATURE=1 ;;
    --no-systemctl) NO_SYSTEMCTL=1 ;;
    --no-check) NO_CHECK=1 ;;
    --no-start) NO_START=1 ;;
    --dry-run) DRY_RUN=1 ;;
    --force) FORCE=1 ;;
    --allow-any-target-group) ALLOW_ANY=1 CONFIG_FLAGS+=("$1") ;;
    --include-non-ecs) flag_config "$1" INCLUDE_NON_ECS true ;;
    --no-include-non-ecs) flag_config "$1" INCLUDE_NON_ECS false ;;
    *) usage_error "unknown flag '$1'" ;;
  esac
}

take_value_flag() {
  local flag=$1 value=$2 entry
  case $flag in
    --binary) SRC_BINARY=$value ;;
    --tarball) SRC_TARBALL=$value ;;
    --url) SRC_URL=$value ;;
    --package) SRC_PACKAGE=$value ;;
    --sha256) OPT_SHA256=$value ;;
    --arch) OPT_ARCH=$value ;;
    --unit) OPT_UNIT=$value ;;
    --vpn-config) OPT_VPN=$value CONFIG_FLAGS+=("$flag") ;;
    --iam-role) IAM_ROLE=$value ;;
    --package-manager-cmd) PKG_CMD=$value ;;
    --root)
      [[ $value == /* ]] || usage_error "--root needs an absolute path (got '$value')"
      R=${value%/} ;;
    --target-groups | --allowed-target-groups)
      local arn
      local -a arns
      IFS=, read -ra arns <<<"$value"
      for arn in ${arns[@]+"${arns[@]}"}; do
        arn=${arn//[[:space:]]/}
        [[ -z $arn || " ${TG_ARNS[*]-} " == *" $arn "* ]] || TG_ARNS+=("$arn")
      done
      CONFIG_FLAGS+=("$flag") ;;
    --set)
      [[ $value == *=* ]] || usage_error "--set needs NAME=VALUE (got '$value')"
      flag_config --set "${value%%=*}" "${value#*=}" ;;
    --unset) UNSET_KEYS+=("$(full_key "$value")") CONFIG_FLAGS+=("$flag") ;;
    *)
      for entry in "${CONFIG_FLAGS_TABLE[@]}"; do
        [[ ${entry%%=*} != "$flag" ]] || flag_config "$flag" "${entry#*=}" "$value"
      done ;;
  esac
}

# NAME -> ECS_ANYWHERE_LB_NAME unless it already has that prefix or is AWS_* (the agent maps
# names the same way; this only lets a flag and a --set of the same key meet).
full_key() {
  if [[ $1 == "$PREFIX"* || $1 == AWS_* ]]; then printf '%s' "$1"; else printf '%s%s' "$PREFIX" "$1"; fi
}

flag_config() {
  local key
  key=$(full_key "$2")
  [[ -n ${FLAG_VALUE[$key]+set} ]] || SET_KEYS+=("$key")
  FLAG_VALUE[$key]=$3
  CONFIG_FLAGS+=("$1")
}

# Only what the flags mean to this script; every configuration value is the agent's to judge.
validate_flags() {
  local count=0 src name
  # The unit gives the agent agent.env only: a variable here would look set and be ignored.
  for name in $(compgen -e); do
    [[ $name != "$PREFIX"* || $name == "${PREFIX}INSTALL_"* ]] ||
      usage_error "$name is set in this environment, but the agent takes its settings from $CONFIG_PATH only: unset it and pass the matching flag, or --set ${name#"$PREFIX"}=VALUE"
  done
  ((${#TG_ARNS[@]} == 0 || ALLOW_ANY == 0)) || usage_error "--target-groups and --allow-any-target-group exclude each other"
  for src in "$SRC_BINARY" "$SRC_TARBALL" "$SRC_URL" "$SRC_PACKAGE"; do [[ -z $src ]] || count=$((count + 1)); done
  ((count <= 1)) || usage_error "give only one of --package, --binary, --tarball and --url"
  if [[ -n $OPT_SHA256 ]]; then
    [[ $OPT_SHA256 =~ ^[0-9a-fA-F]{64}$ ]] || usage_error "--sha256: '$OPT_SHA256' is not 64 hexadecimal digits"
    ((count == 1)) || usage_error "--sha256 goes with --package, --binary, --tarball or --url"
  fi
  [[ -z $SRC_URL ]] || require_secure_url "$SRC_URL" download
  [[ -z $SRC_PACKAGE || $SRC_PACKAGE == *.deb || $SRC_PACKAGE == *.rpm ]] || usage_error "--package: '$SRC_PACKAGE' is neither a .deb nor an .rpm"
  [[ -z $SRC_PACKAGE || -z $R ]] || usage_error "--package installs into this system with dpkg or rpm; it cannot be combined with --root"
  [[ -z $SRC_PACKAGE || -z $OPT_UNIT ]] || usage_error "--package brings its own unit; --unit goes with --binary, --tarball or --url"
  [[ $IAM_ROLE =~ ^[A-Za-z0-9+=,.@_-]{1,64}$ ]] || usage_error "--iam-role: '$IAM_ROLE' is not an IAM role name"
  case $MODE in
    upgrade)
      ((${#CONFIG_FLAGS[@]} == 0)) ||
        usage_error "--upgrade keeps the configuration; run without --upgrade to change it (got ${CONFIG_FLAGS[*]})" ;;
    uninstall | purge)
      ((${#CONFIG_FLAGS[@]} == 0)) || usage_error "--$MODE takes no configuration flags (got ${CONFIG_FLAGS[*]})"
      if ((count > 0)) || [[ -n $OPT_UNIT ]]; then usage_error "--$MODE takes no binary, package or unit source"; fi ;;
  esac
  ((FORCE == 0)) || [[ $MODE == uninstall || $MODE == purge ]] || usage_error "--force goes with --uninstall or --purge"
}

# ---------------------------------------------------------------- the agent as a tool
# Runs the agent binary of this run without this script's ECS_ANYWHERE_LB_* variables.
agent() {
  local name
  local -a drop=()
  for name in $(compgen -e); do [[ $name != "$PREFIX"* ]] || drop+=(-u "$name"); done
  env ${drop[@]+"${drop[@]}"} "$TOOL" "$@"
}

# Runs a configuration command of the agent on the staged agent.env. Its messages are shown
# with the installed path and this script's name; a refusal stops the run (exit 2: usage).
agent_config() {
  local status=0 line
  agent "$@" >"$STAGE/agent.out" 2>"$STAGE/agent.err" || status=$?
  while IFS= read -r line || [[ -n $line ]]; do
    line=${line//"$STAGE/agent.env"/$CONFIG_PATH}
    [[ $line != *' left unchanged: the result would be invalid' ]] || continue
    line=${line#"$AGENT: "}
    if [[ $line == warning:* ]]; then warn "${line#warning: }"; else printf '%s: error: %s\n' "$PROG" "$line" >&2; fi
  done <"$STAGE/agent.err"
  ((status == 0)) && return 0
  ((status == AGENT_EXIT_CONFIG)) && exit "$EXIT_USAGE"
  die "'$AGENT $1 $2' failed (exit $status): is $TOOL an $AGENT binary for this host?"
}

# ---------------------------------------------------------------- staging: unit, VPN, config, policy
stage_unit() {
  local candidate=""
  [[ -z $PKG_KIND ]] || return 0
  if [[ -n $OPT_UNIT ]]; then
    candidate=$OPT_UNIT
  elif [[ -n $TARBALL_DIR ]]; then
    [[ -f $TARBALL_DIR/$UNIT_NAME ]] || die "the tarball has no $UNIT_NAME next to the binary (pass --unit FILE)"
    candidate=$TARBALL_DIR/$UNIT_NAME
  elif is_installed && [[ $MODE != upgrade && -z $BIN_SOURCE ]]; then
    return 0
  elif [[ -f $SCRIPT_DIR/$UNIT_NAME ]]; then
    candidate=$SCRIPT_DIR/$UNIT_NAME
  elif [[ -f $SCRIPT_DIR/../systemd/$UNIT_NAME ]]; then
    candidate=$SCRIPT_DIR/../systemd/$UNIT_NAME
  elif [[ -f $R$UNIT_PATH ]]; then
    return 0
  else
    die "no systemd unit: pass --unit FILE (looked for $UNIT_NAME in $SCRIPT_DIR and $SCRIPT_DIR/../systemd)"
  fi
  if ! grep -q '^\[Service\]' "$candidate" || ! grep -q '^ExecStart=' "$candidate"; then
    die "$candidate does not look like a systemd service unit (no [Service] section with ExecStart=)"
  fi
  cp -- "$candidate" "$STAGE/unit"
  UNIT_SOURCE=$STAGE/unit
  [[ -n $OPT_UNIT ]] || stage_other_units "$(dirname -- "$candidate")"
}

# Refuses a config that names files: openvpn-client@.service runs with PrivateTmp and
# WorkingDirectory=/etc/openvpn/client, and only this one file is installed.
readonly VPN_FILE_DIRECTIVES=" ca cert key tls-auth tls-crypt tls-crypt-v2 pkcs12 secret dh crl-verify extra-certs http-proxy-user-pass "

check_vpn_config() {
  local file=$1 line trimmed directive arg lineno=0 block="" inline_auth=0 auth_line="" server_cert=0
  local -a refs=() risks=()
  grep -q '<auth-user-pass>' "$file" && inline_auth=1
  while IFS= read -r line || [[ -n $line ]]; do
    lineno=$((lineno + 1))
    trimmed=${line%$'\r'}
    trimmed=${trimmed#"${trimmed%%[![:space:]]*}"}
    if [[ -n $block ]]; then
      [[ $trimmed != "</$block>"* ]] || block=""
      continue
    fi
    if [[ $trimmed =~ ^\<([A-Za-z0-9-]+)\> ]]; then block=${BASH_REMATCH[1]}; continue; fi
    [[ -z $trimmed || $trimmed == \#* || $trimmed == \;* ]] && continue
    read -r directive arg _ <<<"$trimmed"
    if [[ $VPN_FILE_DIRECTIVES == *" $directive "* && $arg != "[inline]" && -n $arg ]]; then
      refs+=("line $lineno: $directive $arg")
    elif [[ $directive == auth-user-pass || $directive == askpass ]]; then
      if [[ -n $arg && $arg != "[inline]" ]]; then
        refs+=("line $lineno: $directive $arg")
      elif [[ $directive == auth-user-pass && $inline_auth == 0 ]]; then
        auth_line="line $lineno"
      fi
    elif [[ $directive == dev ]]; then
      VPN_DEV=$arg
    fi
    # What the VPN server (or whoever edits this file) could make root run on this host.
    case $directive in
      up | down) risks+=("line $lineno: '$directive' runs a script as root at each connection") ;;
      plugin) risks+=("line $lineno: 'plugin' loads code into the root OpenVPN process") ;;
      script-security) [[ $arg =~ ^[01]$ ]] || risks+=("line $lineno: 'script-security $arg' lets OpenVPN run scripts (1 is enough for a client)") ;;
      remote-cert-tls) [[ $arg != server ]] || server_cert=1 ;;
    esac
  done <"$file"
  [[ -z $block ]] || die "--vpn-config $file: the inline <$block> block is never closed with </$block>"
  if ((${#refs[@]} > 0)); then
    die "--vpn-config $file references external files, but $VPN_UNIT runs with PrivateTmp and only this one file is installed: inline them (<ca>...</ca>, <cert>, <key>, <tls-auth>, <tls-crypt> blocks) to make the config self-contained:$(printf '\n  %s' "${refs[@]}")"
  fi
  [[ -z $auth_line ]] || die "--vpn-config $file: 'auth-user-pass' without a file ($auth_line) would prompt for a password, which a service cannot answer; use certificates or an inline <auth-user-pass> block"
  [[ -n $VPN_DEV ]] || die "--vpn-config $file has no 'dev' line (dev tun): not an OpenVPN client config?"
  ((server_cert == 1)) || risks+=("no 'remote-cert-tls server': another client's certificate from the same CA could pose as the server")
  local risk
  for risk in "${risks[@]}"; do warn "--vpn-config $file: $risk"; done
}

# "dev tun" means the kernel's first free tunN (tun0 on a host with one tunnel); "dev tun3" or
# any other name is taken as given (the agent judges the interface name).
vpn_interface() {
  case $VPN_DEV in
    tun | tap) printf '%s0' "$VPN_DEV" ;;
    *) printf '%s' "$VPN_DEV" ;;
  esac
}

stage_vpn() {
  [[ -n $OPT_VPN ]] || return 0
  check_vpn_config "$OPT_VPN"
  cp -- "$OPT_VPN" "$STAGE/vpn.conf"
  printf '[Unit]\nAfter=%s\nWants=%s\n' "$VPN_UNIT" "$VPN_UNIT" >"$STAGE/10-vpn.conf"
}

# The value the staged agent.env gives KEY ("" when none).
staged_value() { agent config get --config "$STAGE/agent.env" "$1" 2>/dev/null || true; }

# The installed agent.env (if any) with the flags' changes, written and judged by the agent.
stage_config() {
  local key entry iface current_if current_ip
  local -a args=()
  if [[ -f $R$CONFIG_PATH ]]; then cp -p -- "$R$CONFIG_PATH" "$STAGE/agent.env" || die "cannot read $R$CONFIG_PATH"; fi
  if ((${#TG_ARNS[@]} > 0)); then
    args+=("${PREFIX}ALLOWED_TARGET_GROUPS=$(IFS=,; printf '%s' "${TG_ARNS[*]}")" --unset "${PREFIX}ALLOW_ANY_TARGET_GROUP")
  elif ((ALLOW_ANY)); then
    args+=("${PREFIX}ALLOW_ANY_TARGET_GROUP=true" --unset "${PREFIX}ALLOWED_TARGET_GROUPS")
  fi
  # The table's keys in its order, then --set's as given: the file does not depend on flag order.
  for entry in "${CONFIG_FLAGS_TABLE[@]}"; do
    key=$(full_key "${entry#*=}")
    [[ -z ${FLAG_VALUE[$key]+set} ]] || args+=("$key=${FLAG_VALUE[$key]}")
  done
  for key in ${SET_KEYS[@]+"${SET_KEYS[@]}"}; do
    [[ " ${CONFIG_FLAGS_TABLE[*]} " == *"=${key#"$PREFIX"} "* ]] || args+=("$key=${FLAG_VALUE[$key]}")
  done
  # --host-ip and --interface each replace the other.
  [[ -z ${FLAG_VALUE[${PREFIX}HOST_IP]+set} ]] || args+=(--unset "${PREFIX}INTERFACE")
  [[ -z ${FLAG_VALUE[${PREFIX}INTERFACE]+set} ]] || args+=(--unset "${PREFIX}HOST_IP")
  for key in ${UNSET_KEYS[@]+"${UNSET_KEYS[@]}"}; do args+=(--unset "$key"); done
  # With a VPN, the agent registers the tunnel's address unless told otherwise (now or before).
  if [[ -n $OPT_VPN && -z ${FLAG_VALUE[${PREFIX}INTERFACE]+set}${FLAG_VALUE[${PREFIX}HOST_IP]+set} ]]; then
    iface=$(vpn_interface) current_if=$(staged_value "${PREFIX}INTERFACE") current_ip=$(staged_value "${PREFIX}HOST_IP")
    if [[ -z $current_if && -z $current_ip ]]; then
      args+=("${PREFIX}INTERFACE=$iface")
    elif [[ $current_if != "$iface" ]]; then
      info "Note: keeping ${current_if:+${PREFIX}INTERFACE=$current_if}${current_ip:+${PREFIX}HOST_IP=$current_ip} from the installed configuration; pass --interface $iface to register the tunnel's address."
    fi
  fi
  agent_config config set --config "$STAGE/agent.env" ${args[@]+"${args[@]}"}
  [[ -f $STAGE/agent.env ]] || die "the agent wrote no configuration"
}

stage_policy() {
  agent_config iam-policy --config "$STAGE/agent.env"
  mv -- "$STAGE/agent.out" "$STAGE/iam-policy.json"
}

# ---------------------------------------------------------------- modes
# What install, upgrade, --validate-only and --print-iam-policy share: everything staged and
# judged, nothing changed.
stage_all() {
  resolve_arch
  check_local_files
  make_stage
  stage_source
  stage_unit
  stage_vpn
  stage_config
  stage_policy
}

do_install() {
  require_root
  stage_all
  # A package to install creates /etc/ecs-anywhere-lb-agent and agent.env itself: plan after it.
  if ((PKG_NEW && !DRY_RUN)); then
    install_vpn_package
    install_agent_package
  fi
  build_plan
  print_plan
  if ((!PKG_NEW || DRY_RUN)); then install_vpn_package; fi
  if ((DRY_RUN)); then
    print_policy_instructions "$STAGE/iam-policy.json" "$R$POLICY_PATH"
    return 0
  fi
  apply_plan
  systemctl_phase
  run_agent_check
  print_policy_instructions "$R$POLICY_PATH" "$R$POLICY_PATH"
  if ((CHECK_FAILED)); then
    printf '%s: error: installed, but the configuration check failed (see above)\n' "$PROG" >&2
    exit "$EXIT_CHECK_FAILED"
  fi
  if ((SYSTEMCTL_FAILED)); then
    printf '%s: error: installed, but systemctl failed (see above; journalctl -u %s)\n' "$PROG" "$AGENT" >&2
    exit "$EXIT_SYSTEMCTL_FAILED"
  fi
  if ((NO_START)); then
    info "Done: $AGENT is installed (not started: --no-start)."
  else
    info "Done: $AGENT is installed."
  fi
}

do_validate_only() {
  stage_all
  info "Flags are valid."
}

do_print_policy() {
  stage_all >&2   # stdout is the policy alone
  cat -- "$STAGE/iam-policy.json"
  {
    printf '\nSave the JSON above as %s.json and attach it to the instance role with:\n' "$POLICY_NAME"
    printf '  aws iam put-role-policy --role-name %s --policy-name %s --policy-document file://%s.json\n' \
      "$IAM_ROLE" "$POLICY_NAME" "$POLICY_NAME"
  } >&2
}

# ---------------------------------------------------------------- main
main() {
  parse_args "$@"
  if [[ $MODE == help ]]; then usage; return 0; fi
  validate_flags
  trap cleanup EXIT
  case $MODE in
    validate-only) do_validate_only ;;
    print-iam-policy) do_print_policy ;;
    uninstall | purge) do_uninstall ;;
    install | upgrade) do_install ;;
  esac
}

main "$@"
