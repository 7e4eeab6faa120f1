#!/usr/bin/env bash
# install.sh: install, upgrade or remove ecs-anywhere-lb-agent on an Amazon ECS Anywhere host.
#
# Run as root. `install.sh --help` lists every flag. In short:
#   install.sh --tarball ecs-anywhere-lb-agent-0.1.0-linux-x64.tar.gz \
#              --target-groups arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef
#   install.sh --upgrade --tarball NEWER.tar.gz      # new binary and unit, same config and state
#   install.sh --uninstall [--purge]                 # remove what was installed (--purge: config, state)
#
# RELEASE TARBALL LAYOUT (what --tarball and --url ...tar.gz expect; one tarball per architecture,
# <arch> is x64 or arm64, matching Node's names; a tarball holding both binaries works as well):
#
#   ecs-anywhere-lb-agent-<version>-linux-<arch>.tar.gz
#   ecs-anywhere-lb-agent-<version>-linux-<arch>.tar.gz.sha256   optional, next to the tarball:
#                                                                `sha256sum` output for the tarball
#   contents: one top-level directory (any name; the files may also sit at the top level):
#     ecs-anywhere-lb-agent-<version>-linux-<arch>/
#       ecs-anywhere-lb-agent-linux-<arch>          the single executable (mode 0755)
#       ecs-anywhere-lb-agent-linux-<arch>.sha256   `sha256sum` output for it (required; "HEX  NAME")
#       ecs-anywhere-lb-agent.service               the systemd unit
#       install.sh                                  this script
#       iam-policy.json                             the IAM policy template (see below)
#       ecs-anywhere-install-wrapper.sh             optional: wraps the official ECS Anywhere installer
#
# Running ./install.sh from an extracted tarball finds the binary, its .sha256 and the unit next
# to it, so `tar xzf X.tar.gz && cd X && sudo ./install.sh --target-groups ARN` is enough. From a
# source checkout the unit defaults to ../systemd/ecs-anywhere-lb-agent.service.
#
# WHAT IT INSTALLS (paths are prefixed with --root DIR when given)
#   /usr/local/bin/ecs-anywhere-lb-agent                          0755 root:root
#   /etc/systemd/system/ecs-anywhere-lb-agent.service             0644 root:root
#   /etc/ecs-anywhere-lb-agent/agent.env                          0640 root:root  (KEY=VALUE config)
#   /etc/ecs-anywhere-lb-agent/iam-policy.json                    0644 root:root  (rendered policy)
#   /etc/ecs-anywhere-lb-agent/.installed-files                   0644 root:root  (manifest)
#   with --vpn-config FILE, also:
#   /etc/openvpn/client/ecs-anywhere.conf                         0600 root:root
#   /etc/systemd/system/ecs-anywhere-lb-agent.service.d/10-vpn.conf   0644 root:root
# The manifest lists every file and directory the installer created; --uninstall removes exactly
# those (directories only when empty) and keeps agent.env; --purge also removes agent.env, the
# manifest and the agent's state directory /var/lib/ecs-anywhere-lb-agent.
#
# HOW IT CHANGES THE HOST
#   Everything is validated and staged in a temporary directory first: a bad flag, a missing file,
#   a checksum mismatch or a failing package manager stops the run with the host unchanged. The
#   openvpn package (the one step that cannot be staged) is installed before any file is moved.
#   Files are then moved into place one by one (atomic rename in the target directory); a file
#   whose content, mode and owner already match is not touched, so an identical re-run changes
#   nothing (same content, same mtimes). A plain re-run changes the configuration only and keeps
#   the installed binary and unit unless a new one is named (--binary/--tarball/--url/--unit);
#   --upgrade replaces binary and unit and keeps configuration and state.
#
# EXIT STATUS
#   0 done; 1 error, host unchanged; 2 bad usage, host unchanged;
#   3 installed, but `ecs-anywhere-lb-agent check` failed: files stay in place so the configuration
#     (or the IAM policy) can be fixed; re-run the installer or `ecs-anywhere-lb-agent check
#     --config /etc/ecs-anywhere-lb-agent/agent.env` afterwards;
#   4 installed, but a systemctl command failed (see journalctl -u ecs-anywhere-lb-agent).
#
# TEST HOOKS (environment): ECS_ANYWHERE_LB_INSTALL_ARCH (same as --arch),
#   ECS_ANYWHERE_LB_INSTALL_PACKAGE_MANAGER_CMD (same as --package-manager-cmd),
#   ECS_ANYWHERE_LB_INSTALL_SYSTEMCTL (command used instead of systemctl, also under --root).

# Written for bash >= 4.2 (Amazon Linux 2, CentOS 7): arrays that may be empty are expanded as
# ${a[@]+"${a[@]}"}, which older bash needs under `set -u`.

set -euo pipefail

readonly PROG=install.sh
readonly AGENT=ecs-anywhere-lb-agent
readonly BIN_PATH=/usr/local/bin/ecs-anywhere-lb-agent
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
readonly ARN_EXAMPLE=arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/0123456789abcdef
# Keys in the order a new agent.env lists them; --set adds others after these.
readonly -a KNOWN_KEYS=(
  "${PREFIX}ALLOWED_TARGET_GROUPS" "${PREFIX}ALLOW_ANY_TARGET_GROUP" "${PREFIX}INTERFACE"
  "${PREFIX}HOST_IP" "${PREFIX}VPC_CIDR" "${PREFIX}AVAILABILITY_ZONE" "${PREFIX}ON_EXIT"
  "${PREFIX}DRAIN_TIMEOUT" "${PREFIX}RECONCILE_INTERVAL" "${PREFIX}LOG_LEVEL" "${PREFIX}LOG_FORMAT"
  "${PREFIX}MAPPING_FILE" "${PREFIX}INCLUDE_NON_ECS" "${PREFIX}METRICS_ADDRESS" AWS_REGION
)
readonly EXIT_ERROR=1 EXIT_USAGE=2 EXIT_CHECK_FAILED=3 EXIT_SYSTEMCTL_FAILED=4

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR

# ---------------------------------------------------------------- options (set by parse_args)
MODE=install            # install | upgrade | uninstall | purge | print-iam-policy | validate-only | help
SRC_BINARY="" SRC_TARBALL="" SRC_URL="" OPT_SHA256="" SKIP_CHECKSUM=0
OPT_UNIT="" OPT_VPN="" IAM_ROLE=ecsAnywhereInstanceRole OPT_ARCH="" PKG_CMD=""
R=""                    # --root without its trailing slash; "" is the real root
NO_SYSTEMCTL=0 NO_CHECK=0 NO_START=0 DRY_RUN=0 FORCE=0
TG_ARNS=()              # from --target-groups (repeatable)
ALLOW_ANY=0
declare -A FLAG_VALUE=()   # agent.env key -> value given by a flag
declare -A FLAG_NAME=()    # agent.env key -> the flag that set it (for messages)
EXTRA_KEYS=()              # keys from --set, in order
UNSET_KEYS=()              # keys from --unset
CONFIG_FLAGS=()            # every configuration flag given (to refuse them where they make no sense)

# ---------------------------------------------------------------- run state
STAGE=""                # temporary staging directory
ARCH="" ARCH_NAME=""    # x64|arm64 and what uname -m (or the override) said
BIN_SOURCE=""           # staged binary, "" = keep the installed one
UNIT_SOURCE=""          # staged unit, "" = keep the installed one
VPN_DEV=""              # tunnel interface named by the VPN config
POLICY_TEMPLATE=""
PLAN_DEST=() PLAN_SRC=() PLAN_MODE=() PLAN_STATE=() PLAN_DIRS=()
CHECK_FAILED=0 SYSTEMCTL_FAILED=0
TARBALL_DIR=""          # where the binary was found inside an extracted tarball
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

Binary source (checked against a SHA-256 checksum; the binary must match this host's CPU):
  --binary FILE            the executable ecs-anywhere-lb-agent-linux-<arch>; checksum from
                           --sha256 or FILE.sha256 next to it
  --tarball FILE.tar.gz    a release tarball (layout: see the comment at the top of this script);
                           binary checked against the .sha256 inside it, the tarball itself
                           against --sha256 or FILE.tar.gz.sha256 when given or present
  --url URL                download a binary or a .tar.gz (curl, else wget); checksum from
                           --sha256 or URL.sha256
  --sha256 HEX             expected SHA-256 of the file given by --binary, --tarball or --url
  --insecure-skip-checksum install without checking any checksum (not recommended)
  --arch ARCH              override \`uname -m\` (x86_64 | aarch64 | arm64); also the
                           ECS_ANYWHERE_LB_INSTALL_ARCH variable
  With no source, a fresh install uses ecs-anywhere-lb-agent-linux-<arch> next to this script
  (extracted tarball) or in ../dist/bin; a re-run keeps the installed binary.

Configuration, written to $CONFIG_PATH (mode 0640); a re-run changes only
the keys its flags name and keeps every other line:
  --target-groups ARN[,ARN...]   target groups the agent may register in (repeatable);
                                 required unless --allow-any-target-group. ARN shape:
                                 arn:aws[-cn|-us-gov]:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID
                                 -> ${PREFIX}ALLOWED_TARGET_GROUPS
  --allow-any-target-group       let task labels name any target group (the IAM policy then
                                 covers every target group of the region)
                                 -> ${PREFIX}ALLOW_ANY_TARGET_GROUP=true
  --interface NAME               register the IPv4 address of this interface, e.g. tun0
                                 -> ${PREFIX}INTERFACE
  --host-ip IPV4                 register this address (excludes --interface)
                                 -> ${PREFIX}HOST_IP
  --vpc-cidr CIDR[,CIDR...]      the target groups' VPC CIDR(s) -> ${PREFIX}VPC_CIDR
  --availability-zone AZ|all     AvailabilityZone for registered targets
                                 -> ${PREFIX}AVAILABILITY_ZONE
  --on-exit auto|deregister|keep what the agent does with its targets when it stops
                                 -> ${PREFIX}ON_EXIT
  --drain-timeout DURATION       seconds, or 30s / 2m / 500ms -> ${PREFIX}DRAIN_TIMEOUT
  --reconcile-interval DURATION  seconds, or 30s / 2m / 500ms -> ${PREFIX}RECONCILE_INTERVAL
  --log-level error|warn|info|debug   -> ${PREFIX}LOG_LEVEL
  --log-format json|text              -> ${PREFIX}LOG_FORMAT
  --mapping-file PATH            absolute path of a mapping file -> ${PREFIX}MAPPING_FILE
  --include-non-ecs              also map containers not started by ECS
                                 -> ${PREFIX}INCLUDE_NON_ECS=true (--no-include-non-ecs: false)
  --metrics-address HOST:PORT    loopback only, e.g. 127.0.0.1:9464 -> ${PREFIX}METRICS_ADDRESS
  --region REGION                AWS region -> AWS_REGION (default: the first target group's;
                                 the agent sends each call to its target group's own region)
  --set NAME=VALUE               any other agent option: ${PREFIX}NAME=VALUE, e.g.
                                 --set ADDRESS_CHECK_INTERVAL=5s (names starting with AWS_
                                 or ${PREFIX} are written as given); repeatable
  --unset NAME                   remove ${PREFIX}NAME (or AWS_...) from the file; repeatable

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
  --unit FILE              systemd unit to install (default: from the tarball, next to this
                           script, or ../systemd/$UNIT_NAME in a source checkout)
  --no-start               enable the services but do not start or restart them
  --no-systemctl           do not run systemctl at all (implied by --root unless
                           ECS_ANYWHERE_LB_INSTALL_SYSTEMCTL names a stand-in)
  --no-check               do not run "$AGENT check" after installing
  --iam-role NAME          role in the printed put-role-policy command (default:
                           ecsAnywhereInstanceRole)
  --print-iam-policy       print the IAM policy JSON for the target groups (from the flags,
                           else from the installed configuration) on stdout and the command
                           to attach it on stderr; changes nothing

Modes and safety:
  --upgrade                replace binary and unit (a source is required unless one sits next
                           to this script); configuration flags are refused
  --uninstall              stop the agent, run "$AGENT deregister --all", disable and remove
                           everything the manifest lists except agent.env (the openvpn package
                           stays); refuses when deregistering fails unless --force
  --purge                  --uninstall, and also remove agent.env, the manifest and
                           $STATE_DIR
  --force                  with --uninstall/--purge: continue when deregistering fails
  --dry-run                show what would change and exit; nothing is changed
  --validate-only          check the flags (and the files they name) and exit
  --root DIR               install into the tree DIR (every path above prefixed by DIR)
  -h, --help               this text

After installing, the agent is enabled and (re)started, "$AGENT check --config
$CONFIG_PATH" runs, and the IAM policy is printed with the command that
attaches it. Exit status: 0 done; 1 error (host unchanged); 2 bad usage (host unchanged);
3 installed but the check failed (fix the configuration or IAM policy, then re-run);
4 installed but systemctl failed.
EOF
}

# ---------------------------------------------------------------- argument parsing
# Flags taking a value accept "--flag VALUE" and "--flag=VALUE".
readonly -a VALUE_FLAGS=(--binary --tarball --url --sha256 --arch --unit --vpn-config --iam-role --root
  --package-manager-cmd --target-groups --interface --host-ip --vpc-cidr --availability-zone
  --on-exit --drain-timeout --reconcile-interval --log-level --log-format --mapping-file
  --metrics-address --region --set --unset)

takes_value() { [[ " ${VALUE_FLAGS[*]} " == *" $1 "* ]]; }

parse_args() {
  local flag value
  while (($# > 0)); do
    flag=$1 value=""
    local inline=0
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
    --include-non-ecs) flag_config "$1" "${PREFIX}INCLUDE_NON_ECS" true ;;
    --no-include-non-ecs) flag_config "$1" "${PREFIX}INCLUDE_NON_ECS" false ;;
    *) usage_error "unknown flag '$1'" ;;
  esac
}

take_value_flag() {
  local flag=$1 value=$2
  case $flag in
    --binary) SRC_BINARY=$value ;;
    --tarball) SRC_TARBALL=$value ;;
    --url) SRC_URL=$value ;;
    --sha256) OPT_SHA256=$value ;;
    --arch) OPT_ARCH=$value ;;
    --unit) OPT_UNIT=$value ;;
    --vpn-config) OPT_VPN=$value CONFIG_FLAGS+=("$flag") ;;
    --iam-role) IAM_ROLE=$value ;;
    --package-manager-cmd) PKG_CMD=$value ;;
    --root) set_root "$value" ;;
    --target-groups) add_target_groups "$value" ;;
    --interface) flag_config "$flag" "${PREFIX}INTERFACE" "$value" ;;
    --host-ip) flag_config "$flag" "${PREFIX}HOST_IP" "$value" ;;
    --vpc-cidr) flag_config "$flag" "${PREFIX}VPC_CIDR" "$value" ;;
    --availability-zone) flag_config "$flag" "${PREFIX}AVAILABILITY_ZONE" "$value" ;;
    --on-exit) flag_config "$flag" "${PREFIX}ON_EXIT" "$value" ;;
    --drain-timeout) flag_config "$flag" "${PREFIX}DRAIN_TIMEOUT" "$value" ;;
    --reconcile-interval) flag_config "$flag" "${PREFIX}RECONCILE_INTERVAL" "$value" ;;
    --log-level) flag_config "$flag" "${PREFIX}LOG_LEVEL" "$value" ;;
    --log-format) flag_config "$flag" "${PREFIX}LOG_FORMAT" "$value" ;;
    --mapping-file) flag_config "$flag" "${PREFIX}MAPPING_FILE" "$value" ;;
    --metrics-address) flag_config "$flag" "${PREFIX}METRICS_ADDRESS" "$value" ;;
    --region) flag_config "$flag" AWS_REGION "$value" ;;
    --set) take_set "$value" ;;
    --unset) take_unset "$value" ;;
  esac
}

flag_config() {
  local flag=$1 key=$2 value=$3
  FLAG_VALUE[$key]=$value
  FLAG_NAME[$key]=$flag
  CONFIG_FLAGS+=("$flag")
}

set_root() {
  [[ $1 == /* ]] || usage_error "--root needs an absolute path (got '$1')"
  R=${1%/}
}

add_target_groups() {
  local arn
  local -a arns
  IFS=, read -ra arns <<<"$1"
  for arn in ${arns[@]+"${arns[@]}"}; do
    arn=${arn//[[:space:]]/}
    [[ -z $arn ]] || TG_ARNS+=("$arn")
  done
  CONFIG_FLAGS+=(--target-groups)
}

# Agent option names: NAME becomes ECS_ANYWHERE_LB_NAME unless it already starts with that or AWS_.
full_key() {
  local name=$1
  [[ $name =~ ^[A-Z][A-Z0-9_]*$ ]] || usage_error "'$name' is not an option name (A-Z, 0-9, _)"
  if [[ $name == "$PREFIX"* || $name == AWS_* ]]; then
    printf '%s' "$name"
  else
    printf '%s%s' "$PREFIX" "$name"
  fi
}

take_set() {
  [[ $1 == *=* ]] || usage_error "--set needs NAME=VALUE (got '$1')"
  local key
  key=$(full_key "${1%%=*}") || exit "$EXIT_USAGE"
  [[ -n ${FLAG_VALUE[$key]+set} || " ${KNOWN_KEYS[*]} " == *" $key "* ]] || EXTRA_KEYS+=("$key")
  flag_config --set "$key" "${1#*=}"
}

take_unset() {
  local key
  key=$(full_key "$1") || exit "$EXIT_USAGE"
  UNSET_KEYS+=("$key")
  CONFIG_FLAGS+=(--unset)
}

# ---------------------------------------------------------------- value validation (pure)
is_ipv4() {
  local ip=$1 octet
  [[ $ip =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$ ]] || return 1
  for octet in "${BASH_REMATCH[@]:1}"; do
    [[ $octet == 0 || $octet != 0* ]] || return 1   # no leading zeros (octal ambiguity)
    ((octet <= 255)) || return 1
  done
}

ipv4_to_int() {
  local a b c d
  IFS=. read -r a b c d <<<"$1"
  printf '%d' $(((a << 24) | (b << 16) | (c << 8) | d))
}

int_to_ipv4() {
  local n=$1
  printf '%d.%d.%d.%d' $(((n >> 24) & 255)) $(((n >> 16) & 255)) $(((n >> 8) & 255)) $((n & 255))
}

# Succeeds for a.b.c.d/n with no host bits set; prints the reason otherwise.
check_cidr() {
  local cidr=$1 ip bits n mask
  if [[ $cidr != */* ]]; then printf 'missing /prefix-length'; return 1; fi
  ip=${cidr%/*} bits=${cidr#*/}
  if ! is_ipv4 "$ip"; then printf "'%s' is not an IPv4 address" "$ip"; return 1; fi
  if ! [[ $bits =~ ^[0-9]{1,2}$ ]] || ((10#$bits > 32)); then
    printf 'prefix length must be 0-32'
    return 1
  fi
  n=$(ipv4_to_int "$ip")
  bits=$((10#$bits))
  mask=$(((0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF))
  if (((n & mask) != n)); then
    printf 'host bits are set; did you mean %s/%s?' "$(int_to_ipv4 $((n & mask)))" "$bits"
    return 1
  fi
}

is_private_ipv4() {
  local n
  n=$(ipv4_to_int "$1")
  (((n >> 24) == 10)) || (((n >> 20) == (172 << 4 | 1))) || (((n >> 16) == (192 << 8 | 168))) ||
    (((n >> 22) == (100 << 2 | 1)))
}

is_tg_arn() {
  [[ $1 =~ ^arn:aws[a-z-]*:elasticloadbalancing:[a-z]{2}(-[a-z]+)+-[0-9]+:[0-9]{12}:targetgroup/[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?/[0-9a-f]{16}$ ]]
}

arn_region() { local rest=${1#arn:*:elasticloadbalancing:}; printf '%s' "${rest%%:*}"; }

region_partition() {
  case $1 in
    cn-*) printf 'aws-cn' ;;
    us-gov-*) printf 'aws-us-gov' ;;
    *) printf 'aws' ;;
  esac
}

# What systemd's EnvironmentFile= and the agent's --config both read the same way: no
# quoting, so no whitespace, quotes, backslashes, $, backticks or #.
check_plain_value() {
  local flag=$1 value=$2
  if [[ $value == *[[:space:]\"\'\\\$\`#]* ]]; then
    usage_error "$flag: value '$value' contains whitespace, a quote, \\, \$, \` or #, which agent.env cannot hold"
  fi
}

validate_value() {
  local key=$1 value=$2 flag=${FLAG_NAME[$1]} item reason
  check_plain_value "$flag" "$value"
  case $key in
    "${PREFIX}INTERFACE")
      [[ $value =~ ^[A-Za-z0-9_.-]{1,15}$ ]] ||
        usage_error "$flag: '$value' is not a network interface name (1-15 of A-Z a-z 0-9 _ . -)" ;;
    "${PREFIX}HOST_IP")
      is_ipv4 "$value" || usage_error "$flag: '$value' is not an IPv4 address (a.b.c.d)"
      is_private_ipv4 "$value" || warn "$flag $value is not in 10/8, 172.16/12, 192.168/16 or 100.64/10; ELBv2 accepts it only if it lies in the target group's VPC" ;;
    "${PREFIX}VPC_CIDR")
      local -a cidrs
      IFS=, read -ra cidrs <<<"$value"
      ((${#cidrs[@]} > 0)) || usage_error "$flag: empty CIDR list"
      for item in "${cidrs[@]}"; do
        reason=$(check_cidr "$item") || usage_error "$flag: '$item' is not an IPv4 CIDR such as 10.0.0.0/16: $reason"
      done ;;
    "${PREFIX}AVAILABILITY_ZONE")
      [[ $value == all || $value =~ ^[a-z]{2}(-[a-z]+)+-[0-9]+(-[a-z]+-[0-9]+)?[a-z]$ ]] ||
        usage_error "$flag: '$value' is neither 'all' nor an Availability Zone name such as eu-west-1a" ;;
    "${PREFIX}ON_EXIT")
      [[ $value =~ ^(auto|deregister|keep)$ ]] || usage_error "$flag: '$value' must be auto, deregister or keep" ;;
    "${PREFIX}DRAIN_TIMEOUT" | "${PREFIX}RECONCILE_INTERVAL")
      [[ $value =~ ^[0-9]+(\.[0-9]+)?(ms|s|m|h)?$ ]] || usage_error "$flag: '$value' is not a duration (seconds, or like 30s, 2m, 500ms)" ;;
    "${PREFIX}LOG_LEVEL")
      [[ $value =~ ^(error|warn|info|debug)$ ]] || usage_error "$flag: '$value' must be error, warn, info or debug" ;;
    "${PREFIX}LOG_FORMAT")
      [[ $value =~ ^(json|text)$ ]] || usage_error "$flag: '$value' must be json or text" ;;
    "${PREFIX}MAPPING_FILE")
      [[ $value == /* ]] || usage_error "$flag: '$value' must be an absolute path" ;;
    "${PREFIX}METRICS_ADDRESS")
      validate_metrics_address "$flag" "$value" ;;
    AWS_REGION)
      [[ $value =~ ^[a-z]{2}(-[a-z]+)+-[0-9]+$ ]] || usage_error "$flag: '$value' is not an AWS region such as eu-west-1" ;;
  esac
}

# The agent serves /metrics on loopback only.
validate_metrics_address() {
  local flag=$1 value=$2 host port
  [[ $value =~ ^(\[[0-9A-Fa-f:]+\]|[^:]+):([0-9]{1,5})$ ]] ||
    usage_error "$flag: '$value' is not HOST:PORT (e.g. 127.0.0.1:9464)"
  host=${BASH_REMATCH[1]} port=${BASH_REMATCH[2]}
  ((10#$port >= 1 && 10#$port <= 65535)) || usage_error "$flag: port $port is outside 1-65535"
  [[ $host == localhost || $host == "[::1]" ]] || { [[ $host == 127.* ]] && is_ipv4 "$host"; } ||
    usage_error "$flag: '$host' is not a loopback address; the agent serves metrics on loopback only (127.0.0.1, localhost or [::1])"
}

# (Target groups may be in several regions: the agent sends each call to its ARN's region.)
validate_target_groups() {
  local arn
  for arn in ${TG_ARNS[@]+"${TG_ARNS[@]}"}; do
    is_tg_arn "$arn" || usage_error "--target-groups: '$arn' is not a target group ARN; expected arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID, e.g. $ARN_EXAMPLE"
  done
}

validate_flags() {
  local key
  ((${#TG_ARNS[@]} == 0 || ALLOW_ANY == 0)) || usage_error "--target-groups and --allow-any-target-group exclude each other"
  [[ -z ${FLAG_VALUE[${PREFIX}HOST_IP]:-} || -z ${FLAG_VALUE[${PREFIX}INTERFACE]:-} ]] ||
    usage_error "--host-ip and --interface exclude each other: give the address to register, or the interface to take it from"
  validate_target_groups
  for key in ${FLAG_VALUE[@]+"${!FLAG_VALUE[@]}"}; do
    validate_value "$key" "${FLAG_VALUE[$key]}"
  done
  validate_sources
  validate_mode_flags
}

validate_sources() {
  local count=0
  [[ -z $SRC_BINARY ]] || count=$((count + 1))
  [[ -z $SRC_TARBALL ]] || count=$((count + 1))
  [[ -z $SRC_URL ]] || count=$((count + 1))
  ((count <= 1)) || usage_error "give only one of --binary, --tarball and --url"
  if [[ -n $OPT_SHA256 ]]; then
    [[ $OPT_SHA256 =~ ^[0-9a-fA-F]{64}$ ]] || usage_error "--sha256: '$OPT_SHA256' is not 64 hexadecimal digits"
    ((count == 1)) || usage_error "--sha256 goes with --binary, --tarball or --url"
  fi
  [[ -z $SRC_URL || $SRC_URL =~ ^(https?|file):// ]] || usage_error "--url: '$SRC_URL' is not an https://, http:// or file:// URL"
  [[ $IAM_ROLE =~ ^[A-Za-z0-9+=,.@_-]{1,64}$ ]] || usage_error "--iam-role: '$IAM_ROLE' is not an IAM role name"
}

validate_mode_flags() {
  case $MODE in
    upgrade)
      ((${#CONFIG_FLAGS[@]} == 0)) ||
        usage_error "--upgrade keeps the configuration; run without --upgrade to change it (got ${CONFIG_FLAGS[*]})" ;;
    uninstall | purge)
      ((${#CONFIG_FLAGS[@]} == 0)) || usage_error "--$MODE takes no configuration flags (got ${CONFIG_FLAGS[*]})"
      [[ -z $SRC_BINARY$SRC_TARBALL$SRC_URL$OPT_UNIT ]] || usage_error "--$MODE takes no binary or unit source" ;;
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
  [[ -n $R || $EUID -eq 0 ]] || die "run as root (e.g. sudo $0 ...): it installs into /usr/local/bin, /etc and systemd"
}

is_installed() { [[ -e $R$MANIFEST_PATH || -e $R$BIN_PATH ]]; }

check_local_files() {
  local pair flag file
  [[ -z $R || -d $R ]] || die "--root: $R is not a directory"
  for pair in "--binary=$SRC_BINARY" "--tarball=$SRC_TARBALL" "--unit=$OPT_UNIT" "--vpn-config=$OPT_VPN"; do
    flag=${pair%%=*} file=${pair#*=}
    [[ -z $file ]] && continue
    [[ -e $file ]] || die "$flag: $file does not exist"
    [[ -f $file && -r $file ]] || die "$flag: $file is not a readable file"
  done
}

# ---------------------------------------------------------------- staging helpers
make_stage() {
  STAGE=$(mktemp -d "${TMPDIR:-/tmp}/ecs-anywhere-lb-agent-install.XXXXXX")
  mkdir -p "$STAGE/download" "$STAGE/tarball" "$STAGE/backup"
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
  local file=$1
  if [[ -n $OPT_SHA256 ]]; then
    printf '%s' "$OPT_SHA256"
  elif [[ -f $file.sha256 ]]; then
    read_checksum_file "$file.sha256"
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
    die "$label is a linux-$kind executable but this host is $ARCH_NAME (linux-$ARCH): use ecs-anywhere-lb-agent-linux-$ARCH"
}

# ---------------------------------------------------------------- staging: binary
stage_binary() {
  local expected
  if [[ -n $SRC_BINARY ]]; then
    expected=$(expected_checksum_for "$SRC_BINARY") || exit "$EXIT_ERROR"
    stage_binary_file "$SRC_BINARY" "$expected"
  elif [[ -n $SRC_TARBALL ]]; then
    expected=$(expected_checksum_for "$SRC_TARBALL") || exit "$EXIT_ERROR"
    stage_tarball "$SRC_TARBALL" "$expected"
  elif [[ -n $SRC_URL ]]; then
    stage_url
  else
    stage_default_binary
  fi
}

# The staged copy is what gets checked and installed (the source may change meanwhile).
stage_binary_file() {
  local file=$1 expected=$2
  cp -- "$file" "$STAGE/binary" || die "cannot copy $file"
  if [[ -n $expected ]]; then
    verify_checksum "$STAGE/binary" "$expected" "$file"
  elif ((SKIP_CHECKSUM)); then
    warn "not checking the checksum of $file (--insecure-skip-checksum)"
  else
    die "no checksum for $file: put its sha256sum output in $file.sha256 or pass --sha256 HEX (--insecure-skip-checksum skips the check)"
  fi
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
  if [[ -f $found.sha256 ]]; then
    expected=$(read_checksum_file "$found.sha256") || exit "$EXIT_ERROR"
    verify_checksum "$found" "$expected" "$name from $file"
  elif ((SKIP_CHECKSUM)); then
    warn "not checking $name in $file (--insecure-skip-checksum)"
  else
    die "$file has no $name.sha256 next to $name: not a release tarball? (--insecure-skip-checksum skips the check)"
  fi
  cp -- "$found" "$STAGE/binary"
  check_binary "$STAGE/binary" "$name from $file"
  BIN_SOURCE=$STAGE/binary
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
  if [[ $base == *.tar.gz || $base == *.tgz ]]; then
    [[ -n $expected ]] || warn "not checking the checksum of $SRC_URL (--insecure-skip-checksum)"
    stage_tarball "$out" "$expected"
  else
    stage_binary_file "$out" "$expected"
  fi
}

# No source named: a fresh install or --upgrade takes the binary next to this script (extracted
# tarball) or in ../dist/bin (source checkout, after npm run build:binaries); a plain re-run
# keeps the installed binary.
stage_default_binary() {
  local name=$AGENT-linux-$ARCH candidate expected
  if is_installed && [[ $MODE != upgrade ]]; then
    return 0
  fi
  for candidate in "$SCRIPT_DIR/$name" "$SCRIPT_DIR/../dist/bin/$name" "$SCRIPT_DIR/../dist/$name"; do
    if [[ -f $candidate ]]; then
      expected=$(expected_checksum_for "$candidate") || exit "$EXIT_ERROR"
      stage_binary_file "$candidate" "$expected"
      return 0
    fi
  done
  die "no agent binary: pass --binary FILE, --tarball FILE or --url URL (looked for $name in $SCRIPT_DIR, $SCRIPT_DIR/../dist/bin and $SCRIPT_DIR/../dist)"
}

# ---------------------------------------------------------------- staging: unit, VPN, policy

stage_unit() {
  local candidate=""
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
  VPN_DEV=""
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
# any other name is taken as given.
vpn_interface() {
  case $VPN_DEV in
    tun | tap) printf '%s0' "$VPN_DEV" ;;
    *) printf '%s' "$VPN_DEV" ;;
  esac
}

stage_vpn() {
  [[ -n $OPT_VPN ]] || return 0
  check_vpn_config "$OPT_VPN"
  [[ $(vpn_interface) =~ ^[A-Za-z0-9_.-]{1,15}$ ]] || die "--vpn-config $OPT_VPN: 'dev $VPN_DEV' is not an interface name"
  cp -- "$OPT_VPN" "$STAGE/vpn.conf"
  printf '[Unit]\nAfter=%s\nWants=%s\n' "$VPN_UNIT" "$VPN_UNIT" >"$STAGE/10-vpn.conf"
}

find_policy_template() {
  local candidate
  for candidate in "$SCRIPT_DIR/iam-policy.json" "${TARBALL_DIR:+$TARBALL_DIR/iam-policy.json}"; do
    if [[ -n $candidate && -f $candidate ]]; then
      POLICY_TEMPLATE=$candidate
      return 0
    fi
  done
  die "iam-policy.json (the IAM policy template) is missing from $SCRIPT_DIR"
}

# Replaces the "@TARGET_GROUP_ARNS@" line of the template with one quoted ARN per line.
render_policy() {
  local out=$1 line indent i sep
  local -a resources=()
  mapfile -t resources < <(policy_resources)
  ((${#resources[@]} > 0)) || die "no target group ARNs to put in the IAM policy"
  grep -q '"@TARGET_GROUP_ARNS@"' "$POLICY_TEMPLATE" || die "$POLICY_TEMPLATE has no \"@TARGET_GROUP_ARNS@\" line"
  while IFS= read -r line || [[ -n $line ]]; do
    if [[ $line == *'"@TARGET_GROUP_ARNS@"'* ]]; then
      indent=${line%%\"*}
      for i in "${!resources[@]}"; do
        sep=,
        ((i + 1 < ${#resources[@]})) || sep=""
        printf '%s"%s"%s\n' "$indent" "${resources[$i]}" "$sep"
      done
    else
      printf '%s\n' "$line"
    fi
  done <"$POLICY_TEMPLATE" >"$out"
}

policy_resources() {
  local tgs region
  if [[ $(env_get "$STAGE/agent.env" "${PREFIX}ALLOW_ANY_TARGET_GROUP") == true ]]; then
    region=$(env_get "$STAGE/agent.env" AWS_REGION)
    printf 'arn:%s:elasticloadbalancing:%s:*:targetgroup/*\n' "$(region_partition "$region")" "$region"
    return 0
  fi
  tgs=$(env_get "$STAGE/agent.env" "${PREFIX}ALLOWED_TARGET_GROUPS")
  tr ',' '\n' <<<"$tgs" | sed '/^$/d'
}

# ---------------------------------------------------------------- agent.env (KEY=VALUE)
env_get() {
  local file=$1 key=$2 line value=""
  [[ -f $file ]] || return 0
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line == "$key="* ]] && value=${line#*=}
  done <"$file"
  value=${value%$'\r'}
  [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]] && value=${BASH_REMATCH[1]}
  printf '%s' "$value"
}

# Replaces the first KEY= line in place (dropping later duplicates) or appends one.
env_set() {
  local file=$1 key=$2 value=$3 line done=0
  while IFS= read -r line || [[ -n $line ]]; do
    if [[ $line == "$key="* ]]; then
      ((done)) || printf '%s=%s\n' "$key" "$value"
      done=1
    else
      printf '%s\n' "$line"
    fi
  done <"$file" >"$file.new"
  ((done)) || printf '%s=%s\n' "$key" "$value" >>"$file.new"
  mv -- "$file.new" "$file"
}

env_unset() {
  local file=$1 key=$2 line
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line == "$key="* ]] || printf '%s\n' "$line"
  done <"$file" >"$file.new"
  mv -- "$file.new" "$file"
}

write_config_header() {
  cat >"$1" <<EOF
# ecs-anywhere-lb-agent configuration: a systemd EnvironmentFile, one KEY=VALUE per line, no
# quoting. Written by install.sh: a re-run changes only the keys its flags name and keeps every
# other line, so hand edits survive. After editing: systemctl restart ecs-anywhere-lb-agent
# Keys not set here take the agent's defaults (ecs-anywhere-lb-agent --help).
EOF
}

# Builds the merged config in $STAGE/agent.env: the installed file (or a header) with the
# flags' changes applied in a fixed key order, so the result does not depend on flag order.
stage_config() {
  local key
  if [[ -f $R$CONFIG_PATH ]]; then
    cp -- "$R$CONFIG_PATH" "$STAGE/agent.env" || die "cannot read $R$CONFIG_PATH"
  else
    write_config_header "$STAGE/agent.env"
  fi
  config_from_target_flags
  for key in "${KNOWN_KEYS[@]}" ${EXTRA_KEYS[@]+"${EXTRA_KEYS[@]}"}; do
    [[ -z ${FLAG_VALUE[$key]+set} ]] || env_set "$STAGE/agent.env" "$key" "${FLAG_VALUE[$key]}"
  done
  [[ -z ${FLAG_VALUE[${PREFIX}HOST_IP]:-} ]] || env_unset "$STAGE/agent.env" "${PREFIX}INTERFACE"
  [[ -z ${FLAG_VALUE[${PREFIX}INTERFACE]:-} ]] || env_unset "$STAGE/agent.env" "${PREFIX}HOST_IP"
  for key in ${UNSET_KEYS[@]+"${UNSET_KEYS[@]}"}; do
    env_unset "$STAGE/agent.env" "$key"
  done
}

config_from_target_flags() {
  if ((${#TG_ARNS[@]} > 0)); then
    local joined
    joined=$(printf '%s\n' "${TG_ARNS[@]}" | awk '!seen[$0]++' | paste -sd, -)
    FLAG_VALUE[${PREFIX}ALLOWED_TARGET_GROUPS]=$joined
    [[ -n ${FLAG_VALUE[AWS_REGION]+set} ]] || FLAG_VALUE[AWS_REGION]=$(arn_region "${TG_ARNS[0]}")
    UNSET_KEYS+=("${PREFIX}ALLOW_ANY_TARGET_GROUP")
  elif ((ALLOW_ANY)); then
    FLAG_VALUE[${PREFIX}ALLOW_ANY_TARGET_GROUP]=true
    UNSET_KEYS+=("${PREFIX}ALLOWED_TARGET_GROUPS")
  fi
}

# With a VPN, the agent registers the tunnel's address unless told otherwise (now or before).
apply_vpn_interface_default() {
  [[ -n $OPT_VPN ]] || return 0
  local iface current_if current_ip
  iface=$(vpn_interface)
  current_if=$(env_get "$STAGE/agent.env" "${PREFIX}INTERFACE")
  current_ip=$(env_get "$STAGE/agent.env" "${PREFIX}HOST_IP")
  if [[ -z $current_if && -z $current_ip ]]; then
    env_set "$STAGE/agent.env" "${PREFIX}INTERFACE" "$iface"
  elif [[ -z ${FLAG_VALUE[${PREFIX}INTERFACE]:-}${FLAG_VALUE[${PREFIX}HOST_IP]:-} && $current_if != "$iface" ]]; then
    info "Note: keeping ${current_if:+${PREFIX}INTERFACE=$current_if}${current_ip:+${PREFIX}HOST_IP=$current_ip} from the installed configuration; pass --interface $iface to register the tunnel's address."
  fi
}

check_final_config() {
  local file=$STAGE/agent.env tgs any
  tgs=$(env_get "$file" "${PREFIX}ALLOWED_TARGET_GROUPS")
  any=$(env_get "$file" "${PREFIX}ALLOW_ANY_TARGET_GROUP")
  [[ -n $tgs || $any == true ]] ||
    usage_error "--target-groups ARN[,ARN...] is required (or --allow-any-target-group), e.g. --target-groups $ARN_EXAMPLE"
  [[ -n $(env_get "$file" AWS_REGION) ]] || usage_error "--region is required with --allow-any-target-group"
  if [[ -n $(env_get "$file" "${PREFIX}INTERFACE") && -n $(env_get "$file" "${PREFIX}HOST_IP") ]]; then
    usage_error "$R$CONFIG_PATH sets both ${PREFIX}INTERFACE and ${PREFIX}HOST_IP; pass --interface or --host-ip to keep one"
  fi
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

# Shallowest first: the order to create them in.
sort_plan_dirs() {
  ((${#PLAN_DIRS[@]} > 0)) || return 0
  mapfile -t PLAN_DIRS < <(printf '%s\n' "${PLAN_DIRS[@]}" | awk '{ print length($0) "\t" $0 }' | sort -n | cut -f2-)
}

build_plan() {
  [[ -z $BIN_SOURCE ]] || plan_add "$BIN_PATH" "$BIN_SOURCE" 0755
  [[ -z $UNIT_SOURCE ]] || plan_add "$UNIT_PATH" "$UNIT_SOURCE" 0644
  if [[ -n $OPT_VPN ]]; then
    plan_add "$DROPIN_PATH" "$STAGE/10-vpn.conf" 0644
    plan_add "$VPN_CONF_PATH" "$STAGE/vpn.conf" 0600
  fi
  plan_add "$CONFIG_PATH" "$STAGE/agent.env" 0640
  plan_add "$POLICY_PATH" "$STAGE/iam-policy.json" 0644
  sort_plan_dirs
  stage_manifest
  plan_add "$MANIFEST_PATH" "$STAGE/manifest" 0644
}

read_manifest() {
  [[ -f $R$MANIFEST_PATH ]] || return 0
  grep -v '^#' "$R$MANIFEST_PATH" | sed '/^$/d'
}

# The manifest remembers everything ever installed (old entries are kept), so --uninstall
# also removes files from earlier runs.
stage_manifest() {
  local d
  {
    printf '# Installed by ecs-anywhere-lb-agent install.sh; --uninstall removes these (directories\n'
    printf '# only when empty), --purge also %s. Do not edit.\n' "$CONFIG_PATH"
    {
      read_manifest
      printf '%s\n' "${PLAN_DEST[@]}"
      for d in ${PLAN_DIRS[@]+"${PLAN_DIRS[@]}"}; do printf '%s/\n' "$d"; done
    } | LC_ALL=C sort -u
  } >"$STAGE/manifest"
}

dry_run_note() { ((DRY_RUN == 0)) || printf ' (dry run: nothing is changed)'; }

print_plan() {
  local i d verb
  info "Changes$(dry_run_note):"
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

plan_state_of() {
  local i
  for i in "${!PLAN_DEST[@]}"; do
    [[ ${PLAN_DEST[$i]} == "$1" ]] && { printf '%s' "${PLAN_STATE[$i]}"; return 0; }
  done
  printf 'absent'
}

changed() { [[ $(plan_state_of "$1") =~ ^(new|update|attrs)$ ]]; }

# ---------------------------------------------------------------- OpenVPN package
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

# ---------------------------------------------------------------- apply (with rollback)
set_owner() { ((EUID != 0)) || chown 0:0 -- "$1"; }
set_attrs() { chmod "$2" -- "$1" && set_owner "$1"; }

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
      attrs) set_attrs "$R${PLAN_DEST[$i]}" "${PLAN_MODE[$i]}" || { rollback; die "cannot set the mode of $R${PLAN_DEST[$i]}"; } ;;
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
  local agent_changed=0 vpn_changed=0 path
  if changed "$UNIT_PATH" || changed "$DROPIN_PATH"; then sc_run daemon-reload; fi
  for path in "$BIN_PATH" "$UNIT_PATH" "$DROPIN_PATH" "$CONFIG_PATH"; do
    changed "$path" && agent_changed=1
  done
  changed "$VPN_CONF_PATH" && vpn_changed=1
  [[ -z $OPT_VPN ]] || enable_and_start "$VPN_UNIT" "$vpn_changed"
  enable_and_start "$UNIT_NAME" "$agent_changed"
}

run_agent_check() {
  ((NO_CHECK == 0)) || return 0
  local status=0
  info "Checking: $BIN_PATH check --config $CONFIG_PATH"
  "$R$BIN_PATH" check --config "$R$CONFIG_PATH" >"$STAGE/check.out" 2>&1 || status=$?
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
  if [[ $(env_get "$STAGE/agent.env" "${PREFIX}ALLOW_ANY_TARGET_GROUP") == true ]]; then
    warn "--allow-any-target-group: the policy lets this host register targets in every target group of the region"
  fi
}

# ---------------------------------------------------------------- modes
do_install() {
  require_root
  resolve_arch
  check_local_files
  make_stage
  if [[ $MODE == upgrade ]] && ! is_installed; then
    die "nothing to upgrade: $AGENT is not installed under ${R:-/} (run without --upgrade)"
  fi
  stage_binary
  stage_unit
  stage_vpn
  stage_config
  apply_vpn_interface_default
  check_final_config
  find_policy_template
  render_policy "$STAGE/iam-policy.json"
  build_plan
  print_plan
  install_vpn_package
  if ((DRY_RUN)); then
    print_policy_instructions "$STAGE/iam-policy.json" "$R$POLICY_PATH"
    return 0
  fi
  apply_plan
  systemctl_phase
  run_agent_check
  print_policy_instructions "$R$POLICY_PATH" "$R$POLICY_PATH"
  finish_install
}

finish_install() {
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
  resolve_arch
  check_local_files
  make_stage
  stage_vpn
  stage_config
  apply_vpn_interface_default
  check_final_config
  find_policy_template
  info "Flags are valid."
}

do_print_policy() {
  make_stage
  stage_config
  check_final_config
  find_policy_template
  render_policy "$STAGE/iam-policy.json"
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
  [[ $MODE != purge || ! -e $R$STATE_DIR ]] || count=$((count + 1))
  printf '%d' "$count"
}

do_uninstall() {
  require_root
  local -a entries=()
  mapfile -t entries < <(manifest_entries)
  if (($(count_removable ${entries[@]+"${entries[@]}"}) == 0)); then
    info "Nothing to remove under ${R:-/}$( [[ $MODE == purge ]] || [[ ! -e $R$CONFIG_PATH ]] || printf ' (configuration kept in %s; --purge removes it)' "$CONFIG_PATH")."
    return 0
  fi
  [[ -f $R$MANIFEST_PATH ]] || warn "no manifest at $R$MANIFEST_PATH: removing the well-known paths that exist"
  set -- ${entries[@]+"${entries[@]}"}
  print_removal_plan "$@"
  ((DRY_RUN == 0)) || return 0
  stop_and_deregister
  disable_units "$@"
  remove_entries "$@"
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
# deregistering fails, it is started again and nothing is removed (unless --force).
stop_and_deregister() {
  local was_active=0 status=0
  if use_systemctl && sc is-active --quiet "$UNIT_NAME"; then
    was_active=1
    sc_run stop "$UNIT_NAME"
  fi
  if [[ ! -x $R$BIN_PATH ]]; then
    info "Not deregistering: $BIN_PATH is not installed"
  elif [[ ! -f $R$CONFIG_PATH ]]; then
    warn "cannot deregister this host's targets: $CONFIG_PATH is missing"
  else
    info "Running: $BIN_PATH deregister --all --config $CONFIG_PATH"
    "$R$BIN_PATH" deregister --all --config "$R$CONFIG_PATH" || status=$?
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
    rmdir -- "$R$CONFIG_DIR" 2>/dev/null || true
    remove_dirs_again "$@"
  else
    {
      printf '# Installed by ecs-anywhere-lb-agent install.sh; left after --uninstall (--purge removes them).\n'
      printf '%s\n' "${kept[@]}" | LC_ALL=C sort -u
    } >"$R$MANIFEST_PATH"
  fi
  [[ $MODE != purge || ! -d $R$CONFIG_DIR ]] || warn "$R$CONFIG_DIR is not empty (files not installed by $PROG): left in place"
}

# After the manifest itself is gone, the directories that only held it can go too.
remove_dirs_again() {
  local entry
  while IFS= read -r entry; do
    rmdir -- "$R${entry%/}" 2>/dev/null || true
  done < <(printf '%s\n' "$@" | grep '/$' | LC_ALL=C sort -r)
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
