//! `sa-guard inventory`: the ServiceAccount audit of the lesson's checklist item 5, from
//! manifests or a cluster's dump (`kubectl get ... -A -o yaml | sa-guard inventory -`), as an
//! aligned table, JSON (docs/inventory.md), Markdown, CSV, or a graph (DOT, Mermaid).

use sa_guard::inventory::graph::{Graph, NodeKind};
use sa_guard::inventory::table::{self, Cells};
use sa_guard::inventory::{self, Inventory};

use crate::input;
use crate::lint::{first_few, print_answer, PLACES_SHOWN};
use crate::{InputArgs, EXIT_INPUT_ERROR};

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InventoryFormat {
    /// One line per ServiceAccount (like `kubectl get -o custom-columns`), details below.
    Text,
    /// The documented schema (docs/inventory.md).
    Json,
    Markdown,
    Csv,
    /// Graphviz: workload → ServiceAccount → binding → role, risk-coloured edges.
    Dot,
    /// The same graph as a Mermaid flowchart.
    Mermaid,
}

pub use sa_guard::inventory::Filters;

pub fn run(args: &InputArgs, filters: &Filters, format: InventoryFormat) -> u8 {
    let settings = match input::load_settings(args.settings.as_deref()) {
        Ok(settings) => settings,
        Err(message) => {
            eprintln!("sa-guard: {message}");
            return EXIT_INPUT_ERROR;
        }
    };
    let paths = match input::effective_paths(&args.paths) {
        Ok(paths) => paths,
        Err(message) => {
            eprintln!("sa-guard: {message}");
            return EXIT_INPUT_ERROR;
        }
    };
    let inputs = input::load_values(&paths, args.jobs());
    for error in &inputs.errors {
        eprintln!("{error}");
    }
    for (file, span, message) in crate::lint::pod_spec_notes(&inputs, args.namespace.as_deref()) {
        eprintln!("{file}:{}:{}: note: {message}", span.line, span.column);
    }
    let code = if inputs.errors.is_empty() { 0 } else { EXIT_INPUT_ERROR };
    // Nothing below asks for a position: the texts (a whole dump) are freed before the rules run.
    let input::Inputs { objects, sources, .. } = inputs;
    drop(sources);
    let (inventory, _) = inventory::of_objects(&objects, &settings, args.namespace.as_deref());
    let inventory = inventory.filtered(filters);
    let text = render(&inventory, format);
    // The process ends right after: freeing a cluster's objects one by one would only cost time.
    std::mem::forget(objects);
    print_answer(&text, code, "inventory")
}

pub fn render(inventory: &Inventory, format: InventoryFormat) -> String {
    match format {
        InventoryFormat::Text => text(inventory),
        InventoryFormat::Json => inventory::to_json(inventory),
        InventoryFormat::Markdown => table::markdown(inventory),
        InventoryFormat::Csv => csv(inventory),
        InventoryFormat::Dot => dot(inventory),
        InventoryFormat::Mermaid => mermaid(inventory),
    }
}

/// Cuts a cell to `width` characters, marking the cut.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

fn text(inventory: &Inventory) -> String {
    if inventory.service_accounts.is_empty() {
        return "no ServiceAccounts in these manifests\n".to_string();
    }
    // SERVICEACCOUNT 30, AUTOMOUNT 11, WORKLOADS 20, TOKEN 5, ROLES 14, RISK 8: 88 + 5 gaps
    // of 2 = 98 columns, within 100.
    let widths = [30, 11, 20, 5, 14, 8];
    let header = ["SERVICEACCOUNT", "AUTOMOUNT", "WORKLOADS", "TOKEN", "ROLES", "RISK"];
    let mut out = String::new();
    let line = |cols: [&str; 6]| -> String {
        let cells: Vec<String> = cols.iter().zip(widths).map(|(c, w)| format!("{:<w$}", fit(c, w))).collect();
        format!("{}\n", cells.join("  ").trim_end())
    };
    out.push_str(&line(header));
    for row in &inventory.service_accounts {
        let c = Cells::of(row);
        let token = if c.token.starts_with("no (") { "no" } else { c.token.as_str() };
        out.push_str(&line([&c.account, &c.automount, &c.workloads, token, &c.roles, &c.risk]));
    }
    for row in &inventory.service_accounts {
        out.push_str(&format!("\n{}/{}\n", row.namespace, row.name));
        if row.workloads.is_empty() {
            out.push_str("  workloads: none in these manifests (unused)\n");
        }
        for w in &row.workloads {
            let owned = if w.owned.is_empty() {
                String::new()
            } else {
                let shown = &w.owned[..w.owned.len().min(PLACES_SHOWN)];
                format!(" (with {})", first_few(shown, w.owned.len()))
            };
            out.push_str(&format!(
                "  workload {}/{}{owned}: token {} ({})\n",
                w.kind,
                w.name,
                if w.token.mounted { "mounted" } else { "not mounted" },
                reason_text(&w.token.reason)
            ));
            for p in &w.projected_tokens {
                out.push_str(&format!(
                    "    projected token in volume {}: audience {}, expires after {}{}\n",
                    p.volume,
                    p.audience.as_deref().unwrap_or("<API server>"),
                    p.expiration_seconds.map_or("3600 s (default)".to_string(), |s| format!("{s} s")),
                    if p.api_audience { " — an API credential" } else { "" }
                ));
            }
        }
        for b in &row.bindings {
            let risks = if b.risks.is_empty() {
                if b.role_found {
                    "no privilege-escalation path".to_string()
                } else {
                    "role not in these manifests".to_string()
                }
            } else {
                b.risks.iter().map(|r| format!("{} ({})", r.id, r.severity.as_str())).collect::<Vec<_>>().join(", ")
            };
            let at = b.namespace.as_deref().map_or(String::new(), |ns| format!("{ns}/"));
            out.push_str(&format!("  {} {at}{} (as {}) → {}: {risks}\n", b.kind, b.name, b.via, b.role));
        }
        for identity in &row.workload_identity {
            out.push_str(&format!(
                "  workload identity: {} ({} = {})\n",
                identity.provider, identity.annotation, identity.value
            ));
        }
        for secret in &row.legacy_token_secrets {
            out.push_str(&format!("  legacy token Secret: {secret} (never expires)\n"));
        }
        if !row.findings.is_empty() {
            out.push_str(&format!("  findings: {} (sa-guard lint for details)\n", row.findings.join(", ")));
        }
    }
    out
}

/// Why a token is mounted or not, for people.
fn reason_text(reason: &str) -> &'static str {
    match reason {
        "pod-spec-false" => "the Pod spec sets automountServiceAccountToken: false",
        "service-account-false" => "the ServiceAccount sets automountServiceAccountToken: false",
        "pod-spec-true" => "the Pod spec sets automountServiceAccountToken: true",
        "service-account-true" => "the ServiceAccount sets automountServiceAccountToken: true",
        "default" => {
            "neither the Pod spec nor the ServiceAccount sets automountServiceAccountToken: Kubernetes' default"
        }
        "service-account-unknown" => "the Pod spec does not say and the ServiceAccount is not in these manifests",
        _ => "automountServiceAccountToken is not a boolean",
    }
}

fn csv(inventory: &Inventory) -> String {
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    let header = [
        "namespace",
        "name",
        "automount",
        "workloads",
        "token",
        "roles",
        "highest_risk",
        "risks",
        "findings",
        "unused",
    ];
    writer.write_record(header).expect("writing to memory");
    for row in &inventory.service_accounts {
        let c = Cells::of(row);
        let mut risks: Vec<String> = row.bindings.iter().flat_map(|b| b.risks.iter().map(|r| r.id.clone())).collect();
        risks.sort();
        risks.dedup();
        writer
            .write_record([
                row.namespace.as_str(),
                row.name.as_str(),
                &c.automount,
                &c.workloads,
                &c.token,
                &c.roles,
                &c.risk,
                &risks.join(","),
                &c.findings,
                if row.unused { "true" } else { "false" },
            ])
            .expect("writing to memory");
    }
    String::from_utf8(writer.into_inner().expect("writing to memory")).expect("CSV of UTF-8 cells")
}

fn dot(inventory: &Inventory) -> String {
    let graph = Graph::of(inventory);
    let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let mut out = String::from("digraph serviceaccounts {\n  rankdir=LR;\n  node [fontname=\"sans-serif\"];\n");
    for node in &graph.nodes {
        let shape = match node.kind {
            NodeKind::Workload => "box",
            NodeKind::ServiceAccount => "ellipse",
            NodeKind::Binding => "note",
            NodeKind::Role => "component",
        };
        out.push_str(&format!("  {} [label={}, shape={shape}];\n", quote(&node.id), quote(&node.label)));
    }
    for edge in &graph.edges {
        out.push_str(&format!(
            "  {} -> {} [color={}{}];\n",
            quote(&edge.from),
            quote(&edge.to),
            quote(edge.colour),
            edge.severity.map_or(String::new(), |s| format!(", label={}", quote(s.as_str())))
        ));
    }
    out.push_str("}\n");
    out
}

fn mermaid(inventory: &Inventory) -> String {
    let graph = Graph::of(inventory);
    // Mermaid ids are plain words: number the nodes.
    let id_of = |id: &str| graph.nodes.iter().position(|n| n.id == id).map(|i| format!("n{i}")).unwrap_or_default();
    let label = |s: &str| s.replace('"', "#quot;");
    let mut out = String::from("flowchart LR\n");
    for (i, node) in graph.nodes.iter().enumerate() {
        let (open, close) = match node.kind {
            NodeKind::Workload => ("[", "]"),
            NodeKind::ServiceAccount => ("([", "])"),
            NodeKind::Binding => ("[/", "/]"),
            NodeKind::Role => ("[[", "]]"),
        };
        out.push_str(&format!("  n{i}{open}\"{}\"{close}\n", label(&node.label)));
    }
    for (index, edge) in graph.edges.iter().enumerate() {
        match edge.severity {
            Some(s) => out.push_str(&format!("  {} -->|{}| {}\n", id_of(&edge.from), s.as_str(), id_of(&edge.to))),
            None => out.push_str(&format!("  {} --> {}\n", id_of(&edge.from), id_of(&edge.to))),
        }
        if edge.severity.is_some() {
            out.push_str(&format!("  linkStyle {index} stroke:{}\n", edge.colour));
        }
    }
    out
}
