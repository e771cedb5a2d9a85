//! `sa-guard inventory` and `lint` on a generated cluster dump (`cluster_dump.rs`: 20 000 objects
//! by default, as `kubectl get ... -A -o json` and `-o yaml` print them), against the floors
//! measured in the same run on the same text: serde_json decoding the JSON into a `Value` tree,
//! and saphyr-parser reading the YAML's events (what sa-guard's YAML reading is built on); and,
//! like for like with the JSON floor, saphyr's own loader reading the YAML into its document tree.
//! Each is a process of its own (the floors: this benchmark again, `BENCH_FLOOR=json|yaml`),
//! timed by the CPU time it used (wait4's rusage). Peak memory (max RSS of the CLI process) is
//! reported against the input's size.
//!
//! Not a test: timings vary with the machine. Run it with `scripts/bench-inventory.sh` (`make
//! bench-inventory`), which builds the CLI with the `host` profile and passes it as
//! `SA_GUARD_BIN`. Each round runs every measurement once, in turns, so a slow spell of the
//! machine weighs on a floor and its ratio alike; the best of the rounds is reported, and the
//! ratios of each round.
//!
//! Environment: `SA_GUARD_BIN` (required), `BENCH_OBJECTS` (default 20000), `BENCH_RUNS`
//! (default 5), `BENCH_KEEP=DIR` (write the dumps there and keep them).

#[path = "cluster_dump.rs"]
mod cluster_dump;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The goals of issue 19.
const JSON_GOAL: f64 = 3.0;
const YAML_GOAL: f64 = 2.0;
const MEMORY_GOAL: f64 = 10.0;

/// CPU time (user + system) and max RSS (bytes) of one run of the CLI. CPU time, not wall time:
/// on a shared machine another process's burst lengthens the wall time of whichever measurement
/// it falls on, while the CPU time each one used holds (the CLI runs on one thread, `--jobs 1`).
fn run_cli(bin: &Path, args: &[&str], file: &Path) -> (Duration, u64) {
    let child = Command::new(bin)
        .args(args)
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: `usage` is a plain struct the kernel fills; `pid` is our child, not yet waited for.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4 failed");
    assert!(libc::WIFEXITED(status), "{} {args:?} did not exit normally", bin.display());
    let code = libc::WEXITSTATUS(status);
    // inventory: 0; lint: 0 or 1 (findings). 2 would be an input error: the dump must read whole.
    assert!(code == 0 || (code == 1 && args.first() == Some(&"lint")), "{} {args:?} exited with {code}", bin.display());
    std::mem::forget(child); // already reaped by wait4
    let cpu = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    (cpu(usage.ru_utime) + cpu(usage.ru_stime), usage.ru_maxrss as u64 * 1024)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[derive(Default)]
struct Best {
    json_floor: Vec<Duration>,
    json_inventory: Vec<Duration>,
    yaml_floor: Vec<Duration>,
    yaml_tree: Vec<Duration>,
    yaml_inventory: Vec<Duration>,
    rss: Vec<(String, u64, u64)>,
}

fn min(v: &[Duration]) -> Duration {
    v.iter().copied().min().unwrap_or_default()
}

/// In a child process (`BENCH_FLOOR=json|yaml FILE`): read the file and decode it, nothing
/// else, then exit without freeing (as the CLI does). The floors run in a fresh process as the
/// CLI does, so both pay alike for starting, reading the file and the memory they touch.
fn floor_child() -> bool {
    let Ok(which) = std::env::var("BENCH_FLOOR") else { return false };
    let path = std::env::args().nth(1).expect("the file to decode");
    let text = std::fs::read_to_string(path).expect("the dump");
    match which.as_str() {
        "json" => std::mem::forget(serde_json::from_str::<serde_json::Value>(&text).expect("JSON")),
        // For perspective, not a goal: the YAML library's own loader, events into its document
        // tree, as the JSON floor decodes into a tree (no positions kept, no Kubernetes rules).
        "yaml-tree" => {
            use saphyr::LoadableYamlNode;
            std::mem::forget(saphyr::Yaml::load_from_str(&text).expect("YAML"));
        }
        _ => {
            std::hint::black_box(sa_guard::manifest::count_yaml_events(&text).expect("YAML"));
        }
    }
    std::mem::forget(text);
    true
}

/// CPU time and max RSS of the floor `which` on `file`, in a child process.
fn floor(which: &str, file: &Path) -> (Duration, u64) {
    let exe = std::env::current_exe().expect("this benchmark's path");
    // SAFETY (set_var): single-threaded here; the child inherits it.
    unsafe { std::env::set_var("BENCH_FLOOR", which) };
    let measured = run_cli(&exe, &[], file);
    unsafe { std::env::remove_var("BENCH_FLOOR") };
    measured
}

fn main() {
    if floor_child() {
        return;
    }
    if let Ok(dir) = std::env::var("BENCH_GENERATE") {
        // The floors must read what the CLI reads: the whole dump, without error.
        let objects: usize = std::env::var("BENCH_OBJECTS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
        let list = cluster_dump::list(objects);
        let (json, yaml) = (cluster_dump::json_text(&list), cluster_dump::yaml_text(&list));
        serde_json::from_str::<serde_json::Value>(&json).expect("serde_json reads the JSON dump");
        sa_guard::manifest::count_yaml_events(&yaml).expect("saphyr-parser reads the YAML dump");
        std::fs::write(Path::new(&dir).join("cluster.json"), json).expect("write the JSON dump");
        std::fs::write(Path::new(&dir).join("cluster.yaml"), yaml).expect("write the YAML dump");
        return;
    }
    let bin = PathBuf::from(std::env::var("SA_GUARD_BIN").expect("SA_GUARD_BIN: the sa-guard binary to measure"));
    let objects: usize = std::env::var("BENCH_OBJECTS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5).max(1);
    let dir = match std::env::var("BENCH_KEEP") {
        Ok(dir) => PathBuf::from(dir),
        Err(_) => std::env::temp_dir().join(format!("sa-guard-bench-inventory-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).expect("a directory for the dumps");

    // The dumps are written by a child process: a child's peak memory (max RSS) counts what its
    // parent held when it was started, so this process stays small.
    let exe = std::env::current_exe().expect("this benchmark's path");
    let generated = Command::new(&exe)
        .env("BENCH_GENERATE", &dir)
        .env("BENCH_OBJECTS", objects.to_string())
        .status()
        .expect("run the generator");
    assert!(generated.success(), "the generator failed");
    let json_path = dir.join("cluster.json");
    let yaml_path = dir.join("cluster.yaml");
    let size = |path: &Path| std::fs::metadata(path).expect("a generated dump").len() as usize;
    let (json_len, yaml_len) = (size(&json_path), size(&yaml_path));
    println!(
        "cluster dump: {objects} objects; -o json {:.1} MB, -o yaml {:.1} MB; {} round(s), CLI {}",
        json_len as f64 / 1e6,
        yaml_len as f64 / 1e6,
        runs,
        bin.display()
    );

    let one_core = ["--jobs", "1"];
    let mut best = Best::default();
    println!();
    println!("round  json floor  inventory  ratio   yaml floor  inventory  ratio");
    for round in 0..runs {
        let (json_floor, json_floor_rss) = floor("json", &json_path);
        let (json_inventory, json_rss) =
            run_cli(&bin, &["inventory", "--format", "json", one_core[0], one_core[1]], &json_path);
        let (yaml_floor, yaml_floor_rss) = floor("yaml", &yaml_path);
        let (yaml_tree, _) = floor("yaml-tree", &yaml_path);
        let (yaml_inventory, yaml_rss) =
            run_cli(&bin, &["inventory", "--format", "json", one_core[0], one_core[1]], &yaml_path);
        println!(
            "{:>5}  {:>8.0} ms  {:>6.0} ms  {:>4.2}x  {:>8.0} ms  {:>6.0} ms  {:>4.2}x",
            round + 1,
            ms(json_floor),
            ms(json_inventory),
            ms(json_inventory) / ms(json_floor),
            ms(yaml_floor),
            ms(yaml_inventory),
            ms(yaml_inventory) / ms(yaml_floor),
        );
        best.json_floor.push(json_floor);
        best.json_inventory.push(json_inventory);
        best.yaml_floor.push(yaml_floor);
        best.yaml_tree.push(yaml_tree);
        best.yaml_inventory.push(yaml_inventory);
        if round == 0 {
            let (_, json_lint_rss) = run_cli(&bin, &["lint", "--format", "json", one_core[0], one_core[1]], &json_path);
            let (_, yaml_lint_rss) = run_cli(&bin, &["lint", "--format", "json", one_core[0], one_core[1]], &yaml_path);
            best.rss = vec![
                ("the JSON floor (serde_json's tree)".into(), json_floor_rss, json_len as u64),
                ("the YAML floor (events only)".into(), yaml_floor_rss, yaml_len as u64),
                ("inventory, -o json".into(), json_rss, json_len as u64),
                ("inventory, -o yaml".into(), yaml_rss, yaml_len as u64),
                ("lint, -o json".into(), json_lint_rss, json_len as u64),
                ("lint, -o yaml".into(), yaml_lint_rss, yaml_len as u64),
            ];
        }
    }
    let json_ratio = ms(min(&best.json_inventory)) / ms(min(&best.json_floor));
    let yaml_ratio = ms(min(&best.yaml_inventory)) / ms(min(&best.yaml_floor));
    println!();
    println!(
        "best of {runs}, CPU time of each process: the floors read the file and decode it, the CLI also evaluates \
         the rules, builds the inventory and writes it:"
    );
    println!(
        "  from JSON: inventory {:.0} ms, serde_json to a Value tree {:.0} ms: {json_ratio:.2}x (goal <= {JSON_GOAL}x: {})",
        ms(min(&best.json_inventory)),
        ms(min(&best.json_floor)),
        if json_ratio <= JSON_GOAL { "met" } else { "not met" }
    );
    println!(
        "  from YAML: inventory {:.0} ms, saphyr-parser's events alone {:.0} ms: {yaml_ratio:.2}x (goal <= {YAML_GOAL}x: {})",
        ms(min(&best.yaml_inventory)),
        ms(min(&best.yaml_floor)),
        if yaml_ratio <= YAML_GOAL { "met" } else { "not met" }
    );
    let tree_ratio = ms(min(&best.yaml_inventory)) / ms(min(&best.yaml_tree));
    println!(
        "  from YAML, like for like with the JSON floor: saphyr's own loader into its document tree {:.0} ms \
         ({:.2}x the events): inventory {tree_ratio:.2}x ({})",
        ms(min(&best.yaml_tree)),
        ms(min(&best.yaml_tree)) / ms(min(&best.yaml_floor)),
        if tree_ratio <= YAML_GOAL { "within 2x" } else { "over 2x" }
    );
    println!(
        "  JSON against YAML: inventory {:.1}x faster from -o json",
        ms(min(&best.yaml_inventory)) / ms(min(&best.json_inventory))
    );
    println!("peak memory (max RSS) against the input's size (goal <= {MEMORY_GOAL}x):");
    for (what, rss, input) in &best.rss {
        let ratio = *rss as f64 / *input as f64;
        let goal = match what.starts_with("the ") {
            true => "",
            false if ratio <= MEMORY_GOAL => " (met)",
            false => " (not met)",
        };
        println!("  {what}: {:.0} MB for {:.1} MB: {ratio:.1}x{goal}", *rss as f64 / 1e6, *input as f64 / 1e6);
    }
    if std::env::var("BENCH_KEEP").is_err() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
