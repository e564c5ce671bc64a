//! Runs the workloads: setup (bucket, pre-filled objects, CORS rule), then N clients in a
//! bounded loop, then the merged result.

use crate::client::{Client, OpResult, Target};
use crate::config::Config;
use crate::report::{Recorder, RunResult, WorkloadResult};
use crate::workload::{pick_mixed, OpKind, Rng, Workload, MIB};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// How long a workload's setup (its pre-fill) may take before the workload is abandoned.
const SETUP_TIMEOUT: Duration = Duration::from_secs(600);
/// Keys per LIST page (S3's and COS's maximum).
const LIST_PAGE: u64 = 1000;

/// Runs every configured workload against the endpoint, one after the other.
pub async fn run(config: &Config, label: &str) -> Result<RunResult, String> {
    config.validate()?;
    let addr = config.endpoint.resolve().await?;
    let target = Arc::new(Target {
        addr,
        endpoint: config.endpoint.clone(),
        signature: config.signature,
        secret_id: config.secret_id.clone(),
        secret_key: config.secret_key.clone(),
        region: config.region.clone(),
        bucket: config.bucket.clone(),
    });
    Client::new(target.clone())
        .create_bucket()
        .await
        .map_err(|e| format!("cannot create bucket {}: {e}", config.bucket))?;
    let started_unix = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut workloads = Vec::new();
    for &workload in &config.workloads {
        workloads.push(run_workload(config, &target, workload).await);
    }
    Ok(RunResult {
        tool: format!("cosd-bench {}", env!("CARGO_PKG_VERSION")),
        label: label.to_string(),
        endpoint: format!("http://{}", config.endpoint.authority),
        signature: config.signature.name().to_string(),
        concurrency: config.concurrency,
        started_unix,
        workloads,
    })
}

fn object_key(workload: Workload, index: u64) -> String {
    format!("{workload}/{index:010}")
}

async fn run_workload(config: &Config, target: &Arc<Target>, workload: Workload) -> WorkloadResult {
    let size = config.size_of(workload);
    let prefill = config.prefill_of(workload);
    let head = WorkloadResult {
        workload: workload.name().to_string(),
        object_size: size,
        prefilled: prefill,
        concurrency: config.concurrency,
        ..Default::default()
    };
    if let Err(why) = setup(config, target, workload, size, prefill).await {
        if config.progress {
            eprintln!("  {workload}: unsupported: {why}");
        }
        return WorkloadResult {
            unsupported: Some(why),
            ..head
        };
    }
    let budget = Arc::new(Budget {
        deadline: Instant::now() + config.duration,
        max_ops: config.max_ops,
        issued: AtomicU64::new(0),
    });
    let progress = Arc::new(Progress::default());
    let ticker = config.progress.then(|| {
        tokio::spawn(show_progress(
            workload,
            progress.clone(),
            config.duration,
            config.max_ops,
        ))
    });
    let started = Instant::now();
    let clients: Vec<_> = (0..config.concurrency)
        .map(|i| {
            let plan = Plan {
                workload,
                size,
                part_size: config.part_size,
                prefill,
                client: i as u64,
                clients: config.concurrency as u64,
            };
            let (target, budget, progress) = (target.clone(), budget.clone(), progress.clone());
            tokio::spawn(async move { drive(plan, Client::new(target), &budget, &progress).await })
        })
        .collect();
    let mut recorder = Recorder::default();
    for client in clients {
        match client.await {
            Ok(r) => recorder.merge(r),
            Err(e) => eprintln!("cosd-bench: a client task failed: {e}"),
        }
    }
    let elapsed = started.elapsed();
    progress.finished.notify_one();
    if let Some(ticker) = ticker {
        let _ = ticker.await;
    }
    recorder.finish(head, elapsed)
}

/// Prepares the bucket for a workload; an error means the target cannot do it.
async fn setup(
    config: &Config,
    target: &Arc<Target>,
    workload: Workload,
    size: u64,
    prefill: u64,
) -> Result<(), String> {
    if workload == Workload::Preflight {
        Client::new(target.clone())
            .put_cors()
            .await
            .map_err(|e| format!("PUT Bucket cors answered {e}"))?;
    }
    if prefill == 0 {
        return Ok(());
    }
    if config.progress {
        eprintln!("  {workload}: putting {prefill} objects of {size} bytes first");
    }
    let next = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicBool::new(false));
    let fillers: Vec<_> = (0..config.concurrency.min(prefill as usize))
        .map(|_| {
            let (target, next, failed) = (target.clone(), next.clone(), failed.clone());
            tokio::spawn(async move {
                let mut client = Client::new(target);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= prefill || failed.load(Ordering::Relaxed) {
                        return Ok(());
                    }
                    if let Err(e) = client.put(&object_key(workload, i), size).await {
                        failed.store(true, Ordering::Relaxed);
                        return Err(e);
                    }
                }
            })
        })
        .collect();
    let all = async {
        for filler in fillers {
            match filler.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(format!("pre-fill PUT answered {e}")),
                Err(e) => return Err(format!("pre-fill task failed: {e}")),
            }
        }
        Ok(())
    };
    tokio::time::timeout(SETUP_TIMEOUT, all)
        .await
        .unwrap_or_else(|_| {
            failed.store(true, Ordering::Relaxed);
            Err(format!(
                "pre-fill did not finish within {} s",
                SETUP_TIMEOUT.as_secs()
            ))
        })
}

/// Stops a workload at its deadline or once `max_ops` operations were issued.
struct Budget {
    deadline: Instant,
    max_ops: u64,
    issued: AtomicU64,
}

impl Budget {
    fn take(&self) -> bool {
        Instant::now() < self.deadline && self.issued.fetch_add(1, Ordering::Relaxed) < self.max_ops
    }
}

/// Live counters for the progress line.
#[derive(Default)]
struct Progress {
    done: AtomicU64,
    errors: AtomicU64,
    bytes: AtomicU64,
    /// Wakes the progress line for its last update as soon as the clients are done.
    finished: tokio::sync::Notify,
}

/// What one client does.
struct Plan {
    workload: Workload,
    size: u64,
    part_size: u64,
    prefill: u64,
    client: u64,
    clients: u64,
}

/// One client's loop: draw an operation, time it, record it, until the budget runs out.
async fn drive(plan: Plan, mut client: Client, budget: &Budget, progress: &Progress) -> Recorder {
    let mut recorder = Recorder::default();
    let mut rng = Rng::new(0x5eed ^ (plan.client << 32) ^ plan.workload as u64);
    // `mixed`: this client's own share of the pre-filled objects, so that no other client
    // deletes an object between this one choosing it and reading it.
    let mut live: Vec<u64> = (plan.client..plan.prefill)
        .step_by(plan.clients as usize)
        .collect();
    let mut next_new = plan.prefill + plan.client;
    let mut seq = 0u64;
    while budget.take() {
        let started = Instant::now();
        let (op, result): (OpKind, OpResult) = match plan.workload {
            Workload::SmallPut | Workload::LargePut | Workload::MultipartPut => {
                let key = format!("{}/{:04}/{seq:010}", plan.workload, plan.client);
                seq += 1;
                let result = if plan.workload == Workload::MultipartPut {
                    client.multipart_put(&key, plan.size, plan.part_size).await
                } else {
                    client.put(&key, plan.size).await
                };
                (OpKind::Put, result)
            }
            Workload::SmallGet | Workload::LargeGet => {
                let key = object_key(plan.workload, rng.below(plan.prefill));
                (OpKind::Get, client.get(&key, plan.size).await)
            }
            Workload::Mixed => {
                let op = match pick_mixed(rng.below(100) as u32) {
                    _ if live.is_empty() => OpKind::Put,
                    op => op,
                };
                let result = match op {
                    OpKind::Put => {
                        live.push(next_new);
                        next_new += plan.clients;
                        let key = object_key(plan.workload, live[live.len() - 1]);
                        client.put(&key, plan.size).await
                    }
                    OpKind::Delete => {
                        let i = rng.below(live.len() as u64) as usize;
                        let key = object_key(plan.workload, live.swap_remove(i));
                        client.delete(&key).await
                    }
                    _ => {
                        let i = rng.below(live.len() as u64) as usize;
                        let key = object_key(plan.workload, live[i]);
                        if op == OpKind::Get {
                            client.get(&key, plan.size).await
                        } else {
                            client.stat(&key).await
                        }
                    }
                };
                (op, result)
            }
            Workload::List => {
                let page = LIST_PAGE.min(plan.prefill);
                let first = rng.below(plan.prefill - page + 1);
                let start_after = (first > 0).then(|| object_key(plan.workload, first - 1));
                let prefix = format!("{}/", plan.workload);
                let result = client
                    .list_page(&prefix, start_after.as_deref(), page as usize)
                    .await;
                (OpKind::List, result)
            }
            Workload::Preflight => (OpKind::Options, client.preflight("preflight/object").await),
        };
        let latency = started.elapsed();
        match &result {
            Ok(bytes) => {
                progress.bytes.fetch_add(*bytes, Ordering::Relaxed);
            }
            Err(_) => {
                progress.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        progress.done.fetch_add(1, Ordering::Relaxed);
        recorder.record(op, latency, &result);
    }
    recorder
}

/// Prints one progress line a second on stderr (rewritten in place on a terminal) until the
/// workload finishes.
async fn show_progress(
    workload: Workload,
    progress: Arc<Progress>,
    duration: Duration,
    max_ops: u64,
) {
    let started = Instant::now();
    let terminal = std::io::stderr().is_terminal();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let line = |final_line: bool| {
        let secs = started.elapsed().as_secs_f64();
        let done = progress.done.load(Ordering::Relaxed);
        let fraction = (secs / duration.as_secs_f64())
            .max(done as f64 / max_ops as f64)
            .min(1.0);
        let line = progress_line(
            workload,
            fraction,
            secs,
            done,
            progress.errors.load(Ordering::Relaxed),
            progress.bytes.load(Ordering::Relaxed),
        );
        let mut err = std::io::stderr().lock();
        let _ = match (terminal, final_line) {
            (true, false) => write!(err, "\r{line}"),
            (true, true) => writeln!(err, "\r{line}"),
            (false, _) => writeln!(err, "{line}"),
        };
    };
    loop {
        tokio::select! {
            _ = tick.tick() => line(false),
            _ = progress.finished.notified() => break,
        }
    }
    line(true);
}

fn progress_line(
    workload: Workload,
    fraction: f64,
    secs: f64,
    done: u64,
    errors: u64,
    bytes: u64,
) -> String {
    const WIDTH: usize = 20;
    let filled = ((fraction * WIDTH as f64).round() as usize).min(WIDTH);
    let rate = done as f64 / secs.max(1e-9);
    format!(
        "  {:<10} [{}{}] {:>3.0}% {secs:>5.1}s {done:>9} ops {rate:>9.0} ops/s {:>8.1} MiB/s {errors} errors",
        workload.name(),
        "#".repeat(filled),
        "-".repeat(WIDTH - filled),
        fraction * 100.0,
        bytes as f64 / MIB as f64 / secs.max(1e-9),
    )
}

/// Single-core MD5 throughput of the implementation cosd uses (the `md-5` crate), in MiB/s:
/// the ceiling of one PUT stream, since every PUT's ETag is its MD5. Hashes the benchmark
/// pattern for about `duration`.
pub fn md5_rate(duration: Duration) -> f64 {
    use md5::{Digest, Md5};
    let data = crate::client::pattern();
    let started = Instant::now();
    let mut hashed = 0u64;
    let mut hasher = Md5::new();
    while started.elapsed() < duration {
        hasher.update(&data);
        hashed += data.len() as u64;
    }
    std::hint::black_box(hasher.finalize());
    hashed as f64 / MIB as f64 / started.elapsed().as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_stops_at_its_count_and_its_deadline() {
        let budget = Budget {
            deadline: Instant::now() + Duration::from_secs(60),
            max_ops: 3,
            issued: AtomicU64::new(0),
        };
        assert_eq!((0..10).filter(|_| budget.take()).count(), 3);
        let expired = Budget {
            deadline: Instant::now(),
            max_ops: 100,
            issued: AtomicU64::new(0),
        };
        assert!(!expired.take());
    }

    #[test]
    fn the_progress_line_shows_a_bar_and_rates() {
        let line = progress_line(Workload::SmallGet, 0.5, 2.0, 1000, 3, 2 * MIB);
        assert!(line.contains("[##########----------]  50%"), "{line}");
        assert!(line.contains("500 ops/s"), "{line}");
        assert!(line.contains("1.0 MiB/s"), "{line}");
        assert!(line.contains("3 errors"), "{line}");
    }

    #[test]
    fn md5_rate_is_positive() {
        assert!(md5_rate(Duration::from_millis(20)) > 0.0);
    }
}
