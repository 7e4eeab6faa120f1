#!/usr/bin/env bash
# Checks what `npm run build:binaries` made in dist/bin, for CI (run it right after the build):
#  1. checksums: each binary against its .sha256, each tarball's content against its own .sha256;
#  2. tarballs: one top directory holding the binary, its .sha256, the unit, install.sh and its lib/;
#  3. both binaries start: --version prints build-info.json's version and commit, --help works,
#     `check` with a bad option exits 78 (EX_CONFIG) naming it. linux-arm64 runs under Debian's
#     qemu-user-static (binfmt need not be mounted: qemu is called explicitly);
#  4. the x64 binary's own integration smoke test (test/binaries/binary-smoke.test.ts, via
#     scripts/bench-binary.mjs): it registers and deregisters real containers against the
#     local ELBv2 endpoint; its figures (sizes, start-up, idle RSS) are printed as a JSON line.
# Needs: an x86_64 Linux host, qemu-user-static, libc6-arm64-cross (+ libstdc++6-arm64-cross,
# libgcc-s1-arm64-cross), and what the Docker test harness needs (docker.io, busybox-static).
# SKIP_SMOKE=1 skips step 4 (no Docker).
set -euo pipefail

readonly NAME=ecs-anywhere-lb-agent
readonly QEMU_AARCH64=qemu-aarch64-static
readonly ARM64_SYSROOT=/usr/aarch64-linux-gnu
# An ARN the config accepts, so that the bad option below is the only configuration error.
readonly SOME_TARGET_GROUP=arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/check/0123456789abcdef
# The agent's exit status for invalid configuration (EXIT_CONFIG in agent/main.ts, EX_CONFIG).
readonly EXIT_CONFIG=78

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin_dir="$root/dist/bin"

fail() {
  echo "check-binaries: FAIL: $*" >&2
  exit 1
}

step() {
  echo "== $*"
}

[[ $(uname -s) == Linux && $(uname -m) == x86_64 ]] || fail "needs an x86_64 Linux host (found $(uname -s) $(uname -m))"
[[ -f $bin_dir/build-info.json ]] || fail "$bin_dir/build-info.json is missing: run 'npm run build:binaries' first"

# The Node 22 of node_modules reads build-info.json (and runs the smoke test later).
node_bin="$root/node_modules/node/bin/node"
[[ -x $node_bin ]] || node_bin=$(command -v node) || fail "no node to read build-info.json with: run 'npm ci'"
build_field() {
  "$node_bin" -e 'const i = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); process.stdout.write(String(i[process.argv[2]] ?? ""))' \
    "$bin_dir/build-info.json" "$1"
}
version=$(build_field version)
commit=$(build_field commit)
[[ -n $version && -n $commit ]] || fail "build-info.json lacks version or commit"
echo "build: version $version, commit $commit, node $(build_field node)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Runs a binary (through qemu for arm64) with a clean environment; prints stdout+stderr.
# Usage: run_binary ARCH [VAR=VALUE...] -- ARGS...
run_binary() {
  local arch=$1
  shift
  local -a env_vars=()
  while [[ $1 != -- ]]; do
    env_vars+=("$1")
    shift
  done
  shift
  local binary="$bin_dir/$NAME-linux-$arch"
  if [[ $arch == arm64 ]]; then
    env -i PATH=/usr/bin:/bin HOME="$work" "${env_vars[@]}" timeout 120 "$QEMU_AARCH64" -L "$ARM64_SYSROOT" "$binary" "$@" 2>&1
  else
    env -i PATH=/usr/bin:/bin HOME="$work" "${env_vars[@]}" timeout 60 "$binary" "$@" 2>&1
  fi
}

for arch in x64 arm64; do
  binary="$NAME-linux-$arch"
  tarball="$NAME-$version-linux-$arch.tar.gz"
  top="$NAME-$version-linux-$arch"

  step "linux-$arch: checksums and tarball"
  [[ -x $bin_dir/$binary ]] || fail "$bin_dir/$binary is missing or not executable"
  (cd "$bin_dir" && sha256sum --check --strict "$binary.sha256") || fail "$binary does not match $binary.sha256"
  [[ -f $bin_dir/$tarball ]] || fail "$bin_dir/$tarball is missing"
  (cd "$bin_dir" && sha256sum --check --strict "$tarball.sha256") || fail "$tarball does not match $tarball.sha256"
  mkdir -p "$work/$arch"
  tar -xzf "$bin_dir/$tarball" -C "$work/$arch"
  mapfile -t tops < <(find "$work/$arch" -mindepth 1 -maxdepth 1 -printf '%f\n')
  [[ ${#tops[@]} -eq 1 && ${tops[0]} == "$top" ]] || fail "$tarball must hold exactly one directory $top/ (found: ${tops[*]})"
  for file in "$binary" "$binary.sha256" "$NAME.service" install.sh lib/source.sh lib/place.sh lib/remove.sh lib/trust.sh lib/units.sh NODE-LICENSE; do
    [[ -f $work/$arch/$top/$file ]] || fail "$tarball lacks $top/$file"
  done
  for file in "$binary" install.sh; do
    [[ -x $work/$arch/$top/$file ]] || fail "$top/$file in $tarball is not executable"
  done
  (cd "$work/$arch/$top" && sha256sum --check --strict --quiet "$binary.sha256") || fail "the binary in $tarball does not match its .sha256"
  cmp -s "$work/$arch/$top/$binary" "$bin_dir/$binary" || fail "the binary in $tarball differs from dist/bin/$binary"
  echo "tarball: $(cd "$work/$arch/$top" && find . -type f | sort | tr '\n' ' ')"
  rm -rf "${work:?}/$arch"

  if [[ $arch == arm64 ]]; then
    command -v "$QEMU_AARCH64" >/dev/null 2>&1 || fail "$QEMU_AARCH64 not found: install Debian's qemu-user-static"
    [[ -e $ARM64_SYSROOT/lib/ld-linux-aarch64.so.1 ]] ||
      fail "$ARM64_SYSROOT has no arm64 loader: install libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross"
  fi

  how=natively
  [[ $arch == arm64 ]] && how="under $QEMU_AARCH64"
  step "linux-$arch ($how): --version, --help, check with a bad option"
  out=$(run_binary "$arch" -- --version) || fail "$binary --version failed: $out"
  [[ $out == *"$version"* && $out == *"$commit"* ]] ||
    fail "$binary --version printed '$out', expected version $version and commit $commit"
  echo "--version: $out"

  out=$(run_binary "$arch" -- --help) || fail "$binary --help failed: $out"
  [[ $out == *Usage:* && $out == *ECS_ANYWHERE_LB_ON_EXIT* ]] || fail "$binary --help printed no usage text: $out"
  echo "--help: $(printf '%s\n' "$out" | wc -l) lines"

  status=0
  out=$(run_binary "$arch" ECS_ANYWHERE_LB_ALLOWED_TARGET_GROUPS="$SOME_TARGET_GROUP" ECS_ANYWHERE_LB_ON_EXIT=bogus -- check) || status=$?
  ((status == EXIT_CONFIG)) || fail "$binary check with ECS_ANYWHERE_LB_ON_EXIT=bogus exited $status, expected $EXIT_CONFIG (configuration error): $out"
  [[ $out == *ECS_ANYWHERE_LB_ON_EXIT* ]] || fail "$binary check did not name ECS_ANYWHERE_LB_ON_EXIT: $out"
  echo "check (ECS_ANYWHERE_LB_ON_EXIT=bogus): exit $status: $out"
done

if [[ ${SKIP_SMOKE:-0} == 1 ]]; then
  echo "SKIP_SMOKE=1: the x64 integration smoke test was NOT run"
else
  step "linux-x64: integration smoke test (real Docker, local ELBv2 endpoint) and figures"
  bench=$("$node_bin" "$root/scripts/bench-binary.mjs") || fail "the binary smoke test failed (see above)"
  echo "bench: $bench"
fi
echo "check-binaries: OK"
