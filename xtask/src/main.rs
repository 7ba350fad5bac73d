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
/// The folder of fixture specs and of the crate generated from them.
const FIXTURES: &str = "tests/fixtures";

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
    let mut outputs = product_outputs(root)?;
    outputs.extend(fixture_outputs(root)?);
    let mut report = Vec::new();
    let mut stale = Vec::new();
    for (relative, contents) in outputs {
        let path = root.join(&relative);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current.replace("\r\n", "\n") == contents {
            report.push(format!("up to date: {relative}"));
        } else if check {
            stale.push(relative);
        } else {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
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

/// A generated file: its path relative to the workspace root, and its text.
type Output = (String, String);

/// Generates the product's types, server contract and client.
fn product_outputs(root: &Path) -> Result<Vec<Output>> {
    let text = read(&root.join(SPEC))?;
    let settings = Settings {
        command: COMMAND.to_string(),
        source: SPEC.to_string(),
        types_crate: "hookstream_types".to_string(),
        runtime_crate: "hookstream_runtime".to_string(),
        client_module: "crate".to_string(),
    };
    let generated = hookstream_codegen::generate(&text, &settings)
        .with_context(|| format!("cannot generate from {SPEC}"))?;
    Ok(vec![
        (
            "crates/hookstream-types/src/generated.rs".into(),
            generated.types,
        ),
        (
            "crates/hookstream-api/src/generated.rs".into(),
            generated.server,
        ),
        (
            "crates/hookstream-client/src/generated.rs".into(),
            generated.client,
        ),
    ])
}

/// Generates one module per fixture spec, and the crate root that declares
/// them, into the fixtures crate. Specs named `unsupported_*` are expected
/// to fail; the generator's tests check their errors.
fn fixture_outputs(root: &Path) -> Result<Vec<Output>> {
    let mut outputs = Vec::new();
    let mut modules = Vec::new();
    for name in fixture_names(root)? {
        let source = format!("{FIXTURES}/{name}.yaml");
        let text = read(&root.join(&source))?;
        let settings = Settings {
            command: COMMAND.to_string(),
            source: source.clone(),
            types_crate: format!("crate::{name}::types"),
            runtime_crate: "hookstream_runtime".to_string(),
            client_module: format!("crate::{name}::client"),
        };
        let generated = hookstream_codegen::generate(&text, &settings)
            .with_context(|| format!("cannot generate from {source}"))?;
        outputs.push((format!("{FIXTURES}/src/{name}/types.rs"), generated.types));
        outputs.push((format!("{FIXTURES}/src/{name}/server.rs"), generated.server));
        outputs.push((format!("{FIXTURES}/src/{name}/client.rs"), generated.client));
        modules.push(format!(
            "/// Generated from `{source}`.\n#[rustfmt::skip]\npub mod {name} {{\n    pub mod client;\n    pub mod server;\n    pub mod types;\n}}\n"
        ));
    }
    let header = hookstream_codegen::header(&Settings {
        command: COMMAND.to_string(),
        source: format!("{FIXTURES}/*.yaml"),
        types_crate: String::new(),
        runtime_crate: String::new(),
        client_module: String::new(),
    });
    let lib = format!(
        "{header}//! Generated servers and clients of the fixture specs, one module each.\n\n\
         // progenitor's output imports its `types` module and an error type in\n\
         // every client, whether or not the spec needs them.\n\
         #![allow(unused_imports, dead_code)]\n\n\
         // The modules are laid out by prettyplease, the generator's formatter,\n\
         // so rustfmt skips them.\n\n{}",
        modules.join("\n")
    );
    outputs.push((format!("{FIXTURES}/src/lib.rs"), lib));
    Ok(outputs)
}

/// Returns the names of the fixture specs that must generate, sorted.
fn fixture_names(root: &Path) -> Result<Vec<String>> {
    let folder = root.join(FIXTURES);
    let mut names = Vec::new();
    for entry in
        std::fs::read_dir(&folder).with_context(|| format!("cannot list {}", folder.display()))?
    {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if let Some(stem) = name.strip_suffix(".yaml")
            && !stem.starts_with("unsupported_")
        {
            names.push(stem.to_string());
        }
    }
    names.sort();
    Ok(names)
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
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
