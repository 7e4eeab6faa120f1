# shellcheck shell=sh
# What the SSM Distributor scripts of ecs-anywhere-lb-agent share (install.sh, update.sh and
# uninstall.sh source it). Distributor runs each script with sh, as root, from the folder it
# extracted the zip into, with no arguments; the association's additionalArguments arrive as
# environment variables whose names begin with SSM_:
#
#   SSM_TARGET_GROUPS         target group ARNs, comma-separated (ALLOWED_TARGET_GROUPS)
#   SSM_VPN_CONFIG_PARAMETER  a SecureString in Parameter Store holding this host's .ovpn;
#                             {instance-id} in the name becomes the host's managed instance id
#                             (one parameter per host, one association for the fleet). Read with
#                             the aws CLI and the instance role (ssm:GetParameter, kms:Decrypt)
#   SSM_INTERFACE, SSM_HOST_IP, SSM_VPC_CIDR, SSM_AVAILABILITY_ZONE   the agent's options
#   SSM_REGION                AWS_REGION of the agent (default: the instance's, BWS_REGION)
#   SSM_SETTINGS              any other options, "NAME=VALUE NAME=VALUE" (e.g. FLEET_SIZE=500)
#
# Each value is written to /etc/ecs-anywhere-lb-agent/agent.env by the agent itself
# (ecs-anywhere-lb-agent config set), which refuses a value `run` would refuse; keys not given
# stay as they are, so an upgrade keeps the host's configuration.
#
# `--root DIR` (never passed by Distributor) installs into the tree DIR instead of /, with
# dpkg --root / rpm --root, and starts nothing: the tests run the scripts that way.
set -eu
umask 077

NAME=ecs-anywhere-lb-agent
UNIT=$NAME.service
ROOT=""
if [ "${1:-}" = --root ]; then
  ROOT=${2:?--root needs a directory}
  case $ROOT in /*) ;; *) echo "$NAME: --root needs an absolute path (got $ROOT)" >&2; exit 2 ;; esac
fi
CONFIG=/etc/$NAME/agent.env
VPN_CONF=/etc/openvpn/client/ecs-anywhere.conf
VPN_UNIT=openvpn-client@ecs-anywhere.service
DROPIN=/etc/systemd/system/$UNIT.d/10-vpn.conf
# shellcheck disable=SC2034 # uninstall.sh uses it
STATE_DIR=/var/lib/$NAME

say() { echo "$NAME: $*"; }
die() { echo "$NAME: error: $*" >&2; exit 1; }

# The one package in this folder (the zip holds one .deb or one .rpm).
PACKAGE=""
for f in ./*.deb ./*.rpm; do
  [ -f "$f" ] || continue
  [ -z "$PACKAGE" ] || die "more than one package in $(pwd): $PACKAGE and $f"
  PACKAGE=$f
done
[ -n "$PACKAGE" ] || die "no .deb or .rpm in $(pwd): not an extracted $NAME Distributor package?"
KIND=${PACKAGE##*.}

systemd_running() { [ -z "$ROOT" ] && [ -d /run/systemd/system ]; }

# The agent as its unit runs it: the configuration file, none of this script's environment.
agent() { env -i PATH="$PATH" "$ROOT/usr/bin/$NAME" "$@"; }

install_package() {
  say "installing $PACKAGE"
  if [ "$KIND" = deb ]; then
    # confold: an agent.env changed on this host stays as it is (no question asked).
    if [ -n "$ROOT" ]; then
      DEBIAN_FRONTEND=noninteractive dpkg --root="$ROOT" --force-script-chrootless --force-depends --force-confold --force-confdef -i "$PACKAGE"
    else
      DEBIAN_FRONTEND=noninteractive dpkg --force-confold --force-confdef -i "$PACKAGE"
    fi
  elif [ -n "$ROOT" ]; then
    rpm --root "$ROOT" --nodeps -U --replacepkgs "$PACKAGE"
  else
    rpm -U --replacepkgs "$PACKAGE"
  fi
}

remove_package() {
  say "removing the $NAME package (its removal script deregisters this host's targets)"
  if [ "$KIND" = deb ]; then
    if [ -n "$ROOT" ]; then dpkg --root="$ROOT" --force-script-chrootless --purge "$NAME"; else dpkg --purge "$NAME"; fi
  elif [ -n "$ROOT" ]; then
    rpm --root "$ROOT" --nodeps -e "$NAME"
  else
    rpm -e "$NAME"
  fi
}

package_installed() {
  if [ "$KIND" = deb ]; then
    [ "$(dpkg-query ${ROOT:+--root="$ROOT"} -W -f='${Status}' "$NAME" 2>/dev/null)" = 'install ok installed' ]
  else
    rpm ${ROOT:+--root "$ROOT"} -q --quiet "$NAME" 2>/dev/null
  fi
}

# NAME=VALUE arguments for `config set` from the SSM_ variables.
settings() {
  [ -z "${SSM_TARGET_GROUPS:-}" ] || printf 'ALLOWED_TARGET_GROUPS=%s\n' "$SSM_TARGET_GROUPS"
  [ -z "${SSM_INTERFACE:-}" ] || printf 'INTERFACE=%s\n' "$SSM_INTERFACE"
  [ -z "${SSM_HOST_IP:-}" ] || printf 'HOST_IP=%s\n' "$SSM_HOST_IP"
  [ -z "${SSM_VPC_CIDR:-}" ] || printf 'VPC_CIDR=%s\n' "$SSM_VPC_CIDR"
  [ -z "${SSM_AVAILABILITY_ZONE:-}" ] || printf 'AVAILABILITY_ZONE=%s\n' "$SSM_AVAILABILITY_ZONE"
  region=${SSM_REGION:-${BWS_REGION:-}}
  [ -z "$region" ] || printf 'AWS_REGION=%s\n' "$region"
  for pair in ${SSM_SETTINGS:-}; do
    case $pair in *=*) printf '%s\n' "$pair" ;; *) die "SSM_SETTINGS: '$pair' is not NAME=VALUE" ;; esac
  done
}

configure() {
  args=$(settings)
  [ -n "$args" ] || { say "no SSM_ settings given: $CONFIG stays as it is"; return 0; }
  # One NAME=VALUE per line: word splitting on newlines only.
  old_ifs=$IFS
  IFS='
'
  # shellcheck disable=SC2086 # one argument per line
  agent config set --config "$ROOT$CONFIG" $args || die "the agent refused the settings (see above); $CONFIG is unchanged"
  IFS=$old_ifs
}

setup_vpn() {
  [ -n "${SSM_VPN_CONFIG_PARAMETER:-}" ] || return 0
  command -v aws >/dev/null 2>&1 || die "SSM_VPN_CONFIG_PARAMETER needs the aws CLI on this host to read $SSM_VPN_CONFIG_PARAMETER from Parameter Store; install it, or place $VPN_CONF yourself"
  region=${SSM_REGION:-${BWS_REGION:-}}
  instance=${AWS_SSM_INSTANCE_ID:-${BWS_INSTANCE_ID:-}}
  parameter=$SSM_VPN_CONFIG_PARAMETER
  case $parameter in
    *'{instance-id}'*)
      [ -n "$instance" ] || die "SSM_VPN_CONFIG_PARAMETER names {instance-id}, but Distributor gave no instance id"
      parameter=$(printf '%s' "$parameter" | sed "s/{instance-id}/$instance/g") ;;
  esac
  mkdir -p "$ROOT/etc/openvpn/client"
  # umask 077: the file holds the host's private key and is 0600 from its first byte.
  aws ${region:+--region "$region"} ssm get-parameter --name "$parameter" --with-decryption \
    --query Parameter.Value --output text >"$ROOT$VPN_CONF.new" || { rm -f "$ROOT$VPN_CONF.new"; die "could not read $parameter from Parameter Store"; }
  mv -f "$ROOT$VPN_CONF.new" "$ROOT$VPN_CONF"
  mkdir -p "$ROOT${DROPIN%/*}"
  (umask 022 && printf '[Unit]\nAfter=%s\nWants=%s\n' "$VPN_UNIT" "$VPN_UNIT" >"$ROOT$DROPIN")
  if [ -z "${SSM_INTERFACE:-}${SSM_HOST_IP:-}" ] && [ -z "$(agent config get --config "$ROOT$CONFIG" HOST_IP 2>/dev/null)" ]; then
    SSM_INTERFACE=tun0
  fi
  if [ -z "$ROOT" ] && ! command -v openvpn >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then DEBIAN_FRONTEND=noninteractive apt-get install -y openvpn
    elif command -v dnf >/dev/null 2>&1; then dnf install -y openvpn
    elif command -v yum >/dev/null 2>&1; then yum install -y openvpn
    else die "openvpn is not installed and no apt-get, dnf or yum is there to install it"
    fi
  fi
  if systemd_running; then systemctl enable --now "$VPN_UNIT"; fi
}

# After the package and the settings: (re)start the agent when its configuration is valid.
restart_agent() {
  if ! agent config validate --config "$ROOT$CONFIG" >/dev/null 2>&1; then
    say "not started: $CONFIG is not valid yet (ecs-anywhere-lb-agent config validate --config $CONFIG says why)"
    return 0
  fi
  if systemd_running; then
    systemctl daemon-reload
    systemctl enable "$UNIT" >/dev/null 2>&1 || true
    systemctl restart "$UNIT"
    say "running"
  fi
}

install_or_update() {
  install_package
  setup_vpn
  configure
  restart_agent
}
