//! `hookstream-server`: the reference server's command line.

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use hookstream_server::store::{self, Store};
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use tracing_subscriber::EnvFilter;

/// Reference server for the hookstream API, on an embedded SQLite database.
///
/// With no subcommand it serves. Logs go to stderr (filter them with
/// RUST_LOG, default `info`); seeded credentials go to stdout.
#[derive(Parser)]
#[command(
    name = "hookstream-server",
    version,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API under /v1. On a new database, first create a tenant
    /// and print its credentials as JSON on stdout.
    Serve(ServeArgs),
    /// Create a new tenant (organization, project, source, destination,
    /// connection, API key and session) and print it as JSON on stdout.
    Seed(DatabaseArgs),
}

#[derive(Args)]
struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "HOOKSTREAM_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    database: DatabaseArgs,
}

#[derive(Args)]
struct DatabaseArgs {
    /// Path of the SQLite database file; created when missing.
    #[arg(long, env = "HOOKSTREAM_DATABASE", default_value = "hookstream.db")]
    database: PathBuf,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    // A panic is an error the server handles (the request gets a 500 or,
    // in the JSONata parser, a 400), so it goes to the log as one line.
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("unnamed");
        if name == hookstream_server::transform::PARSER_THREAD {
            // A known limit of the parser, not a fault of the server: the
            // expression gets a 400, which the request's own log line records.
            tracing::warn!(thread = name, panic = %info, "the JSONata parser panicked; the expression is rejected as unsupported");
        } else {
            tracing::error!(thread = name, panic = %info, "a thread panicked");
        }
    }));
    match cli.command {
        Some(Command::Seed(args)) => seed(&args),
        Some(Command::Serve(args)) => serve(&args),
        None => serve(&cli.serve),
    }
}

fn open(args: &DatabaseArgs) -> Result<Store> {
    Store::open(&args.database)
        .with_context(|| format!("cannot open the database {}", args.database.display()))
}

fn seed(args: &DatabaseArgs) -> Result<()> {
    let store = open(args)?;
    let output = store
        .run_blocking(store::seed)
        .context("cannot seed the database")?;
    print_seed(&output)?;
    tracing::info!(database = %args.database.display(), org_id = %output.org_id, "created a tenant");
    Ok(())
}

fn print_seed(output: &store::SeedOutput) -> Result<()> {
    println!("{}", serde_json::to_string(output)?);
    Ok(())
}

fn serve(args: &ServeArgs) -> Result<()> {
    let store = open(&args.database)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        // Bind before seeding, so that a port in use leaves no new tenant
        // behind in the database.
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| {
                format!(
                    "cannot listen on {}; stop the process that uses it or choose another address with --listen",
                    args.listen
                )
            })?;
        if store.run_blocking(|connection| store::is_empty(connection))? {
            let output = store
                .run_blocking(store::seed)
                .context("cannot seed the new database")?;
            print_seed(&output)?;
            tracing::info!(org_id = %output.org_id, "new database: created a tenant, credentials printed on stdout");
        }
        let address = listener.local_addr()?;
        tracing::info!(%address, database = %args.database.database.display(), "hookstream-server started; API under http://{address}/v1");
        hookstream_server::serve(listener, store, hookstream_server::shutdown_signal()).await?;
        tracing::info!("hookstream-server stopped");
        Ok(())
    })
}
