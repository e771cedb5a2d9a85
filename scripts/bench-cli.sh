#!/usr/bin/env bash
# CLI throughput: generates a corpus of realistic manifests (default 64 MB: ServiceAccounts,
# RBAC, Deployments, CronJobs, Services, ConfigMaps, Secrets, with comments) in a temp dir, lints
# it with the optimized binary (scripts/build-cli.sh) on one core, and reports MB/s and peak memory
# (then the wall time on every core: files are parsed in parallel). When `checkov` is on
# PATH it also runs Checkov on a small slice and prints the per-MB time ratio. Last, the floor:
# how fast the YAML event parsers alone read the same corpus (benches/yaml-parsers). `make bench-cli`.
#   BENCH_CORPUS_MB     corpus size in MB (default 64, at least 50 for the goal)
#   BENCH_RUNS          timed runs, the best is reported (default 3)
#   CHECKOV_SLICE_KB    size of the slice given to Checkov (default 256)
#   BENCH_STRICT=1      exit 1 when a goal (>= 50 MB/s, >= 500x Checkov) is missed
#   SA_GUARD_BIN        benchmark this binary instead of building one
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"
cd "$SA_GUARD_ROOT"

corpus_mb="${BENCH_CORPUS_MB:-64}"
runs="${BENCH_RUNS:-3}"
slice_kb="${CHECKOV_SLICE_KB:-256}"

bin="${SA_GUARD_BIN:-}"
if [ -z "$bin" ]; then
  bash scripts/build-cli.sh >&2
  bin="$CARGO_TARGET_DIR/host/sa-guard"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/sa-guard-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT

python3 - "$work/corpus" "$corpus_mb" "$work/slice" "$slice_kb" <<'PY'
import os, random, sys

out, target_mb, slice_dir, slice_kb = sys.argv[1], float(sys.argv[2]), sys.argv[3], int(sys.argv[4])
rng = random.Random(39)  # deterministic corpus
os.makedirs(out); os.makedirs(slice_dir)

def app(i):
    ns = f"team-{i % 97:02d}"
    name = f"svc-{i:05d}"
    sa = f"{name}-sa"
    hardened = rng.random() < 0.6
    parts = []
    parts.append(f"""# {name}: dedicated identity
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {sa}
  namespace: {ns}
  labels:
    app.kubernetes.io/name: {name}
    app.kubernetes.io/part-of: shop
  annotations:
    description: "ServiceAccount for {name}"
""" + ("automountServiceAccountToken: false\n" if hardened else ""))
    verbs = rng.choice(['["get", "list", "watch"]', '["get"]', '["*"]', '["get", "list", "watch", "create", "update"]'])
    resources = rng.choice(['["configmaps"]', '["configmaps", "secrets"]', '["pods", "pods/log"]', '["leases"]'])
    parts.append(f"""apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {name}-role
  namespace: {ns}
rules:
  - apiGroups: [""]
    resources: {resources}
    verbs: {verbs}        # reviewed in the quarterly RBAC audit
  - apiGroups: ["coordination.k8s.io"]
    resources: ["leases"]
    verbs: ["get", "create", "update"]
""")
    parts.append(f"""apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {name}-binding
  namespace: {ns}
subjects:
  - kind: ServiceAccount
    name: {sa if rng.random() < 0.95 else "default"}
    namespace: {ns}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {name}-role
""")
    projected = ""
    mounts = ""
    if rng.random() < 0.3:
        expiry = rng.choice([600, 1800, 3600, 7200, 86400])
        audience = rng.choice(["fraud-detection-api", "payment-gateway-prod", "vault", ""])
        projected = f"""      volumes:
        - name: token-external
          projected:
            sources:
              - serviceAccountToken:
                  path: token
                  expirationSeconds: {expiry}
""" + (f"                  audience: {audience}\n" if audience else "") + """              - configMap:
                  name: external-ca
                  items:
                    - key: ca.crt
                      path: ca.crt
"""
        mounts = """          volumeMounts:
            - name: token-external
              mountPath: /var/credentials/external
              readOnly: true
"""
    sa_line = f"      serviceAccountName: {sa}\n" if rng.random() < 0.85 else ""
    automount = rng.choice(["", "      automountServiceAccountToken: false\n", "      automountServiceAccountToken: true\n"])
    env = "".join(f"""            - name: SETTING_{k}
              value: "{rng.randint(0, 10**6)}"
""" for k in range(rng.randint(2, 8)))
    if rng.random() < 0.02:
        env += """            - name: AWS_ACCESS_KEY_ID
              value: AKIAIOSFODNN7EXAMPLE
            - name: AWS_SECRET_ACCESS_KEY
              value: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
"""
    parts.append(f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {ns}
  labels:
    app.kubernetes.io/name: {name}
    app.kubernetes.io/version: "{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
spec:
  replicas: {rng.randint(1, 6)}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {name}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "9090"
    spec:
{sa_line}{automount}      securityContext:
        runAsNonRoot: true
        seccompProfile:
          type: RuntimeDefault
{projected}      containers:
        - name: app
          image: registry.example.com/shop/{name}:{rng.randint(1, 9)}.{rng.randint(0, 40)}.{rng.randint(0, 9)}
          ports:
            - containerPort: 8080
              name: http
            - containerPort: 9090
              name: metrics
          env:
{env}          resources:
            requests:
              cpu: "{rng.choice([50, 100, 250])}m"
              memory: "{rng.choice([64, 128, 256])}Mi"
            limits:
              cpu: "{rng.choice([250, 500, 1000])}m"
              memory: "{rng.choice([256, 512, 1024])}Mi"
          readinessProbe:
            httpGet:
              path: /healthz
              port: http
            periodSeconds: 10
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: ["ALL"]
{mounts}""")
    parts.append(f"""apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {ns}
spec:
  selector:
    app.kubernetes.io/name: {name}
  ports:
    - name: http
      port: 80
      targetPort: http
""")
    data = "".join(f"  key_{k}.properties: |\n    feature.{k}.enabled=true\n    feature.{k}.ratio=0.{rng.randint(0, 99)}\n" for k in range(rng.randint(2, 10)))
    parts.append(f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}-config
  namespace: {ns}
data:
{data}""")
    if rng.random() < 0.05:
        parts.append(f"""apiVersion: v1
kind: Secret
metadata:
  name: {sa}-token
  namespace: {ns}
  annotations:
    kubernetes.io/service-account.name: {sa}
type: kubernetes.io/service-account-token
""")
    else:
        parts.append(f"""apiVersion: v1
kind: Secret
metadata:
  name: {name}-db
  namespace: {ns}
type: Opaque
stringData:
  DATABASE_URL: postgres://{name}@db.{ns}.svc:5432/{name.replace('-', '_')}
""")
    if rng.random() < 0.2:
        parts.append(f"""apiVersion: batch/v1
kind: CronJob
metadata:
  name: {name}-cleanup
  namespace: {ns}
spec:
  schedule: "{rng.randint(0, 59)} 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          serviceAccountName: {sa}
          restartPolicy: OnFailure
          containers:
            - name: cleanup
              image: registry.example.com/shop/{name}-cleanup:1.0.0
              args: ["--older-than", "30d"]
""")
    return "---\n".join(parts)

target = int(target_mb * 1_000_000)
written, i, f = 0, 0, 0
while written < target:
    text = "---\n".join(app(i + k) for k in range(25))
    i += 25
    path = os.path.join(out, f"apps-{f:04d}.yaml")
    with open(path, "w") as fh:
        fh.write(text)
    if written < slice_kb * 1000:
        with open(os.path.join(slice_dir, f"apps-{f:04d}.yaml"), "w") as fh:
            fh.write(text)
    written += len(text.encode())
    f += 1
print(f"corpus: {written / 1e6:.1f} MB in {f} files, {i} applications", file=sys.stderr)
PY

pin=()
command -v taskset >/dev/null 2>&1 && pin=(taskset -c 0)

python3 - "$work/corpus" "$work/slice" "$runs" "$bin" "${pin[@]}" <<'PY'
import json, os, shutil, subprocess, sys, time

corpus, slice_dir, runs, binary, pin = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5:]
strict = os.environ.get("BENCH_STRICT") == "1"

def size_mb(d):
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)) / 1e6

def run(cmd, times, by_wall=False):
    """Best of `times` runs: (wall seconds, CPU seconds, peak RSS in KiB, stdout of the last run).
    CPU time (user + system, from wait4) is what "one core" means on a shared, loaded machine;
    `by_wall` picks the fastest wall time instead (for the run on every core)."""
    best = None
    for _ in range(times):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        out = proc.stdout.read()
        _, _, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        cpu = usage.ru_utime + usage.ru_stime
        if best is None or (wall < best[0] if by_wall else cpu < best[1]):
            best = (wall, cpu, usage.ru_maxrss, out)
    return best

mb = size_mb(corpus)
cmd = pin + [binary, "lint", "--format", "json", corpus]
wall, cpu, rss, out = run(cmd, runs)
report = json.loads(out)
rate = mb / cpu
print(f"sa-guard: {mb:.1f} MB, {report['summary']['objects']} objects, {report['summary']['findings']} findings; "
      f"best of {runs}{' pinned to one core' if pin else ''}: {cpu:.2f} s CPU ({wall:.2f} s wall) = "
      f"{rate:.1f} MB/s per core ({mb / wall:.1f} MB/s wall); peak RSS {rss / 1024:.0f} MB")
ok = rate >= 50
print(f"goal >= 50 MB/s on one core: {'met' if ok else 'MISSED'}")
if pin:
    # Files are parsed in parallel (--jobs, default: every CPU available); evaluation is one pass.
    all_wall, all_cpu, all_rss, _ = run([binary, "lint", "--format", "json", corpus], runs, by_wall=True)
    print(f"sa-guard on all {os.cpu_count()} cores: {all_wall:.2f} s wall = {mb / all_wall:.1f} MB/s wall; "
          f"peak RSS {all_rss / 1024:.0f} MB")

checkov = shutil.which("checkov")
if checkov:
    slice_mb = size_mb(slice_dir)
    c_wall, c_cpu, c_rss, _ = run([checkov, "-d", slice_dir, "--framework", "kubernetes", "--quiet", "--compact",
                                   "-o", "json"], 1)
    s_wall, s_cpu, _, _ = run(pin + [binary, "lint", "--format", "json", slice_dir], runs)
    ratio = (c_cpu / slice_mb) / (cpu / mb)
    print(f"checkov: {slice_mb:.2f} MB slice in {c_cpu:.1f} s CPU ({c_wall:.1f} s wall), peak RSS {c_rss / 1024:.0f} MB; "
          f"sa-guard on the same slice: {s_cpu:.3f} s CPU")
    print(f"per-MB CPU time, checkov / sa-guard (sa-guard's from the full corpus): {ratio:.0f}x; "
          f"goal >= 500x: {'met' if ratio >= 500 else 'MISSED'}")
    ok = ok and ratio >= 500
else:
    print("checkov: not on PATH, skipped (pip install checkov)")
sys.exit(1 if strict and not ok else 0)
PY

# The floor under the rate above: sa-guard parses with saphyr-parser, then builds its tree and
# evaluates, so it cannot beat saphyr-parser's line; the other lines are the alternatives.
(cd benches/yaml-parsers && "$CARGO" build --release --locked --quiet)
echo "YAML event parsing alone on the same corpus (the floor; benches/yaml-parsers):"
"${pin[@]}" "$CARGO_TARGET_DIR/release/sa-guard-yaml-parser-floor" "$work/corpus" "$runs"
