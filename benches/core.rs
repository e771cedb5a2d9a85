//! Manifest-mode cost as the bundle grows: YAML parsing (the `manifest` front-end) and rule
//! evaluation for 1 250 to 10 000 objects of a realistic mix, timed with std::time. Linear work
//! keeps the time per object flat; a quadratic step makes it grow with the bundle. Not a test:
//! run it with `scripts/bench-core.sh` (`cargo bench --bench core`). It exits with 1 when the
//! time per object at the largest size is more than `MAX_GROWTH` times that at the smallest.
//!
//! The mix, per application (8 objects): a ServiceAccount, a Deployment using it, a CronJob on
//! the default ServiceAccount, a Role, a RoleBinding, a ClusterRole aggregated into another by
//! label, that aggregating ClusterRole, and a ClusterRoleBinding to it — the cross-object paths
//! (ServiceAccount look-ups, role resolution, aggregation) at every size.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use sa_guard::engine::{evaluate, Options};
use sa_guard::manifest::{self, Limits};
use sa_guard::Settings;

const OBJECTS_PER_APP: usize = 8;
const SIZES: &[usize] = &[1_250, 2_500, 5_000, 10_000];
/// Per-object time may wobble (caches, allocator, a busy machine); a quadratic step doubles it
/// with each doubling of the bundle, i.e. 8x from the smallest to the largest size.
const MAX_GROWTH: f64 = 3.0;
const RUNS: usize = 3;

fn app(out: &mut String, i: usize) {
    let ns = format!("team-{}", i % 50);
    write!(
        out,
        "\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: app-{i}
  namespace: {ns}
automountServiceAccountToken: false
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}
  namespace: {ns}
spec:
  selector:
    matchLabels:
      app: app-{i}
  template:
    metadata:
      labels:
        app: app-{i}
    spec:
      serviceAccountName: app-{i}
      containers:
        - name: app
          image: registry.example/app:{i}
          env:
            - name: MODE
              value: production
          volumeMounts:
            - name: token
              mountPath: /var/run/secrets/tokens
      volumes:
        - name: token
          projected:
            sources:
              - serviceAccountToken:
                  audience: vault
                  expirationSeconds: 3600
                  path: token
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: report-{i}
  namespace: {ns}
spec:
  schedule: \"0 3 * * *\"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: report
              image: registry.example/report:{i}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: app-{i}
  namespace: {ns}
rules:
  - apiGroups: [\"\"]
    resources: [\"configmaps\"]
    verbs: [\"get\", \"list\"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: app-{i}
  namespace: {ns}
subjects:
  - kind: ServiceAccount
    name: app-{i}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: app-{i}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: app-{i}-part
  labels:
    aggregate-to: app-{i}
rules:
  - apiGroups: [\"apps\"]
    resources: [\"deployments\"]
    verbs: [\"get\"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: app-{i}-aggregate
aggregationRule:
  clusterRoleSelectors:
    - matchLabels:
        aggregate-to: app-{i}
rules: []
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: app-{i}
subjects:
  - kind: ServiceAccount
    name: app-{i}
    namespace: {ns}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: app-{i}-aggregate
---
"
    )
    .unwrap();
}

fn bundle(objects: usize) -> String {
    let mut text = String::new();
    for i in 0..objects / OBJECTS_PER_APP {
        app(&mut text, i);
    }
    text
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = f();
        best = best.min(start.elapsed());
        last = Some(value);
    }
    (best, last.unwrap())
}

fn main() {
    let settings = Settings::default();
    println!("manifest mode, best of {RUNS} runs");
    println!(
        "{:>8} {:>9} {:>10} {:>11} {:>11} {:>12} {:>9}",
        "objects", "KiB", "parse ms", "evaluate ms", "total ms", "µs/object", "findings"
    );
    let mut per_object = Vec::new();
    for &size in SIZES {
        let text = bundle(size);
        let limits = Limits { max_bytes: text.len() + 1, ..Limits::default() };
        let (parse_time, manifests) = best_of(RUNS, || manifest::parse(&text, &limits));
        assert!(manifests.errors.is_empty(), "{:?}", &manifests.errors[..1]);
        // whole applications only: 1 248 objects for the first size, 10 000 for the last
        let size = size / OBJECTS_PER_APP * OBJECTS_PER_APP;
        assert_eq!(manifests.objects.len(), size);
        let values = manifests.values();
        let (evaluate_time, report) = best_of(RUNS, || evaluate(&values, &settings, &Options::default()));
        // One CronJob per application runs as `default` with a token: SAG002 and SAG003 each.
        let cronjob_findings = report.findings.iter().filter(|f| f.object.kind == "CronJob").count();
        assert!(cronjob_findings >= 2 * size / OBJECTS_PER_APP, "the rules did not run: {cronjob_findings}");
        let total = parse_time + evaluate_time;
        let micros = total.as_secs_f64() * 1e6 / size as f64;
        per_object.push(micros);
        println!(
            "{size:>8} {:>9} {:>10.1} {:>11.1} {:>11.1} {micros:>12.1} {:>9}",
            text.len() / 1024,
            parse_time.as_secs_f64() * 1e3,
            evaluate_time.as_secs_f64() * 1e3,
            total.as_secs_f64() * 1e3,
            report.findings.len()
        );
    }
    let growth = per_object[per_object.len() - 1] / per_object[0];
    println!(
        "time per object grows {growth:.2}x from {} to {} objects (linear: about 1x; quadratic: {}x; limit {MAX_GROWTH}x)",
        SIZES[0],
        SIZES[SIZES.len() - 1],
        SIZES[SIZES.len() - 1] / SIZES[0]
    );
    if growth > MAX_GROWTH {
        println!("FAIL: superlinear cost");
        std::process::exit(1);
    }
}
