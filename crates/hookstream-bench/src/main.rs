//! `hookstream-bench`: load tests of the generated server against
//! hand-written baselines, and build times of generated crates.
//!
//! Run `cargo run --release -p hookstream-bench -- all` for the full suite
//! or `-- all --smoke` for a short check; `BENCHMARKS.md` lists every
//! command.

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use clap::{Args, Parser, Subcommand};
use hookstream_bench::load::{self, Plan, Target};
use hookstream_bench::{baseline, compile, suite, synthetic};
use hookstream_server::store::Store;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Benchmarks of the hookstream reference server and generator. Every
/// server it starts or loads listens on loopback only.
#[derive(Parser)]
#[command(name = "hookstream-bench")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the reference server (release build) and baseline (a) on
    /// loopback with new databases, load both at each concurrency level,
    /// run baseline (b), and print the comparison table.
    All(AllArgs),
    /// Load a server that is already running on loopback.
    Load(LoadArgs),
    /// Serve baseline (a), the hand-written axum handler. On a new
    /// database, print the seeded credentials as JSON on stdout first.
    BaselineServer(BaselineServerArgs),
    /// Run baseline (b) alone: the update transaction in a loop, no HTTP.
    Direct(DirectArgs),
    /// Time the build of the crates generated from a synthetic spec.
    CompileGenerated(CompileArgs),
    /// Print a synthetic spec as JSON.
    Spec {
        /// Operations in the spec.
        #[arg(long, default_value_t = 100)]
        operations: usize,
    },
}

#[derive(Args)]
struct AllArgs {
    /// Short run for CI: 1 s per level after 0.2 s of warm-up, one round.
    /// Overrides --duration, --warmup and --rounds.
    #[arg(long)]
    smoke: bool,
    /// Measured seconds per level.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Unmeasured seconds of warm-up before each measured phase.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Requests in flight, one connection each, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,8,64")]
    levels: Vec<usize>,
    /// Repetitions of every measurement; the table shows the median.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// The `hookstream-server` executable. By default it is built with
    /// `cargo build --release` and taken from this executable's folder.
    #[arg(long)]
    server_binary: Option<PathBuf>,
    /// RUST_LOG for the reference server; `info` is its default.
    #[arg(long, default_value = "info")]
    server_log: String,
    /// Folder for the temporary databases and server logs.
    #[arg(long, default_value_os_t = std::env::temp_dir())]
    work_dir: PathBuf,
    /// Exit with status 2 when a throughput, latency or memory target is
    /// missed. Errors always give status 1.
    #[arg(long)]
    enforce_targets: bool,
}

#[derive(Args)]
struct LoadArgs {
    /// Server address; must be a loopback address.
    #[arg(long)]
    address: SocketAddr,
    /// Connection id from the server's seed output.
    #[arg(long)]
    connection_id: String,
    /// API key from the server's seed output.
    #[arg(long)]
    api_key: String,
    /// Requests in flight, one connection each.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Unmeasured seconds of warm-up.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
}

#[derive(Args)]
struct BaselineServerArgs {
    /// Address and port to listen on; must be a loopback address.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// Path of the SQLite database file; created when missing.
    #[arg(long)]
    database: PathBuf,
}

#[derive(Args)]
struct DirectArgs {
    /// Path of a new SQLite database file (it is seeded first).
    #[arg(long)]
    database: PathBuf,
    /// Measured seconds.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Unmeasured seconds of warm-up.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
}

#[derive(Args)]
struct CompileArgs {
    /// Operations in the synthetic spec.
    #[arg(long, default_value_t = 100)]
    operations: usize,
    /// Folder for the temporary workspace and its target directory.
    #[arg(long, default_value_os_t = compile::default_directory())]
    dir: PathBuf,
    /// Build with the release profile instead of dev.
    #[arg(long)]
    release: bool,
    /// How many times to clean and rebuild the generated crates; the
    /// report shows the median.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
}

fn main() -> ExitCode {
    if let Some(log) = std::env::var_os(compile::RUSTC_LOG_ENV) {
        // `compile-generated` runs cargo with this executable as
        // RUSTC_WRAPPER: the first argument is the rustc to run.
        let arguments: Vec<OsString> = std::env::args_os().skip(1).collect();
        let Some((rustc, rest)) = arguments.split_first() else {
            eprintln!(
                "error: {} is set but no rustc command was given",
                compile::RUSTC_LOG_ENV
            );
            return ExitCode::FAILURE;
        };
        return match compile::rustc_wrapper(Path::new(&log), rustc, rest) {
            Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::FAILURE
            }
        };
    }
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::All(args) => all(args),
        Command::Load(args) => load_command(&args),
        Command::BaselineServer(args) => baseline_server(&args),
        Command::Direct(args) => direct(&args),
        Command::CompileGenerated(args) => {
            let options = compile::Options {
                operations: args.operations,
                directory: args.dir,
                release: args.release,
                repeat: args.repeat,
            };
            let report = compile::run(&options)?;
            print!("{}", report.render(options.release));
            Ok(ExitCode::SUCCESS)
        }
        Command::Spec { operations } => {
            if operations == 0 {
                bail!("--operations must be at least 1");
            }
            println!("{}", synthetic::spec(operations));
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn all(args: AllArgs) -> Result<ExitCode> {
    let (duration, warmup, rounds) = if args.smoke {
        (Duration::from_secs(1), Duration::from_millis(200), 1)
    } else {
        (
            measured_seconds(args.duration, "--duration")?,
            seconds(args.warmup, "--warmup")?,
            args.rounds,
        )
    };
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: hookstream-bench is a debug build; run it with `cargo run --release` for real figures"
        );
    }
    let bench_binary = std::env::current_exe().context("cannot find this executable")?;
    let server_binary = match args.server_binary {
        Some(path) => path,
        None => build_server(&bench_binary)?,
    };
    let options = suite::Options {
        levels: args.levels,
        warmup,
        duration,
        rounds,
        server_binary,
        bench_binary,
        server_log: args.server_log,
        work_dir: args.work_dir,
    };
    let report = suite::run(&options)?;
    print!("{}", report.render());
    if !report.error_free() {
        return Ok(ExitCode::FAILURE);
    }
    if args.enforce_targets && report.targets().iter().any(|(_, met)| !met) {
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// Builds `hookstream-server` with the release profile and returns its
/// path, which is in the same target folder as this executable.
fn build_server(bench_binary: &Path) -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = hookstream_bench::workspace_root().join("Cargo.toml");
    eprintln!("building hookstream-server (release)");
    let status = std::process::Command::new(cargo)
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "hookstream-server",
            "--bin",
            "hookstream-server",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .status()
        .context("cannot run cargo to build hookstream-server")?;
    if !status.success() {
        bail!("`cargo build --release -p hookstream-server` failed with {status}");
    }
    let folder = bench_binary
        .parent()
        .context("this executable has no parent folder")?;
    let server = folder.join("hookstream-server");
    if !server.is_file() {
        bail!(
            "{} does not exist after the build; run this command with `cargo run --release` or pass --server-binary",
            server.display()
        );
    }
    Ok(server)
}

fn load_command(args: &LoadArgs) -> Result<ExitCode> {
    require_loopback(args.address)?;
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1 request in flight");
    }
    let target = Target {
        address: args.address,
        path: format!("/v1/connections/{}", args.connection_id),
        api_key: args.api_key.clone(),
        body: Bytes::from_static(baseline::PATCH_BODY.as_bytes()),
    };
    let plan = Plan {
        concurrency: args.concurrency,
        warmup: seconds(args.warmup, "--warmup")?,
        duration: measured_seconds(args.duration, "--duration")?,
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let summary = runtime.block_on(load::run(&target, plan));
    println!(
        "{} requests, {:.0} req/s, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms, {} errors",
        summary.requests,
        summary.throughput,
        summary.p50.as_secs_f64() * 1000.0,
        summary.p99.as_secs_f64() * 1000.0,
        summary.max.as_secs_f64() * 1000.0,
        summary.errors
    );
    if let Some(error) = &summary.first_error {
        println!("first error: {error}");
    }
    Ok(if summary.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn baseline_server(args: &BaselineServerArgs) -> Result<ExitCode> {
    require_loopback(args.listen)?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let store = Store::open(&args.database)
        .with_context(|| format!("cannot open the database {}", args.database.display()))?;
    if store.run_blocking(|connection| hookstream_server::store::is_empty(connection))? {
        let seeded = store.run_blocking(hookstream_server::store::seed)?;
        println!("{}", serde_json::to_string(&seeded)?);
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        tracing::warn!(address = %args.listen, "baseline (a) server started");
        axum::serve(listener, baseline::router(store))
            .with_graceful_shutdown(hookstream_server::shutdown_signal())
            .await
            .context("the baseline server failed")
    })?;
    Ok(ExitCode::SUCCESS)
}

fn direct(args: &DirectArgs) -> Result<ExitCode> {
    let store = Store::open(&args.database)
        .with_context(|| format!("cannot open the database {}", args.database.display()))?;
    let seeded = store.run_blocking(hookstream_server::store::seed)?;
    let tenant = store
        .run_blocking(|connection| {
            hookstream_server::store::find_api_key(connection, &seeded.api_key)
        })?
        .context("the seeded API key was not found")?;
    let summary = baseline::update_loop(
        &store,
        &tenant,
        &seeded.connection_id,
        seconds(args.warmup, "--warmup")?,
        measured_seconds(args.duration, "--duration")?,
    );
    println!(
        "{} updates, {:.0} per second, p50 {:.3} ms, p99 {:.3} ms, {} errors",
        summary.requests,
        summary.throughput,
        summary.p50.as_secs_f64() * 1000.0,
        summary.p99.as_secs_f64() * 1000.0,
        summary.errors
    );
    Ok(if summary.errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Rejects any address off this machine: the benchmark loads only servers
/// it can see on loopback.
fn require_loopback(address: SocketAddr) -> Result<()> {
    if !address.ip().is_loopback() {
        bail!("{address} is not a loopback address; use 127.0.0.1 or [::1]");
    }
    Ok(())
}

/// Converts a measured time in seconds, which must be more than zero.
fn measured_seconds(value: f64, option: &str) -> Result<Duration> {
    let duration = seconds(value, option)?;
    if duration.is_zero() {
        bail!("{option} must be more than 0 seconds, because a 0 s load measures nothing");
    }
    Ok(duration)
}

fn seconds(value: f64, option: &str) -> Result<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        anyhow::anyhow!("{option} must be a non-negative number of seconds, not {value}")
    })
}
