//! The inventory as a table: the cells of each row, shared by the CLI's table and CSV and the
//! playground's table, and the Markdown both give.

use serde::Serialize;

use super::{Inventory, ServiceAccountRow};

/// The cells of a row, as people read them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cells {
    /// `<namespace>/<name>`.
    pub account: String,
    /// `true`, `false`, `<unset>`, or `<undefined>` when the manifests do not define it.
    pub automount: String,
    /// `Kind/name,...` or `-`.
    pub workloads: String,
    /// `yes`, `no`, `no (N audience-bound)`, or `-` without workloads.
    pub token: String,
    /// The roles of its bindings (`Kind name,...`) or `-`.
    pub roles: String,
    /// The most severe risk, or `-`.
    pub risk: String,
    /// Rule ids, or `-`.
    pub findings: String,
}

impl Cells {
    pub fn of(row: &ServiceAccountRow) -> Cells {
        let listed = |items: Vec<String>| if items.is_empty() { "-".to_string() } else { items.join(",") };
        let automount = match (row.object_index, row.automount) {
            (None, _) => "<undefined>".to_string(),
            (Some(_), None) => "<unset>".to_string(),
            (Some(_), Some(value)) => value.to_string(),
        };
        let projected: usize = row.workloads.iter().map(|w| w.projected_tokens.len()).sum();
        let token = match (row.workloads.is_empty(), row.token_mounted) {
            (true, _) => "-".to_string(),
            (false, true) => "yes".to_string(),
            (false, false) if projected > 0 => format!("no ({projected} audience-bound)"),
            (false, false) => "no".to_string(),
        };
        Cells {
            account: format!("{}/{}", row.namespace, row.name),
            automount,
            workloads: listed(row.workloads.iter().map(|w| format!("{}/{}", w.kind, w.name)).collect()),
            token,
            roles: listed(row.bindings.iter().map(|b| b.role.clone()).collect()),
            risk: row.highest_risk.map_or("-".to_string(), |s| s.as_str().to_string()),
            findings: listed(row.findings.clone()),
        }
    }
}

/// The inventory as a Markdown table (`sa-guard inventory --format markdown`).
pub fn markdown(inventory: &Inventory) -> String {
    let mut out = String::from(
        "| ServiceAccount | automount | workloads | token | roles | highest risk | findings |\n|---|---|---|---|---|---|---|\n",
    );
    let esc = |s: &str| s.replace('|', "\\|");
    for row in &inventory.service_accounts {
        let c = Cells::of(row);
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} |\n",
            c.account,
            esc(&c.automount),
            esc(&c.workloads),
            esc(&c.token),
            esc(&c.roles),
            c.risk,
            c.findings
        ));
    }
    out
}
