//! `cargo xtask codegen` regenerates the bindings from `openapi/`;
//! `cargo xtask codegen --check` writes nothing and fails when a committed
//! file differs from what the spec produces.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use hookstream_codegen::Settings;
use std::path::{Path, PathBuf};

/// The command that regenerates the bindings, as the headers name it.
const COMMAND: &str = "cargo xtask codegen";
/// The spec, relative to the workspace root.
const SPEC: &str = "openapi/hookstream.yaml";

#[derive(Parser)]
#[command(about = "Developer commands for the hookstream workspace")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate the model types, server contract and client from the spec.
    Codegen {
        /// Write nothing; exit with an error naming each stale file.
        #[arg(long)]
        check: bool,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Codegen { check } => {
            let root = workspace_root();
            let report = codegen(&root, check)?;
            for line in report {
                println!("{line}");
            }
            Ok(())
        }
    }
}

/// Returns the workspace root, the parent of this crate's folder.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits one level below the workspace root")
        .to_path_buf()
}

/// Generates every file; with `check`, compares instead of writing.
/// Returns one line per file written or checked.
fn codegen(root: &Path, check: bool) -> Result<Vec<String>> {
    let spec_path = root.join(SPEC);
    let text = std::fs::read_to_string(&spec_path)
        .with_context(|| format!("cannot read the spec {}", spec_path.display()))?;
    let settings = Settings {
        command: COMMAND.to_string(),
        source: SPEC.to_string(),
        types_crate: "hookstream_types".to_string(),
        runtime_crate: "hookstream_runtime".to_string(),
    };
    let generated = hookstream_codegen::generate(&text, &settings)
        .with_context(|| format!("cannot generate from {SPEC}"))?;
    let outputs = [
        ("crates/hookstream-types/src/generated.rs", generated.types),
        ("crates/hookstream-api/src/generated.rs", generated.server),
        ("crates/hookstream-client/src/generated.rs", generated.client),
    ];
    let mut report = Vec::new();
    let mut stale = Vec::new();
    for (relative, contents) in outputs {
        let path = root.join(relative);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current.replace("\r\n", "\n") == contents {
            report.push(format!("up to date: {relative}"));
        } else if check {
            stale.push(relative);
        } else {
            std::fs::write(&path, contents)
                .with_context(|| format!("cannot write {}", path.display()))?;
            report.push(format!("wrote: {relative}"));
        }
    }
    if !stale.is_empty() {
        bail!(
            "generated files are stale: {}\nrun `{COMMAND}` and commit the result",
            stale.join(", ")
        );
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails when a generated file was edited by hand or the spec changed
    /// without regenerating, so `cargo test` alone catches stale bindings.
    #[test]
    fn generated_files_are_current() {
        let result = codegen(&workspace_root(), true);
        assert!(result.is_ok(), "{:#}", result.unwrap_err());
    }
}
