//! The daily work without curl: the wallet and the offers, whether or not `serve` runs.
//! See: issue #21, "The daily work needs curl".

use super::cli::{init, ok, serve, symbolon};

/// A data directory with an identity and a credential issued to it by itself (a file).
fn holder() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let did = init(dir.path());
    let vc = ok(&[
        "credential",
        "issue",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--type",
        "TrialSiteCredential",
        "--subject",
        &did,
        "--claims",
        r#"{"trialId":"NL-1","siteId":"site-1"}"#,
    ]);
    let file = dir.path().join("site.jwt");
    std::fs::write(&file, vc.trim()).unwrap();
    let file = file.to_str().unwrap().to_owned();
    (dir, file)
}

fn held(d: &str) -> Vec<serde_json::Value> {
    let listed = ok(&["credential", "list", "--data-dir", d, "--json"]);
    serde_json::from_str::<serde_json::Value>(&listed)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn credentials_are_stored_listed_and_removed_without_a_server() {
    let (dir, file) = holder();
    let d = dir.path().to_str().unwrap();
    ok(&["credential", "store", "--data-dir", d, &file]);
    let credentials = held(d);
    assert_eq!(credentials.len(), 1);
    let key = credentials[0]["key"].as_str().unwrap().to_owned();
    assert!(ok(&["credential", "list", "--data-dir", d]).starts_with(&key));

    let missing = symbolon(&["credential", "remove", "--data-dir", d, "nope"]);
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("no credential `nope` in the wallet"),
        "{stderr}"
    );
    assert!(
        stderr.contains("credential list"),
        "says where keys are: {stderr}"
    );

    assert!(ok(&["credential", "remove", "--data-dir", d, &key]).contains("removed"));
    assert!(held(d).is_empty());
}

#[test]
fn credentials_are_stored_listed_and_removed_through_a_running_server() {
    let (dir, file) = holder();
    let d = dir.path().to_str().unwrap();
    let (_server, _) = serve(dir.path());
    ok(&["credential", "store", "--data-dir", d, &file]);
    let credentials = held(d);
    assert_eq!(credentials.len(), 1, "{credentials:?}");
    // By its id this time (the server matches ids as well as keys).
    let id = credentials[0]["id"].as_str().unwrap().to_owned();
    assert!(ok(&["credential", "remove", "--data-dir", d, &id]).contains("removed"));
    assert!(held(d).is_empty());
    let again = symbolon(&["credential", "remove", "--data-dir", d, &id]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("no credential"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn offers_are_listed_from_the_store_when_no_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    let d = dir.path().to_str().unwrap();
    let policy = dir.path().join("offer.policy");
    std::fs::write(
        &policy,
        "policy \"p\" {\n  permit use on offer \"cohort\"\n  when holder.member_of == \"hds\"\n}\n",
    )
    .unwrap();
    {
        let (_server, _) = serve(dir.path());
        ok(&[
            "offer",
            "create",
            "--data-dir",
            d,
            "--id",
            "cohort",
            "--title",
            "A cohort",
            "--policy",
            policy.to_str().unwrap(),
        ]);
        assert!(ok(&["offer", "list", "--data-dir", d]).contains("cohort"));
    }
    // The server is gone (and `serve.url` still names it): the store answers.
    let listed = ok(&["offer", "list", "--data-dir", d]);
    assert!(listed.starts_with("cohort  A cohort"), "{listed}");
    let listed: serde_json::Value =
        serde_json::from_str(&ok(&["offer", "list", "--data-dir", d, "--json"])).unwrap();
    assert_eq!(listed[0]["id"], "cohort");
}

#[test]
fn one_checked_policy_is_one_policy() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("one.policy");
    std::fs::write(
        &policy,
        "policy \"p\" {\n  permit use on offer \"o\"\n  when holder.member_of == \"hds\"\n}\n",
    )
    .unwrap();
    let checked = ok(&["policy", "check", policy.to_str().unwrap()]);
    assert_eq!(checked.trim(), "1 policy checked, no problems found");
}
