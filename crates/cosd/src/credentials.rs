//! The root account's keys: configured, or generated on first start and kept in the data
//! directory (mode 0600), as MinIO and Garage users expect.

use crate::config::{RootAccount, DEFAULT_APPID};
use cosd_api::auth::{Keyring, Secret};
use rand::distributions::{Alphanumeric, DistString};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

const FILE_NAME: &str = "credentials.toml";

/// One key pair and the account it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub appid: String,
    pub secret_id: String,
    pub secret_key: String,
}

impl Keyring for Credentials {
    fn lookup(&self, access_key: &str) -> Option<Secret> {
        (access_key == self.secret_id).then(|| Secret {
            secret_key: self.secret_key.clone(),
            account: self.appid.clone(),
        })
    }
}

/// Whether [`load_or_create`] generated new keys (they are then printed once).
pub enum Origin {
    Configured,
    Stored,
    Generated,
}

/// Configured keys win; otherwise the stored ones; otherwise new ones are generated and stored.
pub fn load_or_create(
    root: &RootAccount,
    data_dir: &Path,
) -> std::io::Result<(Credentials, Origin)> {
    let appid = root
        .appid
        .clone()
        .unwrap_or_else(|| DEFAULT_APPID.to_string());
    if let (Some(id), Some(key)) = (&root.secret_id, &root.secret_key) {
        return Ok((
            Credentials {
                appid,
                secret_id: id.clone(),
                secret_key: key.clone(),
            },
            Origin::Configured,
        ));
    }
    if root.secret_id.is_some() || root.secret_key.is_some() {
        return Err(std::io::Error::other(
            "set both COSD_SECRET_ID and COSD_SECRET_KEY, or neither",
        ));
    }
    let path = data_dir.join(FILE_NAME);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let stored: Credentials = toml::from_str(&text)
                .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
            return Ok((Credentials { appid, ..stored }, Origin::Stored));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut rng = rand::thread_rng();
    let creds = Credentials {
        appid,
        secret_id: format!("AKID{}", Alphanumeric.sample_string(&mut rng, 32)),
        secret_key: Alphanumeric.sample_string(&mut rng, 32),
    };
    write_private(
        &path,
        toml::to_string(&creds)
            .expect("credentials serialize")
            .as_bytes(),
    )?;
    Ok((creds, Origin::Generated))
}

fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut file = opts.open(path)?;
    file.write_all(data)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_then_stored() {
        let dir = tempfile::tempdir().unwrap();
        let (first, origin) = load_or_create(&RootAccount::default(), dir.path()).unwrap();
        assert!(matches!(origin, Origin::Generated));
        assert!(first.secret_id.starts_with("AKID"));
        assert_eq!(first.appid, DEFAULT_APPID);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE_NAME))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (again, origin) = load_or_create(&RootAccount::default(), dir.path()).unwrap();
        assert!(matches!(origin, Origin::Stored));
        assert_eq!(again, first);
        assert_eq!(
            again.lookup(&first.secret_id).unwrap().account,
            DEFAULT_APPID
        );
        assert!(again.lookup("other").is_none());
    }

    #[test]
    fn configured_keys_win_and_halves_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = RootAccount {
            appid: Some("7".into()),
            secret_id: Some("id".into()),
            secret_key: Some("key".into()),
        };
        let (c, origin) = load_or_create(&root, dir.path()).unwrap();
        assert!(matches!(origin, Origin::Configured));
        assert_eq!((c.appid.as_str(), c.secret_id.as_str()), ("7", "id"));
        let half = RootAccount {
            secret_id: Some("id".into()),
            ..Default::default()
        };
        assert!(load_or_create(&half, dir.path()).is_err());
    }
}
