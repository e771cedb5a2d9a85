//! Reading the command line's inputs: files, directories (recursively, sorted), stdin; the
//! settings file. Every object of every file goes into one bundle, and each keeps a link to the
//! file it came from so findings can be reported at `file:line:col`.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use sa_guard::manifest::{self, Manifests};
use sa_guard::Settings;
use serde_json::Value;

/// How stdin is named in reports (`<stdin>:12:3: ...`).
pub const STDIN_LABEL: &str = "<stdin>";

/// Extensions read when walking a directory. Files named explicitly are read whatever their name.
const MANIFEST_EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

/// The bounds of the CLI's reading: the core's, but files up to 512 MiB. The core's 64 MiB
/// suits what the playground is pasted; a cluster's dump is larger (`kubectl get ... -A -o json`
/// of 20 000 objects is about 100 MB) and is the user's own data, on their own machine.
pub fn limits() -> manifest::Limits {
    manifest::Limits { max_bytes: 512 << 20, ..manifest::Limits::default() }
}

/// One input file and what was parsed from it.
pub struct Source {
    /// The path as shown in reports (as given, joined with directory entries), or `<stdin>`.
    pub label: String,
    /// `None` for stdin.
    pub path: Option<PathBuf>,
    /// The parsed text (`manifests.text()` is the file's content). The objects' values are moved
    /// out into [`Inputs::objects`]; [`Inputs::restore_values`] puts them back for `apply_fixes`.
    pub manifests: Manifests,
}

/// A line and column range in a file (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Span {
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

/// A file that could not be read or parsed: exit code 2, but the other files are still checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    pub file: String,
    /// `None` when the whole file is the problem (unreadable, not UTF-8 before any line).
    pub span: Option<Span>,
    pub message: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.span {
            Some(span) => write!(f, "{}:{}:{}: error: {}", self.file, span.line, span.column, self.message),
            None => write!(f, "{}: error: {}", self.file, self.message),
        }
    }
}

/// Everything read from the command line's paths.
pub struct Inputs {
    pub sources: Vec<Source>,
    /// Every object of every file, in file order then document order: what `evaluate` sees.
    pub objects: Vec<Value>,
    /// For each object of `objects`: (index in `sources`, index in that file's `Manifests`).
    pub owners: Vec<(usize, usize)>,
    pub errors: Vec<InputError>,
    /// Files (or directories) that could not be read at all.
    pub unreadable: usize,
}

impl Inputs {
    /// The file and the span of `pointer` inside bundle object `object_index`.
    pub fn locate(&self, object_index: usize, pointer: &str) -> (&Source, Span) {
        let (source_index, local) = self.owners[object_index];
        let source = &self.sources[source_index];
        let p = source.manifests.position(local, pointer);
        (source, Span { line: p.line, column: p.column, end_line: p.end_line, end_column: p.end_column })
    }

    /// Give the objects' values back to their files' manifests (what `apply_fixes` patches).
    pub fn restore_values(&mut self) {
        for (value, &(source, local)) in self.objects.drain(..).zip(&self.owners) {
            self.sources[source].manifests.objects[local].value = value;
        }
    }
}

/// No paths: stdin when something is piped in, otherwise a usage error (a terminal would wait).
pub fn effective_paths(paths: &[String]) -> Result<Vec<String>, String> {
    if !paths.is_empty() {
        return Ok(paths.to_vec());
    }
    if std::io::stdin().is_terminal() {
        return Err(
            "no input: give files or directories, or - to read stdin (e.g. helm template . | sa-guard lint -)".into()
        );
    }
    Ok(vec!["-".into()])
}

/// Read and parse every path, parsing files on up to `jobs` threads. Problems are collected,
/// not fatal. Every object keeps its position-aware tree: for `lint` and `fix`, which ask a
/// position for every finding and edit the text.
pub fn load(paths: &[String], jobs: usize) -> Inputs {
    load_as(paths, jobs, Reading::Trees)
}

/// [`load`], keeping only the objects' values: a position is found by reading the object's
/// document again when asked for (`manifest::read_values`). For the inventory, `can-i` and
/// `who-can`, which ask few positions of what may be a whole cluster's dump.
pub fn load_values(paths: &[String], jobs: usize) -> Inputs {
    load_as(paths, jobs, Reading::Values)
}

/// Whether the objects' trees are kept ([`load`]) or built when asked for ([`load_values`]).
#[derive(Clone, Copy)]
enum Reading {
    Trees,
    Values,
}

fn load_as(paths: &[String], jobs: usize, reading: Reading) -> Inputs {
    let mut inputs =
        Inputs { sources: Vec::new(), objects: Vec::new(), owners: Vec::new(), errors: Vec::new(), unreadable: 0 };
    let mut files = Vec::new();
    for path in paths {
        if path == "-" {
            files.push(None);
            continue;
        }
        let path = PathBuf::from(path);
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => {
                let before = files.len();
                if let Err(error) = walk(&path, &mut files) {
                    inputs.errors.push(error);
                    inputs.unreadable += 1;
                } else if files.len() == before {
                    // A security check that silently passes on a wrong path is worse than none.
                    inputs.errors.push(InputError {
                        file: label(&path),
                        span: None,
                        message: "no .yaml, .yml or .json files in this directory".into(),
                    });
                }
            }
            // Files, and anything else (FIFOs, /dev/stdin): let the read report the problem.
            Ok(_) => files.push(Some(path)),
            Err(e) => {
                inputs.errors.push(InputError { file: label(&path), span: None, message: io_message(&e) });
                inputs.unreadable += 1;
            }
        }
    }
    // A file named twice (`k8s/ k8s/app.yaml`, or a list with repeats) is read once: read twice,
    // every object in it would be "defined 2 times".
    let mut seen = std::collections::HashSet::new();
    files.retain(|file| match file {
        Some(path) => seen.insert(std::fs::canonicalize(path).unwrap_or_else(|_| path.clone())),
        None => true,
    });
    // Read in order (stdin at most once), then parse: the files are independent until the bundle
    // is built, so they are parsed on `jobs` threads, and added (errors too) in input order.
    let mut read = Vec::new();
    let mut texts = Vec::new();
    for file in files {
        let (label, text) = match &file {
            None => (STDIN_LABEL.to_string(), read_stdin()),
            Some(path) => (label(path), read_file(path)),
        };
        match text {
            Ok(text) => {
                read.push(Ok((label, file)));
                texts.push(text);
            }
            Err((span, message)) => read.push(Err(InputError { file: label, span, message })),
        }
    }
    let mut parsed = parse_all(texts, jobs, reading).into_iter();
    for file in read {
        match file {
            Ok((label, path)) => add_source(&mut inputs, label, path, parsed.next().expect("one per text")),
            Err(error) => {
                inputs.errors.push(error);
                inputs.unreadable += 1;
            }
        }
    }
    inputs
}

/// Every text parsed, in order, on up to `jobs` threads: the files at once, or the pieces of a
/// single text (each text is dropped once parsed: the manifests keep their own copy).
fn parse_all(texts: Vec<String>, jobs: usize, reading: Reading) -> Vec<Manifests> {
    let parse = |text: String| match reading {
        Reading::Trees => manifest::parse(&text, &limits()),
        Reading::Values => manifest::read_values(text, &limits()),
    };
    if texts.len() == 1 && jobs > 1 {
        // One large text (`helm template … | sa-guard lint -`): its documents in pieces.
        let parse_in_parallel = |text: String| match reading {
            Reading::Trees => manifest::parse_in_parallel(&text, &limits(), jobs),
            Reading::Values => manifest::read_values_in_parallel(text, &limits(), jobs),
        };
        return texts.into_iter().map(parse_in_parallel).collect();
    }
    let jobs = jobs.clamp(1, texts.len().max(1));
    if jobs == 1 {
        return texts.into_iter().map(parse).collect();
    }
    let slots: Vec<Mutex<Option<String>>> = texts.into_iter().map(|text| Mutex::new(Some(text))).collect();
    let parsed: Vec<Mutex<Option<Manifests>>> = slots.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let worker = || loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(slot) = slots.get(index) else { break };
                let text = slot.lock().expect("no worker panics").take().expect("each text is taken once");
                *parsed[index].lock().expect("no worker panics") = Some(parse(text));
            };
            // The default stack, as `manifest::parse_in_parallel`'s threads: the tree is built
            // without recursion, and what recurses (moving values out, dropping) stops at
            // `Limits::max_depth` levels.
            scope.spawn(worker);
        }
    });
    parsed.into_iter().map(|m| m.into_inner().expect("no worker panics").expect("every text is parsed")).collect()
}

fn add_source(inputs: &mut Inputs, label: String, path: Option<PathBuf>, mut manifests: Manifests) {
    for error in &manifests.errors {
        let p = error.position;
        inputs.errors.push(InputError {
            file: label.clone(),
            span: Some(Span { line: p.line, column: p.column, end_line: p.end_line, end_column: p.end_column }),
            message: error.message.clone(),
        });
    }
    let source_index = inputs.sources.len();
    // Moved, not cloned: positions come from the manifests' own tree, and the bundle can be large.
    for (local, object) in manifests.objects.iter_mut().enumerate() {
        inputs.objects.push(std::mem::take(&mut object.value));
        inputs.owners.push((source_index, local));
    }
    inputs.sources.push(Source { label, path, manifests });
}

/// Directory entries, depth first, each directory's entries sorted by name so the bundle (and the
/// report) does not depend on the file system's order. Hidden entries (`.git`) are skipped.
fn walk(dir: &Path, files: &mut Vec<Option<PathBuf>>) -> Result<(), InputError> {
    let error = |e: std::io::Error| InputError { file: label(dir), span: None, message: io_message(&e) };
    let mut entries = std::fs::read_dir(dir)
        .map_err(error)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(error)?;
    entries.sort();
    for path in entries {
        let hidden = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        // symlink_metadata: a symlinked directory is not followed (no loops); a symlinked file is read.
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        if meta.is_dir() {
            walk(&path, files)?;
        } else if has_manifest_extension(&path) && std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            files.push(Some(path));
        }
    }
    Ok(())
}

fn has_manifest_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| MANIFEST_EXTENSIONS.iter().any(|m| m.eq_ignore_ascii_case(e)))
}

/// The path as the user would write it: without a leading `./`.
fn label(path: &Path) -> String {
    let text = path.to_string_lossy();
    text.strip_prefix("./").unwrap_or(&text).to_string()
}

type ReadError = (Option<Span>, String);

fn read_file(path: &Path) -> Result<String, ReadError> {
    let bytes = std::fs::read(path).map_err(|e| (None, io_message(&e)))?;
    decode(bytes)
}

fn read_stdin() -> Result<String, ReadError> {
    let mut bytes = Vec::new();
    std::io::stdin().lock().read_to_end(&mut bytes).map_err(|e| (None, io_message(&e)))?;
    decode(bytes)
}

/// UTF-8 (a leading byte order mark is dropped); otherwise the error points at the first bad byte.
fn decode(bytes: Vec<u8>) -> Result<String, ReadError> {
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if text.starts_with('\u{feff}') {
                text.drain(..'\u{feff}'.len_utf8());
            }
            Ok(text)
        }
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
            let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            let column = String::from_utf8_lossy(&valid[line_start..]).chars().count() + 1;
            let span = Span { line, column, end_line: line, end_column: column + 1 };
            Err((Some(span), format!("not valid UTF-8 (invalid byte at offset {})", valid.len())))
        }
    }
}

fn io_message(e: &std::io::Error) -> String {
    let kind = match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    };
    format!("cannot read: {kind}")
}

/// `--settings FILE`: YAML or JSON, validated like the policy's settings. Errors name the file.
pub fn load_settings(path: Option<&Path>) -> Result<Settings, String> {
    let Some(path) = path else { return Ok(Settings::default()) };
    let shown = label(path);
    let text = read_file(path).map_err(|(_, message)| format!("{shown}: {message}"))?;
    let value = settings_value(&text).map_err(|message| format!("{shown}: {message}"))?;
    Settings::from_value(value).map_err(|message| format!("{shown}: {message}"))
}

/// The settings document as JSON: empty means the defaults; more than one document is an error.
fn settings_value(text: &str) -> Result<Value, String> {
    let parsed = manifest::parse(text, &manifest::Limits::default());
    if let Some(error) = parsed.errors.first() {
        return Err(format!("{}:{}: {}", error.position.line, error.position.column, error.message));
    }
    let mut values = parsed.objects.into_iter().map(|o| o.value);
    match (values.next(), values.next()) {
        (None, _) => Ok(Value::Null),
        (Some(value), None) => Ok(value),
        (Some(_), Some(_)) => Err("invalid settings: expected one YAML document, found several".into()),
    }
}
