//! Accounts and their keys: the `accounts` setting, the `token-key` setting that signs
//! temporary credentials, and [`AccountKeyring`], the [`Keyring`] a server authenticates with.
//!
//! The keyring answers from an in-memory snapshot (one hash lookup, no storage I/O per
//! request). A background task re-reads both settings every second — and sooner, at most every
//! [`MIN_RELOAD_GAP`], when a request named a key the snapshot does not know — so that keys an
//! admin adds or removes on any node take effect everywhere within about a second.
//!
//! The root account (the server's own `COSD_APPID` / `COSD_SECRET_ID` / `COSD_SECRET_KEY`, or
//! the generated `credentials.toml`) is always an account, whether or not the setting lists it,
//! and it is the admin.

use crate::acl::Accounts;
use crate::auth::{token, Keyring, Principal, Secret};
use crate::error::{ApiError, ApiResult, ErrorCode};
use async_trait::async_trait;
use cosd_store::{FileSettings, MetaStore, Setting, Store};
use rand::distributions::{Alphanumeric, DistString};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The setting holding [`AccountsDoc`].
pub const ACCOUNTS_SETTING: &str = "accounts";
/// The setting holding the hex key that signs temporary credentials.
pub const TOKEN_KEY_SETTING: &str = "token-key";
/// How often a running server re-reads the settings.
pub const REFRESH_EVERY: Duration = Duration::from_secs(1);
/// The least time between two reloads, however many unknown keys arrive.
pub const MIN_RELOAD_GAP: Duration = Duration::from_millis(200);
/// How often a read-change-write of a setting is retried when another writer got there first.
const MAX_UPDATE_ATTEMPTS: usize = 32;

/// Where settings are read and written: a [`MetaStore`], or the embedded store's settings
/// files alone (what admin commands use while a server holds the database).
#[async_trait]
pub trait SettingsStore: Send + Sync {
    async fn get_setting(&self, name: &str) -> cosd_store::Result<Option<Setting>>;
    async fn put_setting(
        &self,
        name: &str,
        value: Vec<u8>,
        expected: u64,
    ) -> cosd_store::Result<bool>;
}

#[async_trait]
impl SettingsStore for dyn MetaStore {
    async fn get_setting(&self, name: &str) -> cosd_store::Result<Option<Setting>> {
        MetaStore::get_setting(self, name).await
    }
    async fn put_setting(
        &self,
        name: &str,
        value: Vec<u8>,
        expected: u64,
    ) -> cosd_store::Result<bool> {
        MetaStore::put_setting(self, name, value, expected).await
    }
}

#[async_trait]
impl SettingsStore for Store {
    async fn get_setting(&self, name: &str) -> cosd_store::Result<Option<Setting>> {
        self.meta.get_setting(name).await
    }
    async fn put_setting(
        &self,
        name: &str,
        value: Vec<u8>,
        expected: u64,
    ) -> cosd_store::Result<bool> {
        self.meta.put_setting(name, value, expected).await
    }
}

#[async_trait]
impl SettingsStore for FileSettings {
    async fn get_setting(&self, name: &str) -> cosd_store::Result<Option<Setting>> {
        self.get(name)
    }
    async fn put_setting(
        &self,
        name: &str,
        value: Vec<u8>,
        expected: u64,
    ) -> cosd_store::Result<bool> {
        self.put(name, &value, expected)
    }
}

/// The `accounts` setting. Fields this version does not know are kept when it is rewritten.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountsDoc {
    #[serde(default)]
    pub accounts: Vec<Account>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One account: an APPID and its key pairs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub appid: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub keys: Vec<Key>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A key pair. The secret key is stored as given: verifying an HMAC signature needs it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Key {
    pub secret_id: String,
    pub secret_key: String,
    #[serde(default)]
    pub created_ms: i64,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AccountsDoc {
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let doc: AccountsDoc = serde_json::from_slice(bytes)
            .map_err(|e| format!("the {ACCOUNTS_SETTING:?} setting is not valid JSON: {e}"))?;
        for account in &doc.accounts {
            check_appid(&account.appid)?;
        }
        Ok(doc)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("accounts serialize")
    }

    pub fn find(&self, appid: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.appid == appid)
    }

    /// The account owning a key, if any.
    pub fn owner_of_key(&self, secret_id: &str) -> Option<&Account> {
        self.accounts
            .iter()
            .find(|a| a.keys.iter().any(|k| k.secret_id == secret_id))
    }

    /// Merges accounts declared in the configuration file. The declaration wins: a declared
    /// key moves to its declared account (leaving any other), a declared name replaces the
    /// stored one. Keys and accounts the declaration does not mention are kept.
    pub fn merge_declared(&mut self, declared: &[Account]) {
        for d in declared {
            for key in &d.keys {
                for a in &mut self.accounts {
                    a.keys.retain(|k| k.secret_id != key.secret_id);
                }
            }
            match self.accounts.iter_mut().find(|a| a.appid == d.appid) {
                Some(a) => {
                    if !d.name.is_empty() {
                        a.name.clone_from(&d.name);
                    }
                    a.keys.extend(d.keys.iter().cloned());
                }
                None => self.accounts.push(d.clone()),
            }
        }
    }
}

/// An APPID: a decimal number (COS's are 10 digits), as bucket names end in `-<appid>`.
pub fn check_appid(appid: &str) -> Result<(), String> {
    if appid.is_empty() || appid.len() > 20 || !appid.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid APPID {appid:?}: it must be a number"));
    }
    Ok(())
}

/// A new key pair: a 36-character `AKID…` SecretId and a 32-character SecretKey, as COS issues.
pub fn new_key(now: SystemTime) -> Key {
    let mut rng = rand::thread_rng();
    Key {
        secret_id: format!("AKID{}", Alphanumeric.sample_string(&mut rng, 32)),
        secret_key: Alphanumeric.sample_string(&mut rng, 32),
        created_ms: millis(now),
        extra: Map::new(),
    }
}

fn millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Reads the accounts, applies `change` and writes them back with compare-and-set, retrying
/// from a fresh read when another writer changed them meanwhile. `change` returning `Err`
/// writes nothing.
pub async fn update_accounts<T, S: SettingsStore + ?Sized>(
    meta: &S,
    mut change: impl FnMut(&mut AccountsDoc) -> Result<T, String>,
) -> Result<T, String> {
    for _ in 0..MAX_UPDATE_ATTEMPTS {
        let (mut doc, version) = read_accounts(meta).await?;
        let before = doc.clone();
        let out = change(&mut doc)?;
        if doc == before {
            return Ok(out);
        }
        let written = meta
            .put_setting(ACCOUNTS_SETTING, doc.to_bytes(), version)
            .await
            .map_err(|e| format!("cannot write the accounts: {e}"))?;
        if written {
            return Ok(out);
        }
    }
    Err("the accounts kept changing under us; try again".into())
}

/// The accounts and the setting's version (0: never written).
pub async fn read_accounts<S: SettingsStore + ?Sized>(
    meta: &S,
) -> Result<(AccountsDoc, u64), String> {
    match meta.get_setting(ACCOUNTS_SETTING).await {
        Ok(Some(s)) => Ok((AccountsDoc::parse(&s.value)?, s.version)),
        Ok(None) => Ok((AccountsDoc::default(), 0)),
        Err(e) => Err(format!("cannot read the accounts: {e}")),
    }
}

/// The key that signs temporary credentials, created (once, by whichever node or command gets
/// there first: compare-and-set) when missing.
pub async fn token_key<S: SettingsStore + ?Sized>(meta: &S) -> Result<Vec<u8>, String> {
    for _ in 0..MAX_UPDATE_ATTEMPTS {
        let current = meta
            .get_setting(TOKEN_KEY_SETTING)
            .await
            .map_err(|e| format!("cannot read the token key: {e}"))?;
        if let Some(s) = current {
            return parse_token_key(&s.value);
        }
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        meta.put_setting(TOKEN_KEY_SETTING, hex::encode(key).into_bytes(), 0)
            .await
            .map_err(|e| format!("cannot write the token key: {e}"))?;
    }
    Err("cannot create the token key".into())
}

fn parse_token_key(value: &[u8]) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(value).unwrap_or("").trim();
    match hex::decode(text) {
        Ok(key) if key.len() >= 16 => Ok(key),
        _ => Err(format!(
            "the {TOKEN_KEY_SETTING:?} setting must be at least 16 bytes in hex"
        )),
    }
}

/// What a temporary key may do and for how long.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemporaryRequest {
    pub account: String,
    pub duration: Duration,
    pub bucket: Option<String>,
    pub prefix: Option<String>,
    pub actions: Vec<String>,
}

/// Issues a temporary key for an existing account.
pub fn issue_temporary(
    signing_key: &[u8],
    req: &TemporaryRequest,
    now: SystemTime,
) -> Result<token::Issued, String> {
    let secs = req.duration.as_secs();
    if !(1..=token::MAX_DURATION_SECS).contains(&secs) {
        return Err(format!(
            "the duration must be between 1 second and {} hours",
            token::MAX_DURATION_SECS / 3600
        ));
    }
    let random = Alphanumeric.sample_string(
        &mut rand::thread_rng(),
        token::SECRET_ID_LEN - token::TMP_ID_PREFIX.len(),
    );
    let claims = token::Claims {
        account: req.account.clone(),
        secret_id: format!("{}{random}", token::TMP_ID_PREFIX),
        expires: crate::auth::primitives::unix_secs(now) + secs,
        bucket: req.bucket.clone(),
        prefix: req.prefix.clone(),
        actions: req.actions.clone(),
    };
    claims.validate()?;
    Ok(token::issue(signing_key, &claims))
}

/// The root account's key pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootKey {
    pub appid: String,
    pub secret_id: String,
    pub secret_key: String,
}

/// What the keyring answers from.
#[derive(Default)]
struct Snapshot {
    accounts_version: u64,
    token_key_version: u64,
    keys: HashMap<String, Secret>,
    accounts: HashSet<String>,
    token_key: Option<Arc<[u8]>>,
}

/// The server's [`Keyring`]: every account's keys, plus temporary keys verified from their
/// tokens.
pub struct AccountKeyring {
    root: RootKey,
    meta: Arc<dyn MetaStore>,
    snapshot: RwLock<Arc<Snapshot>>,
    wake: tokio::sync::Notify,
}

impl AccountKeyring {
    /// Loads the settings. A corrupt accounts document stops the start here, with its error,
    /// rather than locking every account out.
    pub async fn load(root: RootKey, meta: Arc<dyn MetaStore>) -> Result<Arc<Self>, String> {
        let keyring = Arc::new(AccountKeyring {
            root,
            meta,
            snapshot: RwLock::new(Arc::new(Snapshot::default())),
            wake: tokio::sync::Notify::new(),
        });
        keyring.refresh().await?;
        Ok(keyring)
    }

    /// The admin account's APPID.
    pub fn root_account(&self) -> &str {
        &self.root.appid
    }

    /// Whether `principal` is the root account with one of its permanent keys (a temporary
    /// key of the root account is not an admin).
    pub fn is_admin(&self, principal: &Principal) -> bool {
        matches!(principal, Principal::Account { account, scope: None, .. } if *account == self.root.appid)
    }

    /// The key that signs temporary credentials, as of the last refresh.
    pub fn token_key(&self) -> Option<Arc<[u8]>> {
        self.current().token_key.clone()
    }

    fn current(&self) -> Arc<Snapshot> {
        self.snapshot
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Re-reads both settings, rebuilding the snapshot if either changed. On an error the
    /// previous snapshot stays in force.
    pub async fn refresh(&self) -> Result<(), String> {
        let accounts = self
            .meta
            .get_setting(ACCOUNTS_SETTING)
            .await
            .map_err(|e| format!("cannot read the accounts: {e}"))?;
        let token_key = self
            .meta
            .get_setting(TOKEN_KEY_SETTING)
            .await
            .map_err(|e| format!("cannot read the token key: {e}"))?;
        let accounts_version = accounts.as_ref().map_or(0, |s| s.version);
        let token_key_version = token_key.as_ref().map_or(0, |s| s.version);
        let old = self.current();
        if old.accounts_version == accounts_version
            && old.token_key_version == token_key_version
            && !old.keys.is_empty()
        {
            return Ok(());
        }
        let doc = match &accounts {
            Some(s) => AccountsDoc::parse(&s.value)?,
            None => AccountsDoc::default(),
        };
        let token_key = match &token_key {
            Some(s) => Some(Arc::from(parse_token_key(&s.value)?)),
            None => None,
        };
        let snapshot = self.build(&doc, accounts_version, token_key_version, token_key);
        *self.snapshot.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(snapshot);
        Ok(())
    }

    fn build(
        &self,
        doc: &AccountsDoc,
        accounts_version: u64,
        token_key_version: u64,
        token_key: Option<Arc<[u8]>>,
    ) -> Snapshot {
        let mut keys = HashMap::new();
        let mut accounts = HashSet::new();
        for account in &doc.accounts {
            accounts.insert(account.appid.clone());
            for key in &account.keys {
                keys.insert(
                    key.secret_id.clone(),
                    Secret {
                        secret_key: key.secret_key.clone(),
                        account: account.appid.clone(),
                        scope: None,
                    },
                );
            }
        }
        // The root key is the server's own: the setting cannot take it over.
        accounts.insert(self.root.appid.clone());
        keys.insert(
            self.root.secret_id.clone(),
            Secret {
                secret_key: self.root.secret_key.clone(),
                account: self.root.appid.clone(),
                scope: None,
            },
        );
        Snapshot {
            accounts_version,
            token_key_version,
            keys,
            accounts,
            token_key,
        }
    }

    /// Keeps the snapshot fresh: every [`REFRESH_EVERY`], or when a lookup missed, never more
    /// often than [`MIN_RELOAD_GAP`]. Runs until aborted.
    pub fn spawn_refresher(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let keyring = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(REFRESH_EVERY) => {}
                    _ = keyring.wake.notified() => {}
                }
                if let Err(e) = keyring.refresh().await {
                    tracing::warn!(error = %e, "keeping the previous accounts and keys");
                }
                tokio::time::sleep(MIN_RELOAD_GAP).await;
            }
        })
    }
}

impl Accounts for AccountKeyring {
    /// Whether `appid` is an account, as of the last refresh.
    fn has_account(&self, appid: &str) -> bool {
        self.current().accounts.contains(appid)
    }
}

impl Keyring for AccountKeyring {
    fn lookup(&self, access_key: &str, token: Option<&str>, now: SystemTime) -> ApiResult<Secret> {
        let snapshot = self.current();
        match token.filter(|t| !t.is_empty()) {
            Some(token) => {
                let unknown = || ApiError::new(ErrorCode::InvalidAccessKeyId);
                let key = snapshot.token_key.as_ref().ok_or_else(unknown)?;
                let secret = token::secret(
                    key,
                    token,
                    access_key,
                    crate::auth::primitives::unix_secs(now),
                )?;
                // A removed account's temporary keys die with it.
                if !snapshot.accounts.contains(&secret.account) {
                    return Err(unknown());
                }
                Ok(secret)
            }
            None => snapshot.keys.get(access_key).cloned().ok_or_else(|| {
                self.wake.notify_one();
                ApiError::new(ErrorCode::InvalidAccessKeyId)
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cosd_store::RedbMeta;

    fn root() -> RootKey {
        RootKey {
            appid: "1250000000".into(),
            secret_id: "AKIDroot".into(),
            secret_key: "rootsecret".into(),
        }
    }

    fn account(appid: &str, keys: &[(&str, &str)]) -> Account {
        Account {
            appid: appid.into(),
            name: String::new(),
            keys: keys
                .iter()
                .map(|(id, secret)| Key {
                    secret_id: id.to_string(),
                    secret_key: secret.to_string(),
                    ..Key::default()
                })
                .collect(),
            extra: Map::new(),
        }
    }

    fn meta() -> (tempfile::TempDir, Arc<dyn MetaStore>) {
        let dir = tempfile::tempdir().unwrap();
        let meta = RedbMeta::open(&dir.path().join("meta.redb")).unwrap();
        (dir, Arc::new(meta))
    }

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_000_000)
    }

    fn code(r: ApiResult<Secret>) -> ErrorCode {
        r.unwrap_err().code
    }

    #[test]
    fn the_fixed_document_shape_parses_and_keeps_unknown_fields() {
        let text = r#"{"accounts":[{"appid":"1250000001","name":"bob","keys":[{"secret_id":"AKIDbob","secret_key":"s","created_ms":0,"note":"n"}],"quota":5}],"v":2}"#;
        let doc = AccountsDoc::parse(text.as_bytes()).unwrap();
        assert_eq!(doc.accounts[0].name, "bob");
        assert_eq!(doc.owner_of_key("AKIDbob").unwrap().appid, "1250000001");
        let again: Value = serde_json::from_slice(&doc.to_bytes()).unwrap();
        assert_eq!(again, serde_json::from_str::<Value>(text).unwrap());
        assert!(AccountsDoc::parse(br#"{"accounts":[{"appid":"12a"}]}"#).is_err());
        assert!(AccountsDoc::parse(b"not json").is_err());
    }

    #[test]
    fn declared_accounts_win() {
        let mut doc = AccountsDoc {
            accounts: vec![
                account("1", &[("K1", "old"), ("K2", "x")]),
                account("2", &[("K3", "y")]),
            ],
            extra: Map::new(),
        };
        let mut declared = account("2", &[("K1", "new")]);
        declared.name = "two".into();
        doc.merge_declared(&[declared, account("3", &[("K4", "z")])]);
        assert_eq!(doc.find("1").unwrap().keys.len(), 1);
        let two = doc.find("2").unwrap();
        assert_eq!(two.name, "two");
        assert_eq!(two.keys.len(), 2);
        assert_eq!(doc.owner_of_key("K1").unwrap().appid, "2");
        assert_eq!(doc.find("3").unwrap().keys[0].secret_key, "z");
    }

    #[test]
    fn new_keys_look_like_cos_keys() {
        let k = new_key(now());
        assert_eq!(k.secret_id.len(), 36);
        assert!(k.secret_id.starts_with("AKID"));
        assert_eq!(k.secret_key.len(), 32);
        assert_ne!(new_key(now()).secret_id, k.secret_id);
    }

    #[tokio::test]
    async fn refresh_picks_up_added_and_removed_keys() {
        let (_dir, meta) = meta();
        let keyring = AccountKeyring::load(root(), meta.clone()).await.unwrap();
        assert_eq!(
            keyring.lookup("AKIDroot", None, now()).unwrap().account,
            "1250000000"
        );
        assert_eq!(
            code(keyring.lookup("AKIDbob", None, now())),
            ErrorCode::InvalidAccessKeyId
        );

        update_accounts(meta.as_ref(), |doc| {
            doc.accounts
                .push(account("1250000001", &[("AKIDbob", "bobsecret")]));
            Ok(())
        })
        .await
        .unwrap();
        // Nothing changes until a refresh: lookups never touch storage.
        assert!(keyring.lookup("AKIDbob", None, now()).is_err());
        keyring.refresh().await.unwrap();
        let bob = keyring.lookup("AKIDbob", None, now()).unwrap();
        assert_eq!(
            (bob.account.as_str(), bob.secret_key.as_str()),
            ("1250000001", "bobsecret")
        );
        assert!(keyring.has_account("1250000001"));

        update_accounts(meta.as_ref(), |doc| {
            doc.accounts[0].keys.clear();
            Ok(())
        })
        .await
        .unwrap();
        keyring.refresh().await.unwrap();
        assert!(keyring.lookup("AKIDbob", None, now()).is_err());
        assert!(keyring.has_account("1250000001"));
    }

    #[tokio::test]
    async fn the_root_key_cannot_be_taken_over_and_a_bad_document_is_ignored() {
        let (_dir, meta) = meta();
        let keyring = AccountKeyring::load(root(), meta.clone()).await.unwrap();
        update_accounts(meta.as_ref(), |doc| {
            doc.accounts
                .push(account("1250000009", &[("AKIDroot", "stolen")]));
            Ok(())
        })
        .await
        .unwrap();
        keyring.refresh().await.unwrap();
        assert_eq!(
            keyring.lookup("AKIDroot", None, now()).unwrap().secret_key,
            "rootsecret"
        );

        let version = meta
            .get_setting(ACCOUNTS_SETTING)
            .await
            .unwrap()
            .unwrap()
            .version;
        assert!(meta
            .put_setting(ACCOUNTS_SETTING, b"{oops".to_vec(), version)
            .await
            .unwrap());
        assert!(keyring.refresh().await.is_err());
        assert!(keyring.lookup("AKIDroot", None, now()).is_ok());
        assert!(AccountKeyring::load(root(), meta).await.is_err());
    }

    #[tokio::test]
    async fn temporary_keys_need_their_token_and_their_account() {
        let (_dir, meta) = meta();
        let signing = token_key(meta.as_ref()).await.unwrap();
        assert_eq!(
            token_key(meta.as_ref()).await.unwrap(),
            signing,
            "created once"
        );
        update_accounts(meta.as_ref(), |doc| {
            doc.accounts.push(account("1250000001", &[]));
            Ok(())
        })
        .await
        .unwrap();
        let keyring = AccountKeyring::load(root(), meta.clone()).await.unwrap();
        let req = TemporaryRequest {
            account: "1250000001".into(),
            duration: Duration::from_secs(60),
            bucket: Some("b-1250000001".into()),
            ..Default::default()
        };
        let issued = issue_temporary(&signing, &req, now()).unwrap();
        assert_eq!(issued.secret_id.len(), token::SECRET_ID_LEN);
        let secret = keyring
            .lookup(&issued.secret_id, Some(&issued.token), now())
            .unwrap();
        assert_eq!(secret.secret_key, issued.secret_key);
        assert_eq!(
            secret.scope.unwrap().bucket.as_deref(),
            Some("b-1250000001")
        );
        assert!(!keyring.is_admin(&Principal::Account {
            account: "1250000000".into(),
            access_key: issued.secret_id.clone(),
            scope: Some(Arc::default()),
        }));

        assert_eq!(
            code(keyring.lookup(&issued.secret_id, None, now())),
            ErrorCode::InvalidAccessKeyId
        );
        let later = now() + Duration::from_secs(60);
        assert_eq!(
            code(keyring.lookup(&issued.secret_id, Some(&issued.token), later)),
            ErrorCode::ExpiredToken
        );

        update_accounts(meta.as_ref(), |doc| {
            doc.accounts.clear();
            Ok(())
        })
        .await
        .unwrap();
        keyring.refresh().await.unwrap();
        assert_eq!(
            code(keyring.lookup(&issued.secret_id, Some(&issued.token), now())),
            ErrorCode::InvalidAccessKeyId
        );
        assert!(issue_temporary(
            &signing,
            &TemporaryRequest {
                duration: Duration::ZERO,
                ..req.clone()
            },
            now()
        )
        .is_err());
        assert!(issue_temporary(
            &signing,
            &TemporaryRequest {
                actions: vec!["bad".into()],
                ..req
            },
            now()
        )
        .is_err());
    }

    #[tokio::test]
    async fn an_unknown_key_wakes_the_refresher() {
        let (_dir, meta) = meta();
        let keyring = AccountKeyring::load(root(), meta).await.unwrap();
        assert!(keyring.lookup("AKIDnobody", None, now()).is_err());
        // The miss left a wake-up permit, so this returns at once.
        keyring.wake.notified().await;
    }
}
