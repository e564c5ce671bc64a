//! The `accounts` setting's keys, read once at start, beside the root account's.
//!
//! Interim: the identity work replaces this with the full account store (admin commands,
//! temporary keys, live reload). It reads the agreed format —
//! `{"accounts":[{"appid":…,"name":…,"keys":[{"secret_id":…,"secret_key":…}]}]}` — so that
//! several accounts can be tested before that lands.

use crate::credentials::Credentials;
use cosd_api::auth::{Keyring, Secret};
use cosd_store::Store;
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Deserialize)]
struct Doc {
    #[serde(default)]
    accounts: Vec<Account>,
}

#[derive(Deserialize)]
struct Account {
    appid: String,
    #[serde(default)]
    keys: Vec<Key>,
}

#[derive(Deserialize)]
struct Key {
    secret_id: String,
    secret_key: String,
}

/// The root account's key and every key of the `accounts` setting.
pub struct Accounts {
    root: Credentials,
    others: HashMap<String, Secret>,
}

impl Accounts {
    pub async fn load(store: &Store, root: Credentials) -> Result<Accounts, String> {
        let setting = store
            .meta
            .get_setting("accounts")
            .await
            .map_err(|e| format!("cannot read the accounts setting: {e}"))?;
        let doc: Doc = match setting {
            Some(s) => serde_json::from_slice(&s.value)
                .map_err(|e| format!("the accounts setting does not parse: {e}"))?,
            None => Doc { accounts: vec![] },
        };
        let others = doc
            .accounts
            .into_iter()
            .flat_map(|a| {
                a.keys.into_iter().map(move |k| {
                    let secret = Secret {
                        secret_key: k.secret_key,
                        account: a.appid.clone(),
                        scope: None,
                    };
                    (k.secret_id, secret)
                })
            })
            .collect();
        Ok(Accounts { root, others })
    }
}

impl Keyring for Accounts {
    fn lookup(&self, access_key: &str) -> Option<Secret> {
        self.root
            .lookup(access_key)
            .or_else(|| self.others.get(access_key).cloned())
    }
}
