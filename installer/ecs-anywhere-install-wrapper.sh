#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# ecs-anywhere-install-wrapper.sh: register this host with Amazon ECS Anywhere (the official
# ecs-anywhere-install.sh) and then install ecs-anywhere-lb-agent (install.sh), in one command.
#
# The official script's flags go to it exactly as given (same order, unchanged); every other
# flag goes to install.sh, together with --region (and --no-start). Our flags are checked first
# (install.sh --validate-only: the agent binary, from the package or tarball given, judges the
# configuration), so a typo stops the run before the official script touches the host;
# install.sh runs only when the official script succeeded, and the official script's exit
# status is passed on when it fails. Given --package FILE.deb|.rpm, install.sh installs the
# agent's package (as the official script installs the ECS agent's), else it places the files.
#
# The official script runs as root, so it runs only once its signature verifies: it is
# downloaded over https with its .asc (or taken from --official-script PATH with PATH.asc) and
# checked with Amazon's ECS key, shipped here (keys/amazon-ecs.gpg, fingerprint as the ECS
# developer guide publishes it), unless --skip-official-script-signature says otherwise. The
# activation code is passed to the official script and shown nowhere (--activation-code ***).
#
#   sudo ./ecs-anywhere-install-wrapper.sh --region eu-west-1 --cluster edge \
#     --activation-id ID --activation-code CODE \
#     --package ecs-anywhere-lb-agent_0.1.0_amd64.deb --target-groups ARN --vpn-config site.ovpn

set -euo pipefail
umask 077

readonly PROG=ecs-anywhere-install-wrapper.sh
readonly OFFICIAL_URL=https://amazon-ecs-agent.s3.amazonaws.com/ecs-anywhere-install-latest.sh
# The Amazon ECS PGP key (ECS developer guide): it signs ecs-anywhere-install.sh and ecs-init.
readonly ECS_KEY_FINGERPRINT=F34C3DDAE72926B079BEAEC6BCE9D9A42D51784F
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR
readonly ECS_KEYRING=$SCRIPT_DIR/keys/amazon-ecs.gpg

# The official script's flags: those taking a value, and switches. --deb-url, --rpm-url and
# --skip-gpg-check are undocumented (testing) flags of the official script, passed on as well.
readonly -a OFFICIAL_VALUE_FLAGS=(--region --activation-id --activation-code --cluster
  --docker-install-source --ecs-version --ecs-endpoint --certs-file --deb-url --rpm-url)
readonly -a OFFICIAL_SWITCHES=(--enable-gpu --no-start --skip-registration --skip-gpg-check)

OFFICIAL_ARGS=()      # passed to the official script, in the order given
OUR_ARGS=()           # passed to install.sh, in the order given
INSTALLER_ARGV=()     # --region [--no-start] OUR_ARGS, built by build_installer_argv
REGION="" NO_START=0 HELP=0 DRY_RUN=0 SKIP_OFFICIAL_SIGNATURE=0
ACTIVATION_CODE=""    # masked in everything the wrapper or the official script prints
OFFICIAL_SCRIPT="" OFFICIAL_SCRIPT_URL=$OFFICIAL_URL INSTALLER=$SCRIPT_DIR/install.sh
TMP_DIR=""

die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
usage_error() {
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  printf 'Run "%s --help" for the list of flags.\n' "$PROG" >&2
  exit 2
}
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
info() { printf '%s\n' "$*"; }
cleanup() { [[ -z $TMP_DIR ]] || rm -rf -- "$TMP_DIR"; }

[[ -f $SCRIPT_DIR/lib/trust.sh ]] || die "$SCRIPT_DIR/lib/trust.sh is missing: run $PROG from its release tarball or checkout"
# shellcheck source=lib/trust.sh
source "$SCRIPT_DIR/lib/trust.sh"

# Copies stdin to stdout with the activation code replaced by ***.
mask_activation_code() {
  local line
  while IFS= read -r line || [[ -n $line ]]; do
    [[ -z $ACTIVATION_CODE ]] || line=${line//"$ACTIVATION_CODE"/***}
    printf '%s\n' "$line"
  done
}

# The official script's arguments as they may be shown: the activation code masked.
shown_official_args() {
  local arg hide=0
  local -a out=()
  for arg in ${OFFICIAL_ARGS[@]+"${OFFICIAL_ARGS[@]}"}; do
    if ((hide)); then out+=('***'); hide=0; continue; fi
    [[ $arg != --activation-code ]] || hide=1
    out+=("$arg")
  done
  printf '%s' "${out[*]}"
}

is_one_of() {
  local needle=$1 item
  shift
  for item in "$@"; do [[ $item != "$needle" ]] || return 0; done
  return 1
}

usage() {
  cat <<EOF
Usage: $PROG --region REGION [OFFICIAL FLAGS] [INSTALL.SH FLAGS] [WRAPPER FLAGS]

Runs Amazon's ecs-anywhere-install.sh (registers the host with SSM and ECS, installs Docker
and the ECS agent) with its own flags, unchanged and in order; when it succeeds, runs
install.sh (ecs-anywhere-lb-agent) with every other flag plus --region. Run as root.

Flags of the official ecs-anywhere-install.sh (passed to it as given):
  --region REGION              (required) region of the ECS cluster and SSM activation; also
                               passed to install.sh
  --activation-id ID           SSM activation id (required unless --skip-registration)
  --activation-code CODE       SSM activation code (required unless --skip-registration)
  --cluster NAME               ECS cluster (default: default)
  --enable-gpu                 enable GPU support in the ECS agent
  --docker-install-source all|docker|distro|none   where Docker comes from (default: all)
  --ecs-version VERSION        ECS agent (ecs-init) package version (default: latest)
  --ecs-endpoint URL           ECS endpoint override
  --certs-file FILE            TLS certificates for ECS Exec
  --ip-compatibility [VALUE]   IP compatibility setting of newer official scripts (a value is
                               passed along when one follows)
  --no-start                   install but do not start SSM, Docker, ECS; passed to install.sh
                               too (enable, do not start)
  --skip-registration          do not register with SSM (already registered)
  --deb-url URL, --rpm-url URL, --skip-gpg-check   the official script's testing flags

Wrapper flags:
  --official-script PATH       use this copy of ecs-anywhere-install.sh (and its signature
                               PATH.asc) instead of downloading
  --official-script-url URL    download from URL and URL.asc over https (default: $OFFICIAL_URL)
  --skip-official-script-signature  run the official script without checking its signature by
                               the Amazon ECS key (F34C 3DDA E729 26B0 79BE AEC6 BCE9 D9A4 2D51 784F,
                               shipped in keys/amazon-ecs.gpg); logged as a warning
  --installer PATH             install.sh to run (default: the one next to this script)
  --dry-run                    show the official command without running it, and run
                               install.sh --dry-run (changes nothing)
  -h, --help                   this text (the official script's own help: bash
                               ecs-anywhere-install.sh --help)

Every other flag goes to install.sh (--package FILE.deb|.rpm installs the agent's package,
--tarball or --binary places the files); they are:
EOF
  if [[ -f $INSTALLER ]]; then
    bash "$INSTALLER" --help | sed 's/^/  | /'
  else
    info "  ($INSTALLER not found)"
  fi
}

parse_args() {
  local flag
  while (($# > 0)); do
    flag=$1
    # --flag=VALUE of an official flag: as two words, so that the value is recognised (and an
    # activation code masked) whichever way it was written.
    if [[ $flag == --*=* ]] && is_one_of "${flag%%=*}" "${OFFICIAL_VALUE_FLAGS[@]}"; then
      set -- "${flag%%=*}" "${flag#*=}" "${@:2}"
      flag=$1
    fi
    if is_one_of "$flag" "${OFFICIAL_VALUE_FLAGS[@]}"; then
      (($# >= 2)) || usage_error "$flag needs a value"
      OFFICIAL_ARGS+=("$flag" "$2")
      [[ $flag != --region ]] || REGION=$2
      [[ $flag != --activation-code ]] || ACTIVATION_CODE=$2
      shift 2
      continue
    fi
    if is_one_of "$flag" "${OFFICIAL_SWITCHES[@]}"; then
      OFFICIAL_ARGS+=("$flag")
      [[ $flag != --no-start ]] || NO_START=1
      shift
      continue
    fi
    case $flag in
      --ip-compatibility)
        # Takes a value in some versions of the official script: keep one if it follows.
        OFFICIAL_ARGS+=("$flag")
        if (($# >= 2)) && [[ $2 != --* ]]; then OFFICIAL_ARGS+=("$2"); shift; fi ;;
      --official-script | --official-script-url | --installer)
        if (($# < 2)) || [[ -z $2 ]]; then usage_error "$flag needs a value"; fi
        take_wrapper_flag "$flag" "$2"
        shift ;;
      -h | --help) HELP=1 ;;
      --skip-official-script-signature) SKIP_OFFICIAL_SIGNATURE=1 ;;
      --dry-run) DRY_RUN=1 OUR_ARGS+=("$flag") ;;
      *) OUR_ARGS+=("$flag") ;;   # install.sh's flags and their values, in order
    esac
    shift
  done
}

take_wrapper_flag() {
  case $1 in
    --official-script) OFFICIAL_SCRIPT=$2 ;;
    --official-script-url) OFFICIAL_SCRIPT_URL=$2 ;;
    --installer) INSTALLER=$2 ;;
  esac
}

build_installer_argv() {
  INSTALLER_ARGV=(--region "$REGION")
  ((NO_START == 0)) || INSTALLER_ARGV+=(--no-start)
  INSTALLER_ARGV+=(${OUR_ARGS[@]+"${OUR_ARGS[@]}"})
}

validate_our_flags() {
  local status=0
  [[ -f $INSTALLER ]] || die "install.sh not found at $INSTALLER (pass --installer PATH)"
  bash "$INSTALLER" --validate-only "${INSTALLER_ARGV[@]}" >/dev/null || status=$?
  if ((status != 0)); then
    printf '%s: error: install.sh rejected its flags (see above); nothing was run\n' "$PROG" >&2
    exit "$status"
  fi
}

fetch_official_script() {
  if [[ -n $OFFICIAL_SCRIPT ]]; then
    [[ -f $OFFICIAL_SCRIPT ]] || die "--official-script: $OFFICIAL_SCRIPT does not exist"
    check_official_script "$OFFICIAL_SCRIPT" "$OFFICIAL_SCRIPT.asc" "$OFFICIAL_SCRIPT"
    return 0
  fi
  if ((DRY_RUN)); then
    OFFICIAL_SCRIPT="(downloaded from $OFFICIAL_SCRIPT_URL)"
    return 0
  fi
  TMP_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ecs-anywhere-install.XXXXXX")
  OFFICIAL_SCRIPT=$TMP_DIR/ecs-anywhere-install.sh
  info "Downloading $OFFICIAL_SCRIPT_URL"
  secure_download "$OFFICIAL_SCRIPT_URL" "$OFFICIAL_SCRIPT" ||
    die "could not download the official installer from $OFFICIAL_SCRIPT_URL; nothing was run"
  if ((SKIP_OFFICIAL_SIGNATURE == 0)); then
    secure_download "$OFFICIAL_SCRIPT_URL.asc" "$OFFICIAL_SCRIPT.asc" ||
      die "refusing the official installer: its signature $OFFICIAL_SCRIPT_URL.asc could not be downloaded; nothing was run"
  fi
  check_official_script "$OFFICIAL_SCRIPT" "$OFFICIAL_SCRIPT.asc" "$OFFICIAL_SCRIPT_URL"
}

# The official script runs as root: only with a valid signature by the Amazon ECS key.
check_official_script() {
  local script=$1 sig=$2 label=$3
  if ((SKIP_OFFICIAL_SIGNATURE)); then
    warn "running $label without checking its signature (--skip-official-script-signature)"
    return 0
  fi
  [[ -f $sig ]] || die "refusing $label: no signature $sig next to it (Amazon publishes ecs-anywhere-install.sh with a .asc); nothing was run"
  [[ -f $ECS_KEYRING ]] || die "refusing $label: the Amazon ECS key $ECS_KEYRING is missing; nothing was run"
  verify_signature "$script" "$sig" "$ECS_KEYRING" "$ECS_KEY_FINGERPRINT" ||
    die "refusing $label: it is not signed by the Amazon ECS key $ECS_KEY_FINGERPRINT (see above); nothing was run"
  info "  signature ok: $label (Amazon ECS key $ECS_KEY_FINGERPRINT)"
}

run_official() {
  local status=0
  if ((DRY_RUN)); then
    info "Would run the official ECS Anywhere installer: $OFFICIAL_SCRIPT $(shown_official_args)"
    return 0
  fi
  info "Running the official ECS Anywhere installer: $OFFICIAL_SCRIPT $(shown_official_args)"
  # Its output goes through the mask too: the code must not reach a terminal or a log.
  bash "$OFFICIAL_SCRIPT" "${OFFICIAL_ARGS[@]}" > >(mask_activation_code) 2> >(mask_activation_code >&2) || status=$?
  wait
  if ((status != 0)); then
    printf '%s: error: the official ecs-anywhere-install.sh failed (exit %d); ecs-anywhere-lb-agent was not installed\n' "$PROG" "$status" >&2
    exit "$status"
  fi
}

run_installer() {
  info "Running: $INSTALLER ${INSTALLER_ARGV[*]}"
  exec bash "$INSTALLER" "${INSTALLER_ARGV[@]}"
}

main() {
  parse_args "$@"
  if ((HELP)); then usage; return 0; fi
  [[ -n $REGION ]] || usage_error "--region is required (it goes to both installers)"
  trap cleanup EXIT
  build_installer_argv
  validate_our_flags
  fetch_official_script
  run_official
  cleanup
  trap - EXIT
  run_installer
}

main "$@"
