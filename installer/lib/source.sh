# shellcheck shell=bash
# install.sh, the source: the host's architecture, and a binary or package for it that is downloaded,
# checksummed, CPU-checked and staged (the agent binary that then judges the configuration).
# Sourced by install.sh: uses its constants, options and messages; defines functions only.

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

# ---------------------------------------------------------------- staging helpers
make_stage() {
  STAGE=$(mktemp -d "${TMPDIR:-/tmp}/ecs-anywhere-lb-agent-install.XXXXXX")
  mkdir -p "$STAGE/download" "$STAGE/tarball" "$STAGE/package" "$STAGE/backup"
}

cleanup() { [[ -z $STAGE ]] || rm -rf -- "$STAGE"; }

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

# The expected checksum for FILE: --sha256, else the entry of the signed SHA256SUMS next to it
# (lib/trust.sh); "" when neither is there (the caller decides).
expected_checksum_for() {
  local file=$1 dir
  dir=$(dirname -- "$file")
  if [[ -n $OPT_SHA256 ]]; then
    printf '%s' "$OPT_SHA256"
  elif ((SKIP_SIGNATURE == 0)) && [[ -f $dir/SHA256SUMS || -f $dir/SHA256SUMS.asc ]]; then
    signed_checksum "$dir" "${file##*/}" "$file"
  fi
}

# Checks the staged COPY against EXPECTED; without one, only --insecure-skip-signature goes on.
check_or_skip() {
  local copy=$1 expected=$2 label=$3
  if [[ -n $expected ]]; then
    verify_checksum "$copy" "$expected" "$label"
  elif ((SKIP_SIGNATURE)); then
    warn "not checking $label against a signed checksum (--insecure-skip-signature): install only what you built or verified yourself"
  else
    die "refusing $label: it is not covered by a signed SHA256SUMS (put the release's SHA256SUMS and SHA256SUMS.asc next to it, or pass --sha256 HEX from a source you trust; --insecure-skip-signature skips the check)"
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
# FILE EXPECTED [LABEL]: LABEL names the file in messages (the URL it came from).
stage_binary_file() {
  local file=$1 expected=$2
  { cp -- "$file" "$STAGE/binary" && chmod 0755 "$STAGE/binary"; } || die "cannot copy $file"
  check_or_skip "$STAGE/binary" "$expected" "${3:-$file}"
  check_binary "$STAGE/binary" "$file"
  BIN_SOURCE=$STAGE/binary
}

stage_tarball() {
  local file=$1 expected=$2 name found copy=$STAGE/release.tar.gz
  cp -- "$file" "$copy" || die "cannot copy $file"
  check_or_skip "$copy" "$expected" "${3:-$file}"
  tar -xzf "$copy" -C "$STAGE/tarball" --no-same-owner --no-same-permissions 2>"$STAGE/tar.err" ||
    die "cannot extract $file: $(head -n 3 "$STAGE/tar.err")"
  name=$AGENT-linux-$ARCH
  found=$(find "$STAGE/tarball" -mindepth 1 -maxdepth 2 -type f -name "$name")
  [[ -n $found ]] || die "$file has no $name (is it the tarball for another architecture? this host is $ARCH_NAME)"
  [[ $found != *$'\n'* ]] || die "$file holds more than one $name"
  TARBALL_DIR=$(dirname -- "$found")
  cp -- "$found" "$STAGE/binary" && chmod 0755 "$STAGE/binary"
  # The tarball as a whole was checked above; an older tarball's own .sha256 must agree with it.
  if [[ -f $found.sha256 ]]; then
    expected=$(read_checksum_file "$found.sha256") || exit "$EXIT_ERROR"
    verify_checksum "$STAGE/binary" "$expected" "$name from $file"
  fi
  check_binary "$STAGE/binary" "$name from $file"
  BIN_SOURCE=$STAGE/binary
}

# A .deb or .rpm: checked, and its binary extracted so that it can judge the configuration
# before the package manager is called.
stage_package() {
  local file=$1 expected=$2 copy inside=.$PKG_BIN_PATH
  PKG_KIND=${file##*.} copy=$STAGE/package.$PKG_KIND PKG_LABEL=${SRC_PACKAGE:-$SRC_URL}
  cp -- "$file" "$copy" || die "cannot copy $file"
  check_or_skip "$copy" "$expected" "${3:-$file}"
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

# --url: the file, then (unless --sha256 or --insecure-skip-signature) SHA256SUMS and
# SHA256SUMS.asc from the same directory of the server, the signature checked before any checksum
# in it is believed.
stage_url() {
  local base out expected=$OPT_SHA256 dir_url
  base=${SRC_URL%%[?#]*}
  dir_url=${base%/*}
  base=${base##*/}
  [[ -n $base ]] || base=download
  out=$STAGE/download/$base
  info "Downloading $SRC_URL"
  secure_download "$SRC_URL" "$out" || die "download of $SRC_URL failed (see above); nothing was changed"
  if [[ -z $expected ]] && ((SKIP_SIGNATURE == 0)); then
    secure_download "$dir_url/SHA256SUMS" "$STAGE/download/SHA256SUMS" ||
      die "refusing $SRC_URL: $dir_url/SHA256SUMS could not be downloaded (pass --sha256 HEX from a source you trust)"
    secure_download "$dir_url/SHA256SUMS.asc" "$STAGE/download/SHA256SUMS.asc" ||
      die "refusing $SRC_URL: SHA256SUMS is not signed ($dir_url/SHA256SUMS.asc could not be downloaded)"
    expected=$(signed_checksum "$STAGE/download" "$base" "$SRC_URL") || exit "$EXIT_ERROR"
  fi
  case $base in
    *.tar.gz | *.tgz) stage_tarball "$out" "$expected" "$SRC_URL" ;;
    *.deb | *.rpm) [[ -z $R ]] || usage_error "a package cannot be installed under --root"; stage_package "$out" "$expected" "$SRC_URL" ;;
    *) stage_binary_file "$out" "$expected" "$SRC_URL" ;;
  esac
}

# No source named: a re-run keeps what is installed (files or package); a fresh install or
# --upgrade takes the binary next to this script (extracted tarball) or in ../dist/bin.
stage_default() {
  local name=$AGENT-linux-$ARCH candidate expected
  PKG_KIND=$(installed_package || true)
  if is_installed && [[ $MODE != upgrade ]]; then return 0; fi
  [[ -z $PKG_KIND ]] || die "--upgrade of the $PKG_KIND package needs the newer package: --package FILE"
  # The binary that came with this script (the extracted tarball, or a checkout's build) is
  # trusted as far as this script is: check the tarball before extracting it (docs/install.md).
  for candidate in "$SCRIPT_DIR/$name" "$SCRIPT_DIR/../dist/bin/$name" "$SCRIPT_DIR/../dist/$name"; do
    if [[ -f $candidate ]]; then
      expected=$OPT_SHA256
      [[ -n $expected ]] || info "  using $candidate, which came with $PROG"
      { cp -- "$candidate" "$STAGE/binary" && chmod 0755 "$STAGE/binary"; } || die "cannot copy $candidate"
      [[ -z $expected ]] || verify_checksum "$STAGE/binary" "$expected" "$candidate"
      check_binary "$STAGE/binary" "$candidate"
      BIN_SOURCE=$STAGE/binary
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
