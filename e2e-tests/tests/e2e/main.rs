//! End-to-end tests of policy.wasm on the waPC/wasmtime engine kwctl and policy-server use, fed
//! what the API server sends. Needs policy.wasm at the repository root: `make e2e` builds it
//! and runs these (`scripts/e2e.sh`).

mod cli;
mod fixtures;
mod interface;
mod modes;
mod robustness;
mod rules;
mod support;
mod verdicts;
