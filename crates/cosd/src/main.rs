//! `cosd`: a self-hosted object storage server speaking the Tencent COS XML API and S3.

mod config;
mod credentials;
mod explain;

use clap::{Parser, Subcommand};
use config::{Config, ServeArgs};
use cosd_api::route::RouteConfig;
use cosd_api::service::{serve, AppState};
use cosd_store::{blob, RedbMeta, Store};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// How often the orphan-blob sweep runs while serving, and how old an unreferenced blob must be
/// before it is collected (so that uploads in flight are never touched).
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

#[derive(Parser)]
#[command(
    name = "cosd",
    version,
    about = "Object storage speaking the Tencent COS XML API and S3"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the COS/S3 API.
    Serve(ServeArgs),
    /// Bucket CORS tools.
    #[command(subcommand)]
    Cors(CorsCommand),
}

#[derive(Subcommand)]
enum CorsCommand {
    /// Explain, rule by rule, whether a bucket's CORS rules allow a preflight.
    Explain(explain::ExplainArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person watching: in a log file they are noise, and
        // formatting them was a measurable share of every request's work.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => Config::resolve(args, |k| std::env::var(k).ok()).and_then(run),
        Command::Cors(CorsCommand::Explain(args)) => return explain::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("cosd: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(config: Config) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(serve_until_signalled(config))
}

async fn serve_until_signalled(config: Config) -> Result<(), String> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        format!(
            "cannot create data directory {}: {e}",
            config.data_dir.display()
        )
    })?;
    let (creds, origin) = credentials::load_or_create(&config.root, &config.data_dir)
        .map_err(|e| format!("root credentials: {e}"))?;
    if let credentials::Origin::Generated = origin {
        println!(
            "cosd: generated root credentials, kept in {}/credentials.toml (mode 0600)\n  SecretId:  {}\n  SecretKey: {}\n  APPID:     {}",
            config.data_dir.display(),
            creds.secret_id,
            creds.secret_key,
            creds.appid
        );
    }
    let store = open_store(&config)?;
    // Blobs only this process writes (the embedded default, locked with the metadata) have no
    // uploads in flight at start, so every unreferenced one is an orphan of an earlier crash;
    // a shared blob service may hold other nodes' blobs in flight, which the grace spares.
    let grace = match config.blobs {
        None => Duration::ZERO,
        Some(_) => SWEEP_EVERY,
    };
    match store.sweep_orphans(grace).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(removed = n, "removed orphan blobs left by an earlier crash"),
        Err(e) => tracing::warn!(error = %e, "orphan sweep failed"),
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listening address: {e}"))?;
    tracing::info!(listen = %bound, data_dir = %config.data_dir.display(), region = %config.region, appid = %creds.appid, "cosd serving");
    // On stdout so that scripts (and tests using `--listen 127.0.0.1:0`) learn the port.
    println!("cosd: listening on http://{bound}");
    let sweeper = tokio::spawn(sweep_periodically(store.clone()));
    let state = Arc::new(AppState::new(
        store,
        Arc::new(creds),
        RouteConfig {
            domains: config.domains,
        },
        config.region,
    ));
    serve(listener, state, shutdown_signal()).await;
    sweeper.abort();
    tracing::info!("cosd stopped");
    Ok(())
}

/// Opens the metadata and blob stores the configuration names.
fn open_store(config: &Config) -> Result<Store, String> {
    let Some(location) = &config.blobs else {
        return Store::open_embedded(&config.data_dir).map_err(|e| {
            format!(
                "cannot open the store in {}: {e}",
                config.data_dir.display()
            )
        });
    };
    let meta = RedbMeta::open(&config.data_dir.join("meta.redb")).map_err(|e| {
        format!(
            "cannot open the metadata in {}: {e}",
            config.data_dir.display()
        )
    })?;
    // The location prints with its secrets masked.
    let blobs = blob::open(location).map_err(|e| format!("cannot open the blob store: {e}"))?;
    tracing::info!(blobs = %location, "blob store opened");
    Ok(Store::new(Arc::new(meta), blobs))
}

async fn sweep_periodically(store: Store) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Err(e) = store.sweep_orphans(SWEEP_EVERY).await {
            tracing::warn!(error = %e, "orphan sweep failed");
        }
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler installs");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
