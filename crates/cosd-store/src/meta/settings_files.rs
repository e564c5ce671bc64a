//! Deployment-wide settings of the embedded backend, one small file each in
//! `<data-dir>/settings/`.
//!
//! They are files rather than redb rows because redb allows one process per database, and the
//! admin commands (`cosd account …`, `cosd key …`) must be able to change settings while a
//! server runs on the same data directory. A write takes an exclusive lock on
//! `settings/.lock`, compares versions, writes a temporary file, fsyncs it and renames it into
//! place (then fsyncs the directory), so a reader sees the old or the new document, whole.

use super::Setting;
use crate::{Result, StoreError};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The settings directory of one data directory. Admin commands use it on its own while a
/// server holds the database.
#[derive(Debug, Clone)]
pub struct FileSettings {
    dir: PathBuf,
}

/// First line of a settings file: `v<version>`; the document follows the newline.
const VERSION_PREFIX: &str = "v";

impl FileSettings {
    /// The settings of the embedded store in `data_dir` (beside `meta.redb`).
    pub fn in_data_dir(data_dir: &Path) -> Result<Self> {
        Self::open(&data_dir.join("settings"))
    }

    pub(super) fn open(dir: &Path) -> Result<Self> {
        fs::create_dir_all(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    fn path(&self, name: &str) -> Result<PathBuf> {
        super::check_setting_name(name)?;
        Ok(self.dir.join(format!("{name}.setting")))
    }

    pub fn get(&self, name: &str) -> Result<Option<Setting>> {
        read(&self.path(name)?)
    }

    /// Compare-and-set, as [`super::MetaStore::put_setting`].
    pub fn put(&self, name: &str, value: &[u8], expected: u64) -> Result<bool> {
        let path = self.path(name)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join(".lock"))?;
        lock.lock()?;
        let current = read(&path)?.map_or(0, |s| s.version);
        if current != expected {
            return Ok(false);
        }
        let tmp = self.dir.join(format!(".{name}.tmp"));
        // Settings hold secret keys (the accounts' keys, the token signing key): owner only.
        let mut opts = OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut file = opts.open(&tmp)?;
        writeln!(file, "{VERSION_PREFIX}{}", expected + 1)?;
        file.write_all(value)?;
        file.sync_all()?;
        fs::rename(&tmp, &path)?;
        File::open(&self.dir)?.sync_all()?;
        Ok(true)
    }
}

fn read(path: &Path) -> Result<Option<Setting>> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let corrupt = || StoreError::Meta(format!("settings file {} is corrupt", path.display()));
    let newline = bytes.iter().position(|&b| b == b'\n').ok_or_else(corrupt)?;
    let version = std::str::from_utf8(&bytes[..newline])
        .ok()
        .and_then(|l| l.strip_prefix(VERSION_PREFIX))
        .and_then(|v| v.parse().ok())
        .ok_or_else(corrupt)?;
    Ok(Some(Setting {
        value: bytes[newline + 1..].to_vec(),
        version,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_files_are_private_and_versioned() {
        let dir = tempfile::tempdir().unwrap();
        let settings = FileSettings::in_data_dir(dir.path()).unwrap();
        assert!(settings.put("accounts", b"{}", 0).unwrap());
        assert!(!settings.put("accounts", b"{}", 0).unwrap());
        assert_eq!(settings.get("accounts").unwrap().unwrap().version, 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let path = dir.path().join("settings").join("accounts.setting");
            let mode = fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
