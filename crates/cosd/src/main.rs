//! `cosd`: a self-hosted object storage server speaking the Tencent COS XML API and S3.

mod config;
mod credentials;
mod explain;
mod identity;
mod storage;

use clap::{Parser, Subcommand};
use config::{Config, ServeArgs};
use cosd_api::accounts::{token_key, update_accounts, AccountKeyring};
use cosd_api::route::RouteConfig;
use cosd_api::service::{serve, AppState};
use cosd_store::Store;
use identity::{AccountCommand, KeyCommand, TokenCommand};
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
    /// Accounts (APPIDs) of this deployment.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Key pairs of the accounts.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Temporary credentials.
    #[command(subcommand)]
    Token(TokenCommand),
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
        Command::Account(cmd) => identity::account(cmd),
        Command::Key(cmd) => identity::key(cmd),
        Command::Token(cmd) => identity::token(cmd),
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
    let store = storage::open_store(&config).await?;
    let keyring = load_keyring(&config, &store, creds.root_key()).await?;
    // A store only this process writes (the embedded default, locked to it) has no uploads in
    // flight at start, so every unreferenced blob is an orphan of an earlier crash; a shared
    // database or blob service may hold other nodes' blobs in flight, which the grace spares.
    let grace = if storage::shared(&config) {
        SWEEP_EVERY
    } else {
        Duration::ZERO
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
    tracing::info!(listen = %bound, data_dir = %config.data_dir.display(), meta = ?config.meta, region = %config.region, appid = %creds.appid, "cosd serving");
    // On stdout so that scripts (and tests using `--listen 127.0.0.1:0`) learn the port.
    println!("cosd: listening on http://{bound}");
    let sweeper = tokio::spawn(sweep_periodically(
        store.clone(),
        config.abort_uploads_after,
    ));
    let refresher = keyring.spawn_refresher();
    let mut state = AppState::new(
        store,
        keyring.clone(),
        RouteConfig {
            domains: config.domains,
        },
        config.region,
    );
    if config.admin_api {
        state = state.with_admin(keyring);
    }
    serve(listener, Arc::new(state), shutdown_signal()).await;
    sweeper.abort();
    refresher.abort();
    tracing::info!("cosd stopped");
    Ok(())
}

/// Merges the accounts the config file declares into the stored ones, makes sure the key that
/// signs temporary credentials exists, and loads the keyring.
async fn load_keyring(
    config: &Config,
    store: &Store,
    root: cosd_api::accounts::RootKey,
) -> Result<Arc<AccountKeyring>, String> {
    if !config.accounts.is_empty() {
        update_accounts(store, |doc| {
            doc.merge_declared(&config.accounts);
            Ok(())
        })
        .await?;
    }
    token_key(store).await?;
    AccountKeyring::load(root, store.meta.clone()).await
}

/// Hourly: collects orphan blobs and, unless disabled, aborts uploads older than `stale_after`.
async fn sweep_periodically(store: Store, stale_after: Option<Duration>) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Err(e) = store.sweep_orphans(SWEEP_EVERY).await {
            tracing::warn!(error = %e, "orphan sweep failed");
        }
        let Some(age) = stale_after else { continue };
        match store.abort_stale_uploads(age).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(aborted = n, "aborted stale multipart uploads"),
            Err(e) => tracing::warn!(error = %e, "stale upload cleanup failed"),
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
