//! The change feed of [`super::PgMeta`]: how a change made through one node reaches the
//! caches of every other node.
//!
//! Every transaction that changes a bucket, a bucket configuration or a setting also raises
//! the one-row `cosd_change_counter` and logs the change under the new generation in
//! `cosd_change_log`. The counter row is locked by each such transaction until it commits, so
//! generations become visible in order and without gaps: a node that saw generation `g` and
//! now reads `g + n` finds exactly `n` log rows to replay. Each node polls the counter every
//! [`POLL_EVERY`] (one indexed single-row read, which any PostgreSQL-protocol database
//! serves); on PostgreSQL itself the transaction also sends a `NOTIFY` at commit, and a
//! listening connection wakes the poller at once. A node that fell behind the log (trimmed
//! after [`KEEP_FOR_MS`]) reports [`Change::Everything`].

use super::{db_err, TxResult};
use crate::meta::Change;
use crate::Result;
use deadpool_postgres::{Pool, Transaction};
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, Notify};
use tokio::task::AbortHandle;
use tokio_postgres::{AsyncMessage, NoTls};

/// The `LISTEN`/`NOTIFY` channel.
const CHANNEL: &str = "cosd_changes";
/// How often the counter is read when no notification arrives: the propagation bound.
pub(super) const POLL_EVERY: Duration = Duration::from_millis(250);
/// How long log rows are kept for nodes that fell behind.
const KEEP_FOR_MS: i64 = 3_600_000;
/// How often a node trims the log (any node may; the deletes are idempotent).
const TRIM_EVERY: Duration = Duration::from_secs(60);
/// Most generations replayed one by one; a node further behind drops everything instead.
const MAX_REPLAY: i64 = 10_000;
/// Changes buffered per receiver; a receiver that lags further sees `Lagged`.
const CAPACITY: usize = 1024;
/// Wait before reconnecting the listening connection after it failed.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Logs `change` in the transaction `tx` (see the module documentation). Call it last, just
/// before the commit, so the counter row stays locked as briefly as possible.
pub(super) async fn record(tx: &Transaction<'_>, change: &Change, notify: bool) -> TxResult<()> {
    let (kind, name) = match change {
        Change::Bucket(name) => ("bucket", name.as_str()),
        Change::Setting(name) => ("setting", name.as_str()),
        Change::Everything => ("everything", ""),
    };
    let stmt = tx
        .prepare_cached(
            "WITH g AS (UPDATE cosd_change_counter SET generation = generation + 1 WHERE id = 1 \
             RETURNING generation) \
             INSERT INTO cosd_change_log (generation, kind, name, at_ms) \
             SELECT generation, $1, $2, $3 FROM g",
        )
        .await?;
    tx.execute(&stmt, &[&kind, &name, &crate::store::now_ms()])
        .await?;
    if notify {
        tx.batch_execute(&format!("NOTIFY {CHANNEL}")).await?;
    }
    Ok(())
}

/// A running feed; its tasks stop when it is dropped.
pub(super) struct Feed {
    sender: broadcast::Sender<Change>,
    tasks: Vec<AbortHandle>,
}

impl Feed {
    /// Starts polling from the current generation, and listening for notifications when
    /// `listen` is set (PostgreSQL itself).
    pub(super) async fn start(
        pool: Pool,
        config: tokio_postgres::Config,
        listen: bool,
    ) -> Result<Feed> {
        let last = current_generation(&pool).await?;
        let (sender, _) = broadcast::channel(CAPACITY);
        let wake = Arc::new(Notify::new());
        let mut tasks =
            vec![tokio::spawn(poll(pool, sender.clone(), wake.clone(), last)).abort_handle()];
        if listen {
            tasks.push(tokio::spawn(listen_forever(config, wake)).abort_handle());
        }
        Ok(Feed { sender, tasks })
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.sender.subscribe()
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn current_generation(pool: &Pool) -> Result<i64> {
    let client = pool.get().await.map_err(super::pool_err)?;
    let row = client
        .query_one(
            "SELECT generation FROM cosd_change_counter WHERE id = 1",
            &[],
        )
        .await
        .map_err(db_err)?;
    Ok(row.get(0))
}

async fn poll(pool: Pool, sender: broadcast::Sender<Change>, wake: Arc<Notify>, mut last: i64) {
    let mut trimmed = Instant::now();
    loop {
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(POLL_EVERY) => {}
        }
        if let Err(e) = catch_up(&pool, &sender, &mut last).await {
            // The next round retries; meanwhile the caches keep what they have, as they
            // would while the database is unreachable anyway.
            tracing::warn!(error = %e, "reading the change feed failed");
        }
        if trimmed.elapsed() >= TRIM_EVERY {
            trimmed = Instant::now();
            if let Err(e) = trim(&pool).await {
                tracing::warn!(error = %e, "trimming the change log failed");
            }
        }
    }
}

/// Sends every change logged after generation `last` and advances it.
async fn catch_up(pool: &Pool, sender: &broadcast::Sender<Change>, last: &mut i64) -> Result<()> {
    let now = current_generation(pool).await?;
    if now == *last {
        return Ok(());
    }
    let behind = now - *last;
    let replayed = if (1..=MAX_REPLAY).contains(&behind) {
        let client = pool.get().await.map_err(super::pool_err)?;
        let stmt = client
            .prepare_cached(
                "SELECT kind, name FROM cosd_change_log \
                 WHERE generation > $1 AND generation <= $2 ORDER BY generation",
            )
            .await
            .map_err(db_err)?;
        let rows = client.query(&stmt, &[&*last, &now]).await.map_err(db_err)?;
        // Fewer rows than generations: the log was trimmed past us.
        (rows.len() as i64 == behind).then(|| {
            rows.iter()
                .map(
                    |row| match (row.get::<_, &str>(0), row.get::<_, String>(1)) {
                        ("bucket", name) => Change::Bucket(name),
                        ("setting", name) => Change::Setting(name),
                        _ => Change::Everything,
                    },
                )
                .collect::<Vec<_>>()
        })
    } else {
        None
    };
    for change in replayed.unwrap_or_else(|| vec![Change::Everything]) {
        // No receiver (no cache subscribed yet) is not an error.
        let _ = sender.send(change);
    }
    *last = now;
    Ok(())
}

async fn trim(pool: &Pool) -> Result<()> {
    let client = pool.get().await.map_err(super::pool_err)?;
    client
        .execute(
            "DELETE FROM cosd_change_log WHERE at_ms < $1",
            &[&(crate::store::now_ms() - KEEP_FOR_MS)],
        )
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Keeps one connection listening on [`CHANNEL`], reconnecting when it fails; every
/// notification (and every reconnection, which may have missed some) wakes the poller.
async fn listen_forever(config: tokio_postgres::Config, wake: Arc<Notify>) {
    loop {
        if let Err(e) = listen_once(&config, &wake).await {
            tracing::warn!(error = %e, "the change-notification connection failed; polling meanwhile");
        }
        tokio::time::sleep(RECONNECT_AFTER).await;
    }
}

async fn listen_once(
    config: &tokio_postgres::Config,
    wake: &Notify,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
    let driven = async {
        while let Some(message) = messages.next().await {
            if let AsyncMessage::Notification(_) = message? {
                wake.notify_one();
            }
        }
        Ok(())
    };
    tokio::pin!(driven);
    let listen = format!("LISTEN {CHANNEL}");
    tokio::select! {
        ended = &mut driven => return ended,
        listening = client.batch_execute(&listen) => listening?,
    }
    wake.notify_one();
    driven.await
}
