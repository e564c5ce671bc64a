//! Admin commands for accounts, keys and temporary credentials: `cosd account …`,
//! `cosd key …`, `cosd token issue`. They change the `accounts` setting of the data directory
//! (compare-and-set, so concurrent admins never lose a change); a running server picks the
//! change up within about a second.

use crate::config::{Config, ServeArgs, DEFAULT_APPID};
use crate::storage::AdminStore;
use clap::{Args, Subcommand};
use cosd_api::accounts::{
    check_appid, issue_temporary, new_key, read_accounts, token_key, update_accounts, Account,
    SettingsStore, TemporaryRequest,
};
use cosd_store::Store;
use std::time::{Duration, SystemTime};

#[derive(Subcommand)]
pub enum AccountCommand {
    /// Add an account (then give it keys with `cosd key add`).
    Add {
        /// Its APPID: a number (COS's have 10 digits); its buckets are named `<name>-<appid>`.
        appid: String,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        store: ServeArgs,
    },
    /// List the accounts.
    List {
        #[command(flatten)]
        store: ServeArgs,
    },
    /// Remove an account and its keys; refused while it owns buckets.
    Remove {
        appid: String,
        #[command(flatten)]
        store: ServeArgs,
    },
}

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Generate a key pair for an account and print it.
    Add {
        #[arg(long)]
        account: String,
        #[command(flatten)]
        store: ServeArgs,
    },
    /// List SecretIds (never SecretKeys).
    List {
        #[arg(long)]
        account: Option<String>,
        #[command(flatten)]
        store: ServeArgs,
    },
    /// Remove a key pair; requests signed with it fail from then on.
    Remove {
        secret_id: String,
        #[command(flatten)]
        store: ServeArgs,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Issue a temporary SecretId / SecretKey / token and print them as JSON.
    Issue(IssueArgs),
}

#[derive(Args)]
pub struct IssueArgs {
    /// The account the key acts for [default: the root account].
    #[arg(long)]
    account: Option<String>,
    /// How long the key lives: `90s`, `30m`, `1h`, `36h` at most, or seconds.
    #[arg(long, default_value = "1h", value_parser = crate::config::parse_duration)]
    duration: Duration,
    /// The one bucket the key may use (full name, `<name>-<appid>`).
    #[arg(long)]
    bucket: Option<String>,
    /// The key prefix objects must have.
    #[arg(long)]
    prefix: Option<String>,
    /// An action the key may do, e.g. `cos:GetObject` (repeatable; none: any).
    #[arg(long = "action")]
    actions: Vec<String>,
    #[command(flatten)]
    store: ServeArgs,
}

pub fn account(cmd: AccountCommand) -> Result<(), String> {
    match cmd {
        AccountCommand::Add { appid, name, store } => {
            run(store, |env| async move {
                check_appid(&appid)?;
                if appid == env.root {
                    return Err(format!("{appid} is the root account; it always exists"));
                }
                update_accounts(env.settings(), |doc| {
                    if doc.find(&appid).is_some() {
                        return Err(format!("account {appid} already exists"));
                    }
                    doc.accounts.push(Account {
                        appid: appid.clone(),
                        name: name.clone().unwrap_or_default(),
                        ..Account::default()
                    });
                    Ok(())
                })
                .await?;
                println!("cosd: added account {appid}; give it keys with `cosd key add --account {appid}`");
                Ok(())
            })
        }
        AccountCommand::List { store } => run(store, |env| async move {
            let (doc, _) = read_accounts(env.settings()).await?;
            println!("{:<20} {:<6} NAME", "APPID", "KEYS");
            if doc.find(&env.root).is_none() {
                println!("{:<20} {:<6} (root account)", env.root, 1);
            }
            for a in &doc.accounts {
                let keys = a.keys.len() + usize::from(a.appid == env.root);
                let root = if a.appid == env.root {
                    " (root account)"
                } else {
                    ""
                };
                println!("{:<20} {:<6} {}{root}", a.appid, keys, a.name);
            }
            Ok(())
        }),
        AccountCommand::Remove { appid, store } => run(store, |env| async move {
            if appid == env.root {
                return Err(format!("{appid} is the root account and cannot be removed"));
            }
            let owned = env.buckets_of(&appid).await?;
            if !owned.is_empty() {
                return Err(format!(
                    "account {appid} still owns {} bucket(s) ({}); delete them first",
                    owned.len(),
                    owned.join(", ")
                ));
            }
            update_accounts(env.settings(), |doc| {
                let before = doc.accounts.len();
                doc.accounts.retain(|a| a.appid != appid);
                if doc.accounts.len() == before {
                    return Err(format!("there is no account {appid}"));
                }
                Ok(())
            })
            .await?;
            println!("cosd: removed account {appid} and its keys");
            Ok(())
        }),
    }
}

pub fn key(cmd: KeyCommand) -> Result<(), String> {
    match cmd {
        KeyCommand::Add { account, store } => run(store, |env| async move {
            let key = new_key(SystemTime::now());
            update_accounts(env.settings(), |doc| {
                if doc.find(&account).is_none() {
                    if account != env.root {
                        return Err(format!(
                            "there is no account {account}; add it with `cosd account add {account}`"
                        ));
                    }
                    doc.accounts.push(Account {
                        appid: account.clone(),
                        ..Account::default()
                    });
                }
                let entry = doc.accounts.iter_mut().find(|a| a.appid == account);
                entry.expect("present").keys.push(key.clone());
                Ok(())
            })
            .await?;
            println!(
                "cosd: added a key to account {account}\n  SecretId:  {}\n  SecretKey: {}\n  APPID:     {account}",
                key.secret_id, key.secret_key
            );
            Ok(())
        }),
        KeyCommand::List { account, store } => run(store, |env| async move {
            let (doc, _) = read_accounts(env.settings()).await?;
            println!(
                "{:<40} {:<20} CREATED (ms since 1970)",
                "SECRET_ID", "APPID"
            );
            for a in doc
                .accounts
                .iter()
                .filter(|a| account.as_ref().is_none_or(|x| *x == a.appid))
            {
                for k in &a.keys {
                    println!("{:<40} {:<20} {}", k.secret_id, a.appid, k.created_ms);
                }
            }
            Ok(())
        }),
        KeyCommand::Remove { secret_id, store } => run(store, |env| async move {
            let owner = update_accounts(env.settings(), |doc| {
                for a in &mut doc.accounts {
                    let before = a.keys.len();
                    a.keys.retain(|k| k.secret_id != secret_id);
                    if a.keys.len() != before {
                        return Ok(a.appid.clone());
                    }
                }
                Err(format!(
                    "there is no stored key {secret_id} (the root key is set by COSD_SECRET_ID or credentials.toml, not here)"
                ))
            })
            .await?;
            println!("cosd: removed key {secret_id} of account {owner}");
            Ok(())
        }),
    }
}

pub fn token(cmd: TokenCommand) -> Result<(), String> {
    let TokenCommand::Issue(args) = cmd;
    run(args.store, |env| async move {
        let account = args.account.unwrap_or_else(|| env.root.clone());
        let (doc, _) = read_accounts(env.settings()).await?;
        if account != env.root && doc.find(&account).is_none() {
            return Err(format!("there is no account {account}"));
        }
        let signing_key = token_key(env.settings()).await?;
        let now = SystemTime::now();
        let req = TemporaryRequest {
            account,
            duration: args.duration,
            bucket: args.bucket,
            prefix: args.prefix,
            actions: args.actions,
        };
        let issued = issue_temporary(&signing_key, &req, now)?;
        println!("{}", cosd_api::admin::credentials_json(issued, now));
        Ok(())
    })
}

/// What a command runs against.
struct Env {
    store: AdminStore,
    /// The root account's APPID.
    root: String,
}

impl Env {
    fn settings(&self) -> &dyn SettingsStore {
        match &self.store {
            AdminStore::Full(store) => store,
            AdminStore::SettingsOnly { settings, .. } => settings,
        }
    }

    /// The buckets `appid` owns. Needs the whole store, which a running embedded server holds.
    async fn buckets_of(&self, appid: &str) -> Result<Vec<String>, String> {
        let store: &Store = match &self.store {
            AdminStore::Full(store) => store,
            AdminStore::SettingsOnly { why, .. } => {
                return Err(format!(
                    "cannot check which buckets the account owns ({why}); stop the server and retry"
                ))
            }
        };
        let buckets = store.meta.list_buckets().await.map_err(|e| e.to_string())?;
        Ok(buckets
            .into_iter()
            .filter(|b| b.owner == appid)
            .map(|b| b.name)
            .collect())
    }
}

fn run<F, Fut>(args: ServeArgs, f: F) -> Result<(), String>
where
    F: FnOnce(Env) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let config = Config::resolve(args, |k| std::env::var(k).ok())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let root = config
        .root
        .appid
        .clone()
        .or_else(|| {
            crate::credentials::load_stored(&config.data_dir)
                .ok()
                .map(|c| c.appid)
        })
        .unwrap_or_else(|| DEFAULT_APPID.to_string());
    runtime.block_on(async {
        let store = AdminStore::open(&config).await?;
        f(Env { store, root }).await
    })
}
