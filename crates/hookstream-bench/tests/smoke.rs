//! A short run of the whole benchmark suite, so that `cargo test` catches a
//! broken benchmark. It checks that every phase runs without a failed
//! request. It checks no speed figure, because a debug build under test
//! load is no measure of speed.

use std::path::PathBuf;
use std::process::Command;

/// Returns the debug `hookstream-server` that `cargo test` builds for the
/// server crate's own process tests, beside this package's binary.
fn server_binary() -> PathBuf {
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_hookstream-bench"));
    let server = bench
        .parent()
        .expect("the binary has a parent folder")
        .join(format!("hookstream-server{}", std::env::consts::EXE_SUFFIX));
    assert!(
        server.is_file(),
        "{} is missing; run `cargo test --workspace`, which builds it",
        server.display()
    );
    server
}

#[test]
fn smoke_run_has_no_errors() {
    let work_dir = tempfile::tempdir().expect("create a temporary directory");
    let output = Command::new(env!("CARGO_BIN_EXE_hookstream-bench"))
        .args(["all", "--smoke", "--levels", "1,8", "--server-binary"])
        .arg(server_binary())
        .arg("--work-dir")
        .arg(work_dir.path())
        .output()
        .expect("run hookstream-bench");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "hookstream-bench failed with {}:\n{report}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("| 8 | generated |"), "{report}");
    assert!(report.contains("baseline (b) direct"), "{report}");
    assert!(report.contains("[met] zero errors: 0 errors"), "{report}");
}
