#!/usr/bin/env bash
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
#   sudo ./ecs-anywhere-install-wrapper.sh --region eu-west-1 --cluster edge \
#     --activation-id ID --activation-code CODE \
#     --package ecs-anywhere-lb-agent_0.1.0_amd64.deb --target-groups ARN --vpn-config site.ovpn

set -euo pipefail

readonly PROG=ecs-anywhere-install-wrapper.sh
readonly OFFICIAL_URL=https://amazon-ecs-agent.s3.amazonaws.com/ecs-anywhere-install-latest.sh
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR

# The official script's flags: those taking a value, and switches. --deb-url, --rpm-url and
# --skip-gpg-check are undocumented (testing) flags of the official script, passed on as well.
readonly -a OFFICIAL_VALUE_FLAGS=(--region --activation-id --activation-code --cluster
  --docker-install-source --ecs-version --ecs-endpoint --certs-file --deb-url --rpm-url)
readonly -a OFFICIAL_SWITCHES=(--enable-gpu --no-start --skip-registration --skip-gpg-check)

OFFICIAL_ARGS=()      # passed to the official script, in the order given
OUR_ARGS=()           # passed to install.sh, in the order given
INSTALLER_ARGV=()     # --region [--no-start] OUR_ARGS, built by build_installer_argv
REGION="" NO_START=0 HELP=0 DRY_RUN=0
OFFICIAL_SCRIPT="" OFFICIAL_SCRIPT_URL=$OFFICIAL_URL INSTALLER=$SCRIPT_DIR/install.sh
TMP_DIR=""

die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
usage_error() {
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  printf 'Run "%s --help" for the list of flags.\n' "$PROG" >&2
  exit 2
}
info() { printf '%s\n' "$*"; }
cleanup() { [[ -z $TMP_DIR ]] || rm -rf -- "$TMP_DIR"; }

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
  --official-script PATH       use this copy of ecs-anywhere-install.sh instead of downloading
  --official-script-url URL    download from URL (default: $OFFICIAL_URL)
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
    if is_one_of "$flag" "${OFFICIAL_VALUE_FLAGS[@]}"; then
      (($# >= 2)) || usage_error "$flag needs a value"
      OFFICIAL_ARGS+=("$flag" "$2")
      [[ $flag != --region ]] || REGION=$2
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
    return 0
  fi
  if ((DRY_RUN)); then
    OFFICIAL_SCRIPT="(downloaded from $OFFICIAL_SCRIPT_URL)"
    return 0
  fi
  command -v curl >/dev/null 2>&1 || die "curl is needed to download $OFFICIAL_SCRIPT_URL (or pass --official-script PATH)"
  TMP_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ecs-anywhere-install.XXXXXX")
  OFFICIAL_SCRIPT=$TMP_DIR/ecs-anywhere-install.sh
  info "Downloading $OFFICIAL_SCRIPT_URL"
  curl -fsSL --retry 3 -o "$OFFICIAL_SCRIPT" "$OFFICIAL_SCRIPT_URL" ||
    die "could not download the official installer from $OFFICIAL_SCRIPT_URL; nothing was run"
}

run_official() {
  local status=0
  if ((DRY_RUN)); then
    info "Would run the official ECS Anywhere installer: $OFFICIAL_SCRIPT ${OFFICIAL_ARGS[*]}"
    return 0
  fi
  info "Running the official ECS Anywhere installer: $OFFICIAL_SCRIPT ${OFFICIAL_ARGS[*]}"
  bash "$OFFICIAL_SCRIPT" "${OFFICIAL_ARGS[@]}" || status=$?
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
