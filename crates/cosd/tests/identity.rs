//! Accounts, keys and temporary credentials against the real binary: several accounts keep to
//! their own buckets, admin commands change keys while the server runs, temporary keys work
//! only with their valid token, and the admin API is off unless asked for and root-only.

mod common;

use common::*;
use std::time::Duration;

const ALICE: &str = "1250000001";

/// Writes the `accounts` setting before the server starts, in the documented file format.
fn alice_key() -> TestKey {
    TestKey {
        appid: ALICE.into(),
        secret_id: "AKIDalice000000000000000000000000000".into(),
        secret_key: "alicesecret".into(),
        token: None,
    }
}

fn start_with_alice() -> (tempfile::TempDir, Server) {
    let tmp = tempfile::tempdir().unwrap();
    let config = accounts_config(tmp.path(), &[alice_key()]);
    let server = Server::start_on(tmp.path(), &[("COSD_CONFIG", config.to_str().unwrap())]);
    (tmp, server)
}

async fn call(server: &Server, key: &TestKey, method: &str, path: &str) -> Response {
    send(
        server.addr,
        cos_signed_as(server, key, method, path, &[], &[]),
    )
    .await
}

#[tokio::test]
async fn each_account_sees_only_its_own_buckets() {
    let (_tmp, server) = start_with_alice();
    let (root, alice) = (TestKey::root(), alice_key());
    let root_bucket = format!("/photos-{APPID}");
    let alice_bucket = format!("/docs-{ALICE}");
    assert_eq!(call(&server, &root, "PUT", &root_bucket).await.status, 200);
    assert_eq!(
        call(&server, &alice, "PUT", &alice_bucket).await.status,
        200
    );
    let put = cos_signed_as(
        &server,
        &alice,
        "PUT",
        &format!("{alice_bucket}/a.txt"),
        &[],
        &[],
    );
    assert_eq!(
        send(server.addr, put.body("alice-private-content"))
            .await
            .status,
        200
    );

    let listing = call(&server, &root, "GET", "/").await.text();
    assert!(listing.contains("photos-1250000000") && !listing.contains("docs-1250000001"));
    let listing = call(&server, &alice, "GET", "/").await.text();
    assert!(listing.contains("docs-1250000001") && !listing.contains("photos-1250000000"));
    assert!(listing.contains(&format!("uin/{ALICE}")));

    for (key, path) in [
        (&root, format!("{alice_bucket}/a.txt")),
        (&root, alice_bucket.clone()),
        (&alice, root_bucket.clone()),
        (&alice, format!("{root_bucket}/x")),
    ] {
        let resp = call(&server, key, "GET", &path).await;
        assert_eq!(resp.status, 403, "{path}: {}", resp.text());
        assert_eq!(resp.xml("Code").as_deref(), Some("AccessDenied"));
        assert!(!resp.text().contains("alice-private-content"));
    }
    // A bucket must carry its creator's APPID.
    let resp = call(&server, &alice, "PUT", &format!("/mine-{APPID}")).await;
    assert_eq!(resp.status, 400, "{}", resp.text());
}

#[tokio::test]
async fn keys_added_and_removed_by_the_cli_take_effect_while_the_server_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start_on(tmp.path(), &[]);
    let bob = add_account_with_key(tmp.path(), "1250000002");
    assert_eq!(bob.secret_id.len(), 36);
    assert!(bob.secret_id.starts_with("AKID"));
    let resp = wait_for_key(&server, &bob, true).await;
    assert_eq!(
        resp.status,
        200,
        "the new key works within seconds: {}",
        resp.text()
    );
    assert_eq!(
        call(&server, &bob, "PUT", "/b-1250000002").await.status,
        200
    );

    let second = add_key(tmp.path(), "1250000002");
    assert_eq!(wait_for_key(&server, &second, true).await.status, 200);
    let listed = cosd_cli(tmp.path(), &["key", "list", "--account", "1250000002"]).unwrap();
    assert!(listed.contains(&bob.secret_id) && listed.contains(&second.secret_id));
    assert!(
        !listed.contains(&bob.secret_key),
        "key list never shows secrets"
    );

    cosd_cli(tmp.path(), &["key", "remove", &bob.secret_id]).unwrap();
    let resp = wait_for_key(&server, &bob, false).await;
    assert_eq!(resp.status, 403);
    assert_eq!(resp.xml("Code").as_deref(), Some("InvalidAccessKeyId"));
    assert_eq!(call(&server, &second, "GET", "/").await.status, 200);

    // The account still owns a bucket: removal is refused, with or without the server. While
    // it runs, the embedded store is locked, so the command cannot even look.
    let err = cosd_cli(tmp.path(), &["account", "remove", "1250000002"]).unwrap_err();
    let embedded = meta_args(tmp.path()).is_empty();
    let expected = if embedded {
        "stop the server"
    } else {
        "still owns 1 bucket"
    };
    assert!(err.contains(expected), "{err}");
    server.kill();
    let err = cosd_cli(tmp.path(), &["account", "remove", "1250000002"]).unwrap_err();
    assert!(
        err.contains("still owns 1 bucket") && err.contains("b-1250000002"),
        "{err}"
    );
    let err = cosd_cli(tmp.path(), &["account", "remove", APPID]).unwrap_err();
    assert!(err.contains("root account"), "{err}");
    cosd_cli(tmp.path(), &["account", "add", "1250000003"]).unwrap();
    let err = cosd_cli(tmp.path(), &["account", "add", "1250000003"]).unwrap_err();
    assert!(err.contains("already exists"), "{err}");
    cosd_cli(tmp.path(), &["account", "remove", "1250000003"]).unwrap();
    let list = cosd_cli(tmp.path(), &["account", "list"]).unwrap();
    assert!(
        list.contains("1250000002") && !list.contains("1250000003"),
        "{list}"
    );
    assert!(cosd_cli(tmp.path(), &["account", "add", "bob"]).is_err());
}

#[tokio::test]
async fn temporary_keys_need_their_valid_unexpired_token() {
    let (tmp, server) = start_with_alice();
    let alice = alice_key();
    assert_eq!(
        call(&server, &alice, "PUT", &format!("/docs-{ALICE}"))
            .await
            .status,
        200
    );
    let temp = issue_temp_key(
        tmp.path(),
        ALICE,
        &[
            "--duration",
            "1h",
            "--bucket",
            "docs-1250000001",
            "--action",
            "cos:GetBucket",
        ],
    );
    assert!(temp.secret_id.starts_with("AKID") && temp.secret_id.len() == 36);
    let resp = call(&server, &temp, "GET", &format!("/docs-{ALICE}")).await;
    assert_eq!(resp.status, 200, "{}", resp.text());

    // Without its token the temporary SecretId is unknown.
    let bare = TestKey {
        token: None,
        ..temp.clone()
    };
    let resp = call(&server, &bare, "GET", "/").await;
    assert_eq!(
        (resp.status, resp.xml("Code").as_deref()),
        (403, Some("InvalidAccessKeyId"))
    );
    // A token edited by one character, or another key's token, does not verify.
    let mut tampered = temp.clone();
    let token = tampered.token.as_mut().unwrap();
    let flipped = if token.starts_with('e') { "f" } else { "e" };
    token.replace_range(0..1, flipped);
    let resp = call(&server, &tampered, "GET", "/").await;
    assert_eq!(
        (resp.status, resp.xml("Code").as_deref()),
        (403, Some("InvalidAccessKeyId"))
    );
    let other = issue_temp_key(tmp.path(), ALICE, &[]);
    let swapped = TestKey {
        token: other.token,
        ..temp.clone()
    };
    assert_eq!(call(&server, &swapped, "GET", "/").await.status, 403);

    // In a presigned URL the token travels as a query parameter.
    let now = now_secs();
    let path = format!("/docs-{ALICE}");
    let host = server.addr.to_string();
    let query = cosd_api::auth::cos_v5::presign_query(
        &temp.secret_id,
        &temp.secret_key,
        &cosd_api::auth::RequestToSign {
            method: "GET",
            path: &path,
            params: &[],
            headers: &[("host", &host)],
        },
        now - 60,
        now + 600,
    );
    let token = encode_component(temp.token.as_deref().unwrap());
    let url = format!("{path}?{query}&x-cos-security-token={token}");
    assert_eq!(
        send(server.addr, Request::new("GET", &url)).await.status,
        200
    );

    let short = issue_temp_key(tmp.path(), ALICE, &["--duration", "1s"]);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let resp = call(&server, &short, "GET", "/").await;
    assert_eq!(
        (resp.status, resp.xml("Code").as_deref()),
        (400, Some("ExpiredToken"))
    );

    let err = cosd_cli(tmp.path(), &["token", "issue", "--account", "1250000009"]).unwrap_err();
    assert!(err.contains("no account"), "{err}");
    let err = cosd_cli(tmp.path(), &["token", "issue", "--duration", "100h"]).unwrap_err();
    assert!(err.contains("duration"), "{err}");
}

async fn admin_request(server: &Server, key: Option<&TestKey>, body: &str) -> Response {
    let path = "/-/admin/temporary-credentials";
    let req = match key {
        Some(key) => cos_signed_as(server, key, "POST", path, &[], &[]),
        None => Request::new("POST", path),
    };
    send(server.addr, req.body(body.to_string())).await
}

#[tokio::test]
async fn the_admin_api_is_off_by_default() {
    let server = Server::start();
    let resp = admin_request(&server, Some(&TestKey::root()), "{}").await;
    assert_eq!(resp.status, 501, "{}", resp.text());
}

#[tokio::test]
async fn the_admin_api_issues_temporary_keys_to_the_root_account_only() {
    let tmp = tempfile::tempdir().unwrap();
    let config = accounts_config(tmp.path(), &[alice_key()]);
    let server = Server::start_on(
        tmp.path(),
        &[
            ("COSD_ADMIN_API", "true"),
            ("COSD_CONFIG", config.to_str().unwrap()),
        ],
    );
    let resp = admin_request(
        &server,
        Some(&TestKey::root()),
        &format!(r#"{{"Account":"{ALICE}","DurationSeconds":900,"Bucket":"docs-{ALICE}"}}"#),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert_eq!(resp.header("content-type"), Some("application/json"));
    let json: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    let expired = json["ExpiredTime"].as_u64().unwrap();
    assert!((now_secs() + 890..=now_secs() + 910).contains(&expired));
    assert!(json["Expiration"].as_str().unwrap().ends_with('Z'));
    let temp = temp_key_from_json(ALICE, &resp.text());
    // The key authenticates as Alice and carries its scope: its bucket is merely missing,
    // while the service (outside the scope) is refused.
    let resp = call(&server, &temp, "GET", &format!("/docs-{ALICE}")).await;
    assert_eq!(
        resp.xml("Code").as_deref(),
        Some("NoSuchBucket"),
        "{}",
        resp.text()
    );
    let resp = call(&server, &temp, "GET", "/").await;
    assert_eq!(
        resp.xml("Code").as_deref(),
        Some("AccessDenied"),
        "{}",
        resp.text()
    );

    for key in [Some(&alice_key()), Some(&temp), None] {
        let resp = admin_request(&server, key, "{}").await;
        assert_eq!(resp.status, 403, "{key:?}: {}", resp.text());
        assert_eq!(resp.xml("Code").as_deref(), Some("AccessDenied"));
    }
    let root = Some(TestKey::root());
    let bad = [
        r#"{"Account":"1250000009"}"#,
        r#"{"DurationSeconds":0}"#,
        r#"{"Actions":["GetObject"]}"#,
        r#"{"Unknown":1}"#,
        "not json",
    ];
    for body in bad {
        let resp = admin_request(&server, root.as_ref(), body).await;
        assert_eq!(resp.status, 400, "{body}: {}", resp.text());
    }
    let resp = send(
        server.addr,
        cos_signed(&server, "GET", "/-/admin/temporary-credentials", &[], &[]),
    )
    .await;
    assert_eq!(resp.status, 405);
}

#[tokio::test]
async fn accounts_declared_in_the_config_file_are_merged_at_start() {
    let (tmp, server) = start_with_alice();
    drop(server);
    let declared = TestKey {
        appid: "1250000005".into(),
        secret_id: "AKIDdeclared00000000000000000000000".into(),
        secret_key: "declaredsecret".into(),
        token: None,
    };
    let config = tmp.path().join("cosd.toml");
    std::fs::write(
        &config,
        format!(
            "[[accounts]]\nappid = \"{}\"\nname = \"carol\"\n[[accounts.keys]]\nsecret_id = \"{}\"\nsecret_key = \"{}\"\n",
            declared.appid, declared.secret_id, declared.secret_key
        ),
    )
    .unwrap();
    let server = Server::start_on(tmp.path(), &[("COSD_CONFIG", config.to_str().unwrap())]);
    for key in [&declared, &alice_key(), &TestKey::root()] {
        let resp = call(&server, key, "GET", "/").await;
        assert_eq!(resp.status, 200, "{}: {}", key.secret_id, resp.text());
    }
    let list = cosd_cli(tmp.path(), &["account", "list"]).unwrap();
    assert!(
        list.contains("carol") && list.contains(&format!("a{ALICE}")),
        "{list}"
    );
}
