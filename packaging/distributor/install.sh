#!/bin/sh
# SSM Distributor: install ecs-anywhere-lb-agent (common.sh says how).
cd "$(dirname "$0")" || exit 1
# shellcheck source=common.sh
. ./common.sh
install_or_update
