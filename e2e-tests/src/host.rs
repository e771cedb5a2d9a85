//! A waPC host for Kubewarden policies on wasmtime: the engine kwctl and policy-server use
//! (`wapc` + `wasmtime-provider`), with policy-server's 2 s evaluation deadline and host
//! capabilities answered by a [`Capabilities`] implementation instead of a cluster.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wapc::WapcHost;
use wasmtime_provider::wasmtime::{self, Engine, Module};
use wasmtime_provider::{EpochDeadlines, WasmtimeEngineProviderBuilder, WasmtimeEngineProviderPre};

use crate::review::{AdmissionResponse, ValidationResponse};

/// How often the epoch ticks; deadlines are counted in ticks.
const EPOCH_TICK: Duration = Duration::from_millis(10);
/// policy-server's default evaluation timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// What the policy may ask the host through `host_call(binding, namespace, operation, payload)`.
/// Errors are plain messages: the waPC guest receives them as the host error string.
pub trait Capabilities: Send + Sync {
    fn call(&self, binding: &str, namespace: &str, operation: &str, payload: &[u8]) -> Result<Vec<u8>, String>;
}

/// A host that grants no capability, like kwctl without `--allow-context-aware`.
pub struct NoCapabilities;

impl Capabilities for NoCapabilities {
    fn call(&self, binding: &str, namespace: &str, operation: &str, _: &[u8]) -> Result<Vec<u8>, String> {
        Err(format!(
            "{binding}/{namespace}/{operation}: the policy has not been granted access to host capabilities \
             (kwctl: --allow-context-aware)"
        ))
    }
}

/// One host call the guest made, and what it got back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostCall {
    pub binding: String,
    pub namespace: String,
    pub operation: String,
    /// The payload as JSON when it is JSON (the Kubewarden capabilities always are), else text.
    pub payload: Value,
    pub result: Result<String, String>,
}

/// Why a waPC call produced no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestFailure {
    /// The module trapped (panic, out-of-bounds, unreachable) or ran past the deadline.
    Trap(String),
    /// The guest's handler returned an error (`__guest_error`).
    Error(String),
    /// The guest answered, but not with the JSON the protocol expects.
    BadResponse(String),
}

impl std::fmt::Display for GuestFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GuestFailure::Trap(m) => write!(f, "guest trapped: {m}"),
            GuestFailure::Error(m) => write!(f, "guest error: {m}"),
            GuestFailure::BadResponse(m) => write!(f, "unexpected guest response: {m}"),
        }
    }
}

/// The answer to `validate_settings` (the SDK's `SettingsValidationResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsResponse {
    pub valid: bool,
    #[serde(default)]
    pub message: Option<String>,
}

/// A compiled policy module. Compile once, then [`Policy::instantiate`] per evaluation context.
pub struct Policy {
    pub path: PathBuf,
    pub size: usize,
    pre: WasmtimeEngineProviderPre,
    deadline_ticks: u64,
    ticker_stop: Arc<AtomicBool>,
}

impl Drop for Policy {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

impl Policy {
    /// Load and compile `path` with the default deadline. Compiled code is cached on disk (see
    /// [`cache_dir`]), so only the first load of a given module pays for compilation.
    pub fn load(path: &Path) -> Result<Policy, String> {
        Policy::load_with_timeout(path, DEFAULT_TIMEOUT)
    }

    pub fn load_with_timeout(path: &Path, timeout: Duration) -> Result<Policy, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        // `SA_GUARD_WASM_PERFMAP=1`: write /tmp/perf-<pid>.map so `perf report` names the
        // module's functions; `=jitdump`: a jit dump for `perf inject --jit`, so `perf annotate`
        // shows their instructions (how the admission path was profiled; see DEVELOPERS.md).
        match std::env::var("SA_GUARD_WASM_PERFMAP").as_deref() {
            Ok("1") => _ = config.profiler(wasmtime::ProfilingStrategy::PerfMap),
            Ok("jitdump") => _ = config.profiler(wasmtime::ProfilingStrategy::JitDump),
            _ => {}
        }
        if let Some(dir) = cache_dir() {
            let mut cache_config = wasmtime::CacheConfig::new();
            cache_config.with_directory(dir);
            // A cache that cannot be set up only costs time.
            if let Ok(cache) = wasmtime::Cache::new(cache_config) {
                config.cache(Some(cache));
            }
        }
        let engine = Engine::new(&config).map_err(|e| format!("cannot create the wasmtime engine: {e}"))?;
        let module =
            Module::new(&engine, &bytes).map_err(|e| format!("{} is not a loadable module: {e:#}", path.display()))?;
        let pre = WasmtimeEngineProviderBuilder::new()
            .engine(engine.clone())
            .module(module)
            .build_pre()
            .map_err(|e| format!("cannot link {}: {e}", path.display()))?;
        let ticker_stop = Arc::new(AtomicBool::new(false));
        spawn_epoch_ticker(engine.clone(), ticker_stop.clone());
        let deadline_ticks = (timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        Ok(Policy { path: path.to_path_buf(), size: bytes.len(), pre, deadline_ticks, ticker_stop })
    }

    /// A fresh instance (its own memory) whose host calls go to `capabilities`.
    pub fn instantiate(&self, capabilities: Arc<dyn Capabilities>) -> Result<Evaluator, String> {
        let deadlines = EpochDeadlines { wapc_init: self.deadline_ticks, wapc_func: self.deadline_ticks };
        let provider = self.pre.rehydrate(Some(deadlines)).map_err(|e| format!("cannot instantiate: {e}"))?;
        let log: Arc<Mutex<Vec<HostCall>>> = Arc::default();
        let callback_log = log.clone();
        let callback = move |_id: u64, binding: &str, namespace: &str, operation: &str, payload: &[u8]| {
            let result = capabilities.call(binding, namespace, operation, payload);
            let payload_value = serde_json::from_slice(payload)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(payload).into_owned()));
            let entry = HostCall {
                binding: binding.into(),
                namespace: namespace.into(),
                operation: operation.into(),
                payload: payload_value,
                result: result.as_ref().map(|b| String::from_utf8_lossy(b).into_owned()).map_err(Clone::clone),
            };
            callback_log.lock().unwrap_or_else(|e| e.into_inner()).push(entry);
            result.map_err(|message| -> Box<dyn std::error::Error + Send + Sync> { message.into() })
        };
        let host = WapcHost::new(Box::new(provider), Some(Box::new(callback)))
            .map_err(|e| format!("cannot initialise the module: {e}"))?;
        Ok(Evaluator { host, log })
    }
}

/// Where compiled modules are cached: `$SA_GUARD_WASMTIME_CACHE` (`off` disables it), else
/// `$XDG_CACHE_HOME/sa-guard/wasmtime` or `~/.cache/sa-guard/wasmtime`.
pub fn cache_dir() -> Option<PathBuf> {
    match std::env::var_os("SA_GUARD_WASMTIME_CACHE") {
        Some(v) if v == "off" => return None,
        Some(v) if !v.is_empty() => return Some(PathBuf::from(v)),
        _ => {}
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("sa-guard").join("wasmtime"))
}

/// Advances the engine's epoch every [`EPOCH_TICK`] until `stop` is set (the [`Policy`] is
/// dropped), so a guest stuck in a loop is interrupted at its deadline.
fn spawn_epoch_ticker(engine: Engine, stop: Arc<AtomicBool>) {
    std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })
        .expect("cannot spawn the epoch ticker thread");
}

/// One instance of the policy.
pub struct Evaluator {
    host: WapcHost,
    log: Arc<Mutex<Vec<HostCall>>>,
}

impl Evaluator {
    /// A raw waPC call.
    pub fn call(&self, operation: &str, payload: &[u8]) -> Result<Vec<u8>, GuestFailure> {
        self.host.call(operation, payload).map_err(|e| match e {
            wapc::errors::Error::GuestCallFailure(message) => classify(message),
            other => GuestFailure::Trap(other.to_string()),
        })
    }

    /// `validate_settings` with the settings object, as policy-server does before serving.
    pub fn validate_settings(&self, settings: &Value) -> Result<SettingsResponse, GuestFailure> {
        let payload = serde_json::to_vec(settings).expect("JSON values serialize");
        self.validate_settings_raw(&payload)
    }

    pub fn validate_settings_raw(&self, payload: &[u8]) -> Result<SettingsResponse, GuestFailure> {
        let answer = self.call("validate_settings", payload)?;
        serde_json::from_slice(&answer)
            .map_err(|e| GuestFailure::BadResponse(format!("{e}: {}", String::from_utf8_lossy(&answer))))
    }

    /// `validate` with an arbitrary payload: the policy's own answer, untranslated.
    pub fn validate_raw(&self, payload: &[u8]) -> Result<ValidationResponse, GuestFailure> {
        let answer = self.call("validate", payload)?;
        serde_json::from_slice(&answer)
            .map_err(|e| GuestFailure::BadResponse(format!("{e}: {}", String::from_utf8_lossy(&answer))))
    }

    /// `validate` with kwctl's payload `{"request": ..., "settings": ...}`, answered as the
    /// AdmissionResponse the API server would get from policy-server.
    pub fn validate(&self, request: &Value, settings: &Value) -> AdmissionResponse {
        let payload = serde_json::to_vec(&serde_json::json!({"request": request, "settings": settings}))
            .expect("JSON values serialize");
        let uid = request.get("uid").and_then(Value::as_str).unwrap_or_default().to_string();
        match self.validate_raw(&payload) {
            Ok(response) => AdmissionResponse::from_validation_response(uid, request.get("object"), &response),
            Err(failure) => AdmissionResponse::internal_server_error(uid, &failure),
        }
    }

    /// The `protocol_version` export's answer.
    pub fn protocol_version(&self) -> Result<String, GuestFailure> {
        let answer = self.call("protocol_version", b"")?;
        serde_json::from_slice::<Value>(&answer)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .ok_or_else(|| GuestFailure::BadResponse(String::from_utf8_lossy(&answer).into_owned()))
    }

    /// The host calls made so far, oldest first, and forget them.
    pub fn take_host_calls(&self) -> Vec<HostCall> {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The waPC host reports traps and guest errors through the same string; wasmtime's own errors
/// are recognisable.
fn classify(message: String) -> GuestFailure {
    let trap_markers =
        ["wasm backtrace", "wasm trap", "execution deadline exceeded", "exit status", "wasm `unreachable`"];
    if trap_markers.iter().any(|m| message.contains(m)) {
        GuestFailure::Trap(message)
    } else {
        GuestFailure::Error(message)
    }
}
