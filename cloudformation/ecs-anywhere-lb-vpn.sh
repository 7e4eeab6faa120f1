#!/bin/bash
# ecs-anywhere-lb-vpn: the OpenVPN server of the ecs-anywhere-lb stack (Amazon Linux 2023, arm64).
#
# The stack's user data writes this file to /usr/local/sbin/ecs-anywhere-lb-vpn and the stack's
# values to /etc/ecs-anywhere-lb-vpn.env, then runs `ecs-anywhere-lb-vpn setup` at first boot.
#
#   ecs-anywhere-lb-vpn setup                  install OpenVPN and easy-rsa, make or restore the PKI,
#                                              write the routed server config, start the server
#   ecs-anywhere-lb-vpn client NAME ADDRESS    print NAME's client config (.ovpn, everything inline)
#                                              and give it the fixed tunnel ADDRESS (client-config-dir)
#
# The PKI (easy-rsa, EC P-256) is made on this instance at its first boot and kept in SSM
# Parameter Store under $PKI_PARAMETER_PATH: the keys as SecureString, the certificates and the
# client-config-dir entries as String. A replacement instance restores it, so the hosts' client
# configs keep working. No NAT: the load balancer reaches each host at its tunnel address.
set -euo pipefail

# The stack's values: VPN_CLIENT_CIDR, VPC_CIDR, VPN_PORT, VPN_PUBLIC_ADDRESS, PKI_PARAMETER_PATH,
# AWS_REGION, and optionally SERVER_DIR (where the server's config, PKI and client-config-dir live).
ENV_FILE=${ECS_ANYWHERE_LB_VPN_ENV:-/etc/ecs-anywhere-lb-vpn.env}
# shellcheck source=/dev/null
. "$ENV_FILE"
SERVER_DIR=${SERVER_DIR:-/etc/openvpn/server}
PKI_DIR=$SERVER_DIR/pki
CCD_DIR=$SERVER_DIR/ccd
export AWS_REGION AWS_DEFAULT_REGION="$AWS_REGION"
export EASYRSA_BATCH=1 EASYRSA_PKI="$PKI_DIR" EASYRSA_ALGO=ec EASYRSA_CURVE=prime256v1 EASYRSA_DIGEST=sha256

# easy-rsa where the distribution has no package: the upstream release, checked against the
# SHA-256 Homebrew's formula also pins for it.
EASYRSA_RELEASE_URL=https://github.com/OpenVPN/easy-rsa/releases/download/v3.2.1/EasyRSA-3.2.1.tgz
EASYRSA_RELEASE_SHA256=ec0fdca46c07afef341e0e0eeb2bf0cfe74a11322b77163e5d764d28cb4eec89
EASYRSA_LOCAL=/usr/local/share/easy-rsa

die() { echo "ecs-anywhere-lb-vpn: $*" >&2; exit 1; }

# 10.8.0.0/24 -> "10.8.0.0 255.255.255.0" (host bits cleared: 10.8.0.5/24 is the same network)
network_and_mask() {
  local prefix=${1#*/} octets mask=() network=() i bits
  [[ $1 =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}/([0-9]|[12][0-9]|3[0-2])$ ]] || die "not an IPv4 CIDR: $1"
  IFS=. read -r -a octets <<< "${1%/*}"
  for i in 0 1 2 3; do
    ((octets[i] <= 255)) || die "not an IPv4 CIDR: $1"
    bits=$((prefix - 8 * i)); ((bits > 8)) && bits=8; ((bits < 0)) && bits=0
    mask+=($((256 - (1 << (8 - bits)))))
    network+=($((octets[i] & mask[i])))
  done
  echo "${network[0]}.${network[1]}.${network[2]}.${network[3]} ${mask[0]}.${mask[1]}.${mask[2]}.${mask[3]}"
}

easyrsa() {
  local bin
  for bin in /usr/share/easy-rsa/3/easyrsa /usr/share/easy-rsa/easyrsa "$EASYRSA_LOCAL/easyrsa"; do
    if [[ -x $bin ]]; then "$bin" "$@"; return; fi
  done
  die "easy-rsa is not installed (dnf install easy-rsa)"
}

install_packages() {
  dnf install -y openvpn
  dnf install -y easy-rsa && return
  echo "no easy-rsa package: installing $EASYRSA_RELEASE_URL in $EASYRSA_LOCAL"
  local archive
  archive=$(mktemp)
  curl -fsSL --retry 3 -o "$archive" "$EASYRSA_RELEASE_URL"
  echo "$EASYRSA_RELEASE_SHA256  $archive" | sha256sum -c - || die "$EASYRSA_RELEASE_URL does not have the expected SHA-256"
  mkdir -p "$EASYRSA_LOCAL"
  tar xzf "$archive" -C "$EASYRSA_LOCAL" --strip-components 1 --no-same-owner
  rm -f "$archive"
}

parameter_get() { aws ssm get-parameter --name "$PKI_PARAMETER_PATH/$1" --with-decryption --query Parameter.Value --output text; }
parameter_put() { aws ssm put-parameter --name "$PKI_PARAMETER_PATH/$1" --type "$2" --overwrite --value "file://$3" > /dev/null; }

# The files of the PKI that are kept: where each lives here, its parameter and its type.
pki_files() {
  echo "$PKI_DIR/private/server.key server.key SecureString"
  echo "$PKI_DIR/issued/server.crt server.crt String"
  echo "$SERVER_DIR/tls-crypt.key tls-crypt.key SecureString"
  echo "$PKI_DIR/private/ca.key ca.key SecureString"
  # Last: its presence says the PKI is complete.
  echo "$PKI_DIR/ca.crt ca.crt String"
}

# A new PKI in $PKI_DIR (easy-rsa's layout): the CA, the server's certificate, the tls-crypt key.
make_pki() {
  mkdir -p "$SERVER_DIR"
  easyrsa init-pki > /dev/null
  EASYRSA_REQ_CN="ecs-anywhere-lb VPN CA" easyrsa build-ca nopass > /dev/null 2>&1
  easyrsa build-server-full server nopass > /dev/null 2>&1
  openvpn --genkey tls-crypt "$SERVER_DIR/tls-crypt.key"
  chmod 0600 "$PKI_DIR/private/"*.key "$SERVER_DIR/tls-crypt.key"
}

# An empty easy-rsa layout for the kept files to go back into.
empty_pki() {
  mkdir -p "$SERVER_DIR"
  easyrsa init-pki > /dev/null
  # What easy-rsa's CA checks expect (3.1 and 3.2 name a few more or fewer; empty ones cost nothing).
  mkdir -p "$PKI_DIR"/{issued,private,reqs,certs_by_serial,revoked/certs_by_serial,revoked/private_by_serial,revoked/reqs_by_serial}
}

# After the kept files are back: easy-rsa's database of what this CA signed starts empty again
# (its serial numbers are random, so new certificates do not clash with earlier ones).
finish_restored_pki() {
  : > "$PKI_DIR/index.txt"
  echo "unique_subject = no" > "$PKI_DIR/index.txt.attr"
  openssl rand -hex 16 > "$PKI_DIR/serial"
  chmod 0600 "$PKI_DIR/private/"*.key "$SERVER_DIR/tls-crypt.key"
}

# The PKI, made once and kept in SSM Parameter Store; a replacement instance restores it.
make_or_restore_pki() {
  local path name type
  if parameter_get ca.crt > /dev/null 2>&1; then
    echo "restoring the PKI from SSM Parameter Store ($PKI_PARAMETER_PATH)"
    empty_pki
    while read -r path name type; do parameter_get "$name" > "$path"; done < <(pki_files)
    finish_restored_pki
  else
    echo "making the PKI (easy-rsa, EC P-256) and keeping it in SSM Parameter Store ($PKI_PARAMETER_PATH)"
    make_pki
    while read -r path name type; do parameter_put "$name" "$type" "$path"; done < <(pki_files)
  fi
}

# client-config-dir entries kept in SSM (one String parameter per host under ccd/).
restore_ccd() {
  local names name
  mkdir -p "$CCD_DIR" && chmod 0755 "$CCD_DIR"
  names=$(aws ssm get-parameters-by-path --path "$PKI_PARAMETER_PATH/ccd" --query 'Parameters[].Name' --output text)
  for name in $names; do
    aws ssm get-parameter --name "$name" --query Parameter.Value --output text > "$CCD_DIR/${name##*/}"
  done
}

# Who the server runs as after start-up: it must still read client-config-dir then. Fedora's and
# Amazon Linux's package make the user openvpn (and /etc/openvpn/server readable by its group only).
run_as() {
  if getent passwd openvpn > /dev/null; then echo "openvpn openvpn"
  elif getent group nobody > /dev/null; then echo "nobody nobody"
  else echo "nobody nogroup"; fi
}

server_config() {
  local client vpc user group
  client=$(network_and_mask "$VPN_CLIENT_CIDR")
  vpc=$(network_and_mask "$VPC_CIDR")
  read -r user group < <(run_as)
  cat <<EOF
# ecs-anywhere-lb VPN server: routed (no NAT), one fixed address per host from client-config-dir
port $VPN_PORT
proto udp
dev tun
topology subnet
server $client
push "route $vpc"
client-config-dir $CCD_DIR
# A host without an entry is refused: every host has its fixed address, which is what gets registered.
ccd-exclusive
keepalive 10 60
ca $PKI_DIR/ca.crt
cert $PKI_DIR/issued/server.crt
key $PKI_DIR/private/server.key
tls-crypt $SERVER_DIR/tls-crypt.key
# Only client certificates (the server's own cannot connect as a host).
remote-cert-tls client
dh none
user $user
group $group
persist-key
persist-tun
verb 3
EOF
}

setup() {
  install_packages
  make_or_restore_pki
  restore_ccd
  server_config > "$SERVER_DIR/server.conf"
  # Forward between the tunnel and the VPC; the instance's source/destination check is off (the stack does it).
  echo "net.ipv4.ip_forward = 1" > /etc/sysctl.d/90-ecs-anywhere-lb-vpn.conf
  sysctl -p /etc/sysctl.d/90-ecs-anywhere-lb-vpn.conf
  systemctl enable --now openvpn-server@server
  echo "OpenVPN server up: clients from $VPN_CLIENT_CIDR, pushed route $VPC_CIDR"
}

# NAME's certificate (signed once) and its client-config-dir entry with the fixed ADDRESS.
issue_client() {
  local name=${1:-} address=${2:-} pool
  [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ ]] || die "usage: ecs-anywhere-lb-vpn client NAME ADDRESS (NAME: letters, digits, . _ -)"
  [[ $address =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$ ]] || die "usage: ecs-anywhere-lb-vpn client NAME ADDRESS (ADDRESS: a fixed tunnel address in $VPN_CLIENT_CIDR)"
  [[ $name != server ]] || die "server is the VPN server's own certificate: give the host another NAME"
  pool=$(network_and_mask "$VPN_CLIENT_CIDR")
  if [[ ! -f $PKI_DIR/issued/$name.crt ]]; then
    easyrsa build-client-full "$name" nopass > /dev/null 2>&1 || die "easy-rsa could not sign a certificate for $name"
  fi
  mkdir -p "$CCD_DIR" && chmod 0755 "$CCD_DIR"
  echo "ifconfig-push $address ${pool#* }" > "$CCD_DIR/$name"
}

# NAME's client config: one file, every certificate and key inline.
client_config() {
  local name=$1
  cat <<EOF
client
dev tun
proto udp
remote $VPN_PUBLIC_ADDRESS $VPN_PORT
nobind
persist-key
persist-tun
remote-cert-tls server
verb 3
<ca>
$(cat "$PKI_DIR/ca.crt")
</ca>
<cert>
$(openssl x509 -in "$PKI_DIR/issued/$name.crt")
</cert>
<key>
$(cat "$PKI_DIR/private/$name.key")
</key>
<tls-crypt>
$(cat "$SERVER_DIR/tls-crypt.key")
</tls-crypt>
EOF
}

client() {
  issue_client "$@"
  parameter_put "ccd/$1" String "$CCD_DIR/$1"
  client_config "$1"
}

main() {
  case ${1:-} in
    setup) setup ;;
    client) shift; client "$@" ;;
    *) die "usage: ecs-anywhere-lb-vpn setup | client NAME ADDRESS" ;;
  esac
}

# Run as a command; sourced (the tests), it only defines the functions.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
