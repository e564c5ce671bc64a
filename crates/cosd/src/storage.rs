//! Opening the storage a configuration names: one place for `serve` and the admin commands.

use crate::config::Config;
use cosd_store::{FileSettings, Store};

/// Opens the store `serve` runs on.
pub fn open_store(config: &Config) -> Result<Store, String> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        format!(
            "cannot create data directory {}: {e}",
            config.data_dir.display()
        )
    })?;
    Store::open_embedded(&config.data_dir).map_err(|e| {
        format!(
            "cannot open the store in {}: {e}",
            config.data_dir.display()
        )
    })
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
    pub fn open(config: &Config) -> Result<AdminStore, String> {
        match open_store(config) {
            Ok(store) => Ok(AdminStore::Full(store)),
            Err(why) => {
                let settings = FileSettings::in_data_dir(&config.data_dir).map_err(|e| {
                    format!(
                        "cannot open the settings in {}: {e}",
                        config.data_dir.display()
                    )
                })?;
                Ok(AdminStore::SettingsOnly { settings, why })
            }
        }
    }
}
