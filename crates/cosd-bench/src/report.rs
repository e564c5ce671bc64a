//! What a run measured: per-client recorders merged into per-workload results, printed as a
//! table and written as JSON.

use crate::client::OpResult;
use crate::histogram::Histogram;
use crate::workload::{OpKind, MIB};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

/// One operation kind's tallies. Latencies are of successful operations, in microseconds.
#[derive(Default, Clone)]
pub struct OpStats {
    latency_us: Histogram,
    bytes: u64,
    errors: BTreeMap<String, u64>,
}

impl OpStats {
    fn merge(&mut self, other: &OpStats) {
        self.latency_us.merge(&other.latency_us);
        self.bytes += other.bytes;
        for (class, n) in &other.errors {
            *self.errors.entry(class.clone()).or_default() += n;
        }
    }

    fn summary(&self, elapsed: Duration) -> Summary {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let ms = |us: u64| us as f64 / 1000.0;
        let ops = self.latency_us.count();
        Summary {
            ops,
            errors: self.errors.values().sum(),
            errors_by_class: self.errors.clone(),
            ops_per_sec: ops as f64 / secs,
            mib_per_sec: self.bytes as f64 / MIB as f64 / secs,
            latency_ms: Latency {
                mean: self.latency_us.mean() / 1000.0,
                p50: ms(self.latency_us.quantile(0.50)),
                p90: ms(self.latency_us.quantile(0.90)),
                p99: ms(self.latency_us.quantile(0.99)),
                max: ms(self.latency_us.max()),
            },
        }
    }
}

/// One client's tallies, by operation kind; merged once the clients are done.
#[derive(Default)]
pub struct Recorder {
    by_op: BTreeMap<OpKind, OpStats>,
    /// The first failure seen, in full, so a run with errors says what went wrong.
    first_error: Option<String>,
}

impl Recorder {
    pub fn record(&mut self, op: OpKind, latency: Duration, result: &OpResult) {
        let stats = self.by_op.entry(op).or_default();
        match result {
            Ok(bytes) => {
                stats.latency_us.record(latency.as_micros() as u64);
                stats.bytes += bytes;
            }
            Err(e) => {
                *stats.errors.entry(e.class()).or_default() += 1;
                self.first_error
                    .get_or_insert_with(|| format!("{} : {e}", op.name()));
            }
        }
    }

    pub fn merge(&mut self, other: Recorder) {
        for (op, stats) in &other.by_op {
            self.by_op.entry(*op).or_default().merge(stats);
        }
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    /// The workload's result: all operations together, and each kind on its own.
    pub fn finish(self, mut head: WorkloadResult, elapsed: Duration) -> WorkloadResult {
        let mut total = OpStats::default();
        for stats in self.by_op.values() {
            total.merge(stats);
        }
        head.duration_secs = elapsed.as_secs_f64();
        head.total = Some(total.summary(elapsed));
        head.by_op = self
            .by_op
            .iter()
            .map(|(op, stats)| (op.name().to_string(), stats.summary(elapsed)))
            .collect();
        head.first_error = self.first_error;
        head
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Latency {
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    /// Successful operations.
    pub ops: u64,
    pub errors: u64,
    /// Errors keyed by HTTP status, `transport`, or `bad answer: …`.
    pub errors_by_class: BTreeMap<String, u64>,
    pub ops_per_sec: f64,
    /// Object (or listing) bytes moved by successful operations.
    pub mib_per_sec: f64,
    pub latency_ms: Latency,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct WorkloadResult {
    pub workload: String,
    pub object_size: u64,
    /// Objects or keys put before measuring.
    pub prefilled: u64,
    pub concurrency: usize,
    pub duration_secs: f64,
    /// Set when the target could not do the workload's setup (e.g. no CORS support); then
    /// nothing was measured.
    pub unsupported: Option<String>,
    pub first_error: Option<String>,
    pub total: Option<Summary>,
    pub by_op: BTreeMap<String, Summary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub tool: String,
    /// What the target is, e.g. `cosd` or `s3s-fs` (free text from `--label`).
    pub label: String,
    pub endpoint: String,
    pub signature: String,
    pub concurrency: usize,
    pub started_unix: u64,
    pub workloads: Vec<WorkloadResult>,
}

/// The run as a text table, one line per workload (and per operation kind for `mixed`).
pub fn table(run: &RunResult) -> String {
    let mut out = format!(
        "{} at {} ({}, {} clients)\n{:<18} {:>9} {:>10} {:>9} {:>8} {:>8} {:>8} {:>9} {:>7}\n",
        run.label,
        run.endpoint,
        run.signature,
        run.concurrency,
        "workload",
        "ops",
        "ops/s",
        "MiB/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "errors"
    );
    let row = |out: &mut String, name: &str, s: &Summary| {
        let _ = writeln!(
            out,
            "{:<18} {:>9} {:>10.1} {:>9.2} {:>8.3} {:>8.3} {:>8.3} {:>9.3} {:>7}",
            name,
            s.ops,
            s.ops_per_sec,
            s.mib_per_sec,
            s.latency_ms.p50,
            s.latency_ms.p90,
            s.latency_ms.p99,
            s.latency_ms.max,
            s.errors
        );
    };
    for w in &run.workloads {
        match (&w.unsupported, &w.total) {
            (Some(why), _) => {
                let _ = writeln!(out, "{:<18} unsupported: {why}", w.workload);
            }
            (None, Some(total)) => {
                row(&mut out, &w.workload, total);
                if w.by_op.len() > 1 {
                    for (op, s) in &w.by_op {
                        row(&mut out, &format!("  {op}"), s);
                    }
                }
                if let Some(e) = &w.first_error {
                    let _ = writeln!(out, "{:<18} first error: {e}", "");
                }
            }
            (None, None) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::OpError;
    use http::StatusCode;

    #[test]
    fn recorders_merge_into_a_workload_result() {
        let mut a = Recorder::default();
        let mut b = Recorder::default();
        for i in 0..90 {
            a.record(OpKind::Get, Duration::from_micros(1000 + i), &Ok(MIB));
        }
        for _ in 0..10 {
            b.record(OpKind::Put, Duration::from_millis(5), &Ok(MIB));
        }
        b.record(
            OpKind::Get,
            Duration::from_millis(1),
            &Err(OpError::Status(StatusCode::NOT_FOUND)),
        );
        b.record(
            OpKind::Get,
            Duration::from_millis(1),
            &Err(OpError::Transport("reset".into())),
        );
        a.merge(b);
        let result = a.finish(
            WorkloadResult {
                workload: "mixed".into(),
                ..Default::default()
            },
            Duration::from_secs(2),
        );
        let total = result.total.as_ref().unwrap();
        assert_eq!((total.ops, total.errors), (100, 2));
        assert_eq!(total.ops_per_sec, 50.0);
        assert_eq!(total.mib_per_sec, 50.0);
        assert_eq!(total.errors_by_class["404"], 1);
        assert_eq!(total.errors_by_class["transport"], 1);
        assert_eq!(total.latency_ms.max, 5.0);
        assert_eq!(result.by_op["PUT"].ops, 10);
        assert_eq!(result.by_op["GET"].ops, 90);
        assert_eq!(result.by_op["GET"].errors, 2);
        assert!(result.first_error.as_deref().unwrap().contains("404"));

        let run = RunResult {
            tool: "cosd-bench".into(),
            label: "cosd".into(),
            endpoint: "http://127.0.0.1:9000".into(),
            signature: "sigv4".into(),
            concurrency: 4,
            started_unix: 0,
            workloads: vec![result],
        };
        let text = table(&run);
        assert!(text.contains("mixed"));
        assert!(text.contains("  GET"));
        let json = serde_json::to_value(&run).unwrap();
        assert_eq!(json["workloads"][0]["total"]["ops"], 100);
        assert_eq!(
            json["workloads"][0]["by_op"]["PUT"]["latency_ms"]["p50"],
            5.0
        );
    }
}
