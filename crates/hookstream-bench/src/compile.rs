//! The `compile-generated` command: how long the generated crates of a
//! synthetic spec take to build.
//!
//! It writes a separate Cargo workspace with three crates laid out like
//! `hookstream-types`, `hookstream-api` and `hookstream-client`, whose
//! `generated.rs` files come from [`hookstream_codegen::generate`] on
//! [`crate::synthetic::spec`]. The workspace's `Cargo.lock` is copied so
//! that dependency versions match, and it builds into its own target
//! directory, so it never waits for the main workspace's build lock. The
//! first build compiles the dependencies and is reported separately. Then
//! the three generated crates are cleaned and built again, together and
//! one at a time, and those builds are timed.

use crate::{synthetic, workspace_root};
use anyhow::{Context, Result, bail};
use hookstream_codegen::Settings;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The packages of the temporary workspace, in build order.
const PACKAGES: [&str; 3] = ["synthetic-types", "synthetic-api", "synthetic-client"];

/// Settings of one `compile-generated` run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Operations in the synthetic spec.
    pub operations: usize,
    /// The directory that holds the temporary workspaces and their shared
    /// target directory.
    pub directory: PathBuf,
    /// Build with `--release` instead of the dev profile.
    pub release: bool,
}

/// The timed builds of one run.
#[derive(Debug)]
pub struct Report {
    /// Operations in the synthetic spec.
    pub operations: usize,
    /// Lines of the generated types, server and client files.
    pub lines: [usize; 3],
    /// Time to run the generator itself, rustfmt included.
    pub generate: Duration,
    /// The first build, dependencies included (fast when they were built
    /// by an earlier run).
    pub first_build: Duration,
    /// The three generated crates together, with dependencies built.
    pub all_three: Duration,
    /// Each generated crate alone, in [`PACKAGES`] order.
    pub each: [Duration; 3],
    /// `/proc/loadavg` before and after the timed builds.
    pub load: (String, String),
}

/// Generates the crates and times their builds.
pub fn run(options: &Options) -> Result<Report> {
    let spec = synthetic::spec(options.operations);
    let settings = Settings {
        command: "cargo run -p hookstream-bench -- compile-generated".into(),
        source: format!("a synthetic spec of {} operations", options.operations),
        types_crate: "synthetic_types".into(),
        runtime_crate: "hookstream_runtime".into(),
        client_module: "crate".into(),
    };
    let started = Instant::now();
    let generated = hookstream_codegen::generate(&spec, &settings)
        .context("the generator rejected the synthetic spec")?;
    let generate = started.elapsed();
    let workspace = options
        .directory
        .join(format!("ops-{}", options.operations));
    write_workspace(
        &workspace,
        [&generated.types, &generated.server, &generated.client],
    )?;
    let target_dir = options.directory.join("target");
    let cargo = Cargo {
        manifest: workspace.join("Cargo.toml"),
        target_dir,
        release: options.release,
    };
    eprintln!("building {} (dependencies first)", workspace.display());
    let first_build = cargo.timed(&["build"], &[])?;
    let load_before = crate::suite::load_average();
    cargo.clean_generated()?;
    let all_three = cargo.timed(&["build"], &[])?;
    cargo.clean_generated()?;
    let mut each = [Duration::ZERO; 3];
    for (index, package) in PACKAGES.iter().enumerate() {
        each[index] = cargo.timed(&["build"], &["-p", package])?;
    }
    Ok(Report {
        operations: options.operations,
        lines: [
            generated.types.lines().count(),
            generated.server.lines().count(),
            generated.client.lines().count(),
        ],
        generate,
        first_build,
        all_three,
        each,
        load: (load_before, crate::suite::load_average()),
    })
}

struct Cargo {
    manifest: PathBuf,
    target_dir: PathBuf,
    release: bool,
}

impl Cargo {
    fn command(&self, arguments: &[&str]) -> Command {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(cargo);
        command
            .args(arguments)
            .arg("--manifest-path")
            .arg(&self.manifest)
            .env("CARGO_TARGET_DIR", &self.target_dir)
            .env("CARGO_TERM_COLOR", "never");
        command
    }

    /// Runs `cargo SUBCOMMAND EXTRA` and returns its wall time.
    fn timed(&self, subcommand: &[&str], extra: &[&str]) -> Result<Duration> {
        let mut command = self.command(subcommand);
        command.args(extra);
        if self.release {
            command.arg("--release");
        }
        let started = Instant::now();
        let output = command.output().context("cannot run cargo")?;
        let elapsed = started.elapsed();
        if !output.status.success() {
            bail!(
                "`cargo {} {}` failed for {}:\n{}",
                subcommand.join(" "),
                extra.join(" "),
                self.manifest.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(elapsed)
    }

    fn clean_generated(&self) -> Result<()> {
        let mut arguments = vec!["clean"];
        for package in PACKAGES {
            arguments.extend(["-p", package]);
        }
        if self.release {
            arguments.push("--release");
        }
        let output = self
            .command(&arguments)
            .output()
            .context("cannot run cargo clean")?;
        if !output.status.success() {
            bail!(
                "`cargo clean` failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }
}

/// Returns `target/hookstream-bench/compile` in the main workspace, the
/// default [`Options::directory`].
pub fn default_directory() -> PathBuf {
    workspace_root().join("target/hookstream-bench/compile")
}

/// Writes the temporary workspace with the three generated files.
fn write_workspace(root: &Path, [types, server, client]: [&str; 3]) -> Result<()> {
    let main = workspace_root();
    let runtime = main.join("crates/hookstream-runtime");
    let files: [(&str, String); 7] = [
        ("Cargo.toml", workspace_manifest()),
        ("types/Cargo.toml", types_manifest()),
        ("types/src/lib.rs", "mod generated;\n\npub use generated::*;\n".into()),
        ("api/Cargo.toml", api_manifest(&runtime)),
        ("api/src/lib.rs", "mod generated;\n\npub use generated::*;\n".into()),
        ("client/Cargo.toml", client_manifest()),
        (
            "client/src/lib.rs",
            "#[allow(unused_imports, dead_code)]\nmod generated;\n\npub use generated::*;\npub use synthetic_types as types;\n".into(),
        ),
    ];
    for (relative, contents) in files {
        write(&root.join(relative), &contents)?;
    }
    write(&root.join("types/src/generated.rs"), types)?;
    write(&root.join("api/src/generated.rs"), server)?;
    write(&root.join("client/src/generated.rs"), client)?;
    let lock = main.join("Cargo.lock");
    std::fs::copy(&lock, root.join("Cargo.lock"))
        .with_context(|| format!("cannot copy {}", lock.display()))?;
    Ok(())
}

fn write(path: &Path, contents: &str) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    // An unchanged file keeps its modification time, so cargo's own
    // freshness check is not disturbed between runs.
    if std::fs::read_to_string(path).is_ok_and(|current| current == contents) {
        return Ok(());
    }
    std::fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()))
}

// The manifests repeat the main workspace's dependency lines and its dev
// profile, so the build matches the real generated crates.

fn workspace_manifest() -> String {
    r#"# Written by `hookstream-bench compile-generated`; safe to delete.
[workspace]
resolver = "3"
members = ["types", "api", "client"]

[workspace.package]
edition = "2024"
publish = false

[profile.dev.package."*"]
opt-level = 1
"#
    .into()
}

fn types_manifest() -> String {
    r#"[package]
name = "synthetic-types"
version = "0.1.0"
edition.workspace = true
publish.workspace = true

[dependencies]
serde = { version = "1", features = ["derive"] }
serde_json = "1"
"#
    .into()
}

fn api_manifest(runtime: &Path) -> String {
    format!(
        r#"[package]
name = "synthetic-api"
version = "0.1.0"
edition.workspace = true
publish.workspace = true

[dependencies]
axum = {{ version = "0.8", default-features = false, features = ["http1", "tokio", "json", "query", "matched-path"] }}
hookstream-runtime = {{ path = "{}" }}
synthetic-types = {{ path = "../types" }}
serde = {{ version = "1", features = ["derive"] }}
serde_json = "1"
"#,
        runtime.display()
    )
}

fn client_manifest() -> String {
    r#"[package]
name = "synthetic-client"
version = "0.1.0"
edition.workspace = true
publish.workspace = true

[dependencies]
progenitor-client = "0.15"
reqwest = { version = "0.13", default-features = false, features = ["json"] }
synthetic-types = { path = "../types" }
serde = { version = "1", features = ["derive"] }
serde_json = "1"
"#
    .into()
}

impl Report {
    /// Renders the report as a Markdown table.
    pub fn render(&self, release: bool) -> String {
        let mut out = String::new();
        let profile = if release { "release" } else { "dev" };
        let _ = writeln!(
            out,
            "{} operations, {profile} profile; generated lines: types {}, server {}, client {}; \
             generation took {:.2} s; load average {} before, {} after",
            self.operations,
            self.lines[0],
            self.lines[1],
            self.lines[2],
            self.generate.as_secs_f64(),
            self.load.0,
            self.load.1,
        );
        out.push('\n');
        out.push_str("| build | wall time s |\n|---|---:|\n");
        let _ = writeln!(
            out,
            "| first build, dependencies included | {:.1} |",
            self.first_build.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "| all three generated crates | {:.1} |",
            self.all_three.as_secs_f64()
        );
        for (package, time) in PACKAGES.iter().zip(self.each) {
            let _ = writeln!(out, "| {package} alone | {:.1} |", time.as_secs_f64());
        }
        out
    }
}
