#!/usr/bin/env bash
# make serve: serve web/dist on 127.0.0.1 (PORT, default 8080). Any static host works the same way.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${PORT:-8080}"
[ -f web/dist/index.html ] || bash scripts/build-web.sh
echo "sa-guard playground: http://127.0.0.1:$port/  (Ctrl+C to stop)"
exec python3 -m http.server "$port" --bind 127.0.0.1 --directory web/dist
