//! The inventory as a graph: workload → ServiceAccount → binding → role, each edge from a
//! ServiceAccount on carrying the most severe risk of its binding. One model for every drawing
//! of it: the CLI's DOT and Mermaid, the playground's SVG.

use serde::Serialize;

use super::Inventory;
use crate::rbac::catalog::Severity;

/// The four columns of the graph, left to right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum NodeKind {
    #[serde(rename = "workload")]
    Workload,
    #[serde(rename = "sa")]
    ServiceAccount,
    #[serde(rename = "binding")]
    Binding,
    #[serde(rename = "role")]
    Role,
}

impl NodeKind {
    pub const ALL: [NodeKind; 4] = [NodeKind::Workload, NodeKind::ServiceAccount, NodeKind::Binding, NodeKind::Role];

    /// The column's title, for people.
    pub fn title(self) -> &'static str {
        match self {
            NodeKind::Workload => "Workloads",
            NodeKind::ServiceAccount => "ServiceAccounts",
            NodeKind::Binding => "Bindings",
            NodeKind::Role => "Roles",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    /// Unique in the graph: `wl:<ns>/<kind>/<name>`, `sa:<ns>/<name>`,
    /// `rb:<kind>:[<ns>/]<name>`, `role:[<ns>/]<kind> <name>`.
    pub id: String,
    pub kind: NodeKind,
    pub label: String,
    /// The object it stands for in the input, when the manifests define it.
    pub object_index: Option<usize>,
    /// The most severe risk of the bindings it takes part in (none for workloads).
    pub severity: Option<Severity>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// The most severe risk of the binding the edge leads to or from.
    pub severity: Option<Severity>,
    /// [`colour`] of the severity.
    pub colour: &'static str,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// The colour of an edge carrying a risk of `severity` (grey without one).
pub fn colour(severity: Option<Severity>) -> &'static str {
    match severity {
        Some(Severity::Critical) => "#b00020",
        Some(Severity::High) => "#e65100",
        Some(Severity::Medium) => "#f9a825",
        None => "#607d8b",
    }
}

/// The id of the node of ServiceAccount `namespace/name`.
pub fn service_account_id(namespace: &str, name: &str) -> String {
    format!("sa:{namespace}/{name}")
}

/// The severities an edge can carry, most severe first (`None`: no risk), for a legend.
pub const LEGEND: [Option<Severity>; 4] =
    [Some(Severity::Critical), Some(Severity::High), Some(Severity::Medium), None];

impl Graph {
    /// The graph of the inventory's rows, in their order: nodes as first met, edges as made.
    pub fn of(inventory: &Inventory) -> Graph {
        let mut graph = Graph::default();
        for row in &inventory.service_accounts {
            let sa = graph.node(
                service_account_id(&row.namespace, &row.name),
                NodeKind::ServiceAccount,
                format!("{}/{}", row.namespace, row.name),
                row.object_index,
                row.highest_risk,
            );
            for w in &row.workloads {
                let id = graph.node(
                    format!("wl:{}/{}/{}", row.namespace, w.kind, w.name),
                    NodeKind::Workload,
                    format!("{} {}{}", w.kind, w.name, if w.token.mounted { " (token)" } else { "" }),
                    Some(w.object_index),
                    None,
                );
                graph.edge(id, sa.clone(), None);
            }
            for b in &row.bindings {
                let at = b.namespace.as_deref().map_or(String::new(), |ns| format!("{ns}/"));
                let severity = b.risks.iter().map(|r| r.severity).max();
                let id = graph.node(
                    format!("rb:{}:{at}{}", b.kind, b.name),
                    NodeKind::Binding,
                    format!("{} {at}{}", b.kind, b.name),
                    Some(b.object_index),
                    severity,
                );
                let role = graph.node(
                    format!("role:{at}{}", b.role),
                    NodeKind::Role,
                    b.role.clone(),
                    b.role_object_index,
                    severity,
                );
                graph.edge(sa.clone(), id.clone(), severity);
                // A binding of several ServiceAccounts leads to its role once.
                if !graph.edges.iter().any(|e| e.from == id && e.to == role) {
                    graph.edge(id, role, severity);
                }
            }
        }
        graph
    }

    /// The node `id`, made on first mention; later mentions raise its severity.
    fn node(
        &mut self,
        id: String,
        kind: NodeKind,
        label: String,
        object_index: Option<usize>,
        severity: Option<Severity>,
    ) -> String {
        match self.nodes.iter_mut().find(|n| n.id == id) {
            Some(existing) => existing.severity = existing.severity.max(severity),
            None => self.nodes.push(Node { id: id.clone(), kind, label, object_index, severity }),
        }
        id
    }

    fn edge(&mut self, from: String, to: String, severity: Option<Severity>) {
        self.edges.push(Edge { from, to, severity, colour: colour(severity) });
    }
}
