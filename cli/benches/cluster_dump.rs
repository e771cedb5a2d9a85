//! A generated cluster dump in the exact shape `kubectl get serviceaccounts,pods,deployments,...
//! -A -o json` (and `-o yaml`) prints: one `kind: List` with `items`, each object with the
//! `status`, `managedFields`, `ownerReferences`, `uid`s and `resourceVersion`s the API server
//! adds, Pods with the injected `kube-api-access-*` projected volume, the system namespaces'
//! ServiceAccounts and workloads, and Kubernetes' bootstrap `system:*` ClusterRoles and
//! ClusterRoleBindings. Deterministic: the same `objects` always gives the same text (no seed,
//! no clock). Shared by `benches/inventory.rs` (`make bench-inventory`) and
//! `tests/cluster_dump.rs` (`#[path]`), so the benchmark's input is also a tested input.

#![allow(dead_code)]

use serde_json::{json, Map, Value};

/// Objects in one application of a user namespace: ServiceAccount, Deployment, ReplicaSet, two
/// Pods, Role, RoleBinding (and a legacy token Secret for every fifth application).
const CLUSTER_ROLES: &[(&str, &str)] = &[
    ("cluster-admin", "*"),
    ("admin", "aggregate"),
    ("edit", "aggregate"),
    ("view", "aggregate"),
    ("system:basic-user", "selfsubjectreviews"),
    ("system:discovery", "nonresource"),
    ("system:public-info-viewer", "nonresource"),
    ("system:node", "nodes"),
    ("system:node-proxier", "endpoints"),
    ("system:kube-scheduler", "pods"),
    ("system:kube-controller-manager", "secrets"),
    ("system:controller:replicaset-controller", "pods"),
    ("system:controller:deployment-controller", "replicasets"),
    ("system:controller:job-controller", "pods"),
    ("system:controller:namespace-controller", "*"),
    ("system:controller:token-cleaner", "secrets"),
    ("system:coredns", "endpoints"),
];

/// A small pseudo-random number from an index (splitmix64): deterministic variety, no seed.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn uid(i: u64) -> String {
    let a = mix(i);
    let b = mix(a);
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

const CREATED: &str = "2026-11-02T09:14:27Z";

struct Gen {
    items: Vec<Value>,
    serial: u64,
}

impl Gen {
    fn next_id(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    fn metadata(&mut self, name: &str, namespace: Option<&str>, labels: Value, manager: &str, fields: Value) -> Value {
        let id = self.next_id();
        let mut meta = json!({
            "creationTimestamp": CREATED,
            "name": name,
            "resourceVersion": (1000 + id * 7).to_string(),
            "uid": uid(id),
            "managedFields": [{
                "apiVersion": "v1",
                "fieldsType": "FieldsV1",
                "fieldsV1": fields,
                "manager": manager,
                "operation": "Update",
                "time": CREATED,
            }],
        });
        if let Some(ns) = namespace {
            meta["namespace"] = json!(ns);
        }
        if labels.as_object().is_some_and(|l| !l.is_empty()) {
            meta["labels"] = labels;
        }
        meta
    }
}

fn owner(kind: &str, api_version: &str, name: &str, owner_uid: &str) -> Value {
    json!([{
        "apiVersion": api_version,
        "blockOwnerDeletion": true,
        "controller": true,
        "kind": kind,
        "name": name,
        "uid": owner_uid,
    }])
}

fn pod_fields() -> Value {
    json!({
        "f:metadata": {"f:generateName": {}, "f:labels": {".": {}, "f:app": {}, "f:pod-template-hash": {}},
            "f:ownerReferences": {".": {}, "k:{\"uid\":\"owner\"}": {}}},
        "f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {".": {}, "f:args": {}, "f:env": {}, "f:image": {},
            "f:imagePullPolicy": {}, "f:name": {}, "f:ports": {}, "f:resources": {}, "f:terminationMessagePath": {},
            "f:terminationMessagePolicy": {}}}, "f:dnsPolicy": {}, "f:enableServiceLinks": {}, "f:restartPolicy": {},
            "f:schedulerName": {}, "f:securityContext": {}, "f:serviceAccount": {}, "f:serviceAccountName": {},
            "f:terminationGracePeriodSeconds": {}}
    })
}

fn container(name: &str, image: &str, i: u64) -> Value {
    json!({
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["--port=8080", format!("--log-level={}", ["info", "debug", "warn"][(i % 3) as usize])],
        "env": [
            {"name": "APP_NAME", "value": name},
            {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}},
        ],
        "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
        "resources": {"limits": {"memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    })
}

/// The Pod spec of a template (what a Deployment or a ReplicaSet says).
fn template_spec(sa: &str, image: &str, automount: Option<bool>, i: u64) -> Value {
    let mut spec = json!({
        "containers": [container("app", image, i)],
        "dnsPolicy": "ClusterFirst",
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "terminationGracePeriodSeconds": 30,
    });
    if sa != "default" {
        spec["serviceAccount"] = json!(sa);
        spec["serviceAccountName"] = json!(sa);
    }
    if let Some(automount) = automount {
        spec["automountServiceAccountToken"] = json!(automount);
    }
    spec
}

/// What the API server makes of a template's spec in a Pod: the ServiceAccount spelled out, the
/// node, and (unless automounting is off) the injected `kube-api-access-*` volume and its mount.
fn pod_spec(template: &Value, sa: &str, node: &str, i: u64) -> Value {
    let mut spec = template.clone();
    spec["serviceAccount"] = json!(sa);
    spec["serviceAccountName"] = json!(sa);
    spec["nodeName"] = json!(node);
    spec["enableServiceLinks"] = json!(true);
    spec["preemptionPolicy"] = json!("PreemptLowerPriority");
    spec["priority"] = json!(0);
    spec["tolerations"] = json!([
        {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
        {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300},
    ]);
    if template.get("automountServiceAccountToken") != Some(&json!(false)) {
        let volume = format!("kube-api-access-{}", &uid(mix(i))[..5]);
        spec["containers"][0]["volumeMounts"] = json!([{
            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
            "name": volume,
            "readOnly": true,
        }]);
        spec["volumes"] = json!([{
            "name": volume,
            "projected": {
                "defaultMode": 420,
                "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
                    {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                        "path": "namespace"}]}},
                ],
            },
        }]);
    }
    spec
}

fn pod_status(i: u64) -> Value {
    let ip = format!("10.244.{}.{}", (i / 250) % 250, i % 250 + 2);
    json!({
        "conditions": [
            {"lastProbeTime": null, "lastTransitionTime": CREATED, "status": "True", "type": "Initialized"},
            {"lastProbeTime": null, "lastTransitionTime": CREATED, "status": "True", "type": "Ready"},
            {"lastProbeTime": null, "lastTransitionTime": CREATED, "status": "True", "type": "ContainersReady"},
            {"lastProbeTime": null, "lastTransitionTime": CREATED, "status": "True", "type": "PodScheduled"},
        ],
        "containerStatuses": [{
            "containerID": format!("containerd://{:016x}{:016x}", mix(i), mix(i + 1)),
            "image": "registry.example.com/shop/app:1.4.2",
            "imageID": format!("registry.example.com/shop/app@sha256:{:016x}{:016x}", mix(i + 2), mix(i + 3)),
            "lastState": {},
            "name": "app",
            "ready": true,
            "restartCount": i % 3,
            "started": true,
            "state": {"running": {"startedAt": CREATED}},
        }],
        "hostIP": "172.18.0.2",
        "phase": "Running",
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "qosClass": "Burstable",
        "startTime": CREATED,
    })
}

/// A Deployment, its ReplicaSet and `pods` Pods owned by it, as the controllers make them.
#[allow(clippy::too_many_arguments)]
fn deployment(g: &mut Gen, ns: &str, name: &str, sa: &str, automount: Option<bool>, pods: usize, i: u64) {
    let image = format!("registry.example.com/{ns}/{name}:1.{}.{}", i % 7, i % 13);
    let labels = json!({"app": name});
    let spec = template_spec(sa, &image, automount, i);
    let fields =
        json!({"f:spec": {"f:replicas": {}, "f:selector": {}, "f:template": {"f:spec": {"f:containers": {}}}}});
    let meta = g.metadata(name, Some(ns), labels.clone(), "kubectl-client-side-apply", fields);
    let deploy_uid = meta["uid"].as_str().unwrap_or_default().to_string();
    let mut meta = meta;
    meta["generation"] = json!(1);
    meta["annotations"] = json!({"deployment.kubernetes.io/revision": "1"});
    g.items.push(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "progressDeadlineSeconds": 600,
            "replicas": pods,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": labels},
            "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}, "type": "RollingUpdate"},
            "template": {"metadata": {"creationTimestamp": null, "labels": labels}, "spec": spec},
        },
        "status": {
            "availableReplicas": pods, "observedGeneration": 1, "readyReplicas": pods, "replicas": pods,
            "updatedReplicas": pods,
            "conditions": [
                {"lastTransitionTime": CREATED, "lastUpdateTime": CREATED, "message": "Deployment has minimum availability.",
                    "reason": "MinimumReplicasAvailable", "status": "True", "type": "Available"},
                {"lastTransitionTime": CREATED, "lastUpdateTime": CREATED,
                    "message": format!("ReplicaSet \"{name}-{:x}\" has successfully progressed.", mix(i) % 0xfffffff),
                    "reason": "NewReplicaSetAvailable", "status": "True", "type": "Progressing"},
            ],
        },
    }));
    let hash = format!("{:x}", mix(i) % 0xfffffff);
    let rs_name = format!("{name}-{hash}");
    let rs_labels = json!({"app": name, "pod-template-hash": hash});
    let fields = json!({"f:metadata": {"f:ownerReferences": {}}, "f:spec": {"f:replicas": {}}});
    let mut meta = g.metadata(&rs_name, Some(ns), rs_labels.clone(), "kube-controller-manager", fields);
    let rs_uid = meta["uid"].as_str().unwrap_or_default().to_string();
    meta["ownerReferences"] = owner("Deployment", "apps/v1", name, &deploy_uid);
    meta["generation"] = json!(1);
    meta["annotations"] = json!({"deployment.kubernetes.io/desired-replicas": pods.to_string(),
        "deployment.kubernetes.io/max-replicas": (pods + 1).to_string(), "deployment.kubernetes.io/revision": "1"});
    let mut rs_template = spec.clone();
    rs_template["terminationGracePeriodSeconds"] = json!(30);
    g.items.push(json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": meta,
        "spec": {
            "replicas": pods,
            "selector": {"matchLabels": rs_labels},
            "template": {"metadata": {"creationTimestamp": null, "labels": rs_labels}, "spec": rs_template},
        },
        "status": {"availableReplicas": pods, "fullyLabeledReplicas": pods, "observedGeneration": 1,
            "readyReplicas": pods, "replicas": pods},
    }));
    let sa_name = if sa.is_empty() { "default" } else { sa };
    for p in 0..pods {
        let pod_name = format!("{rs_name}-{}", &uid(mix(i * 31 + p as u64))[..5]);
        let mut meta = g.metadata(&pod_name, Some(ns), rs_labels.clone(), "kube-controller-manager", pod_fields());
        meta["generateName"] = json!(format!("{rs_name}-"));
        meta["ownerReferences"] = owner("ReplicaSet", "apps/v1", &rs_name, &rs_uid);
        let node = format!("worker-{}", (i + p as u64) % 5);
        let n = i * 7 + p as u64;
        g.items.push(json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": meta,
            "spec": pod_spec(&spec, sa_name, &node, n),
            "status": pod_status(n),
        }));
    }
}

fn service_account(g: &mut Gen, ns: &str, name: &str, automount: Option<bool>, annotations: Option<Value>) {
    let fields = json!({"f:automountServiceAccountToken": {}});
    let mut meta = g.metadata(name, Some(ns), json!({}), "kubectl-client-side-apply", fields);
    if let Some(annotations) = annotations {
        meta["annotations"] = annotations;
    }
    let mut sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta});
    if let Some(automount) = automount {
        sa["automountServiceAccountToken"] = json!(automount);
    }
    g.items.push(sa);
}

fn token_secret(g: &mut Gen, ns: &str, sa: &str) {
    let fields = json!({"f:data": {}, "f:type": {}});
    let mut meta = g.metadata(&format!("{sa}-token"), Some(ns), json!({}), "kube-controller-manager", fields);
    meta["annotations"] = json!({
        "kubernetes.io/service-account.name": sa,
        "kubernetes.io/service-account.uid": uid(mix(g.serial)),
    });
    g.items.push(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta,
        "type": "kubernetes.io/service-account-token",
        "data": {"ca.crt": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=", "namespace": "c2hvcA==",
            "token": "ZXlKaGJHY2lPaUpTVXpJMU5pSXNJbXRwWkNJNkluUmxjM1FpZlEuZXlKcGMzTWlPaUpyZFdKbGNtNWxkR1Z6SW4w"},
    }));
}

fn role(g: &mut Gen, ns: &str, name: &str, i: u64) {
    let rules = match i % 4 {
        0 => json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]),
        1 => json!([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]),
        2 => json!([{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list", "watch"]}]),
        _ => json!([{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["*"]}]),
    };
    let meta = g.metadata(name, Some(ns), json!({}), "kubectl-client-side-apply", json!({"f:rules": {}}));
    g.items
        .push(json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta, "rules": rules}));
}

fn binding(g: &mut Gen, kind: &str, ns: Option<&str>, name: &str, role: (&str, &str), subjects: Value, system: bool) {
    let labels = if system { json!({"kubernetes.io/bootstrapping": "rbac-defaults"}) } else { json!({}) };
    let meta = g.metadata(name, ns, labels, "kube-apiserver", json!({"f:roleRef": {}, "f:subjects": {}}));
    g.items.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": kind,
        "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role.0, "name": role.1},
        "subjects": subjects,
    }));
}

fn cluster_role(g: &mut Gen, name: &str, shape: &str) {
    let rules = match shape {
        "*" => {
            json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, {"nonResourceURLs": ["*"], "verbs": ["*"]}])
        }
        "aggregate" => json!([{"apiGroups": [""], "resources": ["pods", "services", "configmaps"],
            "verbs": ["get", "list", "watch"]}]),
        "nonresource" => json!([{"nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"],
            "verbs": ["get"]}]),
        "selfsubjectreviews" => json!([{"apiGroups": ["authorization.k8s.io"],
            "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], "verbs": ["create"]}]),
        resource => json!([{"apiGroups": [""], "resources": [resource], "verbs": ["get", "list", "watch", "create",
            "update", "patch", "delete"]}]),
    };
    let mut meta = g.metadata(
        name,
        None,
        json!({"kubernetes.io/bootstrapping": "rbac-defaults"}),
        "kube-apiserver",
        json!({"f:rules": {}}),
    );
    meta["annotations"] = json!({"rbac.authorization.kubernetes.io/autoupdate": "true"});
    g.items.push(
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": meta, "rules": rules}),
    );
}

/// The cluster-scoped and system objects every cluster has.
fn system_objects(g: &mut Gen) {
    for (name, shape) in CLUSTER_ROLES {
        cluster_role(g, name, shape);
    }
    let group = |name: &str| json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": name}]);
    let sa = |ns: &str, name: &str| json!([{"kind": "ServiceAccount", "name": name, "namespace": ns}]);
    binding(
        g,
        "ClusterRoleBinding",
        None,
        "cluster-admin",
        ("ClusterRole", "cluster-admin"),
        group("system:masters"),
        true,
    );
    binding(
        g,
        "ClusterRoleBinding",
        None,
        "system:basic-user",
        ("ClusterRole", "system:basic-user"),
        group("system:authenticated"),
        true,
    );
    binding(
        g,
        "ClusterRoleBinding",
        None,
        "system:discovery",
        ("ClusterRole", "system:discovery"),
        group("system:authenticated"),
        true,
    );
    binding(
        g,
        "ClusterRoleBinding",
        None,
        "system:public-info-viewer",
        ("ClusterRole", "system:public-info-viewer"),
        group("system:unauthenticated"),
        true,
    );
    binding(
        g,
        "ClusterRoleBinding",
        None,
        "system:node-proxier",
        ("ClusterRole", "system:node-proxier"),
        json!([{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "system:kube-proxy"}]),
        true,
    );
    for controller in
        ["replicaset-controller", "deployment-controller", "job-controller", "namespace-controller", "token-cleaner"]
    {
        let name = format!("system:controller:{controller}");
        binding(g, "ClusterRoleBinding", None, &name, ("ClusterRole", &name), sa("kube-system", controller), true);
    }
    binding(
        g,
        "ClusterRoleBinding",
        None,
        "system:coredns",
        ("ClusterRole", "system:coredns"),
        sa("kube-system", "coredns"),
        false,
    );
    for ns in ["kube-system", "kube-public", "kube-node-lease", "default"] {
        service_account(g, ns, "default", None, None);
    }
    for controller in [
        "replicaset-controller",
        "deployment-controller",
        "job-controller",
        "namespace-controller",
        "token-cleaner",
        "coredns",
        "kube-proxy",
    ] {
        service_account(g, "kube-system", controller, None, None);
    }
    deployment(g, "kube-system", "coredns", "coredns", None, 2, 1);
}

/// The dump's items: system objects, then namespaces of applications until `objects` items.
pub fn items(objects: usize) -> Vec<Value> {
    let mut g = Gen { items: Vec::new(), serial: 0 };
    system_objects(&mut g);
    let mut app = 0u64;
    while g.items.len() < objects {
        let ns = format!("team-{:03}", app / 20);
        if app % 20 == 0 {
            service_account(&mut g, &ns, "default", None, None);
        }
        let name = format!("svc-{app:05}");
        let sa = format!("{name}-sa");
        let r = mix(app) % 10;
        let automount = match r {
            0..=3 => Some(false),
            4 => Some(true),
            _ => None,
        };
        let annotations =
            (r == 7).then(|| json!({"eks.amazonaws.com/role-arn": format!("arn:aws:iam::123456789012:role/{name}")}));
        service_account(&mut g, &ns, &sa, automount, annotations);
        // Some workloads run as the namespace's default ServiceAccount.
        let runs_as = if r == 9 { "default" } else { sa.as_str() };
        deployment(&mut g, &ns, &name, runs_as, None, 2, app + 100);
        role(&mut g, &ns, &format!("{name}-role"), app);
        let subjects = json!([{"kind": "ServiceAccount", "name": sa, "namespace": ns}]);
        binding(
            &mut g,
            "RoleBinding",
            Some(&ns),
            &format!("{name}-binding"),
            ("Role", &format!("{name}-role")),
            subjects,
            false,
        );
        if app % 5 == 0 {
            token_secret(&mut g, &ns, &sa);
        }
        if app % 50 == 7 {
            let subjects = json!([{"kind": "ServiceAccount", "name": sa, "namespace": ns}]);
            binding(
                &mut g,
                "ClusterRoleBinding",
                None,
                &format!("{name}-admin"),
                ("ClusterRole", "cluster-admin"),
                subjects,
                false,
            );
        }
        app += 1;
    }
    g.items.truncate(objects);
    g.items
}

/// The List `kubectl get -A -o json|yaml` prints around the items.
pub fn list(objects: usize) -> Value {
    json!({"apiVersion": "v1", "items": items(objects), "kind": "List", "metadata": {"resourceVersion": ""}})
}

/// As `kubectl get -A -o json` prints it: four-space indentation, a final line break.
pub fn json_text(list: &Value) -> String {
    use serde::Serialize;
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    list.serialize(&mut serializer).expect("JSON values serialize");
    out.push(b'\n');
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// As `kubectl get -A -o yaml` prints it (sigs.k8s.io/yaml, go-yaml v2): keys sorted, two-space
/// indentation, sequences not indented under their key, strings quoted only when they would read
/// as something else.
pub fn yaml_text(list: &Value) -> String {
    let mut out = String::new();
    if let Value::Object(map) = list {
        write_map(&mut out, map, 0);
    }
    out
}

fn write_map(out: &mut String, map: &Map<String, Value>, indent: usize) {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    for (n, key) in keys.into_iter().enumerate() {
        if n > 0 {
            push_indent(out, indent);
        }
        out.push_str(&scalar(key));
        out.push(':');
        write_value_after_key(out, &map[key], indent);
    }
}

fn write_value_after_key(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            push_indent(out, indent + 2);
            write_map(out, m, indent + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            push_indent(out, indent);
            write_seq(out, a, indent);
        }
        other => {
            out.push(' ');
            out.push_str(&leaf(other));
            out.push('\n');
        }
    }
}

fn write_seq(out: &mut String, items: &[Value], indent: usize) {
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            push_indent(out, indent);
        }
        out.push_str("- ");
        match item {
            Value::Object(m) if !m.is_empty() => write_map(out, m, indent + 2),
            Value::Array(a) if !a.is_empty() => write_seq(out, a, indent + 2),
            other => {
                out.push_str(&leaf(other));
                out.push('\n');
            }
        }
    }
}

fn push_indent(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn leaf(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar(s),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
    }
}

/// A string as go-yaml v2 writes it: plain when it reads back as the same string, otherwise
/// single-quoted (`'80'`, `'true'`, `''`, `'{"uid":…}'`).
fn scalar(s: &str) -> String {
    let special_start = s.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@` ".contains(c));
    let ambiguous = s.is_empty()
        || matches!(s, "null" | "Null" | "NULL" | "~" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE")
        || matches!(s, "y" | "Y" | "yes" | "Yes" | "YES" | "n" | "N" | "no" | "No" | "NO")
        || matches!(s, "on" | "On" | "ON" | "off" | "Off" | "OFF")
        || s.parse::<f64>().is_ok()
        || s.chars().all(|c| c.is_ascii_digit() || c == '-' || c == ':' || c == '.' || c == 'T' || c == 'Z')
            && s.starts_with(|c: char| c.is_ascii_digit());
    let special = s.contains(": ") || s.contains(" #") || s.ends_with(':') || s.ends_with(' ');
    if special_start || ambiguous || special {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        s.to_string()
    }
}
