#!/usr/bin/env bash
# The inventory on a cluster dump (issue 19): generates N objects (default 20 000) in the exact
# shape `kubectl get ... -A -o json` and `-o yaml` print (cli/benches/cluster_dump.rs), then, in
# turns, times serde_json decoding the JSON into a tree (the JSON floor), `sa-guard inventory` on
# the JSON, saphyr-parser reading the YAML's events (the YAML floor) and `sa-guard inventory` on
# the YAML, and prints the ratios and the peak memory (max RSS) of inventory and lint against the
# input's size. Not part of `make test`: timings depend on the machine. `make bench-inventory`.
#   BENCH_OBJECTS   objects in the dump (default 20000)
#   BENCH_RUNS      rounds, the best is reported with each round's ratios (default 5)
#   BENCH_KEEP=DIR  keep the generated dumps in DIR
#   SA_GUARD_BIN    measure this binary instead of building one
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"
cd "$SA_GUARD_ROOT"
if [ -z "${SA_GUARD_BIN:-}" ]; then
  bash scripts/build-cli.sh >&2
  export SA_GUARD_BIN="$CARGO_TARGET_DIR/host/sa-guard"
fi
# The floors are built as the CLI is (profile `host`), so the ratios compare like with like.
"$CARGO" bench --profile host -p sa-guard-cli --bench inventory --locked
