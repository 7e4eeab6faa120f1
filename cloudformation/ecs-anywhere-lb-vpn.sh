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

ENV_FILE=/etc/ecs-anywhere-lb-vpn.env
SERVER_DIR=/etc/openvpn/server
PKI_DIR=$SERVER_DIR/pki
CCD_DIR=$SERVER_DIR/ccd
# The stack's values: VPN_CLIENT_CIDR, VPC_CIDR, VPN_PORT, VPN_PUBLIC_ADDRESS, PKI_PARAMETER_PATH, AWS_REGION.
# shellcheck source=/dev/null
. "$ENV_FILE"
export AWS_REGION AWS_DEFAULT_REGION="$AWS_REGION"
export EASYRSA_BATCH=1 EASYRSA_PKI="$PKI_DIR" EASYRSA_ALGO=ec EASYRSA_CURVE=prime256v1 EASYRSA_DIGEST=sha256

die() { echo "ecs-anywhere-lb-vpn: $*" >&2; exit 1; }

# 10.8.0.0/24 -> "10.8.0.0 255.255.255.0"
network_and_mask() {
  local address=${1%/*} prefix=${1#*/} mask=() i bits
  [[ $1 =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}/([0-9]|[12][0-9]|3[0-2])$ ]] || die "not an IPv4 CIDR: $1"
  for i in 0 1 2 3; do
    bits=$((prefix - 8 * i)); ((bits > 8)) && bits=8; ((bits < 0)) && bits=0
    mask+=($((256 - (1 << (8 - bits)))))
  done
  echo "$address ${mask[0]}.${mask[1]}.${mask[2]}.${mask[3]}"
}

easyrsa() {
  local bin
  for bin in /usr/share/easy-rsa/3/easyrsa /usr/share/easy-rsa/easyrsa; do
    if [[ -x $bin ]]; then "$bin" "$@"; return; fi
  done
  die "easy-rsa is not installed (dnf install easy-rsa)"
}

parameter_get() { aws ssm get-parameter --name "$PKI_PARAMETER_PATH/$1" --with-decryption --query Parameter.Value --output text; }
parameter_put() { aws ssm put-parameter --name "$PKI_PARAMETER_PATH/$1" --type "$2" --overwrite --value "file://$3" > /dev/null; }

# The PKI as files in $PKI_DIR (easy-rsa's layout) and the tls-crypt key, made once and kept in SSM.
make_or_restore_pki() {
  if parameter_get ca.crt > /dev/null 2>&1; then
    echo "restoring the PKI from SSM Parameter Store ($PKI_PARAMETER_PATH)"
    easyrsa init-pki
    mkdir -p "$PKI_DIR/issued" "$PKI_DIR/private" "$PKI_DIR/certs_by_serial"
    parameter_get ca.crt > "$PKI_DIR/ca.crt"
    parameter_get ca.key > "$PKI_DIR/private/ca.key"
    parameter_get server.crt > "$PKI_DIR/issued/server.crt"
    parameter_get server.key > "$PKI_DIR/private/server.key"
    parameter_get tls-crypt.key > "$SERVER_DIR/tls-crypt.key"
    # easy-rsa's database of what this CA signed starts empty again; serial numbers are random.
    : > "$PKI_DIR/index.txt"
    echo "unique_subject = no" > "$PKI_DIR/index.txt.attr"
    openssl rand -hex 16 > "$PKI_DIR/serial"
  else
    echo "making the PKI (easy-rsa, EC P-256) and keeping it in SSM Parameter Store ($PKI_PARAMETER_PATH)"
    easyrsa init-pki
    EASYRSA_REQ_CN="ecs-anywhere-lb VPN CA" easyrsa build-ca nopass
    easyrsa build-server-full server nopass
    openvpn --genkey tls-crypt "$SERVER_DIR/tls-crypt.key"
    parameter_put server.key SecureString "$PKI_DIR/private/server.key"
    parameter_put server.crt String "$PKI_DIR/issued/server.crt"
    parameter_put tls-crypt.key SecureString "$SERVER_DIR/tls-crypt.key"
    parameter_put ca.key SecureString "$PKI_DIR/private/ca.key"
    # Last: its presence says the PKI is complete.
    parameter_put ca.crt String "$PKI_DIR/ca.crt"
  fi
  chmod 0600 "$PKI_DIR/private/"*.key "$SERVER_DIR/tls-crypt.key"
}

# client-config-dir entries kept in SSM (one String parameter per host under ccd/).
restore_ccd() {
  local names name
  mkdir -p "$CCD_DIR"
  names=$(aws ssm get-parameters-by-path --path "$PKI_PARAMETER_PATH/ccd" --query 'Parameters[].Name' --output text)
  for name in $names; do
    aws ssm get-parameter --name "$name" --query Parameter.Value --output text > "$CCD_DIR/${name##*/}"
  done
}

server_config() {
  local client vpc
  client=$(network_and_mask "$VPN_CLIENT_CIDR")
  vpc=$(network_and_mask "$VPC_CIDR")
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
dh none
user nobody
group nobody
persist-key
persist-tun
verb 3
EOF
}

setup() {
  dnf install -y openvpn easy-rsa
  mkdir -p "$SERVER_DIR"
  make_or_restore_pki
  restore_ccd
  server_config > "$SERVER_DIR/server.conf"
  # Forward between the tunnel and the VPC; the instance's source/destination check is off (the stack does it).
  echo "net.ipv4.ip_forward = 1" > /etc/sysctl.d/90-ecs-anywhere-lb-vpn.conf
  sysctl -p /etc/sysctl.d/90-ecs-anywhere-lb-vpn.conf
  systemctl enable --now openvpn-server@server
  echo "OpenVPN server up: clients from $VPN_CLIENT_CIDR, pushed route $VPC_CIDR"
}

client() {
  local name=${1:-} address=${2:-} pool
  [[ $name =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ ]] || die "usage: ecs-anywhere-lb-vpn client NAME ADDRESS (NAME: letters, digits, . _ -)"
  [[ $address =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$ ]] || die "usage: ecs-anywhere-lb-vpn client NAME ADDRESS (ADDRESS: a fixed tunnel address in $VPN_CLIENT_CIDR)"
  pool=$(network_and_mask "$VPN_CLIENT_CIDR")
  if [[ ! -f $PKI_DIR/issued/$name.crt ]]; then
    easyrsa build-client-full "$name" nopass > /dev/null 2>&1 || die "easy-rsa could not sign a certificate for $name"
  fi
  echo "ifconfig-push $address ${pool#* }" > "$CCD_DIR/$name"
  parameter_put "ccd/$name" String "$CCD_DIR/$name"
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

case ${1:-} in
  setup) setup ;;
  client) shift; client "$@" ;;
  *) die "usage: ecs-anywhere-lb-vpn setup | client NAME ADDRESS" ;;
esac
