//! Throughput and latency percentiles of one measured phase.

use std::time::Duration;

/// Raw observations of one measured phase.
#[derive(Debug, Default)]
pub struct Sample {
    /// Latency of every successful request, in any order.
    pub latencies: Vec<Duration>,
    /// Failed requests.
    pub errors: u64,
    /// The description of the first failure, if any.
    pub first_error: Option<String>,
}

impl Sample {
    /// Summarises the sample of a phase that lasted `duration`.
    pub fn summarise(mut self, duration: Duration) -> Summary {
        self.latencies.sort_unstable();
        let requests = self.latencies.len() as u64;
        let seconds = duration.as_secs_f64();
        Summary {
            requests,
            errors: self.errors,
            throughput: if seconds > 0.0 {
                requests as f64 / seconds
            } else {
                0.0
            },
            p50: percentile(&self.latencies, 50.0),
            p99: percentile(&self.latencies, 99.0),
            max: self.latencies.last().copied().unwrap_or_default(),
            first_error: self.first_error,
        }
    }
}

/// Throughput and latency of one measured phase.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Successful requests.
    pub requests: u64,
    /// Failed requests.
    pub errors: u64,
    /// Successful requests per second.
    pub throughput: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th-percentile latency.
    pub p99: Duration,
    /// Highest latency.
    pub max: Duration,
    /// The description of the first failure, if any.
    pub first_error: Option<String>,
}

/// Returns the nearest-rank percentile of sorted values, or zero for none.
pub fn percentile(sorted: &[Duration], percent: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (percent / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Returns the median of a non-empty list of summaries, by throughput.
pub fn median_by_throughput(mut runs: Vec<Summary>) -> Option<Summary> {
    if runs.is_empty() {
        return None;
    }
    runs.sort_by(|a, b| a.throughput.total_cmp(&b.throughput));
    let middle = runs.len() / 2;
    Some(runs.swap_remove(middle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(values: &[u64]) -> Vec<Duration> {
        values
            .iter()
            .map(|&value| Duration::from_millis(value))
            .collect()
    }

    #[test]
    fn percentile_uses_nearest_rank() {
        let sorted = millis(&(1..=100).collect::<Vec<_>>());
        assert_eq!(percentile(&sorted, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&sorted, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&sorted, 100.0), Duration::from_millis(100));
    }

    #[test]
    fn percentile_of_one_value() {
        let sorted = millis(&[7]);
        assert_eq!(percentile(&sorted, 1.0), Duration::from_millis(7));
        assert_eq!(percentile(&sorted, 99.0), Duration::from_millis(7));
    }

    #[test]
    fn percentile_of_nothing_is_zero() {
        assert_eq!(percentile(&[], 99.0), Duration::ZERO);
    }

    #[test]
    fn summary_counts_and_rates() {
        let sample = Sample {
            latencies: millis(&[3, 1, 2, 4]),
            errors: 1,
            first_error: Some("status 500".into()),
        };
        let summary = sample.summarise(Duration::from_secs(2));
        assert_eq!(summary.requests, 4);
        assert_eq!(summary.errors, 1);
        assert!((summary.throughput - 2.0).abs() < 1e-9);
        assert_eq!(summary.p50, Duration::from_millis(2));
        assert_eq!(summary.max, Duration::from_millis(4));
    }

    #[test]
    fn median_picks_middle_throughput() {
        let runs: Vec<Summary> = [30.0, 10.0, 20.0]
            .into_iter()
            .map(|throughput| Summary {
                requests: 1,
                errors: 0,
                throughput,
                p50: Duration::ZERO,
                p99: Duration::ZERO,
                max: Duration::ZERO,
                first_error: None,
            })
            .collect();
        let median = median_by_throughput(runs).expect("three runs");
        assert!((median.throughput - 20.0).abs() < 1e-9);
    }
}
