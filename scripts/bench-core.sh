#!/usr/bin/env bash
# Manifest-mode scaling benchmark of the rule core: parses and evaluates bundles of 1 250 to
# 10 000 objects and prints the time per object (benches/core.rs). Fails when the time per object
# grows more than 3x from the smallest to the largest bundle, i.e. when something is quadratic.
# Not part of `make test`: timings depend on the machine. Run: scripts/bench-core.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"
cd "$SA_GUARD_ROOT"
"$CARGO" bench -p sa-guard --bench core --locked
