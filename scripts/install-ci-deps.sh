#!/usr/bin/env bash
# Installs the Debian packages CI needs on a brand-new machine (run as root), and makes
# sure the iptables that dockerd will call actually works. Fast when all is present:
# no apt-get call at all then.
#
# Add packages to CI_APT_PACKAGES below (one list for every CI step), or pass more at
# run time: CI_EXTRA_APT_PACKAGES="qemu-user-static libc6-arm64-cross" scripts/install-ci-deps.sh
set -euo pipefail

# Why each package is here:
# - docker.io: dockerd (+ containerd, runc) for the integration tests' private engine
# - busybox-static: the statically linked busybox the offline test image is built from
# - iptables: dockerd publishes ports and masquerades through it
# - iproute2: `ip`: the harness gives its private engine its own bridge, and the agent
#   watches address changes with `ip -o monitor address link`
# - shellcheck: lints the shell scripts
# - systemd: systemd-analyze verify/security for the unit (PID 1 need not be systemd)
# - binutils, binutils-aarch64-linux-gnu: strip the x64 and arm64 executables
# - qemu-user-static and the arm64 sysroot (libc6, libstdc++6, libgcc-s1 -arm64-cross):
#   run the arm64 executable on this x64 machine
# - rpm: rpmbuild makes the .rpm packages (npm run package) and rpm -qp inspects them
# - lintian: checks the .deb packages (the packaging test requires no error)
# - openvpn, openssl: e2e:vpn (test/integration/e2e-vpn.test.ts) runs a real OpenVPN server and
#   clients between network namespaces (iproute2) with certificates made offline by openssl;
#   iptables forwards the second host's tunnel to Docker's published ports
# - gnupg, apt-utils (apt-ftparchive), createrepo-c, zip: npm run release signs, builds the apt
#   and yum repositories and the SSM Distributor zips; dnf, unzip, curl: its tests install from
#   those repositories (dnf with gpgcheck), unpack the zips and run install.sh --url
# - mkdocs: `mkdocs build --strict` of docs/ (test/unit/docs-site.test.ts)
# - prometheus: promtool checks and unit-tests monitoring/alerts.yaml (test/unit/monitoring-rules.test.ts)
# - easy-rsa: the stack's VPN server tool makes its PKI with it (test/integration/vpn-server-tool.test.ts)
# (cfn-lint, which test/unit/cloudformation-template.test.ts runs, comes from pip: pip install cfn-lint)
CI_APT_PACKAGES=(
  docker.io
  busybox-static
  iptables
  iproute2
  shellcheck
  systemd
  binutils
  binutils-aarch64-linux-gnu
  qemu-user-static
  libc6-arm64-cross
  libstdc++6-arm64-cross
  libgcc-s1-arm64-cross
  rpm
  lintian
  openvpn
  openssl
  gnupg
  apt-utils
  createrepo-c
  dnf
  zip
  unzip
  curl
  mkdocs
  prometheus
  easy-rsa
)
# CI_ONLY_APT_PACKAGES replaces the list (the demo needs only the Docker engine and busybox).
if [[ -n "${CI_ONLY_APT_PACKAGES:-}" ]]; then
  read -r -a CI_APT_PACKAGES <<<"$CI_ONLY_APT_PACKAGES"
fi
if [[ -n "${CI_EXTRA_APT_PACKAGES:-}" ]]; then
  read -r -a extra_packages <<<"$CI_EXTRA_APT_PACKAGES"
  CI_APT_PACKAGES+=("${extra_packages[@]}")
fi

# dockerd, iptables and update-alternatives live in sbin, which a non-root PATH may lack.
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

log() { printf '[install-ci-deps] %s\n' "$*"; }
die() { log "ERROR: $*" >&2; exit 1; }

is_installed() {
  local status
  # shellcheck disable=SC2016  # ${Status} is dpkg-query's format, not a shell variable
  status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
  [[ $status == 'install ok installed' ]]
}

install_missing() {
  local missing=() package
  for package in "${CI_APT_PACKAGES[@]}"; do
    is_installed "$package" || missing+=("$package")
  done
  if ((${#missing[@]} == 0)); then
    log "all ${#CI_APT_PACKAGES[@]} packages present: ${CI_APT_PACKAGES[*]}"
    return
  fi
  [[ $(id -u) -eq 0 ]] || die "missing ${missing[*]}; run this script as root to install them"
  log "installing: ${missing[*]}"

  # Keep maintainer scripts from starting services: docker.io would otherwise try to
  # start a system dockerd, and the tests must start (and stop) their own.
  local policy=/usr/sbin/policy-rc.d
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# dockerd 20.10 drives whichever `iptables` the alternatives system points at. Debian
# defaults to iptables-nft; a kernel without nf_tables needs iptables-legacy instead.
check_iptables() {
  command -v iptables >/dev/null || die "iptables is not installed"
  if iptables -w -t nat -n -L >/dev/null 2>&1 && iptables -w -t filter -n -L >/dev/null 2>&1; then
    log "iptables works: $(iptables --version)"
    return
  fi
  if command -v iptables-legacy >/dev/null && iptables-legacy -w -t nat -n -L >/dev/null 2>&1; then
    [[ $(id -u) -eq 0 ]] || die "iptables ($(iptables --version)) fails but iptables-legacy works; run as root to switch"
    log "iptables ($(iptables --version)) fails here; switching the alternatives to iptables-legacy"
    update-alternatives --set iptables /usr/sbin/iptables-legacy
    update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy || true
    log "iptables works: $(iptables --version)"
    return
  fi
  # The harness then retries its private dockerd with --iptables=false by itself.
  log "WARNING: neither iptables-nft nor iptables-legacy works on this kernel; the test" \
    "harness will run its dockerd with --iptables=false (ports served by docker-proxy only)"
}

check_tools() {
  local tool
  for tool in dockerd containerd runc ip; do
    command -v "$tool" >/dev/null || die "$tool is missing after the install"
  done
  [[ -x /bin/busybox ]] || die "/bin/busybox is missing (package busybox-static)"
  log "dockerd: $(dockerd --version)"
}

install_missing
check_iptables
check_tools
