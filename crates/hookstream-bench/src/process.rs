//! Server processes under test: start on a loopback port with a new
//! database, read the seeded credentials, sample peak memory, stop.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to accept connections after it printed its
/// credentials.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// The part of the seed output (`hookstream_server::store::SeedOutput`)
/// that the load generator needs.
#[derive(Debug, Clone, Deserialize)]
pub struct Credentials {
    /// The connection to patch.
    pub connection_id: String,
    /// An API key for `X-API-Key`.
    pub api_key: String,
}

/// A server process that serves on a loopback port until it is stopped or
/// dropped.
#[derive(Debug)]
pub struct ServerProcess {
    /// A short name for reports, such as `generated`.
    pub name: String,
    /// The address the server listens on.
    pub address: SocketAddr,
    /// The credentials the server seeded into its new database.
    pub credentials: Credentials,
    /// The file that receives the server's stderr (its logs).
    pub log: PathBuf,
    child: Child,
    // Kept open so that the server never writes to a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

/// How to start one server: a program that accepts
/// `--listen ADDRESS --database PATH` after `arguments`, prints the seed
/// output as one JSON line on stdout for a new database, and logs to
/// stderr.
#[derive(Debug, Clone)]
pub struct ServerCommand {
    /// A short name for reports.
    pub name: String,
    /// The executable.
    pub program: PathBuf,
    /// Arguments before `--listen`, such as the `serve` subcommand.
    pub arguments: Vec<OsString>,
    /// Extra environment variables, such as `RUST_LOG`.
    pub environment: Vec<(String, String)>,
}

impl ServerProcess {
    /// Starts `command` on a free loopback port with a new database in
    /// `directory`, and waits until it accepts connections.
    pub fn start(command: &ServerCommand, directory: &Path) -> Result<Self> {
        let address = free_loopback_port()?;
        let database = directory.join(format!("{}.db", command.name));
        let log = directory.join(format!("{}.log", command.name));
        let log_file = std::fs::File::create(&log)
            .with_context(|| format!("cannot create the log file {}", log.display()))?;
        let mut child = Command::new(&command.program)
            .args(&command.arguments)
            .arg("--listen")
            .arg(address.to_string())
            .arg("--database")
            .arg(&database)
            .envs(
                command
                    .environment
                    .iter()
                    .map(|(name, value)| (name, value)),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot start {}", command.program.display()))?;
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let credentials = match read_credentials(&mut stdout, &command.name, &database) {
            Ok(credentials) => credentials,
            Err(error) => {
                // The server may still be running without having printed.
                let _ = child.kill();
                let _ = child.wait();
                return Err(error.context(format!(
                    "the {} server did not start; its log ends with:\n{}",
                    command.name,
                    log_tail(&log)
                )));
            }
        };
        let mut server = Self {
            name: command.name.clone(),
            address,
            credentials,
            log,
            child,
            _stdout: stdout,
        };
        if let Err(error) = server.wait_until_ready() {
            return Err(error.context(format!(
                "the {} server did not start; its log ends with:\n{}",
                server.name,
                server.log_tail()
            )));
        }
        Ok(server)
    }

    fn wait_until_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("the server exited with {status}");
            }
            if TcpStream::connect_timeout(&self.address, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "nothing accepted connections on {} within {READY_TIMEOUT:?}",
                    self.address
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Returns the process's peak resident set size in bytes (`VmHWM` of
    /// `/proc/PID/status`). Linux only.
    pub fn peak_rss_bytes(&self) -> Result<u64> {
        peak_rss_bytes(self.child.id())
    }

    /// Returns the process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Returns the last lines of the server's log.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log)
    }

    /// Stops the server with SIGKILL and waits for it. Its database is
    /// thrown away, so no graceful shutdown is needed.
    pub fn stop(mut self) -> Result<()> {
        self.kill()
    }

    fn kill(&mut self) -> Result<()> {
        if self.child.try_wait()?.is_none() {
            self.child.kill().context("cannot stop the server")?;
        }
        self.child.wait().context("cannot wait for the server")?;
        Ok(())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Err(error) = self.kill() {
            eprintln!(
                "warning: stopping the {} server (pid {}) failed: {error:#}",
                self.name,
                self.child.id()
            );
        }
    }
}

/// Reads the seed output that a server prints on a new database.
fn read_credentials(stdout: &mut impl BufRead, name: &str, database: &Path) -> Result<Credentials> {
    let mut line = String::new();
    let count = stdout
        .read_line(&mut line)
        .context("cannot read the server's stdout")?;
    if count == 0 {
        bail!(
            "the {name} server printed no credentials; is {} a new database?",
            database.display()
        );
    }
    serde_json::from_str(&line).with_context(|| {
        format!(
            "the {name} server printed `{}` instead of its seed output",
            line.trim()
        )
    })
}

/// Returns the last 20 lines of a log file, or nothing when it cannot be
/// read.
fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// Returns a loopback address with a port that was free a moment ago.
fn free_loopback_port() -> Result<SocketAddr> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("cannot bind a loopback port")?;
    Ok(listener.local_addr()?)
}

/// Returns `VmHWM` of a process in bytes.
pub fn peak_rss_bytes(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    parse_vm_hwm(&status).with_context(|| format!("{path} has no VmHWM line"))
}

fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let mut fields = line.split_whitespace().skip(1);
    let value: u64 = fields.next()?.parse().ok()?;
    match fields.next() {
        Some("kB") => Some(value * 1024),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_hwm_is_read_in_bytes() {
        let status = "Name:\tserver\nVmPeak:\t  900 kB\nVmHWM:\t   2048 kB\nVmRSS:\t 1024 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(2048 * 1024));
    }

    #[test]
    fn vm_hwm_missing_is_none() {
        assert_eq!(parse_vm_hwm("Name:\tkthread\n"), None);
    }

    #[test]
    fn own_peak_rss_is_positive() {
        let bytes = peak_rss_bytes(std::process::id()).expect("this process has a VmHWM");
        assert!(bytes > 0);
    }
}
