//! Settings that would measure nothing are rejected before any load runs.

use std::process::Command;

/// Runs `hookstream-bench` with `arguments` and returns its exit code and
/// stderr.
fn run(arguments: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_hookstream-bench"))
        .args(arguments)
        .output()
        .expect("run hookstream-bench");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The options of `load` that name a loopback address nothing listens on:
/// each case below must fail before it connects.
const LOAD: &[&str] = &[
    "load",
    "--address",
    "127.0.0.1:9",
    "--connection-id",
    "c",
    "--api-key",
    "k",
];

#[test]
fn zero_settings_are_rejected() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--duration", "0"],
            "--duration must be more than 0 seconds",
        ),
        (&["--concurrency", "0"], "--concurrency must be at least 1"),
    ];
    for (extra, expected) in cases {
        let arguments: Vec<&str> = LOAD.iter().chain(extra.iter()).copied().collect();
        let (code, stderr) = run(&arguments);
        assert_eq!(code, Some(1), "{extra:?} exits with status 1: {stderr}");
        assert!(stderr.contains(expected), "{extra:?} explains: {stderr}");
    }

    let (code, stderr) = run(&["all", "--levels", "0,1", "--server-binary", "/nonexistent"]);
    assert_eq!(code, Some(1), "--levels 0 exits with status 1: {stderr}");
    assert!(
        stderr.contains("remove 0 from --levels"),
        "--levels 0 explains: {stderr}"
    );
}
