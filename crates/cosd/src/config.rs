//! Configuration: command-line flags, each also settable by an environment variable and by a
//! TOML file given with `--config`. A flag beats its environment variable, which beats the file,
//! which beats the default.

use clap::Args;
use cosd_api::accounts::{check_appid, Account, Key};
use cosd_store::BlobLocation;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:9000";
pub const DEFAULT_DATA_DIR: &str = "./cosd-data";
pub const DEFAULT_REGION: &str = "ap-guangzhou";
pub const DEFAULT_APPID: &str = "1250000000";
/// Virtual-host domains served besides `cos.<region>.myqcloud.com` and `tencentcos.cn`:
/// `<bucket>.cos.localhost` suits COS clients, `<bucket>.localhost` S3 clients in virtual mode.
pub const DEFAULT_DOMAINS: &[&str] = &["cos.localhost", "localhost"];
/// Multipart uploads nobody completed or aborted are dropped after a week (as MinIO expires
/// stale uploads), so abandoned parts do not hold space for ever.
pub const DEFAULT_ABORT_UPLOADS_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);

/// On a store several nodes share, a blob lives this long after its entry let go of it: a GET
/// on another node may still be streaming it, and unlike a local file, a remote object (or
/// another host's file) does not stay readable once deleted.
pub const DEFAULT_SHARED_RETIRE: Duration = Duration::from_secs(15 * 60);

/// Parses `90s`, `30m`, `12h`, `7d` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("invalid duration {text:?}: use e.g. 90s, 30m, 1h or 7d"))?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 24 * 3600,
        _ => {
            return Err(format!(
                "invalid duration {text:?}: the unit is s, m, h or d"
            ))
        }
    };
    Ok(Duration::from_secs(n.saturating_mul(unit)))
}

/// `cosd serve` flags.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML file with any of: listen, data_dir, meta, blobs, region, domains, appid, secret_id,
    /// secret_key, admin_api, and [[accounts]] tables (appid, name, [[accounts.keys]]
    /// secret_id/secret_key).
    #[arg(long, env = "COSD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:9000].
    #[arg(long, env = "COSD_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Where the embedded store keeps metadata and blobs [default: ./cosd-data].
    #[arg(long, env = "COSD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Where metadata lives: `embedded` (in the data directory) or a PostgreSQL URL
    /// `postgres://user:password@host:port/database`, shared by every node [default: embedded].
    #[arg(long, env = "COSD_META")]
    pub meta: Option<String>,
    /// The region this server answers for [default: ap-guangzhou].
    #[arg(long, env = "COSD_REGION")]
    pub region: Option<String>,
    /// Virtual-host domain: `<bucket>.<domain>` names a bucket (repeatable, or comma-separated
    /// in the environment) [default: cos.localhost,localhost].
    #[arg(long = "domain", env = "COSD_DOMAINS", value_delimiter = ',')]
    pub domains: Vec<String>,
    /// Serve the admin API (`POST /-/admin/temporary-credentials`) to the root account.
    #[arg(long, env = "COSD_ADMIN_API")]
    pub admin_api: bool,
    /// Where blobs live: a directory, fs:///dir, s3://bucket[/root]?endpoint=…&region=…, or
    /// opendal:<scheme>?option=value… [default: <data-dir>/blobs].
    #[arg(long, env = "COSD_BLOBS")]
    pub blobs: Option<String>,
    /// Abort multipart uploads initiated longer ago than this (`90s`, `30m`, `12h`, `7d`), or
    /// `never` [default: 7d].
    #[arg(long, env = "COSD_ABORT_UPLOADS_AFTER")]
    pub abort_uploads_after: Option<String>,
    /// How long a blob outlives the object entry that stopped referencing it, so reads on
    /// other nodes can finish (`0` deletes at once) [default: 15m when the store is shared by
    /// several nodes (`--meta postgres://…` or `--blobs`), else 0].
    #[arg(long, env = "COSD_RETIRE_BLOBS_AFTER")]
    pub retire_blobs_after: Option<String>,
}

/// The root account as configured (environment or file); unset parts are generated.
#[derive(Debug, Clone, Default)]
pub struct RootAccount {
    pub appid: Option<String>,
    pub secret_id: Option<String>,
    pub secret_key: Option<String>,
}

/// The `--config` file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    meta: Option<String>,
    region: Option<String>,
    domains: Option<Vec<String>>,
    appid: Option<String>,
    secret_id: Option<String>,
    secret_key: Option<String>,
    blobs: Option<String>,
    admin_api: Option<bool>,
    abort_uploads_after: Option<String>,
    retire_blobs_after: Option<String>,
    #[serde(default)]
    accounts: Vec<DeclaredAccount>,
}

/// An `[[accounts]]` table of the config file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeclaredAccount {
    appid: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    keys: Vec<DeclaredKey>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeclaredKey {
    secret_id: String,
    secret_key: String,
}

/// Where the metadata lives.
#[derive(Clone, PartialEq, Eq)]
pub enum MetaConfig {
    /// The embedded store, `<data-dir>/meta.redb`, locked to one process.
    Embedded,
    /// A PostgreSQL-protocol database at this URL, shared by any number of nodes.
    Postgres(String),
}

impl MetaConfig {
    fn parse(value: &str) -> Result<MetaConfig, String> {
        if value == "embedded" {
            Ok(MetaConfig::Embedded)
        } else if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            Ok(MetaConfig::Postgres(value.to_string()))
        } else {
            Err(format!(
                "invalid meta {:?}: use `embedded` or a postgres:// URL",
                redact(value)
            ))
        }
    }
}

/// Never prints the URL's password.
impl std::fmt::Debug for MetaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetaConfig::Embedded => f.write_str("embedded"),
            MetaConfig::Postgres(url) => write!(f, "{}", redact(url)),
        }
    }
}

/// `url` with any password replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let authority_end = url[scheme_end..]
        .find(['/', '?'])
        .map_or(url.len(), |i| scheme_end + i);
    let authority = &url[scheme_end..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:***{}",
            &url[..scheme_end],
            &authority[..colon],
            &url[scheme_end + at..]
        ),
        _ => url.to_string(),
    }
}

/// The resolved configuration of `cosd serve`.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub meta: MetaConfig,
    pub region: String,
    pub domains: Vec<String>,
    pub root: RootAccount,
    pub admin_api: bool,
    /// Accounts declared in the config file, merged into the stored ones at start.
    pub accounts: Vec<Account>,
    /// `None`: the embedded default, `<data_dir>/blobs`.
    pub blobs: Option<BlobLocation>,
    /// Multipart uploads older than this are aborted by the hourly cleanup; `None`: never.
    pub abort_uploads_after: Option<Duration>,
    /// How long blobs of replaced or deleted entries live on (zero: deleted at once).
    pub retire_blobs_after: Duration,
}

impl Config {
    /// Resolves flags (clap already folded in their environment variables), the root account's
    /// environment variables, the config file and the defaults.
    pub fn resolve(
        args: ServeArgs,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, String> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let region = args
            .region
            .or(file.region)
            .unwrap_or_else(|| DEFAULT_REGION.to_string());
        if region.is_empty()
            || !region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(format!(
                "invalid region {region:?}: use lower-case letters, digits and '-'"
            ));
        }
        let domains = if !args.domains.is_empty() {
            args.domains
        } else {
            file.domains
                .unwrap_or_else(|| DEFAULT_DOMAINS.iter().map(|d| d.to_string()).collect())
        };
        let root = RootAccount {
            appid: env("COSD_APPID").or(file.appid),
            secret_id: env("COSD_SECRET_ID").or(file.secret_id),
            secret_key: env("COSD_SECRET_KEY").or(file.secret_key),
        };
        if let Some(appid) = &root.appid {
            if appid.is_empty() || !appid.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("invalid APPID {appid:?}: it must be a number"));
            }
        }
        let blobs = match args.blobs.or(file.blobs) {
            Some(s) => Some(
                s.parse::<BlobLocation>()
                    .map_err(|e| format!("invalid --blobs: {e}"))?,
            ),
            None => None,
        };
        let meta = match args.meta.or(file.meta) {
            Some(value) => MetaConfig::parse(&value)?,
            None => MetaConfig::Embedded,
        };
        let mut accounts = Vec::new();
        for declared in file.accounts {
            check_appid(&declared.appid)?;
            let keys = declared.keys.into_iter().map(|k| {
                if k.secret_id.is_empty() || k.secret_key.is_empty() {
                    return Err(format!(
                        "account {}: a key needs a secret_id and a secret_key",
                        declared.appid
                    ));
                }
                Ok(Key {
                    secret_id: k.secret_id,
                    secret_key: k.secret_key,
                    ..Key::default()
                })
            });
            accounts.push(Account {
                appid: declared.appid.clone(),
                name: declared.name,
                keys: keys.collect::<Result<_, _>>()?,
                ..Account::default()
            });
        }
        let abort_uploads_after = match args.abort_uploads_after.or(file.abort_uploads_after) {
            None => Some(DEFAULT_ABORT_UPLOADS_AFTER),
            Some(value) if value == "never" => None,
            Some(value) => {
                Some(parse_duration(&value).map_err(|e| format!("abort_uploads_after: {e}"))?)
            }
        };
        let shared = meta != MetaConfig::Embedded || blobs.is_some();
        let retire_blobs_after = match args.retire_blobs_after.or(file.retire_blobs_after) {
            Some(value) => {
                parse_duration(&value).map_err(|e| format!("retire_blobs_after: {e}"))?
            }
            None if shared => DEFAULT_SHARED_RETIRE,
            None => Duration::ZERO,
        };
        Ok(Config {
            meta,
            blobs,
            abort_uploads_after,
            retire_blobs_after,
            admin_api: args.admin_api || file.admin_api.unwrap_or(false),
            accounts,
            listen: args
                .listen
                .or(file.listen)
                .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("valid default")),
            data_dir: args
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            region,
            domains: domains
                .into_iter()
                .map(|d| d.trim().trim_matches('.').to_ascii_lowercase())
                .filter(|d| !d.is_empty())
                .collect(),
            root,
        })
    }
}

fn read_file(path: &Path) -> Result<FileConfig, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("invalid config file {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> ServeArgs {
        ServeArgs {
            config: None,
            listen: None,
            data_dir: None,
            meta: None,
            region: None,
            domains: vec![],
            admin_api: false,
            blobs: None,
            abort_uploads_after: None,
            retire_blobs_after: None,
        }
    }

    #[test]
    fn blobs_are_retired_late_only_on_shared_stores() {
        let resolve = |blobs: Option<&str>, value: Option<&str>| {
            let args = ServeArgs {
                blobs: blobs.map(String::from),
                retire_blobs_after: value.map(String::from),
                ..args()
            };
            Config::resolve(args, |_| None).map(|c| c.retire_blobs_after)
        };
        assert_eq!(resolve(None, None), Ok(Duration::ZERO));
        assert_eq!(
            resolve(Some("/mnt/shared"), None),
            Ok(DEFAULT_SHARED_RETIRE)
        );
        assert_eq!(resolve(Some("/mnt/shared"), Some("0")), Ok(Duration::ZERO));
        assert_eq!(resolve(None, Some("2m")), Ok(Duration::from_secs(120)));
        assert!(resolve(None, Some("later")).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("600"), Ok(Duration::from_secs(600)));
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("h").is_err());
    }

    #[test]
    fn stale_uploads_are_aborted_after_a_week_unless_configured() {
        let resolve = |value: Option<&str>| {
            let args = ServeArgs {
                abort_uploads_after: value.map(String::from),
                ..args()
            };
            Config::resolve(args, |_| None).map(|c| c.abort_uploads_after)
        };
        assert_eq!(resolve(None), Ok(Some(DEFAULT_ABORT_UPLOADS_AFTER)));
        assert_eq!(
            resolve(Some("12h")),
            Ok(Some(Duration::from_secs(12 * 3600)))
        );
        assert_eq!(resolve(Some("never")), Ok(None));
        assert!(resolve(Some("soon")).is_err());
    }

    #[test]
    fn meta_is_embedded_or_a_postgres_url() {
        assert_eq!(
            Config::resolve(args(), |_| None).unwrap().meta,
            MetaConfig::Embedded
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cosd.toml");
        std::fs::write(&path, "meta = \"postgresql://cosd@db:5432/cosd\"\n").unwrap();
        let mut a = args();
        a.config = Some(path.clone());
        let c = Config::resolve(a, |_| None).unwrap();
        assert_eq!(
            c.meta,
            MetaConfig::Postgres("postgresql://cosd@db:5432/cosd".into())
        );
        let mut a = args();
        a.config = Some(path);
        a.meta = Some("embedded".into());
        assert_eq!(
            Config::resolve(a, |_| None).unwrap().meta,
            MetaConfig::Embedded
        );
        let mut a = args();
        a.meta = Some("mysql://u:secret@h/db".into());
        let err = Config::resolve(a, |_| None).unwrap_err();
        assert!(
            err.contains("postgres://") && !err.contains("secret"),
            "{err}"
        );
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://cosd:s3cr:et@db:5432/cosd?sslmode=disable"),
            "postgres://cosd:***@db:5432/cosd?sslmode=disable"
        );
        assert_eq!(
            redact("postgres://cosd@127.0.0.1:5432/cosd"),
            "postgres://cosd@127.0.0.1:5432/cosd"
        );
        assert_eq!(
            format!("{:?}", MetaConfig::Postgres("postgres://u:pw@h/d".into())),
            "postgres://u:***@h/d"
        );
    }

    #[test]
    fn defaults() {
        let c = Config::resolve(args(), |_| None).unwrap();
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(c.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert_eq!(c.region, DEFAULT_REGION);
        assert_eq!(c.domains, vec!["cos.localhost", "localhost"]);
        assert!(c.root.secret_id.is_none());
        assert!(c.blobs.is_none());
    }

    #[test]
    fn blobs_from_flag_or_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cosd.toml");
        std::fs::write(&path, "blobs = \"fs:///srv/blobs\"\n").unwrap();
        let mut a = args();
        a.config = Some(path.clone());
        let c = Config::resolve(a, |_| None).unwrap();
        assert_eq!(c.blobs.unwrap().to_string(), "opendal:fs?root=/srv/blobs");
        let mut a = args();
        a.config = Some(path);
        a.blobs = Some("/mnt/blobs".into());
        let c = Config::resolve(a, |_| None).unwrap();
        assert_eq!(c.blobs, Some(BlobLocation::Dir("/mnt/blobs".into())));
        let mut a = args();
        a.blobs = Some("ftp://host/x".into());
        let err = Config::resolve(a, |_| None).unwrap_err();
        assert!(err.contains("unknown blob location scheme"), "{err}");
    }

    #[test]
    fn flags_beat_file_and_env_beats_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cosd.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:7000\"\nregion = \"ap-beijing\"\ndomains = [\"s3.test\"]\nappid = \"1\"\nsecret_id = \"file-id\"\n").unwrap();
        let mut a = args();
        a.config = Some(path);
        a.region = Some("ap-shanghai".into());
        let env = |k: &str| (k == "COSD_SECRET_ID").then(|| "env-id".to_string());
        let c = Config::resolve(a, env).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:7000");
        assert_eq!(c.region, "ap-shanghai");
        assert_eq!(c.domains, vec!["s3.test"]);
        assert_eq!(c.root.appid.as_deref(), Some("1"));
        assert_eq!(c.root.secret_id.as_deref(), Some("env-id"));
        assert!(!c.admin_api);
    }

    #[test]
    fn accounts_and_the_admin_api_come_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cosd.toml");
        std::fs::write(
            &path,
            "admin_api = true\n[[accounts]]\nappid = \"1250000001\"\nname = \"bob\"\n\
             [[accounts.keys]]\nsecret_id = \"AKIDbob\"\nsecret_key = \"s\"\n\
             [[accounts]]\nappid = \"1250000002\"\n",
        )
        .unwrap();
        let mut a = args();
        a.config = Some(path.clone());
        let c = Config::resolve(a, |_| None).unwrap();
        assert!(c.admin_api);
        assert_eq!(c.accounts.len(), 2);
        assert_eq!(c.accounts[0].name, "bob");
        assert_eq!(c.accounts[0].keys[0].secret_id, "AKIDbob");
        assert!(c.accounts[1].keys.is_empty());
        std::fs::write(&path, "[[accounts]]\nappid = \"bob\"\n").unwrap();
        let mut a = args();
        a.config = Some(path);
        assert!(Config::resolve(a, |_| None).unwrap_err().contains("APPID"));
    }

    #[test]
    fn bad_values_are_refused() {
        let mut a = args();
        a.region = Some("Bad Region".into());
        assert!(Config::resolve(a, |_| None).is_err());
        assert!(Config::resolve(args(), |k| (k == "COSD_APPID").then(|| "12a".into())).is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "lissten = 1").unwrap();
        let mut a = args();
        a.config = Some(path);
        assert!(Config::resolve(a, |_| None)
            .unwrap_err()
            .contains("lissten"));
    }
}
