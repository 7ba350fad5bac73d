//! The `all` command: the generated server, baseline (a) and baseline (b)
//! in one run, and the table that compares them.

use crate::baseline;
use crate::load::{self, Plan, Target};
use crate::process::{ServerCommand, ServerProcess};
use crate::stats::{Summary, median_by_throughput};
use anyhow::{Context, Result, bail};
use bytes::Bytes;
use hookstream_server::store::{self, Store};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Targets from the benchmark issue, checked in the report.
pub const MIN_THROUGHPUT_RATIO: f64 = 0.9;
/// The highest allowed p99 latency of the generated server over baseline (a).
pub const MAX_P99_RATIO: f64 = 1.2;
/// The highest allowed peak resident set size of the generated server.
pub const MAX_PEAK_RSS_BYTES: u64 = 64 * 1024 * 1024;

/// Settings of one `all` run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Requests in flight for each load level.
    pub levels: Vec<usize>,
    /// Unmeasured time before each measured phase.
    pub warmup: Duration,
    /// Length of each measured phase.
    pub duration: Duration,
    /// How many times each measurement is repeated; the report shows the
    /// run with the median throughput.
    pub rounds: usize,
    /// The `hookstream-server` executable (the generated server).
    pub server_binary: PathBuf,
    /// This executable, which serves baseline (a) with `baseline-server`.
    pub bench_binary: PathBuf,
    /// `RUST_LOG` for the generated server.
    pub server_log: String,
    /// Where the temporary databases and logs go.
    pub work_dir: PathBuf,
}

/// The measurements of one `all` run.
#[derive(Debug)]
pub struct Report {
    /// The settings the run used.
    pub options: Options,
    /// Per load level: the generated server and baseline (a).
    pub levels: Vec<LevelResult>,
    /// Baseline (b), direct calls without HTTP.
    pub direct: Summary,
    /// Peak RSS of the generated server, in bytes.
    pub generated_peak_rss: u64,
    /// Peak RSS of baseline (a), in bytes.
    pub baseline_peak_rss: u64,
    /// `/proc/loadavg` before the run.
    pub load_before: String,
    /// `/proc/loadavg` after the run.
    pub load_after: String,
}

/// The generated server and baseline (a) at one load level.
#[derive(Debug)]
pub struct LevelResult {
    /// Requests in flight.
    pub concurrency: usize,
    /// The generated server (median round).
    pub generated: Summary,
    /// Baseline (a) (median round).
    pub baseline: Summary,
    /// The throughput and p99 ratios, generated over baseline (a), of each
    /// round in turn, to show how much they vary between rounds.
    pub round_ratios: Vec<(f64, f64)>,
}

/// Runs every measurement of the suite.
pub fn run(options: &Options) -> Result<Report> {
    if options.levels.is_empty() || options.rounds == 0 {
        bail!("the run needs at least one load level and one round");
    }
    if options.levels.contains(&0) {
        bail!("every load level must be at least 1 request in flight; remove 0 from --levels");
    }
    std::fs::create_dir_all(&options.work_dir)
        .with_context(|| format!("cannot create {}", options.work_dir.display()))?;
    let directory = tempfile::Builder::new()
        .prefix("hookstream-bench-")
        .tempdir_in(&options.work_dir)
        .with_context(|| {
            format!(
                "cannot create a directory in {}",
                options.work_dir.display()
            )
        })?;
    let load_before = load_average();
    let generated = ServerProcess::start(
        &ServerCommand {
            name: "generated".into(),
            program: options.server_binary.clone(),
            arguments: vec!["serve".into()],
            environment: vec![("RUST_LOG".into(), options.server_log.clone())],
        },
        directory.path(),
    )?;
    let baseline = ServerProcess::start(
        &ServerCommand {
            name: "baseline-a".into(),
            program: options.bench_binary.clone(),
            arguments: vec!["baseline-server".into()],
            environment: vec![("RUST_LOG".into(), "warn".into())],
        },
        directory.path(),
    )?;
    eprintln!(
        "generated server pid {} on {}, baseline (a) pid {} on {}; databases and logs in {}",
        generated.pid(),
        generated.address,
        baseline.pid(),
        baseline.address,
        directory.path().display()
    );
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let levels = runtime.block_on(load_levels(options, &generated, &baseline));
    let generated_peak_rss = generated.peak_rss_bytes()?;
    let baseline_peak_rss = baseline.peak_rss_bytes()?;
    generated.stop()?;
    baseline.stop()?;
    let direct = run_direct(options, directory.path())?;
    Ok(Report {
        options: options.clone(),
        levels,
        direct,
        generated_peak_rss,
        baseline_peak_rss,
        load_before,
        load_after: load_average(),
    })
}

/// Loads both servers at every level. Within a round the two servers
/// alternate which goes first, so a drift in machine load hits both.
async fn load_levels(
    options: &Options,
    generated: &ServerProcess,
    baseline: &ServerProcess,
) -> Vec<LevelResult> {
    let targets = [target(generated), target(baseline)];
    let mut runs: Vec<[Vec<Summary>; 2]> = options
        .levels
        .iter()
        .map(|_| [Vec::new(), Vec::new()])
        .collect();
    for round in 0..options.rounds {
        for (level_index, &concurrency) in options.levels.iter().enumerate() {
            let order: [usize; 2] = if (round + level_index) % 2 == 0 {
                [0, 1]
            } else {
                [1, 0]
            };
            for server in order {
                let plan = Plan {
                    concurrency,
                    warmup: options.warmup,
                    duration: options.duration,
                };
                let name = if server == 0 {
                    "generated"
                } else {
                    "baseline (a)"
                };
                eprintln!(
                    "round {}/{}: {name} at concurrency {concurrency}",
                    round + 1,
                    options.rounds
                );
                runs[level_index][server].push(load::run(&targets[server], plan).await);
            }
        }
    }
    options
        .levels
        .iter()
        .zip(runs)
        .map(|(&concurrency, [generated, baseline])| {
            let round_ratios = generated
                .iter()
                .zip(&baseline)
                .map(|(generated, baseline)| {
                    (
                        ratio(generated.throughput, baseline.throughput),
                        duration_ratio(generated.p99, baseline.p99),
                    )
                })
                .collect();
            LevelResult {
                concurrency,
                generated: median_by_throughput(generated).expect("at least one round"),
                baseline: median_by_throughput(baseline).expect("at least one round"),
                round_ratios,
            }
        })
        .collect()
}

fn target(server: &ServerProcess) -> Target {
    Target {
        address: server.address,
        path: format!("/v1/connections/{}", server.credentials.connection_id),
        api_key: server.credentials.api_key.clone(),
        body: Bytes::from_static(baseline::PATCH_BODY.as_bytes()),
    }
}

/// Runs baseline (b) on its own new database, once per round.
fn run_direct(options: &Options, directory: &Path) -> Result<Summary> {
    let database = directory.join("baseline-b.db");
    let store =
        Store::open(&database).with_context(|| format!("cannot open {}", database.display()))?;
    let seeded = store
        .run_blocking(store::seed)
        .context("cannot seed the baseline (b) database")?;
    let tenant = store
        .run_blocking(|connection| store::find_api_key(connection, &seeded.api_key))?
        .context("the seeded API key was not found")?;
    let mut runs = Vec::new();
    for round in 0..options.rounds {
        eprintln!(
            "round {}/{}: baseline (b), direct store calls",
            round + 1,
            options.rounds
        );
        runs.push(baseline::update_loop(
            &store,
            &tenant,
            &seeded.connection_id,
            options.warmup,
            options.duration,
        ));
    }
    Ok(median_by_throughput(runs).expect("at least one round"))
}

/// Returns the first three fields of `/proc/loadavg`, or `unknown`.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

impl Report {
    /// Returns true when no request failed in any phase.
    pub fn error_free(&self) -> bool {
        self.total_errors() == 0
    }

    fn total_errors(&self) -> u64 {
        let servers: u64 = self
            .levels
            .iter()
            .map(|level| level.generated.errors + level.baseline.errors)
            .sum();
        servers + self.direct.errors
    }

    /// Returns the targets and whether each was met.
    pub fn targets(&self) -> Vec<(String, bool)> {
        let worst_throughput = self
            .levels
            .iter()
            .map(|level| {
                (
                    level.concurrency,
                    ratio(level.generated.throughput, level.baseline.throughput),
                )
            })
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let worst_p99 = self
            .levels
            .iter()
            .map(|level| {
                (
                    level.concurrency,
                    duration_ratio(level.generated.p99, level.baseline.p99),
                )
            })
            .max_by(|a, b| a.1.total_cmp(&b.1));
        let mut targets = Vec::new();
        if let Some((concurrency, value)) = worst_throughput {
            targets.push((
                format!("throughput generated/(a) >= {MIN_THROUGHPUT_RATIO}: lowest {value:.2} at concurrency {concurrency}"),
                value >= MIN_THROUGHPUT_RATIO,
            ));
        }
        if let Some((concurrency, value)) = worst_p99 {
            targets.push((
                format!("p99 generated/(a) <= {MAX_P99_RATIO}: highest {value:.2} at concurrency {concurrency}"),
                value <= MAX_P99_RATIO,
            ));
        }
        targets.push((
            format!(
                "peak RSS of the generated server <= {} MiB: {:.1} MiB",
                MAX_PEAK_RSS_BYTES / (1024 * 1024),
                mebibytes(self.generated_peak_rss)
            ),
            self.generated_peak_rss <= MAX_PEAK_RSS_BYTES,
        ));
        targets.push((
            format!("zero errors: {} errors", self.total_errors()),
            self.error_free(),
        ));
        targets
    }

    /// Renders the report as Markdown tables.
    pub fn render(&self) -> String {
        let options = &self.options;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} s measured per level after {} s of warm-up, {} round(s), median round shown; \
             generated server RUST_LOG={}; load average {} before, {} after",
            options.duration.as_secs_f64(),
            options.warmup.as_secs_f64(),
            options.rounds,
            options.server_log,
            self.load_before,
            self.load_after,
        );
        out.push('\n');
        out.push_str("| concurrency | server | req/s | p50 ms | p99 ms | max ms | errors |\n");
        out.push_str("|---:|---|---:|---:|---:|---:|---:|\n");
        for level in &self.levels {
            row(
                &mut out,
                &level.concurrency.to_string(),
                "generated",
                &level.generated,
            );
            row(
                &mut out,
                &level.concurrency.to_string(),
                "baseline (a) axum",
                &level.baseline,
            );
        }
        row(&mut out, "1 (no HTTP)", "baseline (b) direct", &self.direct);
        out.push('\n');
        out.push_str(
            "| concurrency | req/s generated/(a) | p99 generated/(a) | req/s generated/(b) |\n",
        );
        out.push_str("|---:|---:|---:|---:|\n");
        for level in &self.levels {
            let _ = writeln!(
                out,
                "| {} | {:.2} | {:.2} | {:.2} |",
                level.concurrency,
                ratio(level.generated.throughput, level.baseline.throughput),
                duration_ratio(level.generated.p99, level.baseline.p99),
                ratio(level.generated.throughput, self.direct.throughput),
            );
        }
        out.push('\n');
        out.push_str("Ratios generated/(a) in each round, in order:\n\n");
        out.push_str("| concurrency | req/s | p99 |\n");
        out.push_str("|---:|---|---|\n");
        for level in &self.levels {
            let list = |pick: fn(&(f64, f64)) -> f64| {
                level
                    .round_ratios
                    .iter()
                    .map(|pair| format!("{:.2}", pick(pair)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                level.concurrency,
                list(|pair| pair.0),
                list(|pair| pair.1),
            );
        }
        out.push('\n');
        let _ = writeln!(
            out,
            "Peak RSS (VmHWM): generated server {:.1} MiB, baseline (a) {:.1} MiB",
            mebibytes(self.generated_peak_rss),
            mebibytes(self.baseline_peak_rss),
        );
        out.push('\n');
        out.push_str("Targets:\n");
        for (description, met) in self.targets() {
            let _ = writeln!(
                out,
                "- [{}] {description}",
                if met { "met" } else { "MISSED" }
            );
        }
        let mut first_errors = self
            .levels
            .iter()
            .flat_map(|level| {
                [
                    ("generated", level.concurrency, &level.generated),
                    ("baseline (a)", level.concurrency, &level.baseline),
                ]
            })
            .filter_map(|(name, concurrency, summary)| {
                summary
                    .first_error
                    .as_ref()
                    .map(|error| format!("{name} at concurrency {concurrency}: {error}"))
            })
            .collect::<Vec<_>>();
        if let Some(error) = &self.direct.first_error {
            first_errors.push(format!("baseline (b): {error}"));
        }
        if !first_errors.is_empty() {
            out.push_str("\nFirst error of each failing phase:\n");
            for line in first_errors {
                let _ = writeln!(out, "- {line}");
            }
        }
        out
    }
}

fn row(out: &mut String, concurrency: &str, server: &str, summary: &Summary) {
    let _ = writeln!(
        out,
        "| {concurrency} | {server} | {:.0} | {:.3} | {:.3} | {:.3} | {} |",
        summary.throughput,
        milliseconds(summary.p50),
        milliseconds(summary.p99),
        milliseconds(summary.max),
        summary.errors,
    );
}

fn milliseconds(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn mebibytes(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Returns `numerator / denominator`, or NaN when the denominator is zero.
fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator > 0.0 {
        numerator / denominator
    } else {
        f64::NAN
    }
}

fn duration_ratio(numerator: Duration, denominator: Duration) -> f64 {
    ratio(numerator.as_secs_f64(), denominator.as_secs_f64())
}
