//! The load generator against the real server, briefly: every workload runs up to a couple of
//! hundred operations and must finish them all without a single error. Counts only, never
//! timings (CI machines are too noisy for those; the figures come from `bench/compare.sh`).

mod common;

use common::{Server, SECRET_ID, SECRET_KEY};
use cosd_bench::{Config, Endpoint, RunResult, Signature, Workload};
use std::time::Duration;

fn config(server: &Server, signature: Signature, workloads: &[Workload], ops: u64) -> Config {
    Config {
        endpoint: Endpoint::parse(&format!("http://{}", server.addr)).unwrap(),
        signature,
        secret_id: SECRET_ID.into(),
        secret_key: SECRET_KEY.into(),
        region: "ap-guangzhou".into(),
        bucket: "bench-1250000000".into(),
        workloads: workloads.to_vec(),
        concurrency: 4,
        // A bound, not an expectation: every workload here stops at `ops` long before it.
        duration: Duration::from_secs(120),
        max_ops: ops,
        size: None,
        part_size: 1024 * 1024,
        objects: Some(32),
        list_keys: 300,
        progress: false,
    }
}

/// Every workload did all its `ops` operations, all of them successfully.
fn assert_clean(run: &RunResult, ops: u64) {
    for w in &run.workloads {
        assert_eq!(w.unsupported, None, "{}", w.workload);
        let total = w.total.as_ref().expect("measured");
        assert_eq!(
            (total.ops, total.errors),
            (ops, 0),
            "{}: {:?}",
            w.workload,
            w.first_error
        );
        assert!(total.latency_ms.p50 <= total.latency_ms.p99);
        assert!(total.latency_ms.p99 <= total.latency_ms.max);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_workloads_run_clean_with_sigv4() {
    let server = Server::start();
    let workloads = [
        Workload::SmallPut,
        Workload::SmallGet,
        Workload::Mixed,
        Workload::Preflight,
    ];
    let run = cosd_bench::run(&config(&server, Signature::SigV4, &workloads, 200), "cosd")
        .await
        .unwrap();
    assert_eq!(run.workloads.len(), workloads.len());
    assert_clean(&run, 200);
    let put = run.workloads[0].total.as_ref().unwrap();
    assert!((put.mib_per_sec - put.ops_per_sec * 4.0 / 1024.0).abs() < 1e-6);
    let mixed = &run.workloads[2];
    let kinds: Vec<&str> = mixed.by_op.keys().map(String::as_str).collect();
    assert_eq!(kinds, ["DELETE", "GET", "PUT", "STAT"]);
    assert_eq!(mixed.by_op.values().map(|s| s.ops).sum::<u64>(), 200);

    // The same bucket again (already ours): LIST pages over 300 pre-filled keys.
    let list = config(&server, Signature::SigV4, &[Workload::List], 50);
    let run = cosd_bench::run(&list, "cosd").await.unwrap();
    assert_clean(&run, 50);
    assert_eq!(run.workloads[0].prefilled, 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_objects_stream_with_cos_signatures() {
    let server = Server::start();
    let workloads = [
        Workload::LargePut,
        Workload::LargeGet,
        Workload::MultipartPut,
        Workload::Preflight,
    ];
    let mut config = config(&server, Signature::CosV5, &workloads, 24);
    // Past the 1 MiB pattern, so bodies are several frames with a cut one at the end; in 1 MiB
    // parts, three parts, the last of 17 bytes.
    config.size = Some(2 * 1024 * 1024 + 17);
    config.objects = Some(3);
    let run = cosd_bench::run(&config, "cosd").await.unwrap();
    assert_clean(&run, 24);
    let get = run.workloads[1].total.as_ref().unwrap();
    assert!((get.mib_per_sec / get.ops_per_sec - (2.0 + 17.0 / 1048576.0)).abs() < 1e-9);
}
