use super::*;

#[test]
fn explore() {
    let text = "# leading comment\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default   # c\n  namespace: \"prod\"  # q\n  labels:\n    a: |\n      text\n\n# out\n    b: 'x'\n---\n---\nkind: List\nitems:\n- kind: Pod\n  spec:\n    containers:\n    - name: a\n      image: x\n- &p {kind: Secret, data: {k: v}}\n- *p\n---\nbase: &b {x: 1, y: 2}\nm:\n  y: 0\n  <<: *b\n  x: 3\nempty:\n---\nfoo: [1, 2\n---\nkind: after\n";
    let m = parse(text, &Limits::default());
    println!("{:#?}", m.objects);
    println!("{:#?}", m.errors);
    for (i, p) in [(0, ""), (0, "/metadata/name"), (0, "/metadata/namespace"), (0, "/metadata/labels/a"), (0, "/metadata/labels"), (0, "/metadata/missing"), (0, "/automountServiceAccountToken"), (1, "/spec/containers/0/image"), (1, "/spec/containers/0"), (2, "/data/k"), (3, "/data"), (4, "/m/x"), (4, "/m/y"), (4, "/empty"), (4, "/m")] {
        println!("{i} {p:30} {:?}", m.position(i, p));
    }
}
