//! The `cosd-bench` command line.

use clap::{Args, Parser, Subcommand};
use cosd_bench::config::{parse_duration, parse_size, parse_workloads};
use cosd_bench::{report, Config, Endpoint, Signature};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "cosd-bench",
    version,
    about = "Load generator for COS/S3 endpoints on loopback"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run workloads against an endpoint and report ops/s, MiB/s, latency and errors.
    Run(Box<RunArgs>),
    /// Measure single-core MD5 throughput (the md-5 crate, as cosd uses for ETags).
    Md5 {
        /// How long to hash, in seconds.
        #[arg(long, default_value_t = 3)]
        seconds: u64,
    },
}

#[derive(Args)]
struct RunArgs {
    /// The endpoint, `http://127.0.0.1:PORT` (loopback only).
    #[arg(long)]
    endpoint: String,
    /// Access key (COS SecretId).
    #[arg(long, env = "COSD_SECRET_ID")]
    secret_id: String,
    /// Secret key (COS SecretKey).
    #[arg(long, env = "COSD_SECRET_KEY", hide_env_values = true)]
    secret_key: String,
    /// `sigv4` or `cos` (COS signature v5).
    #[arg(long, default_value = "sigv4")]
    signature: String,
    /// SigV4 credential-scope region.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// The bucket, created if missing (path-style requests).
    #[arg(long, default_value = "bench-1250000000")]
    bucket: String,
    /// Comma-separated: small-put, small-get, large-put, large-get, multipart-put, mixed, list,
    /// preflight; or all.
    #[arg(long, default_value = "small-put,small-get,mixed")]
    workloads: String,
    /// Concurrent clients, one connection each.
    #[arg(long, short = 'c', default_value_t = 16)]
    concurrency: usize,
    /// How long each workload runs at most (e.g. 10s, 500ms, 1m).
    #[arg(long, default_value = "10s")]
    duration: String,
    /// How many operations each workload issues at most.
    #[arg(long, default_value_t = 1_000_000)]
    max_ops: u64,
    /// Object size for every object workload (default 4KiB small, 64MiB large).
    #[arg(long)]
    size: Option<String>,
    /// Part size of multipart-put.
    #[arg(long, default_value = "16MiB")]
    part_size: String,
    /// Objects put before the GET and mixed workloads (default 256 small, 4 large).
    #[arg(long)]
    objects: Option<u64>,
    /// Keys put before the list workload.
    #[arg(long, default_value_t = 10_000)]
    list_keys: u64,
    /// Write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// What the target is, for the report (e.g. cosd, s3s-fs).
    #[arg(long, default_value = "target")]
    label: String,
    /// Client worker threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// No progress line.
    #[arg(long)]
    quiet: bool,
}

fn config_of(args: &RunArgs) -> Result<Config, String> {
    let config = Config {
        endpoint: Endpoint::parse(&args.endpoint)?,
        signature: Signature::parse(&args.signature)?,
        secret_id: args.secret_id.clone(),
        secret_key: args.secret_key.clone(),
        region: args.region.clone(),
        bucket: args.bucket.clone(),
        workloads: parse_workloads(&args.workloads)?,
        concurrency: args.concurrency,
        duration: parse_duration(&args.duration)?,
        max_ops: args.max_ops,
        size: args.size.as_deref().map(parse_size).transpose()?,
        part_size: parse_size(&args.part_size)?,
        objects: args.objects,
        list_keys: args.list_keys,
        progress: !args.quiet,
    };
    config.validate()?;
    if !(1..=64).contains(&args.threads) {
        return Err("threads must be 1..=64".into());
    }
    Ok(config)
}

fn run(args: RunArgs) -> Result<(), String> {
    let config = config_of(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let result = runtime.block_on(cosd_bench::run(&config, &args.label))?;
    print!("{}", report::table(&result));
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&result).map_err(|e| e.to_string())?;
        std::fs::write(path, json + "\n")
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Run(args) => run(*args),
        Command::Md5 { seconds } => {
            let rate = cosd_bench::md5_rate(Duration::from_secs(seconds.clamp(1, 60)));
            println!("md5 {rate:.1} MiB/s (one core, md-5 crate)");
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("cosd-bench: {msg}");
            ExitCode::FAILURE
        }
    }
}
