//! Opening the store a configuration names: the one place the binary turns `--data-dir` and
//! `--meta` into a [`Store`], so every command that needs the store opens the same one.

use crate::config::{redact, Config, MetaConfig};
use cosd_store::{blob, BlobStore, FileSettings, FsBlobs, MetaStore, PgMeta, RedbMeta, Store};
use std::sync::Arc;

/// Opens the metadata store and the blob store of `config`, creating the data directory.
pub async fn open_store(config: &Config) -> Result<Store, String> {
    let dir = &config.data_dir;
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create data directory {}: {e}", dir.display()))?;
    let meta: Arc<dyn MetaStore> = match &config.meta {
        MetaConfig::Embedded => {
            let path = dir.join("meta.redb");
            Arc::new(
                RedbMeta::open(&path)
                    .map_err(|e| format!("cannot open the store {}: {e}", path.display()))?,
            )
        }
        MetaConfig::Postgres(url) => Arc::new(
            PgMeta::connect(url)
                .await
                .map_err(|e| format!("cannot open the metadata database {}: {e}", redact(url)))?,
        ),
    };
    let blobs: Arc<dyn BlobStore> =
        match &config.blobs {
            None => {
                let blob_dir = dir.join("blobs");
                Arc::new(FsBlobs::open(&blob_dir).map_err(|e| {
                    format!("cannot open the blob store {}: {e}", blob_dir.display())
                })?)
            }
            Some(location) => {
                let blobs =
                    blob::open(location).map_err(|e| format!("cannot open the blob store: {e}"))?;
                // The location prints with its secrets masked.
                tracing::info!(blobs = %location, "blob store opened");
                blobs
            }
        };
    let store = Store::new(meta, blobs);
    Ok(if config.retire_blobs_after.is_zero() {
        store
    } else {
        store.retire_replaced_blobs_after(config.retire_blobs_after)
    })
}

/// Whether other processes may write to the store at the same time (other cosd nodes sharing
/// the database or the blob location): then no blob is an orphan just because it is
/// unreferenced right now.
pub fn shared(config: &Config) -> bool {
    config.meta != MetaConfig::Embedded || config.blobs.is_some()
}

/// What the admin commands work on. The embedded database admits one process, so while a
/// server runs on the data directory the commands get its settings files alone (which is all
/// they change) and say so when they would need more.
pub enum AdminStore {
    Full(Store),
    SettingsOnly {
        settings: FileSettings,
        /// Why the whole store could not be opened.
        why: String,
    },
}

impl AdminStore {
    pub async fn open(config: &Config) -> Result<AdminStore, String> {
        match open_store(config).await {
            Ok(store) => Ok(AdminStore::Full(store)),
            // Only the embedded database is locked by a running server; any other failure
            // (a database that is down, say) is an error.
            Err(why) if config.meta == MetaConfig::Embedded => {
                let settings = FileSettings::in_data_dir(&config.data_dir).map_err(|e| {
                    format!(
                        "cannot open the settings in {}: {e}",
                        config.data_dir.display()
                    )
                })?;
                Ok(AdminStore::SettingsOnly { settings, why })
            }
            Err(why) => Err(why),
        }
    }
}
