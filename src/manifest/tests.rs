use serde_json::{json, Value};

use super::*;
use crate::engine::{evaluate, Options};
use crate::settings::Settings;

fn pos(line: usize, column: usize, end_line: usize, end_column: usize) -> Position {
    Position { line, column, end_line, end_column }
}

fn parse_ok(text: &str) -> Manifests {
    let manifests = parse(text, &Limits::default());
    assert_eq!(manifests.errors, [], "unexpected errors");
    manifests
}

fn messages(manifests: &Manifests) -> Vec<(Option<usize>, usize, usize, &str)> {
    manifests.errors.iter().map(|e| (e.document, e.position.line, e.position.column, e.message.as_str())).collect()
}

/// Applies `fixes` (object index, patch) and checks the text reads back as the patched objects.
fn fix_text(text: &str, fixes: &[(usize, Value)]) -> String {
    let manifests = parse_ok(text);
    let fixes: Vec<(usize, Fix)> = fixes
        .iter()
        .map(|(i, patch)| {
            (*i, Fix { description: "test".into(), patch: serde_json::from_value(patch.clone()).unwrap() })
        })
        .collect();
    let refs: Vec<(usize, &Fix)> = fixes.iter().map(|(i, f)| (*i, f)).collect();
    let output = apply_fixes(text, &manifests, &refs).unwrap_or_else(|e| panic!("{e}"));
    // apply_fixes verifies this itself; check it independently too.
    let mut expected = manifests.values();
    for (i, fix) in &fixes {
        json_patch::patch(&mut expected[*i], &fix.patch).unwrap();
    }
    assert_eq!(parse_ok(&output).values(), expected);
    output
}

use crate::finding::Fix;

const MULTI: &str = "\
# ServiceAccounts for the shop
apiVersion: v1
kind: ServiceAccount
metadata:
  name: default
  namespace: shop   # the app namespace
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: order-api-sa
automountServiceAccountToken: false
";

#[test]
fn multi_document_positions() {
    let m = parse_ok(MULTI);
    assert_eq!(m.objects.len(), 2);
    assert_eq!((m.objects[1].document, m.objects[1].base_pointer.as_str()), (1, ""));
    assert_eq!(m.position(0, "/metadata/namespace"), pos(6, 3, 6, 18));
    assert_eq!(m.position(0, "/metadata"), pos(4, 1, 6, 18));
    // Missing: the parent's key, or the object's first line (not the comment above it).
    assert_eq!(m.position(0, "/metadata/labels/app"), pos(4, 1, 4, 9));
    assert_eq!(m.position(0, "/automountServiceAccountToken"), pos(2, 1, 2, 15));
    assert_eq!(m.position(0, ""), pos(2, 1, 2, 15));
    assert_eq!(m.position(1, "/automountServiceAccountToken"), pos(12, 1, 12, 36));
    assert_eq!(m.position(1, "/metadata/name"), pos(11, 3, 11, 21));
    assert_eq!(m.position(7, "/x"), pos(1, 1, 1, 1));
}

#[test]
fn crlf_line_endings() {
    let text = MULTI.replace('\n', "\r\n");
    let m = parse_ok(&text);
    assert_eq!(m.values(), parse_ok(MULTI).values());
    assert_eq!(m.position(0, "/metadata/namespace"), pos(6, 3, 6, 18));
    assert_eq!(m.position(1, "/automountServiceAccountToken"), pos(12, 1, 12, 36));
}

#[test]
fn tabs_and_escapes_inside_strings() {
    let text = "kind: ConfigMap\ndata:\n  a: \"x\\ty\"  # escaped tab\n  b: 'tab\there'\n  c: plain\twith tab\n  d: \"q\\\"uote\"\n";
    let m = parse_ok(text);
    assert_eq!(
        m.objects[0].value["data"],
        json!({"a": "x\ty", "b": "tab\there", "c": "plain\twith tab", "d": "q\"uote"})
    );
    // Quoted values end at their closing quote, not at the comment.
    assert_eq!(m.position(0, "/data/a"), pos(3, 3, 3, 12));
    assert_eq!(m.position(0, "/data/b"), pos(4, 3, 4, 16));
    assert_eq!(m.position(0, "/data/c"), pos(5, 3, 5, 20));
    assert_eq!(m.position(0, "/data/d"), pos(6, 3, 6, 15));
}

#[test]
fn unicode_columns_count_characters() {
    let m = parse_ok("kind: ConfigMap\ndata: {größe: \"é\", b: 1}\n");
    assert_eq!(m.position(0, "/data/b"), pos(2, 20, 2, 24));
}

#[test]
fn anchors_aliases_and_merge_keys() {
    let text = "\
kind: Deployment
metadata:
  labels: &labels
    app: shop
    tier: web
spec:
  selector:
    matchLabels: *labels
  template:
    metadata:
      labels:
        <<: *labels
        tier: api
        extra: x
";
    let m = parse_ok(text);
    let v = &m.objects[0].value;
    assert_eq!(v["spec"]["selector"]["matchLabels"], json!({"app": "shop", "tier": "web"}));
    assert_eq!(v["spec"]["template"]["metadata"]["labels"], json!({"app": "shop", "tier": "api", "extra": "x"}));
    // An alias is reported where it is used; what it copies, where the anchor wrote it.
    assert_eq!(m.position(0, "/spec/selector/matchLabels"), pos(8, 5, 8, 25));
    assert_eq!(m.position(0, "/spec/selector/matchLabels/app"), pos(4, 5, 4, 14));
    assert_eq!(m.position(0, "/spec/template/metadata/labels/tier"), pos(13, 9, 13, 18));
    assert_eq!(m.position(0, "/spec/template/metadata/labels/app"), pos(4, 5, 4, 14));
}

#[test]
fn merge_keys_follow_go_yaml_v2_order() {
    // go-yaml v2 applies a merge where it appears: it overrides keys before it, keys after it
    // override it, and in a list of sources the first one wins.
    let text = "a: &a {x: 1, z: 1}\nb: &b {x: 2, w: 2}\nm:\n  x: 0\n  <<: [*a, *b]\n  w: 9\n";
    let m = parse_ok(text);
    assert_eq!(m.objects[0].value["m"], json!({"x": 1, "z": 1, "w": 9}));
    let bad = parse("a: &a [1]\nm:\n  <<: *a\n", &Limits::default());
    assert_eq!(messages(&bad), [(Some(0), 3, 7, "a merge key (<<) needs a mapping or a sequence of mappings")]);
}

#[test]
fn comments_and_empty_documents() {
    let text = "\
--- # nothing here
# only a comment
---
---
kind: A # trailing
# between keys
name: x
...
---

kind: B
---
";
    let m = parse_ok(text);
    assert_eq!(m.values(), [json!({"kind": "A", "name": "x"}), json!({"kind": "B"})]);
    assert_eq!(m.objects.iter().map(|o| o.document).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(m.position(0, "/name"), pos(7, 1, 7, 8));
    assert_eq!(m.position(1, "/kind"), pos(11, 1, 11, 8));
}

#[test]
fn syntax_error_mid_file_keeps_documents_before_and_after() {
    let text = "kind: A\n---\nkind: B\nbad: [1, 2\nnext: 3\n---\nkind: C\n---\nkind: D\n";
    let m = parse(text, &Limits::default());
    assert_eq!(m.values(), [json!({"kind": "A"}), json!({"kind": "C"}), json!({"kind": "D"})]);
    assert_eq!(m.objects.iter().map(|o| o.document).collect::<Vec<_>>(), [0, 2, 3]);
    assert_eq!(messages(&m), [(Some(1), 5, 5, "YAML syntax error: illegal placement of ':' indicator")]);
    assert_eq!(m.position(1, "/kind"), pos(7, 1, 7, 8));

    // An error in the last document: everything before it survives.
    let m = parse("kind: A\n---\nkind: B\n  bad: indentation\n", &Limits::default());
    assert_eq!(m.values(), [json!({"kind": "A"})]);
    assert_eq!(messages(&m), [(Some(1), 4, 6, "YAML syntax error: mapping values are not allowed in this context")]);
}

#[test]
fn documents_that_are_not_objects_are_errors() {
    let m = parse("just a string\n---\n- a\n- b\n---\n42\n---\nkind: Ok\n", &Limits::default());
    assert_eq!(m.values(), [json!({"kind": "Ok"})]);
    assert_eq!(
        messages(&m),
        [
            (Some(0), 1, 1, "the document is a string, not a Kubernetes object (a mapping)"),
            (
                Some(1),
                3,
                1,
                "the document is a sequence, not a Kubernetes object (a mapping); use `kind: List` with `items`"
            ),
            (Some(2), 6, 1, "the document is a number, not a Kubernetes object (a mapping)"),
        ]
    );
}

#[test]
fn list_kinds_expand_into_items() {
    let text = "\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ServiceAccount
  metadata: {name: a}
- apiVersion: v1
  kind: ServiceAccount
  metadata:
    name: b
---
kind: ServiceAccountList
items: [{kind: ServiceAccount, metadata: {name: c}}]
---
kind: List
items: null
";
    let m = parse_ok(text);
    let names: Vec<_> = m
        .objects
        .iter()
        .map(|o| (o.document, o.base_pointer.as_str(), o.value["metadata"]["name"].as_str().unwrap()))
        .collect();
    assert_eq!(names, [(0, "/items/0", "a"), (0, "/items/1", "b"), (1, "/items/0", "c")]);
    assert_eq!(m.position(1, "/metadata/name"), pos(10, 5, 10, 12));
    assert_eq!(m.position(0, "/metadata/name"), pos(6, 14, 6, 21));
    // A missing field of an item: the item's first line.
    assert_eq!(m.position(1, "/automountServiceAccountToken"), pos(7, 3, 7, 17));
    let bad = parse("kind: List\nitems:\n- 3\n- kind: A\n", &Limits::default());
    assert_eq!(bad.values(), [json!({"kind": "A"})]);
    assert_eq!(messages(&bad), [(Some(0), 3, 3, "item 0 of the List is not a Kubernetes object (a mapping)")]);
}

#[test]
fn json_input() {
    let text = "{\"apiVersion\": \"v1\", \"kind\": \"ServiceAccount\",\n \"metadata\": {\"name\": \"default\"}, \"automountServiceAccountToken\": true}\n";
    let m = parse_ok(text);
    assert_eq!(m.objects[0].value["automountServiceAccountToken"], json!(true));
    assert_eq!(m.position(0, "/automountServiceAccountToken"), pos(2, 35, 2, 71));
    assert_eq!(m.position(0, "/metadata/name"), pos(2, 15, 2, 32));
}

#[test]
fn scalars_as_kubernetes_reads_them() {
    let text =
        "a: yes\nb: \"yes\"\nc: off\nd: 0x10\ne: 1.5\nf: ~\ng:\nh: 'on'\n1: int key\ntrue: bool key\nport: \"8080\"\n";
    let m = parse_ok(text);
    assert_eq!(
        m.objects[0].value,
        json!({"a": true, "b": "yes", "c": false, "d": 16, "e": 1.5, "f": null, "g": null, "h": "on",
               "1": "int key", "true": "bool key", "port": "8080"})
    );
    let m = parse("a: 1\na: 2\n---\n? [x]\n: y\n---\nv: .nan\n", &Limits::default());
    assert_eq!(
        messages(&m),
        [
            (Some(0), 2, 1, "duplicate key \"a\" (first set on line 1)"),
            (Some(1), 4, 3, "a mapping key is a collection; Kubernetes objects only have string keys"),
            (Some(2), 7, 4, "`.nan` is not a finite number, which JSON (and so Kubernetes) cannot represent"),
        ]
    );
}

#[test]
fn alias_bomb_is_rejected_within_the_budget() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    text.push_str("---\nkind: Fine\n");
    let m = parse(&text, &Limits::default());
    assert_eq!(m.values(), [json!({"kind": "Fine"})]);
    assert_eq!(
        messages(&m),
        [(Some(0), 6, 45, "alias expansion exceeds the limit of 1000000 nodes (a \"billion laughs\" document?)")]
    );
    // A small budget stops small expansions too.
    let m = parse("a: &a [1, 2]\nb: *a\nc: *a\n", &Limits { max_nodes: 5, ..Limits::default() });
    assert_eq!(
        messages(&m),
        [(Some(0), 3, 4, "alias expansion exceeds the limit of 5 nodes (a \"billion laughs\" document?)")]
    );
}

#[test]
fn deep_nesting_is_rejected_without_overflowing_the_stack() {
    let limits = Limits::default();
    // Block style: 2 000 levels.
    let mut text = String::new();
    for depth in 0..2_000 {
        text.push_str(&" ".repeat(depth));
        text.push_str("k:\n");
    }
    let m = parse(&text, &limits);
    assert_eq!(m.objects, []);
    assert_eq!(messages(&m), [(Some(0), 257, 257, "the document nests deeper than 256 levels")]);
    // Flow style: saphyr's own limit applies first.
    let text = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let m = parse(&text, &limits);
    assert_eq!(messages(&m), [(Some(0), 1, 256, "YAML syntax error: recursion limit exceeded")]);
    // An alias can make a document deeper than it is written.
    let m = parse("a: &a [[[1]]]\nb: [[*a]]\n", &Limits { max_depth: 5, ..limits });
    assert_eq!(messages(&m), [(Some(0), 2, 6, "the document nests deeper than 5 levels")]);
}

#[test]
fn oversized_input_is_refused() {
    let m = parse("kind: A\n", &Limits { max_bytes: 4, ..Limits::default() });
    assert_eq!(messages(&m), [(None, 1, 1, "the input is 8 bytes, more than the limit of 4 bytes")]);
}

#[test]
fn large_input_parses_quickly() {
    let object = "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {app: web}\nspec:\n  template:\n    spec:\n      serviceAccountName: web-sa\n      containers:\n      - name: web\n        image: \"nginx:1.27\"  # pinned\n        args: [--port, \"8080\"]\n";
    // 5 MB in optimized builds; 1 MB keeps debug test runs short.
    let size = if cfg!(debug_assertions) { 1_000_000 } else { 5_000_000 };
    let copies = size / object.len() + 1;
    let text = object.repeat(copies);
    let started = std::time::Instant::now();
    let m = parse(&text, &Limits::default());
    let elapsed = started.elapsed();
    assert_eq!(m.errors, []);
    assert_eq!(m.objects.len(), copies);
    assert_eq!(
        m.position(copies - 1, "/spec/template/spec/containers/0/image"),
        pos(copies * 14 - 1, 9, copies * 14 - 1, 28)
    );
    // Measured at about 0.55 s of CPU (saphyr's own event parsing is about 0.3 s of it). The
    // bound leaves room for a heavily loaded runner while still catching anything quadratic.
    if !cfg!(debug_assertions) {
        assert!(elapsed.as_secs() < 5, "5 MB took {elapsed:?}");
    }
}

// ---- fixes ----

#[test]
fn sag001_fix_on_a_service_account() {
    let manifests = parse_ok(MULTI);
    let report = evaluate(&manifests.values(), &Settings::default(), &Options::default());
    let fixes: Vec<(usize, &Fix)> = report
        .findings
        .iter()
        .filter(|f| f.rule_id == "SAG001")
        .map(|f| (f.object_index, f.fix.as_ref().expect("SAG001 is fixable")))
        .collect();
    assert_eq!(fixes.len(), 1);
    let fixed = apply_fixes(MULTI, &manifests, &fixes).unwrap();
    assert_eq!(
        fixed,
        MULTI.replace(
            "namespace: shop   # the app namespace\n",
            "namespace: shop   # the app namespace\nautomountServiceAccountToken: false\n"
        )
    );
    let again = parse_ok(&fixed);
    assert!(evaluate(&again.values(), &Settings::default(), &Options::default())
        .findings
        .iter()
        .all(|f| f.rule_id != "SAG001"));
}

#[test]
fn add_into_block_mappings_with_their_own_indentation() {
    let text = "kind: Pod\nspec:\n    containers:\n        - name: app   # main\n          image: x\n    volumes: []\n";
    assert_eq!(
        fix_text(text, &[(0, json!([{"op": "add", "path": "/spec/automountServiceAccountToken", "value": false}]))]),
        "kind: Pod\nspec:\n    containers:\n        - name: app   # main\n          image: x\n    volumes: []\n    automountServiceAccountToken: false\n"
    );
    assert_eq!(
        fix_text(text, &[(0, json!([{"op": "add", "path": "/spec/containers/0/securityContext", "value": {"runAsNonRoot": true, "caps": ["A"]}}]))]),
        "kind: Pod\nspec:\n    containers:\n        - name: app   # main\n          image: x\n          securityContext:\n            caps:\n            - A\n            runAsNonRoot: true\n    volumes: []\n"
    );
    // Flow style: `, key: value` before the closing brace.
    assert_eq!(
        fix_text(
            "metadata: {name: a, labels: {}}\n",
            &[(
                0,
                json!([{"op": "add", "path": "/metadata/labels/app", "value": "yes"}, {"op": "add", "path": "/metadata/namespace", "value": "n"}])
            )]
        ),
        // `n` alone would read back as false (YAML 1.1), so it is quoted.
        "metadata: {name: a, labels: {app: \"yes\"}, namespace: \"n\"}\n"
    );
}

#[test]
fn replace_keeps_comments_and_crlf() {
    let text =
        "kind: ServiceAccount\r\nautomountServiceAccountToken: true   # TODO\r\nmetadata:\r\n  name: default\r\n";
    assert_eq!(
        fix_text(text, &[(0, json!([{"op": "replace", "path": "/automountServiceAccountToken", "value": false}]))]),
        "kind: ServiceAccount\r\nautomountServiceAccountToken: false   # TODO\r\nmetadata:\r\n  name: default\r\n"
    );
    assert_eq!(
        fix_text(text, &[(0, json!([{"op": "add", "path": "/metadata/namespace", "value": "prod"}]))]),
        "kind: ServiceAccount\r\nautomountServiceAccountToken: true   # TODO\r\nmetadata:\r\n  name: default\r\n  namespace: prod\r\n"
    );
    // A block scalar replaced by a scalar, a scalar by a mapping.
    let text = "a: |\n  line one\n  line two\n# kept\nb: 1\n";
    assert_eq!(
        fix_text(
            text,
            &[(
                0,
                json!([{"op": "replace", "path": "/a", "value": "short"}, {"op": "replace", "path": "/b", "value": {"c": 2}}])
            )]
        ),
        "a: short\n# kept\nb:\n  c: 2\n"
    );
}

#[test]
fn remove_list_items_and_keys_with_nested_blocks() {
    let text = "\
spec:
  containers:
  - name: app
    volumeMounts:
    - name: token          # the legacy token
      mountPath: /var/run/secrets/kubernetes.io/serviceaccount
    - name: data
      mountPath: /data
  serviceAccount: legacy   # deprecated
  volumes:
  - name: token
    secret: {secretName: legacy-token}
";
    // SAG004-like: add the new field, remove the deprecated one (with its comment).
    assert_eq!(
        fix_text(
            text,
            &[(
                0,
                json!([
            {"op": "add", "path": "/spec/serviceAccountName", "value": "legacy"},
            {"op": "remove", "path": "/spec/serviceAccount"}])
            )]
        ),
        text.replace("  serviceAccount: legacy   # deprecated\n", "").replace(
            "    secret: {secretName: legacy-token}\n",
            "    secret: {secretName: legacy-token}\n  serviceAccountName: legacy\n"
        )
    );
    // The same when the deprecated field is the last one: the new line goes where it was.
    assert_eq!(
        fix_text(
            "spec:\n  containers: []\n  serviceAccount: legacy\nkind: Pod\n",
            &[(
                0,
                json!([
            {"op": "add", "path": "/spec/serviceAccountName", "value": "legacy"},
            {"op": "remove", "path": "/spec/serviceAccount"}])
            )]
        ),
        "spec:\n  containers: []\n  serviceAccountName: legacy\nkind: Pod\n"
    );
    assert_eq!(
        fix_text(
            "l:\n- a\n- b",
            &[(0, json!([{"op": "remove", "path": "/l/1"}, {"op": "add", "path": "/l/-", "value": "c"}]))]
        ),
        "l:\n- a\n- c\n"
    );
    // Appending at the end of a text without a final line break.
    assert_eq!(
        fix_text(
            "a: 1\nb: 2",
            &[(0, json!([{"op": "remove", "path": "/b"}, {"op": "add", "path": "/c", "value": 3}]))]
        ),
        "a: 1\nc: 3"
    );
    assert_eq!(fix_text("a: 1", &[(0, json!([{"op": "add", "path": "/c", "value": 3}]))]), "a: 1\nc: 3");
    // Remove a list item (its two lines) and a key whose value is a nested block.
    assert_eq!(
        fix_text(text, &[(0, json!([{"op": "remove", "path": "/spec/containers/0/volumeMounts/0"}])), (0, json!([{"op": "remove", "path": "/spec/volumes"}]))]),
        "spec:\n  containers:\n  - name: app\n    volumeMounts:\n    - name: data\n      mountPath: /data\n  serviceAccount: legacy   # deprecated\n"
    );
    // A key on its item's dash line: the next key moves up to the dash.
    assert_eq!(
        fix_text(
            "containers:\n- name: app\n  image: x\n",
            &[(0, json!([{"op": "remove", "path": "/containers/0/name"}]))]
        ),
        "containers:\n- image: x\n"
    );
    assert_eq!(
        fix_text(
            "containers:\r\n- name: app\r\n",
            &[(0, json!([{"op": "add", "path": "/containers/0/env", "value": [{"name": "A", "value": "1"}]}]))]
        ),
        "containers:\r\n- name: app\r\n  env:\r\n  - name: A\r\n    value: \"1\"\r\n"
    );
    // Removing the last item leaves an empty list, not a null.
    assert_eq!(
        fix_text(text, &[(0, json!([{"op": "remove", "path": "/spec/volumes/0"}]))]),
        text.replace("  volumes:\n  - name: token\n    secret: {secretName: legacy-token}\n", "  volumes: []\n")
    );
}

#[test]
fn sequential_operations_of_one_patch_use_shifting_indices() {
    // JSON Patch applies in order: after removing item 0, the old item 2 is item 1.
    let text = "items:\n- a\n- b\n- c\n- d\n";
    assert_eq!(
        fix_text(
            text,
            &[(
                0,
                json!([{"op": "remove", "path": "/items/0"}, {"op": "remove", "path": "/items/1"}, {"op": "add", "path": "/items/-", "value": "e"}])
            )]
        ),
        "items:\n- b\n- d\n- e\n"
    );
    assert_eq!(
        fix_text(
            "l: [1, 2, 3]\n",
            &[(0, json!([{"op": "remove", "path": "/l/2"}, {"op": "add", "path": "/l/0", "value": 0}]))]
        ),
        "l: [0, 1, 2]\n"
    );
}

#[test]
fn fixes_across_documents_apply_bottom_up() {
    let text =
        "kind: ServiceAccount\nmetadata: {name: default}\n---\nkind: ServiceAccount\nmetadata:\n  name: default\n";
    let patch = json!([{"op": "add", "path": "/automountServiceAccountToken", "value": false}]);
    assert_eq!(
        fix_text(text, &[(1, patch.clone()), (0, patch.clone()), (0, patch)]),
        "kind: ServiceAccount\nmetadata: {name: default}\nautomountServiceAccountToken: false\n---\nkind: ServiceAccount\nmetadata:\n  name: default\nautomountServiceAccountToken: false\n"
    );
}

#[test]
fn unsafe_fixes_are_refused() {
    let text = "base: &b {x: 1}\nm:\n  <<: *b\n  y: 2\nc: *b\n";
    let manifests = parse_ok(text);
    let fix = |patch: Value| Fix { description: String::new(), patch: serde_json::from_value(patch).unwrap() };
    let merged = fix(json!([{"op": "replace", "path": "/m/x", "value": 5}]));
    assert_eq!(
        apply_fixes(text, &manifests, &[(0, &merged)]).unwrap_err().to_string(),
        "object 0: cannot edit /m/x in the text: the field comes from a merge key (<<); edit the merged mapping instead"
    );
    let aliased = fix(json!([{"op": "add", "path": "/c/z", "value": 5}]));
    assert_eq!(
        apply_fixes(text, &manifests, &[(0, &aliased)]).unwrap_err().to_string(),
        "object 0: cannot edit /c/z in the text: the field is inside an alias (*name); edit the anchor instead"
    );
    let missing = fix(json!([{"op": "remove", "path": "/nope"}]));
    assert!(matches!(apply_fixes(text, &manifests, &[(0, &missing)]), Err(FixError::Patch { object_index: 0, .. })));
    assert_eq!(apply_fixes("other", &manifests, &[]), Err(FixError::TextChanged));
    assert_eq!(apply_fixes(text, &manifests, &[(3, &missing)]), Err(FixError::UnknownObject { object_index: 3 }));
    // Replacing the whole alias where it is used is fine.
    let whole = fix(json!([{"op": "replace", "path": "/c", "value": {"x": 2}}]));
    assert_eq!(
        apply_fixes(text, &manifests, &[(0, &whole)]).unwrap(),
        "base: &b {x: 1}\nm:\n  <<: *b\n  y: 2\nc:\n  x: 2\n"
    );
}

#[test]
fn byte_order_mark_tags_and_empty_values() {
    let m = parse_ok("\u{FEFF}kind: A\nname: !!str 123\nempty:\nlist:\n- \n- x\nport: !!int \"80\"\n");
    assert_eq!(m.objects[0].value, json!({"kind": "A", "name": "123", "empty": null, "list": [null, "x"], "port": 80}));
    assert_eq!(m.position(0, "/kind"), pos(1, 1, 1, 8));
    assert_eq!(m.position(0, "/name"), pos(2, 1, 2, 16));
    assert_eq!(m.position(0, "/empty"), pos(3, 1, 3, 7));
    assert_eq!(m.position(0, "/list/1"), pos(6, 3, 6, 4));
    // A value written into an empty field goes after the colon.
    assert_eq!(
        fix_text("kind: A\nempty:\nb: 1\n", &[(0, json!([{"op": "replace", "path": "/empty", "value": "x"}]))]),
        "kind: A\nempty: x\nb: 1\n"
    );
}

#[test]
fn flow_collections_edits() {
    let text = "a: [1, 2, 3]\nb: {p: 1, q: 2}\nc: {only: 1}\n";
    assert_eq!(
        fix_text(
            text,
            &[(
                0,
                json!([
            {"op": "remove", "path": "/a/1"}, {"op": "replace", "path": "/a/1", "value": "three"},
            {"op": "remove", "path": "/b/q"}, {"op": "remove", "path": "/c/only"}])
            )]
        ),
        "a: [1, three]\nb: {p: 1}\nc: {}\n"
    );
    assert_eq!(
        fix_text("a: []\n", &[(0, json!([{"op": "add", "path": "/a/-", "value": {"k": "v"}}]))]),
        "a: [{k: v}]\n"
    );
    assert_eq!(
        fix_text(text, &[(0, json!([{"op": "remove", "path": "/a/2"}]))]),
        "a: [1, 2]\nb: {p: 1, q: 2}\nc: {only: 1}\n"
    );
}

#[test]
fn fixes_inside_list_items_and_after_broken_documents() {
    let text = "kind: A\nbad: [\n---\nkind: List\nitems:\n- kind: ServiceAccount\n  metadata:\n    name: default\n";
    let manifests = parse(text, &Limits::default());
    assert_eq!(manifests.errors.len(), 1);
    let fix = Fix {
        description: String::new(),
        patch: serde_json::from_value(json!([{"op": "add", "path": "/automountServiceAccountToken", "value": false}]))
            .unwrap(),
    };
    assert_eq!(
        apply_fixes(text, &manifests, &[(0, &fix)]).unwrap(),
        "kind: A\nbad: [\n---\nkind: List\nitems:\n- kind: ServiceAccount\n  metadata:\n    name: default\n  automountServiceAccountToken: false\n"
    );
}

/// Tiny deterministic generator for the robustness test (no dependency needed).
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn mangled_input_never_panics() {
    let seed = "apiVersion: v1\nkind: List\nitems:\n- kind: ServiceAccount\n  metadata: {name: default, labels: &l {a: b}}\n  x: *l\n  m:\n    <<: *l\n    s: |\n      text\n  z: [1, 'q', \"r\\t\"]\n---\n? k\n: v\nw: \"-\"\n";
    let alphabet: Vec<char> = " \n\t:-[]{},#&*!|>'\"?<%@`~\\\r\u{FEFF}é0aZ".chars().collect();
    let fixes: Vec<Fix> = [
        json!([{"op": "add", "path": "/automountServiceAccountToken", "value": false}]),
        json!([{"op": "remove", "path": "/metadata/name"}, {"op": "replace", "path": "/z/1", "value": {"k": ["v"]}}]),
        json!([{"op": "remove", "path": "/z/0"}, {"op": "add", "path": "/m/t", "value": "yes"}, {"op": "remove", "path": "/x"}]),
        json!([{"op": "replace", "path": "/w", "value": [1, {"a": null}]}, {"op": "add", "path": "/k2", "value": {}}]),
    ]
    .into_iter()
    .map(|patch| Fix { description: String::new(), patch: serde_json::from_value(patch).unwrap() })
    .collect();
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let (mut fixed, mut broken, mut unverified) = (0, 0, Vec::new());
    for _ in 0..3000 {
        let mut chars: Vec<char> = seed.chars().collect();
        for _ in 0..1 + next_random(&mut state) % 8 {
            let at = (next_random(&mut state) as usize) % chars.len();
            let c = alphabet[(next_random(&mut state) as usize) % alphabet.len()];
            match next_random(&mut state) % 3 {
                0 => chars[at] = c,
                1 => chars.insert(at, c),
                _ => {
                    chars.remove(at);
                }
            }
        }
        let text: String = chars.into_iter().collect();
        let m = parse(&text, &Limits::default());
        for i in 0..m.objects.len() {
            for pointer in ["", "/metadata/name", "/x/a", "/m/s", "/z/2", "/k", "/nope/deeper"] {
                let p = m.position(i, pointer);
                assert!(
                    p.line >= 1 && p.column >= 1 && (p.end_line, p.end_column) >= (p.line, p.column),
                    "{text:?} {pointer} {p:?}"
                );
            }
            // Either a verified edit or a clear refusal.
            let fix = &fixes[(next_random(&mut state) as usize) % fixes.len()];
            match apply_fixes(&text, &m, &[(i, fix)]) {
                Ok(_) => fixed += 1,
                // A refusal is fine for a text with syntax errors: how saphyr recovers from
                // them can change with the edit. For a valid text it would be a bug.
                Err(FixError::Unverified { message }) if m.errors.is_empty() => {
                    unverified.push((text.clone(), message))
                }
                Err(_) => {}
            }
        }
        broken += usize::from(!m.errors.is_empty());
    }
    // The mangling hits both sides, and writing a field never produces a text that reads back wrong.
    assert!(fixed > 300 && broken > 500, "fixed {fixed}, broken {broken}");
    assert_eq!(unverified, []);
}

#[test]
fn fixes_to_one_document_of_a_large_text_stay_fast() {
    // Verification re-parses only the edited document, so one fix costs little in a big file.
    let object = "---\nkind: ServiceAccount\nmetadata:\n  name: default\n";
    let text = object.repeat(20_000);
    let manifests = parse_ok(&text);
    let fix = Fix {
        description: String::new(),
        patch: serde_json::from_value(json!([{"op": "add", "path": "/automountServiceAccountToken", "value": false}]))
            .unwrap(),
    };
    let started = std::time::Instant::now();
    for object_index in [0, 10_000, 19_999] {
        let fixed = apply_fixes(&text, &manifests, &[(object_index, &fix)]).unwrap();
        let offset = object.len() * (object_index + 1);
        assert_eq!(&fixed[offset..offset + 35], "automountServiceAccountToken: false");
    }
    assert!(started.elapsed().as_millis() < 500, "{:?}", started.elapsed());
}

/// Every manifest text in the repository (examples, bypass corpus, CLI fixtures, fuzz seeds).
fn repository_texts() -> Vec<(String, String)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json") {
                if let Ok(text) = std::fs::read_to_string(&path) {
                    out.push((path.display().to_string(), text));
                }
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut texts = Vec::new();
    for dir in ["examples", "tests/bypass", "cli/tests/fixtures", "fuzz/corpus/manifest_lint"] {
        walk(&root.join(dir), &mut texts);
    }
    assert!(texts.len() > 50, "the corpus was found");
    texts
}

/// Texts to parse in pieces: every repository text, all of them as one stream (also with CRLF
/// and a BOM), and the cases where pieces could read differently from the whole.
fn texts_to_cut() -> Vec<(String, String)> {
    let texts = repository_texts();
    let all: String = texts.iter().map(|(_, text)| format!("---\n{text}\n")).collect();
    let mut cases = texts;
    cases.push(("everything".into(), all.clone()));
    cases.push(("everything, CRLF".into(), all.replace('\n', "\r\n")));
    cases.push(("everything, BOM".into(), format!("\u{FEFF}{all}")));
    cases.push((
        "markers with comments, empty documents, anchors, a List".into(),
        "# head\nkind: A\n--- # one\n---\n---\nbase: &b {x: 1}\nuse: *b\n---\t\nkind: List\nitems:\n- kind: Pod\n  metadata: {name: p}\n...\n---\nkind: B\n"
            .into(),
    ));
    cases.push(("a syntax error in the second half".into(), format!("{all}---\nkind: [Pod\n---\nkind: Job\n")));
    cases.push(("a syntax error in the first half".into(), format!("---\nkind: [Pod\n---\nkind: Job\n{all}")));
    cases.push(("a directive".into(), format!("{all}%YAML 1.2\n---\nkind: Job\n")));
    cases.push(("a document marker inside a quoted string".into(), format!("{all}---\na: \"x\n---\ny\"\n")));
    let less_indented = "---\nkind: Pod\nspec:\n  args:\n  - \"--flag=a\n b\"\n  x: 'c\nd'\n";
    cases
        .push(("quoted scalars indented less than their block".into(), format!("{less_indented}{all}{less_indented}")));
    cases.push(("an unfinished document".into(), format!("{all}---\nkind: Pod\nmetadata:\n  - [")));
    // A last part with errors reads as the whole text does there.
    cases.push((
        "errors of every kind in the second half".into(),
        format!("{all}---\na: 1\na: 2\n---\nb: *nowhere\n---\nkind: [x\n---\nkind: Job\n---\n  bad: 1\n x: y\n---\nkind: [\n"),
    ));
    cases.push((
        "an alias to an anchor of the first half".into(),
        format!("---\nbase: &b {{x: 1}}\n{all}---\nuse: *b\n"),
    ));
    cases
}

#[test]
fn parsing_in_parallel_gives_what_parsing_gives() {
    let limits = Limits::default();
    let cases = texts_to_cut();
    let all = &cases.iter().find(|(name, _)| name == "everything").expect("the whole stream").1;
    assert!(part_starts(all, 4).len() == 4, "the large text is cut in pieces");
    for (name, text) in &cases {
        let whole = parse(text, &limits);
        for jobs in [2, 3, 5, 16] {
            assert!(parse_in_parallel(text, &limits, jobs) == whole, "{name}: {jobs} jobs");
        }
    }
    // Alias copies are budgeted over the whole text, not per piece.
    let aliases = "---\na: &a [1, 2, 3, 4]\nb: [*a, *a]\n".repeat(4);
    let small = Limits { max_nodes: 30, ..limits };
    assert_eq!(messages(&parse_in_parallel(&aliases, &small, 4)), messages(&parse(&aliases, &small)));
    assert!(!parse(&aliases, &small).errors.is_empty());
}

/// What a parse reads, with document indices counted from `documents`: what the parts of a
/// text, read one by one, must add up to.
fn reading(manifests: &Manifests, documents: usize) -> Vec<String> {
    let at = |p: Position| (p.line, p.column, p.end_line, p.end_column);
    let mut read: Vec<String> = manifests
        .objects
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let at = |pointer: &str| at(manifests.position(i, pointer));
            format!(
                "object {} {}: {} at {:?}, name at {:?}, spec at {:?}",
                o.document + documents,
                o.base_pointer,
                o.value,
                at(""),
                at("/metadata/name"),
                at("/spec/template/spec")
            )
        })
        .collect();
    read.extend(
        manifests
            .errors
            .iter()
            .map(|e| format!("error {:?}: {} at {:?}", e.document.map(|d| d + documents), e.message, at(e.position))),
    );
    read
}

/// A text cut at document markers and read part by part (as the playground's Web Workers read
/// a large paste) reads as the whole text whenever `parts_read_as_whole` says so: the same
/// objects, errors, positions and messages once documents are counted on from the parts
/// before. It says so for the cuts of the repository's texts that have no error before the
/// last part, and not where a part could read differently.
#[test]
fn parts_read_as_the_whole_text_when_they_say_so() {
    let limits = Limits::default();
    let mut cuts_read_as_whole = 0;
    for (name, text) in &texts_to_cut() {
        let whole = parse(text, &limits);
        // In two to five parts, and a small text in two at each of its document markers.
        let mut cuts: Vec<Vec<usize>> = (2..6).map(|parts| part_starts(text, parts)).collect();
        if text.len() < 20_000 {
            cuts.extend(part_starts(text, 64).into_iter().skip(1).map(|marker| vec![0, marker]));
        }
        cuts.retain(|starts| starts.len() > 1);
        cuts.dedup();
        if !can_cut(text, &limits) {
            assert!(text.contains("%YAML"), "{name}: only a directive forbids cutting here");
            continue;
        }
        for starts in cuts {
            let bounds: Vec<usize> = starts.iter().copied().chain([text.len()]).collect();
            let parts: Vec<Manifests> =
                bounds.windows(2).map(|b| parse_part(&text[b[0]..b[1]], &limits, whole.source.line_of(b[0]))).collect();
            let shapes: Vec<PartShape> = parts.iter().map(Manifests::part_shape).collect();
            if !parts_read_as_whole(&shapes, &limits) {
                assert!(
                    shapes[..shapes.len() - 1].iter().any(|s| s.errors > 0),
                    "{name}: cut at {starts:?}: {shapes:?}"
                );
                continue;
            }
            cuts_read_as_whole += 1;
            let (mut documents, mut read) = (0, Vec::new());
            for (part, shape) in parts.iter().zip(&shapes) {
                read.extend(reading(part, documents));
                documents += shape.documents;
            }
            let mut expected = reading(&whole, 0);
            // The whole reads objects then errors; the parts read each part's objects then errors.
            read.sort();
            expected.sort();
            if read != expected {
                let differs = read.iter().zip(&expected).find(|(a, b)| a != b);
                panic!(
                    "{name}: cut at {starts:?}: {} vs {} entries, first difference {differs:?}",
                    read.len(),
                    expected.len()
                );
            }
            assert_eq!(documents, whole.part_shape().documents, "{name}");
        }
    }
    assert!(cuts_read_as_whole > 120, "{cuts_read_as_whole}");
    // Where a part could read differently: the cut must not be trusted.
    let examples = repository_texts().into_iter().filter(|(name, _)| name.contains("examples/"));
    let all: String = examples.map(|(_, text)| format!("---\n{text}\n")).collect();
    assert!(parse(&all, &limits).errors.is_empty());
    let in_halves = |text: &str, limits: &Limits| {
        let split = part_starts(text, 2)[1];
        let first_line = text[..split].lines().count();
        let shapes =
            [parse(&text[..split], limits).part_shape(), parse_part(&text[split..], limits, first_line).part_shape()];
        parts_read_as_whole(&shapes, limits)
    };
    assert!(!in_halves(&format!("---\nkind: [Pod\n---\nkind: Job\n{all}"), &limits), "an error before the cut");
    assert!(!in_halves(&format!("---\na: \"x\n---\ny\"\n{all}"), &limits), "a quoted scalar over a marker");
    assert!(!can_cut(&format!("{all}%YAML 1.2\n---\nkind: Job\n"), &limits), "a directive");
    // An error in the last part reads as in the whole text, line numbers in messages included.
    let late = format!("{all}---\nkind: Pod\nkind: Job\n---\nkind: [Pod\n");
    assert!(in_halves(&late, &limits), "an error in the last part is the whole's");
    let split = part_starts(&late, 2)[1];
    let tail = parse_part(&late[split..], &limits, late[..split].lines().count());
    let without_documents =
        |m: &Manifests| messages(m).into_iter().map(|(_, l, c, m)| (l, c, m.to_string())).collect::<Vec<_>>();
    assert_eq!(without_documents(&tail), without_documents(&parse(&late, &limits)));
    assert!(messages(&tail)[0].3.contains("first set on line"), "{:?}", messages(&tail));
    // Alias copies are budgeted over the whole text, not per part.
    let aliases = "---\na: &a [1, 2, 3, 4]\nb: [*a, *a]\n".repeat(4);
    let small = Limits { max_nodes: 30, ..limits };
    assert!(parse(&aliases[..aliases.len() / 2], &small).errors.is_empty(), "each part is within the budget");
    assert!(!in_halves(&aliases, &small), "the parts together are not");
}

/// A bundle evaluated in parts (each part reporting on its own objects and seeing of the others
/// what `bundle::seen_from_other_parts` keeps) gives the whole bundle's findings and exemptions,
/// for every repository text cut after every object, for all of them as one stream cut in two
/// and three parts, with default and with strict settings and with a default namespace. A rule
/// that reads more of an object it does not report on than other parts show fails here.
#[test]
fn parts_of_a_bundle_evaluate_as_the_whole() {
    use crate::bundle::seen_from_other_parts;
    use crate::engine::evaluate_part;

    let strict: Settings = serde_json::from_value(json!({
        "rules": {"SAG004": "deny", "SAG011": "deny", "SAG012": "deny"},
        "exempt_namespaces": ["kube-*"],
        "allowed_token_service_accounts": ["ops/*"],
        "require_allowlisted_opt_in": true,
        "max_token_expiration_seconds": 1800,
        "external_service_accounts": ["shop/external"],
    }))
    .unwrap();
    let in_parts = |values: &[Value], bounds: &[usize], settings: &Settings, options: &Options<'_>| {
        let mut report = crate::engine::Report::default();
        for part in bounds.windows(2) {
            let seen: Vec<Value> = values
                .iter()
                .enumerate()
                .map(|(i, value)| match part[0] <= i && i < part[1] {
                    true => value.clone(),
                    false => seen_from_other_parts(value).map_or(Value::Null, |seen| seen.into_owned()),
                })
                .collect();
            let part_report = evaluate_part(&seen, part[0]..part[1], settings, options);
            report.findings.extend(part_report.findings);
            report.exemptions.extend(part_report.exemptions);
        }
        report
    };
    let texts = repository_texts();
    let stream: String = texts.iter().map(|(_, text)| format!("---\n{text}\n")).collect();
    let mut cases: Vec<(String, Vec<Value>, Vec<Vec<usize>>)> = texts
        .iter()
        .map(|(name, text)| {
            let values = parse(text, &Limits::default()).values();
            let cuts = (1..values.len()).map(|c| vec![0, c, values.len()]).collect();
            (name.clone(), values, cuts)
        })
        .collect();
    let values = parse(&stream, &Limits::default()).values();
    let n = values.len();
    let cuts = (1..8).map(|k| vec![0, n * k / 8, n]).chain([vec![0, n / 3, 2 * n / 3, n], vec![0, 1, n - 1, n]]);
    cases.push(("every text as one stream".into(), values.clone(), cuts.collect()));
    let mut compared = 0;
    for (name, values, cuts) in &cases {
        for settings in [&Settings::default(), &strict] {
            for default_namespace in [None, Some("shop")] {
                let options = Options { default_namespace, ..Options::default() };
                let whole = evaluate(values, settings, &options);
                for bounds in cuts {
                    let mut parts = in_parts(values, bounds, settings, &options);
                    assert!(parts.findings == whole.findings, "{name}: parts {bounds:?}: {:#?}", {
                        let only = |a: &[crate::Finding], b: &[crate::Finding]| {
                            a.iter().filter(|f| !b.contains(f)).map(|f| f.one_line()).collect::<Vec<_>>()
                        };
                        (only(&parts.findings, &whole.findings), only(&whole.findings, &parts.findings))
                    });
                    // Exemptions come in the order rules run; compare them as sets.
                    let key = |e: &crate::engine::Exemption| (e.object_index, e.rule_id.clone(), e.path.clone());
                    let mut expected = whole.exemptions.clone();
                    parts.exemptions.sort_by_key(key);
                    expected.sort_by_key(key);
                    assert_eq!(parts.exemptions, expected, "{name}: parts {bounds:?}");
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 400, "{compared}");
}

/// A document with a syntax error is reported for that alone, whatever was found wrong before
/// the error (a duplicate key, a null key); the documents around it are read as usual.
#[test]
fn a_syntax_error_is_the_only_error_of_its_document() {
    let limits = Limits::default();
    for broken in ["a: {x: 1, x: 2}\nb: [\n", "not a manifest: [ { : this would be a syntax error\n"] {
        let text = format!("kind: B\nkind: C\n---\nkind: A\n---\n{broken}");
        let manifests = parse(&text, &limits);
        let errors: Vec<(Option<usize>, bool)> =
            manifests.errors.iter().map(|e| (e.document, e.message.starts_with("YAML syntax error"))).collect();
        assert_eq!(errors, [(Some(0), false), (Some(2), true)], "{text:?}: {:?}", messages(&manifests));
        assert_eq!(manifests.objects.len(), 1, "kind: A");
    }
}

/// `locate_field` says a field is there exactly when its pointer resolves in the object's value,
/// for every field of every object in the repository and for fields that are not there.
#[test]
fn locate_field_finds_what_the_value_has() {
    fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
        out.push(format!("{at}/absent"));
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    pointers(child, format!("{at}/{}", escape_token(key)), out);
                }
            }
            Value::Array(items) => {
                out.push(format!("{at}/{}", items.len()));
                for (i, child) in items.iter().enumerate() {
                    pointers(child, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
        out.push(at);
    }
    let mut checked = 0;
    for (name, text) in repository_texts() {
        let manifests = parse(&text, &Limits::default());
        for (index, object) in manifests.objects.iter().enumerate() {
            let mut all = Vec::new();
            pointers(&object.value, String::new(), &mut all);
            for pointer in all {
                let (position, found) = manifests.locate_field(index, &pointer);
                assert_eq!(found, object.value.pointer(&pointer).is_some(), "{name}: object {index}, {pointer}");
                assert_eq!(position, manifests.position(index, &pointer));
                checked += 1;
            }
        }
    }
    assert!(checked > 5000, "{checked}");
}

/// The JSON fast path (`json.rs`) reads what the YAML path reads: the same objects, and for each
/// object the same tree (positions, fixes), built from the object's range when asked for.
#[test]
fn json_is_read_as_the_yaml_path_reads_it() {
    let list = json!({
        "apiVersion": "v1",
        "items": [
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a", "namespace": "n",
                "annotations": {"x/y": "caf\u{e9} \"quoted\"\t\\"}}, "automountServiceAccountToken": false},
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "managedFields": [{"fieldsV1":
                {"f:spec": {"k:{\"name\":\"app\"}": {".": {}}}}}]}, "spec": {"containers": [{"name": "app",
                "image": "i", "args": ["--a=1", "", "yes", "0x10"]}], "terminationGracePeriodSeconds": 30.0,
                "priority": -0.0, "overhead": 1.5, "big": 9007199254740993i64, "none": null, "empty": {}, "e": []}},
            {"apiVersion": "v1", "kind": "ConfigMapList", "items": [{"kind": "ConfigMap"}]},
        ],
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    });
    let compact = serde_json::to_string(&list).unwrap();
    let pretty = serde_json::to_string_pretty(&list).unwrap();
    let single = serde_json::to_string_pretty(&list["items"][1]).unwrap();
    let texts = [compact.clone(), format!("\n  {pretty}\n\n"), single, "{}".into()];
    for text in &texts {
        let fast = parse(text, &Limits::default());
        assert!(fast.read_as_json_only(), "{text}");
        let yaml = parse::parse_yaml(text, &Limits::default(), 0);
        assert_eq!(fast.errors, yaml.errors);
        assert_eq!(fast.objects, yaml.objects, "{text}");
        assert_eq!(fast.part_shape(), yaml.part_shape());
        for (i, node) in yaml.nodes.iter().enumerate() {
            assert_eq!(fast.with_tree(i, |tree| tree.clone()).as_ref(), Some(node), "{text}: object {i}");
        }
        assert_eq!(fast.with_tree(yaml.nodes.len(), |_| ()), None);
    }
    // A List's items and the numbers as Kubernetes reads them.
    let fast = parse(&pretty, &Limits::default());
    assert_eq!(fast.objects.len(), 3);
    assert_eq!(fast.objects[1].base_pointer, "/items/1");
    assert_eq!(fast.objects[1].value["spec"]["terminationGracePeriodSeconds"], json!(30));
    assert_eq!(fast.objects[1].value["spec"]["priority"], json!(0));
    assert_eq!(fast.objects[2].value["items"], json!([{"kind": "ConfigMap"}]), "an item is not split again");
    assert_eq!(
        fast.position(0, "/metadata/name"),
        parse::parse_yaml(&pretty, &Limits::default(), 0).position(0, "/metadata/name")
    );
    // A fix on a text read as JSON is planned on the YAML path's tree and verified.
    let fix = Fix {
        description: "test".into(),
        patch: serde_json::from_value(
            json!([{"op": "replace", "path": "/automountServiceAccountToken", "value": true}]),
        )
        .unwrap(),
    };
    let fixed = apply_fixes(&pretty, &fast, &[(0, &fix)]).unwrap();
    assert_eq!(parse(&fixed, &Limits::default()).objects[0].value["automountServiceAccountToken"], json!(true));
}

/// JSON the two paths might read differently, or that the YAML path reports, is left to it.
#[test]
fn json_the_yaml_path_must_judge_is_left_to_it() {
    let texts = [
        r#"{"kind": "Pod", "metadata": {"name": "a", "name": "b"}}"#,
        r#"{"kind": "Pod", "kind": "Pod"}"#,
        r#"{"kind": "List", "items": [{"kind": "Pod"}, "text"]}"#,
        r#"{"kind": "List", "metadata": {"a": 1, "a": 2}, "items": []}"#,
        r#"{"kind": "Pod", "n": 18446744073709551615}"#,
        r#"{"kind": "Pod"} {"kind": "Pod"}"#,
        "{\"kind\": \"Pod\"}\n---\nkind: Pod\n",
        r#"{"kind": "Pod", "n": 1e999}"#,
        r#"{"kind": "Pod""#,
        r#"[{"kind": "Pod"}]"#,
    ];
    for text in texts {
        let manifests = parse(text, &Limits::default());
        assert!(!manifests.read_as_json_only(), "{text}");
        assert_eq!(manifests, parse::parse_yaml(text, &Limits::default(), 0), "{text}");
    }
    let deep = format!("{}{}", "{\"a\": ".repeat(10), "1".to_string() + &"}".repeat(10));
    let limits = Limits { max_depth: 8, ..Limits::default() };
    assert!(!parse(&deep, &limits).read_as_json_only());
    assert!(!parse(&deep, &limits).errors.is_empty());
    let limits = Limits { max_bytes: 10, ..Limits::default() };
    assert!(!parse(r#"{"kind": "Pod", "a": "long enough"}"#, &limits).read_as_json_only());
}

/// A Pod whose `args` item is a double-quoted scalar with its continuation line indented less
/// than the item (libyaml, and so `kubectl apply`, read it; saphyr alone does not), between two
/// ServiceAccounts.
const QUOTED_LESS_INDENTED: &str = "\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: a
---
apiVersion: v1
kind: Pod
metadata:
  name: p
  namespace: shop
spec:
  containers:
  - name: c
    args:
    - \"--flag=a
  b\"
    image: nginx
  serviceAccountName: web
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: z
";

/// Such a scalar reads as libyaml reads it: the continuation line's indentation is no part of
/// the value, so it is the value of the well-indented text. Positions are the original text's.
#[test]
fn a_quoted_scalar_indented_less_than_its_block_reads_as_kubectl_reads_it() {
    let well_indented = QUOTED_LESS_INDENTED.replace("\n  b\"", "\n    b\"");
    for (text, indented) in [
        (QUOTED_LESS_INDENTED.to_string(), well_indented.clone()),
        (QUOTED_LESS_INDENTED.replace('\n', "\r\n"), well_indented.replace('\n', "\r\n")),
    ] {
        let m = parse_ok(&text);
        let indented = parse_ok(&indented);
        assert_eq!(m.values(), indented.values());
        assert_eq!(m.objects[1].value["spec"]["containers"][0]["args"], json!(["--flag=a b"]));
        assert_eq!(m.objects.iter().map(|o| o.document).collect::<Vec<_>>(), [0, 1, 2]);
        for pointer in
            ["", "/metadata/name", "/spec/containers/0/name", "/spec/containers/0/image", "/spec/serviceAccountName"]
        {
            assert_eq!(m.position(1, pointer), indented.position(1, pointer), "{pointer}");
        }
        assert_eq!(m.position(2, "/metadata/name"), indented.position(2, "/metadata/name"));
        // The scalar, from its opening quote to its closing one, and its entry.
        assert_eq!(m.position(1, "/spec/containers/0/args/0"), pos(15, 7, 16, 5));
        assert_eq!(m.position(1, "/spec/containers/0/args"), pos(14, 5, 16, 5));
        assert_eq!(m.object_position(1), pos(6, 1, 18, 26));
    }
}

/// Several such scalars in one document, single-quoted too, in flow sequences, after an escaped
/// line break, with a tab (after a line that needs padding: saphyr refuses a tab before the
/// block's indentation for a reason of its own) or no blank at all before the continuation,
/// after a multi-byte key.
#[test]
fn quoted_scalars_indented_less_than_their_block_in_one_document() {
    let text = "\
kind: Pod
metadata:
  name: p
  annotations:
    one: 'it''s
  here'
    zwei: \"three\\
four\"
    ünï: \"x
 y
\tz\"
spec:
  containers:
  - name: c
    command:
    - 'sh
 -c'
    args: [\"a
b\", 'c
 d', \"e
f\"]
  serviceAccountName: web
";
    let m = parse_ok(text);
    assert_eq!(
        m.values(),
        [json!({
            "kind": "Pod",
            "metadata": {"name": "p", "annotations": {"one": "it's here", "zwei": "threefour", "ünï": "x y z"}},
            "spec": {
                "containers": [{"name": "c", "command": ["sh -c"], "args": ["a b", "c d", "e f"]}],
                "serviceAccountName": "web"
            }
        })]
    );
    assert_eq!(m.position(0, "/metadata/annotations/one"), pos(5, 5, 6, 8));
    assert_eq!(m.position(0, "/metadata/annotations/zwei"), pos(7, 5, 8, 6));
    assert_eq!(m.position(0, "/metadata/annotations/ünï"), pos(9, 5, 11, 4));
    assert_eq!(m.position(0, "/spec/containers/0/command/0"), pos(16, 7, 17, 5));
    assert_eq!(m.position(0, "/spec/containers/0/args/0"), pos(18, 12, 19, 3));
    assert_eq!(m.position(0, "/spec/containers/0/args/1"), pos(19, 5, 20, 4));
    assert_eq!(m.position(0, "/spec/containers/0/args/2"), pos(20, 6, 21, 3));
    assert_eq!(m.position(0, "/spec/containers/0/args"), pos(18, 5, 21, 4));
    assert_eq!(m.position(0, "/spec/serviceAccountName"), pos(22, 3, 22, 26));
}

/// A `kubectl get -o yaml` dump is one `kind: List` document: such a scalar in one item leaves
/// every item read.
#[test]
fn a_quoted_scalar_indented_less_than_its_block_in_a_list_dump() {
    let text = "\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ServiceAccount
  metadata:
    name: a
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: web
  spec:
    template:
      spec:
        containers:
        - name: c
          args:
          - \"--flag=a
        b\"
- apiVersion: v1
  kind: ServiceAccount
  metadata:
    name: z
";
    let m = parse_ok(text);
    let read: Vec<_> =
        m.objects.iter().map(|o| (o.base_pointer.as_str(), o.value["metadata"]["name"].as_str())).collect();
    assert_eq!(read, [("/items/0", Some("a")), ("/items/1", Some("web")), ("/items/2", Some("z"))]);
    assert_eq!(m.objects[1].value["spec"]["template"]["spec"]["containers"][0]["args"], json!(["--flag=a b"]));
    assert_eq!(m.position(1, "/spec/template/spec/containers/0/args/0"), pos(18, 13, 19, 11));
    assert_eq!(m.position(2, "/metadata/name"), pos(23, 5, 23, 12));
}

/// A document marker (`---` or `...` at column 0) inside the scalar ends its text with an error
/// in libyaml too: the document stays a syntax error, the documents around it are read.
#[test]
fn a_document_marker_inside_a_less_indented_quoted_scalar_is_still_an_error() {
    for marker in ["---", "..."] {
        let text = format!("kind: A\n---\nkind: B\nspec:\n  x: \"a\n b\n{marker}\nkind: C\n---\nkind: D\n");
        let m = parse(&text, &Limits::default());
        assert_eq!(
            messages(&m),
            [(Some(1), 5, 6, "YAML syntax error: invalid indentation in quoted scalar")],
            "{marker}"
        );
        let kinds: Vec<&str> = m.objects.iter().map(|o| o.value["kind"].as_str().unwrap()).collect();
        // Reading resumes at the next `---`: inside the scalar, or after it.
        let expected = if marker == "---" { vec!["A", "C", "D"] } else { vec!["A", "D"] };
        assert_eq!(kinds, expected, "{marker}");
    }
}

/// What the document read before the scalar is read once: an error found there is reported
/// once, and alias copies are charged once.
#[test]
fn a_document_read_again_for_a_quoted_scalar_counts_once() {
    let text = "kind: A\n---\nkind: B\nkind: B\nspec:\n  x: \"a\n b\"\n---\nkind: C\n";
    let m = parse(text, &Limits::default());
    assert_eq!(messages(&m), [(Some(1), 4, 1, "duplicate key \"kind\" (first set on line 3)")]);
    assert_eq!(m.objects.len(), 2);
    let text = "kind: A\nbase: &b [1, 2, 3, 4]\nuse: *b\nspec:\n  x: \"a\n b\"\n";
    let limits = Limits { max_nodes: 6, ..Limits::default() };
    let m = parse(text, &limits);
    assert_eq!(m.errors, []);
    assert_eq!(m.part_shape().alias_nodes, 5);
}

/// A document read again for such a scalar is read with the directives written before it.
#[test]
fn a_document_read_again_for_a_quoted_scalar_keeps_its_directives() {
    let text = "kind: A\n...\n%TAG !k! tag:yaml.org,2002:\n# a comment\n---\nkind: B\ncount: !k!int \"7\"\nspec:\n  x: \"a\n b\"\n";
    let m = parse_ok(text);
    assert_eq!(m.values(), [json!({"kind": "A"}), json!({"kind": "B", "count": 7, "spec": {"x": "a b"}})]);
    assert_eq!(m.position(1, "/spec/x"), pos(9, 3, 10, 4));
    // The directives of the document after it are read with that document.
    let text = "kind: A\nspec:\n  x: \"a\n b\"\n...\n%TAG !k! tag:yaml.org,2002:\n---\nkind: C\ncount: !k!int \"8\"\n";
    assert_eq!(parse_ok(text).values(), [json!({"kind": "A", "spec": {"x": "a b"}}), json!({"kind": "C", "count": 8})]);
}

/// A document is read again for at most 256 such scalars; past them, it is a syntax error.
#[test]
fn quoted_scalars_indented_less_than_their_block_are_read_up_to_a_bound() {
    let document = |scalars: usize| {
        let annotations: String = (0..scalars).map(|i| format!("    k{i}: \"a\n  b\"\n")).collect();
        format!("kind: A\n---\nkind: Pod\nmetadata:\n  annotations:\n{annotations}---\nkind: C\n")
    };
    let m = parse_ok(&document(256));
    assert_eq!(m.objects[1].value["metadata"]["annotations"].as_object().unwrap().len(), 256);
    assert_eq!(m.objects[1].value["metadata"]["annotations"]["k255"], "a b");
    let m = parse(&document(257), &Limits::default());
    assert_eq!(messages(&m), [(Some(1), 518, 11, "YAML syntax error: invalid indentation in quoted scalar")]);
    assert_eq!(m.objects.len(), 2);
}

/// A fix to a document with such a scalar edits the original text: only the fix's lines change.
#[test]
fn fixes_to_a_document_with_a_less_indented_quoted_scalar_change_only_their_lines() {
    let fixed = fix_text(
        QUOTED_LESS_INDENTED,
        &[
            (1, json!([{"op": "replace", "path": "/spec/serviceAccountName", "value": "api"}])),
            (1, json!([{"op": "add", "path": "/spec/automountServiceAccountToken", "value": false}])),
            (2, json!([{"op": "add", "path": "/automountServiceAccountToken", "value": false}])),
        ],
    );
    assert_eq!(
        fixed,
        QUOTED_LESS_INDENTED
            .replace("serviceAccountName: web\n", "serviceAccountName: api\n  automountServiceAccountToken: false\n")
            + "automountServiceAccountToken: false\n"
    );
}

/// What a reading gives besides its trees: objects, errors, shape and document ranges.
fn without_trees(m: &Manifests) -> (Vec<SourceObject>, Vec<ParseError>, PartShape, Vec<Option<(usize, usize)>>) {
    (m.objects.clone(), m.errors.clone(), m.part_shape(), m.documents.clone())
}

/// `read_values` keeps no trees, yet gives `parse`'s objects and errors, and the same tree (so
/// the same positions) for every object when one is asked for: from the object's document,
/// read again, and its List item.
#[test]
fn reading_values_gives_what_parsing_gives_and_the_same_trees_on_demand() {
    let limits = Limits::default();
    let mut cases = texts_to_cut();
    let list_with_anchors =
        "apiVersion: v1\nitems:\n- &sa\n  kind: ServiceAccount\n  metadata: {name: a, namespace: n}\n\
        - <<: *sa\n  metadata:\n    name: b\n- 3\n- kind: Pod\n  spec:\n    containers: [{name: c}]\nkind: List\n";
    cases.push((
        "a List with an anchored item, a merge and an item that is not an object".into(),
        list_with_anchors.into(),
    ));
    cases.push(("an indented root".into(), "---\n  kind: Pod\n  metadata:\n    name: p\n---\n  kind: Job\n".into()));
    cases.push(("items on an object that is not a List".into(), "kind: Thing\nitems:\n- {a: 1}\n- b: [2]\n".into()));
    cases.push(("a List with anchors, after a document".into(), format!("kind: A\n---\n{list_with_anchors}")));
    let plain_list = "apiVersion: v1\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: p\n  spec:\n    \
        containers:\n    - name: c\n      args: [\"a\", 'b']\n- {kind: ServiceAccount, metadata: {name: s}}\n-   kind: Job\n\
        \x20   metadata: {name: j}\nkind: List\nmetadata:\n  resourceVersion: \"\"\n";
    cases.push(("a List as -o yaml prints it".into(), plain_list.into()));
    let quoted = plain_list.replace("args: [\"a\", 'b']", "args:\n      - \"--port=\n  8080\"");
    assert!(quoted.contains("8080"));
    cases.push(("a List as -o yaml prints it, with a quoted scalar kubectl accepts".into(), quoted));
    let (head, rest) = plain_list.split_once("items:\n").unwrap();
    let (items, tail) = rest.split_once("kind: List").unwrap();
    let indented: String = items.lines().map(|line| format!("  {line}\r\n")).collect();
    cases.push((
        "a List indented, CRLF".into(),
        format!("{head}items:\r\n{indented}kind: List{tail}").replace("1\n", "1\r\n"),
    ));
    for (name, text) in &cases {
        let trees = parse(text, &limits);
        let values = read_values(text.clone(), &limits);
        assert!(values.nodes.is_empty() || values.read_as_json_only(), "{name}: no trees kept");
        if name.starts_with("a List as") || name.starts_with("a List indented") {
            assert_eq!((values.errors.len(), values.objects.len()), (0, 3), "{name}");
        }
        assert_eq!(without_trees(&values), without_trees(&trees), "{name}");
        for i in 0..trees.objects.len() {
            let expected = trees.with_tree(i, |tree| tree.clone());
            assert_eq!(values.with_tree(i, |tree| tree.clone()), expected, "{name}: object {i}");
            assert_eq!(values.object_position(i), trees.object_position(i), "{name}: object {i}");
        }
        for jobs in [2, 5] {
            assert_eq!(
                without_trees(&read_values_in_parallel(text.clone(), &limits, jobs)),
                without_trees(&trees),
                "{name}"
            );
        }
    }
    // A List as kubectl prints it: each item's tree is read from the item alone.
    let values = read_values(plain_list.into(), &limits);
    assert_eq!(values.item_ranges.iter().filter(|range| range.is_some()).count(), 3, "{:?}", values.item_ranges);
    assert_eq!(values.position(2, "/metadata/name"), parse(plain_list, &limits).position(2, "/metadata/name"));
    // Positions of every field, present or absent, of a List read without trees.
    let values = read_values(list_with_anchors.into(), &limits);
    let trees = parse(list_with_anchors, &limits);
    assert_eq!(values.objects.len(), 3);
    assert_eq!(values.objects[1].value["metadata"], json!({"name": "b"}));
    assert_eq!(values.position(1, "/kind"), pos(4, 3, 4, 23), "a merged key: where its text is, in the anchor");
    for (pointer, object) in [("/metadata/name", 0), ("/metadata/name", 1), ("/spec/containers/0/name", 2), ("/x", 2)] {
        assert_eq!(values.locate_field(object, pointer), trees.locate_field(object, pointer), "{pointer}");
    }
    // A fix is planned on the whole text's trees, read again.
    let fix = Fix {
        description: "test".into(),
        patch: serde_json::from_value(json!([{"op": "add", "path": "/automountServiceAccountToken", "value": false}]))
            .unwrap(),
    };
    let fixed = apply_fixes(list_with_anchors, &values, &[(2, &fix)]).unwrap();
    assert_eq!(fixed, apply_fixes(list_with_anchors, &trees, &[(2, &fix)]).unwrap());
    assert_eq!(parse(&fixed, &limits).objects[2].value["automountServiceAccountToken"], json!(false));
}

/// An item made a value at once (`read_values`) costs alias copies as much as its tree would.
#[test]
fn reading_values_keeps_the_alias_budget() {
    let item = format!("{{a: [{}]}}", vec!["x"; 50].join(", "));
    let text = format!("kind: List\nitems: &all\n- {item}\ncopies: [{}]\n", vec!["*all"; 30].join(", "));
    let small = Limits { max_nodes: 1000, ..Limits::default() };
    assert_eq!(messages(&read_values(text.clone(), &small)), messages(&parse(&text, &small)));
    assert!(!parse(&text, &small).errors.is_empty(), "the copies exceed the budget");
}
