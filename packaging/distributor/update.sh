#!/bin/sh
# SSM Distributor, "In-place update": the new package over the installed one. The package's
# upgrade restarts a running agent, which keeps its targets (it is not being removed); agent.env
# stays, with the SSM_ settings of the association applied (common.sh says how).
cd "$(dirname "$0")" || exit 1
# shellcheck source=common.sh
. ./common.sh
install_or_update
