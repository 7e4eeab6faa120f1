#!/usr/bin/env bash
# CI steps after `npm ci && npm test` (called by .ci/run): build the single executables,
# check the systemd unit offline, and run the executables' own checks (the x64 binary
# registers and deregisters a real container; the arm64 one runs under qemu-user-static), the
# quick bench against the x64 executable, a 60 s seeded chaos soak (npm run chaos);
# then build the .deb and .rpm packages of both and check them (lintian, rpm -qp, and dpkg -i /
# upgrade / dpkg -P on this machine, install.sh --package through the ECS Anywhere wrapper); then
# the release from those packages (npm run release: signed tarballs, repositories, Distributor
# zips) and its tests (apt-get and dnf against the repositories, install.sh --url, a second
# release byte for byte).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "--- npm run build:binaries"
npm run build:binaries
echo "--- npm run check:systemd"
npm run check:systemd
echo "--- npm run check:binaries"
npm run check:binaries
# The quick bench (about a minute): fails on errors (a target never registered or left behind,
# Docker failing), never on timings, which are noisy on shared machines.
echo "--- npm run bench -- --quick"
npm run bench -- --quick --json dist/bench-quick.json
# What the start path's last step is made of (SDK and journal write, a second), so the script keeps working.
echo "--- npm run bench:sdk-and-note -- --calls 10 --gap-ms 5"
npm run bench:sdk-and-note -- --calls 10 --gap-ms 5
# The chaos soak, 60 s with a fixed seed (about 80 s with its final checks): fails on any violation
# (a group not converging, another host's target removed, an agent exit it did not cause, RSS growth).
echo "--- npm run chaos -- --duration 60 --seed 12"
npm run chaos -- --duration 60 --seed 12 --json dist/chaos-ci.json
echo "--- npm run package"
npm run package
echo "--- npm run test:packaging"
npm run test:packaging
echo "--- npm run release"
npm run release
echo "--- npm run test:release"
npm run test:release
