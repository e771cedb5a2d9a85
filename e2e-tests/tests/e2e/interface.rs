//! What policy-server needs from the module, and what the metadata promises the API server.

use std::collections::BTreeSet;

use sa_guard_e2e::apiserver::api_resource;
use sa_guard_e2e::module::{self, HOST_MODULES};

use crate::support::*;

#[test]
fn the_module_imports_only_wapc_and_wasi_and_exports_the_wapc_entry_points() {
    let bytes = std::fs::read(&policy().path).unwrap();
    let interface = module::inspect(&bytes).unwrap();
    assert_eq!(interface.foreign_imports(), Vec::<String>::new(), "imports a Kubewarden host does not provide");
    let modules: BTreeSet<&str> = interface.imports.iter().map(|(m, _)| m.as_str()).collect();
    assert!(modules.contains("wapc"), "waPC host functions: {modules:?}");
    assert!(modules.iter().all(|m| HOST_MODULES.contains(m)));
    let wapc: BTreeSet<&str> = interface.imports.iter().filter(|(m, _)| m == "wapc").map(|(_, n)| n.as_str()).collect();
    for name in [
        "__guest_request",
        "__guest_response",
        "__guest_error",
        "__host_call",
        "__host_response",
        "__host_response_len",
        "__host_error",
        "__host_error_len",
    ] {
        assert!(wapc.contains(name), "wapc.{name} missing: {wapc:?}");
    }
    for export in ["__guest_call", "wapc_init"] {
        assert!(interface.exports.iter().any(|e| e == export), "{export} not exported: {:?}", interface.exports);
    }
}

#[test]
fn the_webhook_rules_cover_every_request_the_tests_send() {
    let metadata = metadata();
    for (name, request) in all_requests() {
        let operation = request["operation"].as_str().unwrap();
        let resource = &request["resource"];
        let (group, version, plural) = (
            resource["group"].as_str().unwrap(),
            resource["version"].as_str().unwrap(),
            resource["resource"].as_str().unwrap(),
        );
        if operation == "DELETE" {
            // Not in the rules (nothing to judge); the policy still answers it, see modes.rs.
            assert!(!metadata.matches(group, version, plural, operation), "{name}: DELETE is sent after all?");
            continue;
        }
        assert!(
            metadata.matches(group, version, plural, operation),
            "{name}: {group}/{version} {plural} {operation} is not in policy-metadata.yml's rules"
        );
    }
    // Every kind the rule core reads a Pod spec from.
    for kind in sa_guard::k8s::POD_BEARING_KINDS {
        let api_version = match *kind {
            "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" => "apps/v1",
            "Job" | "CronJob" => "batch/v1",
            _ => "v1",
        };
        let r = api_resource(api_version, kind);
        for operation in ["CREATE", "UPDATE"] {
            assert!(metadata.matches(&r.group, &r.version, &r.resource, operation), "{kind} {operation}");
        }
    }
    // `kubectl debug` adds ephemeral containers through a subresource.
    assert!(metadata.matches("", "v1", "pods/ephemeralcontainers", "UPDATE"));
}

#[test]
fn fixtures_hold_a_create_and_an_update_for_every_resource_in_the_rules() {
    let requests = all_requests();
    for (group, version, resource) in metadata().resources() {
        if resource.contains('/') {
            continue;
        }
        for operation in ["CREATE", "UPDATE"] {
            let found = requests.iter().any(|(_, r)| {
                r["resource"]["group"] == group.as_str()
                    && r["resource"]["version"] == version.as_str()
                    && r["resource"]["resource"] == resource.as_str()
                    && r["operation"] == operation
            });
            assert!(found, "no {operation} fixture for {group}/{version} {resource}");
        }
    }
}

#[test]
fn sessions_only_look_up_declared_resources() {
    let metadata = metadata();
    let dir = fixtures().join("sessions");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let session = sa_guard_e2e::replay::Session::load(&path).unwrap();
        assert!(!session.exchanges.is_empty(), "{}", path.display());
        // SubjectAccessReviews (`can_i`) read no resource: contextAwareResources does not apply
        for exchange in session.exchanges.iter().filter(|e| e.request_type != "KubernetesCanI") {
            let api_version = exchange.request["api_version"].as_str().unwrap();
            let kind = exchange.request["kind"].as_str().unwrap();
            assert!(
                metadata.may_look_up(api_version, kind),
                "{}: {api_version}/{kind} not in contextAwareResources",
                path.display()
            );
        }
    }
}
