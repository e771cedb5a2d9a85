//! The section `sa-guard-annotate` writes is the one `kwctl annotate` writes (against a module
//! kwctl 1.31 annotated, tests/fixtures/kwctl-annotate/), and it round-trips through the module.

use std::path::{Path, PathBuf};

use sa_guard_annotate::{annotate, check_wapc_guest, metadata_payload, read_metadata_section, SECTION_NAME};
use serde_json::{json, Value};
use wasm_encoder::{
    CodeSection, ConstExpr, CustomSection, DataSection, ExportKind, ExportSection, Function, FunctionSection,
    Instruction, MemorySection, MemoryType, Module, TypeSection, ValType,
};
use wasmparser::{Parser, Payload};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(relative: &str) -> String {
    let path = repo_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// kwctl's payload for the fixture's inputs, byte for byte, once the one annotation that
/// necessarily differs (kwctl's own version) is taken out.
#[test]
fn the_payload_is_what_kwctl_1_31_wrote_but_its_version_annotation() {
    let reference = read("tests/fixtures/kwctl-annotate/metadata-section.json");
    let kwctl_version = r#""io.kubewarden.kwctl":"1.31.0","#;
    assert_eq!(reference.matches(kwctl_version).count(), 1, "the reference names kwctl's version once");
    let expected = reference.replacen(kwctl_version, "", 1);

    let payload = metadata_payload(
        &read("tests/fixtures/kwctl-annotate/input-policy-metadata.yml"),
        &read("tests/fixtures/kwctl-annotate/usage-README.md"),
    )
    .unwrap();
    let payload = String::from_utf8(payload).unwrap();
    if payload != expected {
        let at = payload.bytes().zip(expected.bytes()).position(|(a, b)| a != b).unwrap_or(payload.len());
        let from = at.saturating_sub(80);
        panic!(
            "differs at byte {at}:\n ours:   {:?}\n kwctl's: {:?}",
            &payload[from..(at + 80).min(payload.len())],
            &expected[from..(at + 80).min(expected.len())]
        );
    }
}

/// A small module shaped like a waPC policy: the two exports, and the name `protocol_version` in
/// its data (where a guest keeps the names it registers), plus a custom section of its own.
fn wapc_like_module() -> Vec<u8> {
    let mut module = Module::new();
    let mut types = TypeSection::new();
    types.ty().function([], []);
    types.ty().function([ValType::I32, ValType::I32], [ValType::I32]);
    module.section(&types);
    let mut functions = FunctionSection::new();
    functions.function(0);
    functions.function(1);
    module.section(&functions);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType { minimum: 1, maximum: None, memory64: false, shared: false, page_size_log2: None });
    module.section(&memories);
    let mut exports = ExportSection::new();
    exports.export("wapc_init", ExportKind::Func, 0);
    exports.export("__guest_call", ExportKind::Func, 1);
    exports.export("memory", ExportKind::Memory, 0);
    module.section(&exports);
    let mut code = CodeSection::new();
    let mut init = Function::new([]);
    init.instruction(&Instruction::End);
    code.function(&init);
    let mut call = Function::new([]);
    call.instruction(&Instruction::I32Const(1));
    call.instruction(&Instruction::End);
    code.function(&call);
    module.section(&code);
    let mut data = DataSection::new();
    data.active(0, &ConstExpr::i32_const(16), b"validate\0protocol_version\0".iter().copied());
    module.section(&data);
    module.section(&CustomSection { name: "producers".into(), data: b"\x00".as_slice().into() });
    module.finish()
}

/// (id, bytes) of every section but the metadata one.
fn other_sections(module: &[u8]) -> Vec<(u8, Vec<u8>)> {
    Parser::new(0)
        .parse_all(module)
        .map(Result::unwrap)
        .filter(|p| !matches!(p, Payload::CustomSection(r) if r.name() == SECTION_NAME))
        .filter_map(|p| {
            p.as_section().map(|(id, range)| (id, module[range.start as usize..range.end as usize].to_vec()))
        })
        .collect()
}

#[test]
fn the_section_round_trips_and_the_rest_of_the_module_is_kept() {
    let module = wapc_like_module();
    check_wapc_guest(&module).unwrap();
    assert_eq!(read_metadata_section(&module).unwrap(), None);

    let payload = metadata_payload(&read("policy-metadata.yml"), "usage text\n").unwrap();
    let annotated = annotate(&module, &payload).unwrap();
    check_wapc_guest(&annotated).unwrap();
    assert_eq!(read_metadata_section(&annotated).unwrap().as_deref(), Some(payload.as_slice()));
    assert_eq!(other_sections(&annotated), other_sections(&module));

    let section: Value = serde_json::from_slice(&read_metadata_section(&annotated).unwrap().unwrap()).unwrap();
    assert_eq!(section["protocolVersion"], "v1");
    assert_eq!(section["annotations"]["io.kubewarden.policy.usage"], "usage text\n");
    assert!(section["annotations"].get("io.kubewarden.kwctl").is_none(), "sa-guard-annotate is not kwctl");
    // kwctl's key order (serde_json's Value sorts keys, so it is read on the text).
    let text = String::from_utf8(payload.clone()).unwrap();
    assert!(text.starts_with(r#"{"protocolVersion":"v1","rules":[{"apiGroups":[""#), "{text}");
    let positions: Vec<usize> = [
        r#"],"annotations":{"#,
        r#"},"mutating":"#,
        r#","backgroundAudit":"#,
        r#","executionMode":"#,
        r#","policyType":"#,
        r#","contextAwareResources":["#,
    ]
    .iter()
    .map(|key| text.find(key).unwrap_or_else(|| panic!("no {key} in {text}")))
    .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");

    // Annotating again replaces the section instead of adding a second one.
    let again = annotate(&annotated, b"{}").unwrap();
    assert_eq!(read_metadata_section(&again).unwrap().as_deref(), Some(b"{}".as_slice()));
    assert_eq!(other_sections(&again), other_sections(&module));
}

#[test]
fn context_aware_resources_are_sorted_by_api_version_then_kind() {
    let metadata = "rules: []\nannotations: {}\nmutating: false\nexecutionMode: kubewarden-wapc\n\
                    policyType: kubernetes\ncontextAwareResources:\n\
                    - {apiVersion: v1, kind: Secret}\n- {apiVersion: apps/v1, kind: Deployment}\n\
                    - {apiVersion: v1, kind: ConfigMap}\n";
    let section: Value = serde_json::from_slice(&metadata_payload(metadata, "").unwrap()).unwrap();
    assert_eq!(
        section["contextAwareResources"],
        json!([
            {"apiVersion": "apps/v1", "kind": "Deployment"},
            {"apiVersion": "v1", "kind": "ConfigMap"},
            {"apiVersion": "v1", "kind": "Secret"}
        ])
    );
    assert_eq!(section["backgroundAudit"], true, "kwctl's default");
}

#[test]
fn what_cannot_be_written_as_kwctl_writes_it_is_refused() {
    let base = "rules: []\nannotations: {}\nmutating: false\nexecutionMode: kubewarden-wapc\n\
                policyType: kubernetes\ncontextAwareResources: []\n";
    metadata_payload(base, "").unwrap();
    let unknown = metadata_payload(&format!("{base}minimumKubewardenVersion: 1.20.0\n"), "").unwrap_err();
    assert!(unknown.to_string().contains("`minimumKubewardenVersion` is not supported"), "{unknown}");
    let float =
        metadata_payload(&base.replace("annotations: {}", "annotations: {io.kubewarden.policy.version: 1.0}"), "")
            .unwrap_err();
    assert!(float.to_string().contains("expected a string"), "{float}");
    let missing = metadata_payload(&base.replace("mutating: false\n", ""), "").unwrap_err();
    assert_eq!(missing.to_string(), "metadata: no `mutating`");
}

#[test]
fn a_module_that_is_not_a_wapc_policy_is_refused() {
    let mut module = Module::new();
    module.section(&CustomSection { name: "x".into(), data: b"".as_slice().into() });
    let error = check_wapc_guest(&module.finish()).unwrap_err();
    assert!(error.to_string().contains("does not export `wapc_init`"), "{error}");
    assert!(check_wapc_guest(b"not wasm").is_err());
    assert!(annotate(b"not wasm", b"{}").is_err());
}

/// The real policy.wasm (`SA_GUARD_POLICY`, set by scripts/test-release.sh after building it) is
/// a waPC guest this tool recognizes, and annotating it keeps every other section. Ignored in
/// plain `cargo test`, which has no policy.wasm; scripts/test-release.sh runs it with --ignored.
#[test]
#[ignore = "needs policy.wasm: SA_GUARD_POLICY=path cargo test -p sa-guard-annotate -- --ignored"]
fn the_policy_module_is_annotated() {
    let path = std::env::var("SA_GUARD_POLICY").expect("SA_GUARD_POLICY: the policy.wasm to annotate");
    let module = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    check_wapc_guest(&module).unwrap();
    let payload = metadata_payload(&read("policy-metadata.yml"), &read("README.md")).unwrap();
    let annotated = annotate(&module, &payload).unwrap();
    assert_eq!(read_metadata_section(&annotated).unwrap().as_deref(), Some(payload.as_slice()));
    assert_eq!(other_sections(&annotated), other_sections(&module));
}
