# shellcheck shell=bash
# install.sh and ecs-anywhere-install-wrapper.sh, trust: downloads over https only, and the
# OpenPGP signatures that decide which checksums to believe. Sourced; uses the caller's die,
# warn and info; defines functions only.
#
# A release's SHA256SUMS lists every file of the release; SHA256SUMS.asc is its signature by the
# release key, whose fingerprint lib/release-key.sh pins (written by `npm run release`, with the
# key itself in keys/ecs-anywhere-lb-agent.gpg). A checksum is believed only once that signature
# verifies with that key: whoever can replace a file on the server can replace SHA256SUMS too,
# but cannot sign it. Plain http is accepted for a loopback host only (127.0.0.0/8, localhost,
# [::1]: a server on this machine), and a redirect must stay on https.

TRUST_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
readonly TRUST_DIR
readonly RELEASE_KEYRING=$TRUST_DIR/keys/ecs-anywhere-lb-agent.gpg
# The release key's fingerprint, when this copy comes from a release (npm run release writes it).
if [[ -f $TRUST_DIR/lib/release-key.sh ]]; then
  # shellcheck source=/dev/null
  source "$TRUST_DIR/lib/release-key.sh"
fi

# Exits unless URL is https, or http to this machine's loopback.
require_secure_url() {
  local url=$1 label=$2 host
  case $url in
    https://*) return 0 ;;
    http://*)
      host=${url#http://}
      host=${host%%/*}
      host=${host##*@}
      # The whole host must be loopback: 127.0.0.1.example.com is not.
      [[ ! $host =~ ^(127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|localhost|\[::1\])(:[0-9]{1,5})?$ ]] || return 0 ;;
  esac
  die "$label: $url is not an https URL (plain http is accepted only from this machine's loopback address, 127.0.0.1 or localhost)"
}

# Downloads URL to OUT over https (or loopback http); a redirect to anything but https fails.
secure_download() {
  local url=$1 out=$2
  require_secure_url "$url" "download"
  command -v curl >/dev/null 2>&1 || die "curl is needed to download $url"
  local proto==https
  [[ $url != http://* ]] || proto==http,https
  curl --fail --silent --show-error --location --retry 3 --proto "$proto" --proto-redir =https -o "$out" -- "$url"
}

# Verifies the detached signature SIG of FILE with KEYRING and requires the signing key's
# primary fingerprint to be FINGERPRINT. Prints nothing; fails with gpg's words on stderr.
verify_signature() {
  local file=$1 sig=$2 keyring=$3 fingerprint=${4^^} home status signer
  home=$(mktemp -d "${TMPDIR:-/tmp}/ecs-anywhere-lb-agent-gpg.XXXXXX") || return 1
  if command -v gpgv >/dev/null 2>&1; then
    status=$(gpgv --homedir "$home" --keyring "$keyring" --status-fd 1 -- "$sig" "$file" 2>"$home/err") || true
  elif command -v gpg >/dev/null 2>&1; then
    status=$(gpg --homedir "$home" --batch --no-default-keyring --keyring "$keyring" --trust-model always \
      --status-fd 1 --verify -- "$sig" "$file" 2>"$home/err") || true
  else
    rm -rf -- "$home"
    printf 'neither gpgv nor gpg is installed (install gnupg, or give the checksum with --sha256)\n' >&2
    return 1
  fi
  # [GNUPG:] VALIDSIG <signing key> <date> <time> <expiry> <version> <reserved> <algo> <hash> <class> <primary key>
  signer=$(awk '$1 == "[GNUPG:]" && $2 == "VALIDSIG" { print toupper($NF) }' <<<"$status" | head -n 1)
  if [[ -z $signer ]]; then
    sed 's/^/  gpg: /; s/^  gpg: gpgv: /  gpg: /; s/^  gpg: gpg: /  gpg: /' "$home/err" >&2
    rm -rf -- "$home"
    return 1
  fi
  rm -rf -- "$home"
  [[ $signer == "$fingerprint" ]] || { printf '  signed by key %s, not by %s\n' "$signer" "$fingerprint" >&2; return 1; }
}

# The checksum that SHA256SUMS (in DIR, already fetched with SHA256SUMS.asc) gives NAME, once the
# signature verifies with the pinned release key. LABEL names the artefact in messages.
signed_checksum() {
  local dir=$1 name=$2 label=$3 sum
  [[ -n ${RELEASE_KEY_FINGERPRINT:-} && -f $RELEASE_KEYRING ]] ||
    die "cannot verify $label: this copy of $PROG carries no release key (lib/release-key.sh and keys/ecs-anywhere-lb-agent.gpg come with a release tarball); pass --sha256 HEX from a source you trust, or --insecure-skip-signature"
  [[ -f $dir/SHA256SUMS ]] || die "refusing $label: no SHA256SUMS next to it"
  [[ -f $dir/SHA256SUMS.asc ]] || die "refusing $label: SHA256SUMS is not signed (no SHA256SUMS.asc next to it)"
  verify_signature "$dir/SHA256SUMS" "$dir/SHA256SUMS.asc" "$RELEASE_KEYRING" "$RELEASE_KEY_FINGERPRINT" ||
    die "refusing $label: SHA256SUMS.asc is not a valid signature of SHA256SUMS by the release key $RELEASE_KEY_FINGERPRINT (see above)"
  info "  signature ok: SHA256SUMS (release key $RELEASE_KEY_FINGERPRINT)" >&2
  sum=$(awk -v n="$name" '$2 == n || $2 == "*" n { print $1; exit }' "$dir/SHA256SUMS")
  [[ $sum =~ ^[0-9a-fA-F]{64}$ ]] || die "refusing $label: the signed SHA256SUMS does not list $name"
  printf '%s' "${sum,,}"
}
