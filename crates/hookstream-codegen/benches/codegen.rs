//! Times `hookstream_codegen::generate` on synthetic specs of 1, 10, 100
//! and 1,000 operations, rustfmt subprocesses included.
//!
//! Run it with `cargo bench -p hookstream-codegen --bench codegen`. The
//! specs come from `crates/hookstream-bench/src/synthetic.rs`, which is
//! included by path so that this crate does not depend on the bench crate
//! (which depends on this one).

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use hookstream_codegen::Settings;
use std::hint::black_box;
use std::time::Duration;

#[path = "../../hookstream-bench/src/synthetic.rs"]
mod synthetic;

/// The spec sizes, in operations.
const SIZES: [usize; 4] = [1, 10, 100, 1_000];

fn settings() -> Settings {
    Settings {
        command: "cargo bench -p hookstream-codegen".into(),
        source: "a synthetic spec".into(),
        types_crate: "synthetic_types".into(),
        runtime_crate: "hookstream_runtime".into(),
        client_module: "crate".into(),
    }
}

fn generate(criterion: &mut Criterion) {
    let settings = settings();
    let mut group = criterion.benchmark_group("generate");
    // One call takes milliseconds to seconds, so each sample is a single
    // call and ten samples are enough to see the spread.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    for operations in SIZES {
        let spec = synthetic::spec(operations);
        group.throughput(Throughput::Elements(operations as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(operations),
            &spec,
            |bencher, spec| {
                bencher.iter(|| {
                    hookstream_codegen::generate(black_box(spec), &settings)
                        .expect("the synthetic spec generates")
                });
            },
        );
    }
    group.finish();
}

criterion_group!(benches, generate);
criterion_main!(benches);
