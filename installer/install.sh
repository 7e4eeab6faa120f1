#!/usr/bin/env bash
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
# A release tarball (--tarball) holds one directory with ecs-anywhere-lb-agent-linux-<arch>, its
# .sha256 (required), ecs-anywhere-lb-agent.service and these scripts; ./install.sh run from it
# (or from a source checkout: ../dist/bin, ../systemd) finds them without flags.
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

# ---------------------------------------------------------------- options (set by parse_args)
MODE=install            # install | upgrade | uninstall | purge | print-iam-policy | validate-only | help
SRC_BINARY="" SRC_TARBALL="" SRC_URL="" SRC_PACKAGE="" OPT_SHA256="" SKIP_CHECKSUM=0
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
       $PROG --upgrade [SOURCE]   replace binary and unit, keep configuration and state
       $PROG --uninstall [--purge] | --purge
       $PROG --print-iam-policy [--target-groups ARN,...]

Installs ecs-anywhere-lb-agent, which registers this ECS Anywhere host's task containers
(their dynamic host ports) as IP targets in ELBv2 target groups. Run as root.

Source (checked against a SHA-256 checksum; the binary must match this host's CPU):
  --package FILE           a .deb (apt/dpkg systems) or .rpm (dnf/yum/zypper systems) built by
                           \`npm run package\`; dpkg or rpm then owns the binary and the unit;
                           checksum from --sha256 or FILE.sha256 when given or present
  --binary FILE            the executable ecs-anywhere-lb-agent-linux-<arch>; checksum from
                           --sha256 or FILE.sha256 next to it
  --tarball FILE.tar.gz    a release tarball; binary checked against the .sha256 inside it, the
                           tarball itself against --sha256 or FILE.tar.gz.sha256 when present
  --url URL                download a binary, a .tar.gz, a .deb or an .rpm (curl, else wget);
                           checksum from --sha256 or URL.sha256
  --sha256 HEX             expected SHA-256 of the file given by --package/--binary/--tarball/--url
  --insecure-skip-checksum install without checking any checksum (not recommended)
  --arch ARCH              override \`uname -m\` (x86_64 | aarch64 | arm64); also the
                           ECS_ANYWHERE_LB_INSTALL_ARCH variable
  With no source, a fresh install uses ecs-anywhere-lb-agent-linux-<arch> next to this script
  (extracted tarball) or in ../dist/bin; a re-run keeps the installed binary or package.

Configuration, written to $CONFIG_PATH (mode 0640) by the agent itself
(\`$AGENT config set\`): a re-run changes only the keys its flags name and keeps
every other line; an invalid result is refused with the agent's message, before anything is
written. Every value is checked by the agent (\`$AGENT --help\` lists the options):
  --target-groups ARN[,ARN...]   target groups the agent may register in (repeatable; also
                                 --allowed-target-groups) -> ${PREFIX}ALLOWED_TARGET_GROUPS
  --allow-any-target-group       let task labels name any target group (the IAM policy then
                                 covers every target group of --region)
                                 -> ${PREFIX}ALLOW_ANY_TARGET_GROUP=true
  --interface NAME               register this interface's IPv4 address, e.g. tun0
  --host-ip IPV4                 register this address (replaces --interface)
  --vpc-cidr CIDR[,CIDR...]      the target groups' VPC CIDR(s)
  --availability-zone AZ|all     AvailabilityZone for addresses outside the VPC
  --on-exit auto|deregister|keep what the agent does with its targets when it stops
  --drain-timeout DURATION       --reconcile-interval DURATION    e.g. 30s, 2m
  --log-level error|warn|info|debug   --log-format json|text
  --mapping-file PATH            absolute path of a mapping file (it must exist)
  --include-non-ecs              also map containers not started by ECS (--no-include-non-ecs)
  --metrics-address HOST:PORT    loopback only, e.g. 127.0.0.1:9464
  --region REGION                -> AWS_REGION (the IAM policy's region with
                                 --allow-any-target-group; the agent sends each call to its
                                 target group's own region)
  (each -> ${PREFIX}<NAME>, e.g. --on-exit -> ${PREFIX}ON_EXIT)
  --set NAME=VALUE               any other agent option: ${PREFIX}NAME=VALUE (NAME,
                                 ${PREFIX}NAME or AWS_NAME), e.g. --set FLEET_SIZE=500
  --unset NAME                   remove NAME from the file (also a mistyped one)

VPN (routed OpenVPN; the load balancer must reach this host's tunnel address):
  --vpn-config FILE.ovpn   install OpenVPN with the package manager (apt-get, dnf, yum or
                           zypper), place FILE as $VPN_CONF_PATH (0600),
                           enable $VPN_UNIT, order the agent after it, and
                           default --interface to the config's tunnel (dev tun -> tun0). FILE
                           must be self-contained: inline <ca>, <cert>, <key>, <tls-auth>,
                           <tls-crypt> blocks instead of file names.
  --package-manager-cmd CMD run "CMD openvpn" instead of the detected package manager (tests;
                           also ECS_ANYWHERE_LB_INSTALL_PACKAGE_MANAGER_CMD)

Service and IAM:
  --unit FILE              systemd unit to install with --binary/--tarball/--url (default: from
                           the tarball, next to this script, or ../systemd/$UNIT_NAME)
  --no-start               enable the services but do not start or restart them
  --no-systemctl           do not run systemctl at all (implied by --root unless
                           ECS_ANYWHERE_LB_INSTALL_SYSTEMCTL names a stand-in)
  --no-check               do not run "$AGENT check" after installing
  --iam-role NAME          role in the printed put-role-policy command (default:
                           ecsAnywhereInstanceRole)
  --print-iam-policy       print the IAM policy JSON for the target groups (from the flags,
                           else from the installed configuration) on stdout and the command
                           to attach it on stderr; changes nothing (needs a binary to ask)

Modes and safety:
  --upgrade                replace binary and unit (or the package; a source is required
                           unless one sits next to this script); configuration flags are refused
  --uninstall              stop the agent, run "$AGENT deregister --all" (at once when it
                           never registered anything), disable and remove everything the
                           manifest lists (and the package) except agent.env; the openvpn
                           package stays; refuses when deregistering fails unless --force
  --purge                  --uninstall, and also remove agent.env, the manifest and
                           $STATE_DIR
  --force                  with --uninstall/--purge: continue when deregistering fails
  --dry-run                show what would change and exit; nothing is changed
  --validate-only          check the flags (with the agent, and the files they name) and exit
  --root DIR               install into the tree DIR (every path above prefixed by DIR; not
                           with --package)
  -h, --help               this text

After installing, the agent is enabled and (re)started, "$AGENT check --config
$CONFIG_PATH" runs, and the IAM policy is printed with the command that
attaches it. Exit status: 0 done; 1 error (host unchanged); 2 bad usage or configuration
(host unchanged); 3 installed but the check failed (fix the configuration or IAM policy, then
re-run); 4 installed but systemctl failed.
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
    --insecure-skip-checksum) SKIP_CHECKSUM=1 ;;
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
  local count=0 src
  ((${#TG_ARNS[@]} == 0 || ALLOW_ANY == 0)) || usage_error "--target-groups and --allow-any-target-group exclude each other"
  for src in "$SRC_BINARY" "$SRC_TARBALL" "$SRC_URL" "$SRC_PACKAGE"; do [[ -z $src ]] || count=$((count + 1)); done
  ((count <= 1)) || usage_error "give only one of --package, --binary, --tarball and --url"
  if [[ -n $OPT_SHA256 ]]; then
    [[ $OPT_SHA256 =~ ^[0-9a-fA-F]{64}$ ]] || usage_error "--sha256: '$OPT_SHA256' is not 64 hexadecimal digits"
    ((count == 1)) || usage_error "--sha256 goes with --package, --binary, --tarball or --url"
  fi
  [[ -z $SRC_URL || $SRC_URL =~ ^(https?|file):// ]] || usage_error "--url: '$SRC_URL' is not an https://, http:// or file:// URL"
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

# ---------------------------------------------------------------- host facts
resolve_arch() {
  ARCH_NAME=${OPT_ARCH:-${ECS_ANYWHERE_LB_INSTALL_ARCH:-$(uname -m)}}
  case $ARCH_NAME in
    x86_64 | amd64 | x64) ARCH=x64 ;;
    aarch64 | arm64) ARCH=arm64 ;;
    *) die "unsupported architecture '$ARCH_NAME': ECS Anywhere, and so this agent, supports only x86_64 and aarch64 (64-bit ARM; on a Raspberry Pi 3/4/5 use a 64-bit OS)" ;;
  esac
}

require_root() {
  [[ -n $R || $EUID -eq 0 ]] || die "run as root (e.g. sudo $0 ...): it installs into /usr, /etc and systemd"
}

is_installed() { [[ -e $R$MANIFEST_PATH || -e $R$BIN_PATH ]] || installed_package >/dev/null; }

# Prints deb or rpm when the agent's package is installed on this system (never under --root).
installed_package() {
  [[ -z $R ]] || return 1
  if command -v dpkg-query >/dev/null 2>&1 && [[ $(dpkg-query -W -f='${Status}' "$AGENT" 2>/dev/null) == 'install ok installed' ]]; then
    printf 'deb'
  elif command -v rpm >/dev/null 2>&1 && rpm -q --quiet "$AGENT" 2>/dev/null; then
    printf 'rpm'
  else
    return 1
  fi
}

check_local_files() {
  local pair flag file
  [[ -z $R || -d $R ]] || die "--root: $R is not a directory"
  for pair in "--binary=$SRC_BINARY" "--tarball=$SRC_TARBALL" "--package=$SRC_PACKAGE" "--unit=$OPT_UNIT" "--vpn-config=$OPT_VPN"; do
    flag=${pair%%=*} file=${pair#*=}
    [[ -z $file ]] && continue
    [[ -e $file ]] || die "$flag: $file does not exist"
    [[ -f $file && -r $file ]] || die "$flag: $file is not a readable file"
  done
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

# ---------------------------------------------------------------- staging helpers
make_stage() {
  STAGE=$(mktemp -d "${TMPDIR:-/tmp}/ecs-anywhere-lb-agent-install.XXXXXX")
  mkdir -p "$STAGE/download" "$STAGE/tarball" "$STAGE/package" "$STAGE/backup"
}

cleanup() { [[ -z $STAGE ]] || rm -rf -- "$STAGE"; }

download() {
  local url=$1 out=$2
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 3 -o "$out" "$url"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$out" "$url"
  else
    die "neither curl nor wget is installed: cannot download $url"
  fi
}

# Prints the first field of a sha256sum-style file ("HEX  NAME" or just "HEX").
read_checksum_file() {
  local file=$1 sum
  read -r sum _ <"$file" || true
  [[ $sum =~ ^[0-9a-fA-F]{64}$ ]] || die "$file does not start with a SHA-256 checksum (64 hex digits)"
  printf '%s' "${sum,,}"
}

verify_checksum() {
  local file=$1 expected=${2,,} label=$3 actual
  actual=$(sha256sum -- "$file") || die "cannot compute the SHA-256 of $label"
  actual=${actual%% *}
  [[ $actual == "$expected" ]] || die "checksum mismatch for $label: expected $expected, got $actual (corrupt or tampered download?); nothing was changed"
  info "  sha256 ok: $label"
}

# The expected checksum for FILE: --sha256, else FILE.sha256; "" when neither (caller decides).
expected_checksum_for() {
  if [[ -n $OPT_SHA256 ]]; then
    printf '%s' "$OPT_SHA256"
  elif [[ -f $1.sha256 ]]; then
    read_checksum_file "$1.sha256"
  fi
}

# Checks the staged COPY against EXPECTED; without one, only --insecure-skip-checksum goes on.
check_or_skip() {
  local copy=$1 expected=$2 label=$3 hint=$4
  if [[ -n $expected ]]; then
    verify_checksum "$copy" "$expected" "$label"
  elif ((SKIP_CHECKSUM)); then
    warn "not checking the checksum of $label (--insecure-skip-checksum)"
  else
    die "no checksum for $label: $hint (--insecure-skip-checksum skips the check)"
  fi
}

# Prints x64, arm64 or other for an ELF executable; nothing for another kind of file.
elf_arch() {
  local magic machine
  magic=$(od -An -N4 -tx1 -- "$1" | tr -d ' \n')
  [[ $magic == 7f454c46 ]] || return 0
  machine=$(od -An -j18 -N2 -tx1 -- "$1" | tr -d ' \n')
  case $machine in
    3e00) printf 'x64' ;;
    b700) printf 'arm64' ;;
    *) printf 'other' ;;
  esac
}

check_binary() {
  local file=$1 label=$2 kind
  [[ -s $file ]] || die "$label is empty"
  kind=$(elf_arch "$file")
  [[ -z $kind || $kind == "$ARCH" ]] ||
    die "$label is a linux-$kind executable but this host is $ARCH_NAME (linux-$ARCH): use the linux-$ARCH build"
}

# ---------------------------------------------------------------- staging: binary or package
# Stages what this run installs and sets TOOL, the agent binary asked about the configuration.
stage_source() {
  local expected
  if [[ -n $SRC_PACKAGE ]]; then
    expected=$(expected_checksum_for "$SRC_PACKAGE") || exit "$EXIT_ERROR"
    stage_package "$SRC_PACKAGE" "$expected"
  elif [[ -n $SRC_BINARY ]]; then
    expected=$(expected_checksum_for "$SRC_BINARY") || exit "$EXIT_ERROR"
    stage_binary_file "$SRC_BINARY" "$expected"
  elif [[ -n $SRC_TARBALL ]]; then
    expected=$(expected_checksum_for "$SRC_TARBALL") || exit "$EXIT_ERROR"
    stage_tarball "$SRC_TARBALL" "$expected"
  elif [[ -n $SRC_URL ]]; then
    stage_url
  else
    stage_default
  fi
  check_source_against_installation
  if [[ -n $BIN_SOURCE ]]; then
    TOOL=$BIN_SOURCE
  elif [[ -n $PKG_KIND ]]; then
    TOOL=$PKG_BIN_PATH
  else
    TOOL=$R$BIN_PATH
  fi
  [[ -x $TOOL ]] || die "no agent binary to run at $TOOL"
}

# The staged copy is what gets checked and installed (the source may change meanwhile).
stage_binary_file() {
  local file=$1 expected=$2
  { cp -- "$file" "$STAGE/binary" && chmod 0755 "$STAGE/binary"; } || die "cannot copy $file"
  check_or_skip "$STAGE/binary" "$expected" "$file" "put its sha256sum output in $file.sha256 or pass --sha256 HEX"
  check_binary "$STAGE/binary" "$file"
  BIN_SOURCE=$STAGE/binary
}

stage_tarball() {
  local file=$1 expected=$2 name found copy=$STAGE/release.tar.gz
  cp -- "$file" "$copy" || die "cannot copy $file"
  [[ -z $expected ]] || verify_checksum "$copy" "$expected" "$file"
  tar -xzf "$copy" -C "$STAGE/tarball" --no-same-owner --no-same-permissions 2>"$STAGE/tar.err" ||
    die "cannot extract $file: $(head -n 3 "$STAGE/tar.err")"
  name=$AGENT-linux-$ARCH
  found=$(find "$STAGE/tarball" -mindepth 1 -maxdepth 2 -type f -name "$name")
  [[ -n $found ]] || die "$file has no $name (is it the tarball for another architecture? this host is $ARCH_NAME)"
  [[ $found != *$'\n'* ]] || die "$file holds more than one $name"
  TARBALL_DIR=$(dirname -- "$found")
  expected=""
  if [[ -f $found.sha256 ]]; then expected=$(read_checksum_file "$found.sha256") || exit "$EXIT_ERROR"; fi
  cp -- "$found" "$STAGE/binary" && chmod 0755 "$STAGE/binary"
  check_or_skip "$STAGE/binary" "$expected" "$name from $file" "the tarball has no $name.sha256 next to $name: not a release tarball?"
  check_binary "$STAGE/binary" "$name from $file"
  BIN_SOURCE=$STAGE/binary
}

# A .deb or .rpm: checked, and its binary extracted so that it can judge the configuration
# before the package manager is called.
stage_package() {
  local file=$1 expected=$2 copy inside=.$PKG_BIN_PATH
  PKG_KIND=${file##*.} copy=$STAGE/package.$PKG_KIND PKG_LABEL=${SRC_PACKAGE:-$SRC_URL}
  cp -- "$file" "$copy" || die "cannot copy $file"
  check_or_skip "$copy" "$expected" "$file" "put its sha256sum output in $file.sha256 or pass --sha256 HEX"
  if [[ $PKG_KIND == deb ]]; then
    command -v dpkg-deb >/dev/null 2>&1 || die "--package $file: dpkg-deb is missing; is this an apt/dpkg system? (use the .rpm, or --tarball)"
    dpkg-deb --fsys-tarfile "$copy" | tar -xf - -C "$STAGE/package" "$inside" 2>"$STAGE/tar.err" ||
      die "cannot read $file as a .deb of $AGENT: $(head -n 3 "$STAGE/tar.err")"
  else
    if ! command -v rpm2cpio >/dev/null 2>&1 || ! command -v cpio >/dev/null 2>&1; then
      die "--package $file: rpm2cpio or cpio is missing; is this an rpm system? (install cpio, or use --tarball)"
    fi
    rpm2cpio "$copy" 2>"$STAGE/tar.err" | (cd "$STAGE/package" && cpio -idm --quiet "$inside") 2>>"$STAGE/tar.err" ||
      die "cannot read $file as an .rpm of $AGENT: $(head -n 3 "$STAGE/tar.err")"
  fi
  [[ -f $STAGE/package/$inside ]] || die "$file holds no $PKG_BIN_PATH: not a package of $AGENT?"
  chmod 0755 "$STAGE/package/$inside"
  check_binary "$STAGE/package/$inside" "$PKG_BIN_PATH in $file"
  BIN_SOURCE=$STAGE/package/$inside
  PKG_NEW=1
  if [[ $(installed_package || true) == "$PKG_KIND" && $(package_version "$copy") == $(installed_version) ]]; then PKG_NEW=0; fi
}

package_version() {
  if [[ $PKG_KIND == deb ]]; then dpkg-deb -f "$1" Version; else rpm -qp --qf '%{VERSION}-%{RELEASE}' "$1" 2>/dev/null; fi
}

installed_version() {
  if [[ $PKG_KIND == deb ]]; then dpkg-query -W -f='${Version}' "$AGENT"; else rpm -q --qf '%{VERSION}-%{RELEASE}' "$AGENT"; fi
}

stage_url() {
  local base out expected=$OPT_SHA256
  base=${SRC_URL%%[?#]*}
  base=${base##*/}
  [[ -n $base ]] || base=download
  out=$STAGE/download/$base
  info "Downloading $SRC_URL"
  download "$SRC_URL" "$out" || die "download of $SRC_URL failed; nothing was changed"
  if [[ -z $expected ]] && ((SKIP_CHECKSUM == 0)); then
    download "$SRC_URL.sha256" "$out.sha256" 2>/dev/null ||
      die "no checksum for $SRC_URL: $SRC_URL.sha256 could not be downloaded; pass --sha256 HEX (--insecure-skip-checksum skips the check)"
    expected=$(read_checksum_file "$out.sha256") || exit "$EXIT_ERROR"
  fi
  case $base in
    *.tar.gz | *.tgz)
      [[ -n $expected ]] || warn "not checking the checksum of $SRC_URL (--insecure-skip-checksum)"
      stage_tarball "$out" "$expected" ;;
    *.deb | *.rpm) [[ -z $R ]] || usage_error "a package cannot be installed under --root"; stage_package "$out" "$expected" ;;
    *) stage_binary_file "$out" "$expected" ;;
  esac
}

# No source named: a re-run keeps what is installed (files or package); a fresh install or
# --upgrade takes the binary next to this script (extracted tarball) or in ../dist/bin.
stage_default() {
  local name=$AGENT-linux-$ARCH candidate expected
  PKG_KIND=$(installed_package || true)
  if is_installed && [[ $MODE != upgrade ]]; then return 0; fi
  [[ -z $PKG_KIND ]] || die "--upgrade of the $PKG_KIND package needs the newer package: --package FILE"
  for candidate in "$SCRIPT_DIR/$name" "$SCRIPT_DIR/../dist/bin/$name" "$SCRIPT_DIR/../dist/$name"; do
    if [[ -f $candidate ]]; then
      expected=$(expected_checksum_for "$candidate") || exit "$EXIT_ERROR"
      stage_binary_file "$candidate" "$expected"
      return 0
    fi
  done
  die "no agent binary: pass --package FILE, --binary FILE, --tarball FILE or --url URL (looked for $name in $SCRIPT_DIR, $SCRIPT_DIR/../dist/bin and $SCRIPT_DIR/../dist)"
}

# Files and a package do not mix: one owner for the binary and the unit.
check_source_against_installation() {
  local pkg
  pkg=$(installed_package || true)
  if [[ -n $PKG_KIND && -e $R$BIN_PATH ]]; then
    die "$AGENT is installed from files ($BIN_PATH): remove it with '$PROG --uninstall' (keeps agent.env) before installing the package"
  fi
  if [[ -n $pkg && -n $BIN_SOURCE && -z $PKG_KIND ]]; then
    die "$AGENT is installed as a $pkg package: upgrade it with --package FILE (or remove it with '$PROG --uninstall')"
  fi
  [[ $MODE != upgrade ]] || is_installed || die "nothing to upgrade: $AGENT is not installed under ${R:-/} (run without --upgrade)"
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
}

# Refuses a config that names files: openvpn-client@.service runs with PrivateTmp and
# WorkingDirectory=/etc/openvpn/client, and only this one file is installed.
readonly VPN_FILE_DIRECTIVES=" ca cert key tls-auth tls-crypt tls-crypt-v2 pkcs12 secret dh crl-verify extra-certs http-proxy-user-pass "

check_vpn_config() {
  local file=$1 line trimmed directive arg lineno=0 block="" inline_auth=0 auth_line=""
  local -a refs=()
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
  done <"$file"
  [[ -z $block ]] || die "--vpn-config $file: the inline <$block> block is never closed with </$block>"
  if ((${#refs[@]} > 0)); then
    die "--vpn-config $file references external files, but $VPN_UNIT runs with PrivateTmp and only this one file is installed: inline them (<ca>...</ca>, <cert>, <key>, <tls-auth>, <tls-crypt> blocks) to make the config self-contained:$(printf '\n  %s' "${refs[@]}")"
  fi
  [[ -z $auth_line ]] || die "--vpn-config $file: 'auth-user-pass' without a file ($auth_line) would prompt for a password, which a service cannot answer; use certificates or an inline <auth-user-pass> block"
  [[ -n $VPN_DEV ]] || die "--vpn-config $file has no 'dev' line (dev tun): not an OpenVPN client config?"
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
    DEBIAN_FRONTEND=noninteractive "${argv[@]}" || { apt-get update && DEBIAN_FRONTEND=noninteractive "${argv[@]}"; } || status=$?
  else
    "${argv[@]}" || status=$?
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
    DEBIAN_FRONTEND=noninteractive dpkg -i --force-confdef --force-confold "$STAGE/package.deb" || status=$?
  else
    rpm -U --replacepkgs "$STAGE/package.rpm" || status=$?
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
  local agent_changed=$PKG_NEW path
  if changed "$UNIT_PATH" || changed "$DROPIN_PATH"; then sc_run daemon-reload; fi
  for path in "$BIN_PATH" "$UNIT_PATH" "$DROPIN_PATH" "$CONFIG_PATH"; do
    changed "$path" && agent_changed=1
  done
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
