#!/bin/sh
# Regenerates the plots in docs/: runs the fleet simulation and draws calls per second over
# time. Needs Debian's python3-matplotlib (apt-get install python3-matplotlib); not run by CI.
#   docs/fleet-deployment-10000.png        the rolling deployment at 10,000 hosts x 3 groups (~4 min)
#   docs/fleet-deployment-gated-1000.png   ungated and gated deployment at 1,000 hosts x 3 groups (~15 s)
set -eu
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p docs
npm run -s fleet-sim -- --hosts 10000 --groups 3 --seed 1 --scenario deploy --json "$tmp/deploy-10000.json" --quiet
/usr/bin/python3 scripts/fleet-sim/plot.py "$tmp/deploy-10000.json" docs/fleet-deployment-10000.png deploy
npm run -s fleet-sim -- --hosts 1000 --groups 3 --seed 1 --scenario deploy,deploy-gated --json "$tmp/deploy-1000.json" --quiet
/usr/bin/python3 scripts/fleet-sim/plot.py "$tmp/deploy-1000.json" docs/fleet-deployment-gated-1000.png deploy deploy-gated
