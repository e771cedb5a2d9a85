//! `sa-guard-annotate -m policy-metadata.yml -u README.md -o annotated-policy.wasm policy.wasm`:
//! what `kwctl annotate` does with the same flags (see the library's documentation for the one
//! difference). `make annotated` runs it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
#[command(version, about = "Embed Kubewarden policy metadata into a policy module, as `kwctl annotate` does")]
struct Args {
    /// The policy metadata (policy-metadata.yml).
    #[arg(short = 'm', long = "metadata-path")]
    metadata: PathBuf,
    /// The usage text embedded as `io.kubewarden.policy.usage` (the README).
    #[arg(short = 'u', long = "usage-path")]
    usage: PathBuf,
    /// Where to write the annotated module.
    #[arg(short = 'o', long = "output-path")]
    output: PathBuf,
    /// The policy module (policy.wasm).
    module: PathBuf,
}

fn read(path: &PathBuf) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn run(args: &Args) -> Result<(), String> {
    let module = read(&args.module)?;
    let metadata = String::from_utf8(read(&args.metadata)?).map_err(|e| format!("{}: {e}", args.metadata.display()))?;
    let usage = String::from_utf8(read(&args.usage)?).map_err(|e| format!("{}: {e}", args.usage.display()))?;
    sa_guard_annotate::check_wapc_guest(&module).map_err(|e| format!("{}: {e}", args.module.display()))?;
    let payload = sa_guard_annotate::metadata_payload(&metadata, &usage)
        .map_err(|e| format!("{}: {e}", args.metadata.display()))?;
    let annotated = sa_guard_annotate::annotate(&module, &payload).map_err(|e| e.to_string())?;
    std::fs::write(&args.output, &annotated).map_err(|e| format!("{}: {e}", args.output.display()))?;
    println!(
        "sa-guard-annotate: {} ({} bytes, section {} of {} bytes)",
        args.output.display(),
        annotated.len(),
        sa_guard_annotate::SECTION_NAME,
        payload.len()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("sa-guard-annotate: {message}");
            ExitCode::FAILURE
        }
    }
}
