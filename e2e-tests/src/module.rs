//! What a policy module imports and exports, read from the binary: a policy-server can only run a
//! module whose imports it provides (waPC's `wapc` functions and WASI preview 1).

use wasmparser::{Parser, Payload};

/// The module's interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interface {
    /// `(module, name)` of every import.
    pub imports: Vec<(String, String)>,
    pub exports: Vec<String>,
    /// Custom section names, in order.
    pub custom_sections: Vec<String>,
    /// The `io.kubewarden.metadata` section written by `kwctl annotate`, when present.
    pub kubewarden_metadata: Option<Vec<u8>>,
}

/// Modules a Kubewarden host provides to waPC policies.
pub const HOST_MODULES: &[&str] = &["wapc", "wasi_snapshot_preview1"];

pub fn inspect(bytes: &[u8]) -> Result<Interface, String> {
    let mut interface = Interface::default();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(|e| format!("not a WebAssembly module: {e}"))? {
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(|e| format!("bad import section: {e}"))?;
                    interface.imports.push((import.module.to_string(), import.name.to_string()));
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(|e| format!("bad export section: {e}"))?;
                    interface.exports.push(export.name.to_string());
                }
            }
            Payload::CustomSection(section) => {
                interface.custom_sections.push(section.name().to_string());
                if section.name() == "io.kubewarden.metadata" {
                    interface.kubewarden_metadata = Some(section.data().to_vec());
                }
            }
            _ => {}
        }
    }
    Ok(interface)
}

impl Interface {
    /// Imports from modules a Kubewarden host does not provide.
    pub fn foreign_imports(&self) -> Vec<String> {
        self.imports
            .iter()
            .filter(|(module, _)| !HOST_MODULES.contains(&module.as_str()))
            .map(|(module, name)| format!("{module}.{name}"))
            .collect()
    }
}
