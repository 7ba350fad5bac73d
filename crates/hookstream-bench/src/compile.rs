//! The `compile-generated` command: how long the generated crates of a
//! synthetic spec take to build.
//!
//! It writes a separate Cargo workspace that holds copies of
//! `hookstream-types`, `hookstream-api` and `hookstream-client` (manifest,
//! `lib.rs` and the rest) whose `generated.rs` files come from
//! [`hookstream_codegen::generate`] on [`crate::synthetic::spec`]. Its
//! root manifest is the main one with the members rewritten, and the main
//! `Cargo.lock` is copied, so dependencies and versions match. It builds
//! into its own target directory, so it never waits for the main
//! workspace's build lock. The
//! first build compiles the dependencies and is reported separately. Then
//! the three generated crates are cleaned and built again, together and
//! one at a time, and those builds are timed.

use crate::{synthetic, workspace_root};
use anyhow::{Context, Result, bail};
use hookstream_codegen::Settings;
use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The generated crates, copied into the temporary workspace, in build
/// order.
const PACKAGES: [&str; 3] = ["hookstream-types", "hookstream-api", "hookstream-client"];

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
    /// How many times the timed build runs; the report shows the median.
    pub repeat: usize,
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
    /// The first build, which compiles the dependencies unless an earlier
    /// run left them in the target directory.
    pub first_build: Duration,
    /// Wall time to build the three generated crates, dependencies already
    /// built (median of the repetitions).
    pub all_three: Duration,
    /// Wall time of each generated crate's rustc process within that build,
    /// in [`PACKAGES`] order (median of the repetitions). `hookstream-api`
    /// and `hookstream-client` compile at the same time after
    /// `hookstream-types`, so these overlap.
    pub rustc: [Duration; 3],
    /// How many times the timed build ran.
    pub repeat: usize,
    /// `/proc/loadavg` before and after the timed builds.
    pub load: (String, String),
}

/// Generates the crates and times their builds.
pub fn run(options: &Options) -> Result<Report> {
    if options.repeat == 0 {
        bail!("--repeat must be at least 1");
    }
    let spec = synthetic::spec(options.operations);
    let settings = Settings {
        command: "cargo run -p hookstream-bench -- compile-generated".into(),
        source: format!("a synthetic spec of {} operations", options.operations),
        // The same crate paths as `cargo xtask codegen` uses.
        types_crate: "hookstream_types".into(),
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
    let cargo = Cargo {
        manifest: workspace.join("Cargo.toml"),
        target_dir: options.directory.join("target"),
        rustc_log: options.directory.join("rustc-times.tsv"),
        release: options.release,
    };
    eprintln!("building {} (dependencies first)", workspace.display());
    let first_build = cargo.build()?;
    let load_before = crate::suite::load_average();
    let mut walls = Vec::new();
    let mut rustc_times: [Vec<Duration>; 3] = Default::default();
    for round in 0..options.repeat {
        eprintln!("timed build {}/{}", round + 1, options.repeat);
        cargo.clean_generated()?;
        std::fs::write(&cargo.rustc_log, "")
            .with_context(|| format!("cannot clear {}", cargo.rustc_log.display()))?;
        walls.push(cargo.build()?);
        let logged = read_rustc_log(&cargo.rustc_log)?;
        for (index, package) in PACKAGES.iter().enumerate() {
            let crate_name = package.replace('-', "_");
            let time = logged
                .iter()
                .find(|(name, _)| *name == crate_name)
                .map(|(_, time)| *time)
                .with_context(|| format!("the build did not compile {package}"))?;
            rustc_times[index].push(time);
        }
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
        all_three: median(walls),
        rustc: rustc_times.map(median),
        repeat: options.repeat,
        load: (load_before, crate::suite::load_average()),
    })
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort_unstable();
    values[values.len() / 2]
}

/// The environment variable that names the log file of
/// [`rustc_wrapper`]. While it is set, `hookstream-bench` runs as a
/// `RUSTC_WRAPPER`.
pub const RUSTC_LOG_ENV: &str = "HOOKSTREAM_BENCH_RUSTC_LOG";

/// Runs `rustc ARGUMENTS` as cargo's `RUSTC_WRAPPER` would, appends
/// `CRATE_NAME<TAB>SECONDS` to `log` for each compilation that has a
/// `--crate-name`, and returns rustc's exit code.
pub fn rustc_wrapper(log: &Path, rustc: &OsStr, arguments: &[OsString]) -> Result<i32> {
    let started = Instant::now();
    let status = Command::new(rustc)
        .args(arguments)
        .status()
        .with_context(|| format!("cannot run {}", rustc.to_string_lossy()))?;
    let elapsed = started.elapsed();
    let crate_name = arguments
        .iter()
        .position(|argument| argument == "--crate-name")
        .and_then(|index| arguments.get(index + 1));
    if let Some(name) = crate_name {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("cannot open {}", log.display()))?;
        // One short write per line, so lines of parallel rustc processes
        // do not interleave in an O_APPEND file.
        let line = format!("{}\t{}\n", name.to_string_lossy(), elapsed.as_secs_f64());
        file.write_all(line.as_bytes())
            .with_context(|| format!("cannot write {}", log.display()))?;
    }
    Ok(status.code().unwrap_or(1))
}

fn read_rustc_log(path: &Path) -> Result<Vec<(String, Duration)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    text.lines()
        .map(|line| {
            let (name, seconds) = line
                .split_once('\t')
                .with_context(|| format!("malformed line `{line}` in {}", path.display()))?;
            let seconds: f64 = seconds
                .parse()
                .with_context(|| format!("malformed time in `{line}`"))?;
            Ok((name.to_string(), Duration::from_secs_f64(seconds)))
        })
        .collect()
}

struct Cargo {
    manifest: PathBuf,
    target_dir: PathBuf,
    rustc_log: PathBuf,
    release: bool,
}

impl Cargo {
    fn command(&self, arguments: &[&str]) -> Result<Command> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let wrapper = std::env::current_exe().context("cannot find this executable")?;
        let mut command = Command::new(cargo);
        command
            .args(arguments)
            .arg("--manifest-path")
            .arg(&self.manifest)
            .env("CARGO_TARGET_DIR", &self.target_dir)
            .env("CARGO_TERM_COLOR", "never")
            // Every build runs under the wrapper, so that cargo's
            // fingerprints stay the same from one build to the next.
            .env("RUSTC_WRAPPER", wrapper)
            .env(RUSTC_LOG_ENV, &self.rustc_log);
        if self.release {
            command.arg("--release");
        }
        Ok(command)
    }

    /// Runs `cargo build` and returns its wall time.
    fn build(&self) -> Result<Duration> {
        let mut command = self.command(&["build"])?;
        let started = Instant::now();
        let output = command.output().context("cannot run cargo")?;
        let elapsed = started.elapsed();
        if !output.status.success() {
            bail!(
                "`cargo build` failed for {}:\n{}",
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
        let output = self
            .command(&arguments)?
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

/// Writes the temporary workspace: copies of the three generated crates of
/// the main workspace, with the synthetic `generated.rs` files.
fn write_workspace(root: &Path, [types, server, client]: [&str; 3]) -> Result<()> {
    let main = workspace_root();
    let manifest = main.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    write(&root.join("Cargo.toml"), &workspace_manifest(&text, &main)?)?;
    for (package, generated) in PACKAGES.iter().zip([types, server, client]) {
        let source = main.join("crates").join(package);
        let destination = root.join("crates").join(package);
        copy_tree(&source, &destination)?;
        write(&destination.join("src/generated.rs"), generated)?;
    }
    let lock = main.join("Cargo.lock");
    std::fs::copy(&lock, root.join("Cargo.lock"))
        .with_context(|| format!("cannot copy {}", lock.display()))?;
    Ok(())
}

/// Returns the main workspace manifest rewritten for the temporary
/// workspace: its members are the three copied crates, and every other
/// `crates/...` path dependency points back into the main workspace.
fn workspace_manifest(text: &str, main: &Path) -> Result<String> {
    let mut lines = Vec::new();
    let mut members_found = false;
    for line in text.lines() {
        let key = line.split('=').next().unwrap_or("").trim();
        if key == "members" {
            members_found = true;
            lines.push("members = [\"crates/*\"]".to_string());
        } else if key == "default-members" {
            // Every member is built.
        } else {
            lines.push(repoint_path(line, main));
        }
    }
    if !members_found {
        bail!("the workspace manifest has no `members = [...]` line to rewrite");
    }
    Ok(format!(
        "# Written by `hookstream-bench compile-generated` from the main workspace's\n\
         # Cargo.toml; safe to delete.\n{}\n",
        lines.join("\n")
    ))
}

/// Rewrites `path = "crates/NAME"` to the main workspace's folder unless
/// NAME is one of the copied [`PACKAGES`].
fn repoint_path(line: &str, main: &Path) -> String {
    let Some(start) = line.find("path = \"crates/") else {
        return line.to_string();
    };
    let value_start = start + "path = \"".len();
    let Some(length) = line[value_start..].find('"') else {
        return line.to_string();
    };
    let relative = &line[value_start..value_start + length];
    let name = relative.trim_start_matches("crates/");
    if PACKAGES.contains(&name) {
        return line.to_string();
    }
    let absolute = main.join(relative);
    format!(
        "{}{}{}",
        &line[..value_start],
        absolute.display(),
        &line[value_start + length..]
    )
}

/// Copies a crate folder (sources, tests, manifest) without `target/`.
fn copy_tree(source: &Path, destination: &Path) -> Result<()> {
    let entries =
        std::fs::read_dir(source).with_context(|| format!("cannot read {}", source.display()))?;
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let target = destination.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            if entry.file_name() != "target" {
                copy_tree(&path, &target)?;
            }
        } else {
            let contents =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            write_bytes(&target, &contents)?;
        }
    }
    Ok(())
}

fn write(path: &Path, contents: &str) -> Result<()> {
    write_bytes(path, contents.as_bytes())
}

fn write_bytes(path: &Path, contents: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    // An unchanged file keeps its modification time, so cargo's own
    // freshness check is not disturbed between runs.
    if std::fs::read(path).is_ok_and(|current| current == contents) {
        return Ok(());
    }
    std::fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()))
}

impl Report {
    /// Renders the report as a Markdown table.
    pub fn render(&self, release: bool) -> String {
        let mut out = String::new();
        let profile = if release { "release" } else { "dev" };
        let _ = writeln!(
            out,
            "{} operations, {profile} profile; generated lines: types {}, server {}, client {}; \
             generation took {:.2} s; median of {} timed build(s); load average {} before, {} after",
            self.operations,
            self.lines[0],
            self.lines[1],
            self.lines[2],
            self.generate.as_secs_f64(),
            self.repeat,
            self.load.0,
            self.load.1,
        );
        out.push('\n');
        out.push_str("| build | wall time s |\n|---|---:|\n");
        let _ = writeln!(
            out,
            "| first build (dependencies, unless already built) | {:.1} |",
            self.first_build.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "| the three generated crates, dependencies built | {:.1} |",
            self.all_three.as_secs_f64()
        );
        for (package, time) in PACKAGES.iter().zip(self.rustc) {
            let _ = writeln!(
                out,
                "| rustc of {package} within that build | {:.1} |",
                time.as_secs_f64()
            );
        }
        out
    }
}
