//! Benchmarks of the hookstream reference server and of the generator.
//!
//! The `hookstream-bench` binary compares the generated server with two
//! baselines under HTTP load ([`suite`]), and times the build of the
//! generated crates for a synthetic spec ([`compile`]). `BENCHMARKS.md` at
//! the workspace root records the commands and the results.

pub mod baseline;
pub mod compile;
pub mod load;
pub mod process;
pub mod stats;
pub mod suite;
pub mod synthetic;

use std::path::{Path, PathBuf};

/// Returns the root of the workspace this crate was built in, two levels
/// above its manifest.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("this crate sits two levels below the workspace root")
        .to_path_buf()
}
