//! The command line as a user types it: init → issue → verify → revoke → verify (rejected).

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

pub fn symbolon(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_symbolon"))
        .args(args)
        .env_remove("SYMBOLON_PASSPHRASE")
        .env_remove("SYMBOLON_DATA_DIR")
        .output()
        .unwrap()
}

pub fn ok(args: &[&str]) -> String {
    let output = symbolon(args);
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

pub fn init(dir: &Path) -> String {
    ok(&["init", "--data-dir", dir.to_str().unwrap()])
        .trim()
        .to_owned()
}

pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn serve(dir: &Path) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_symbolon"))
        .args([
            "serve",
            "--data-dir",
            dir.to_str().unwrap(),
            "--http",
            "127.0.0.1:0",
            "--allow-private-callbacks",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected: {line}"))
        .to_owned();
    (Server(child), url)
}

#[test]
fn init_refuses_to_overwrite_and_protects_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let did = init(dir.path());
    assert!(did.starts_with("did:key:z6Mk"), "{did}");
    let again = symbolon(&["init", "--data-dir", dir.path().to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("refusing to overwrite"));
    #[cfg(unix)]
    for file in ["identity.key", "admin.token"] {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
    assert_eq!(
        ok(&["did", "show", "--data-dir", dir.path().to_str().unwrap()]).trim(),
        did
    );
    let document: serde_json::Value = serde_json::from_str(&ok(&["did", "resolve", &did])).unwrap();
    assert_eq!(document["id"], did.as_str());
    let bad = symbolon(&["did", "resolve", "did:nope"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn p256_identity_issues_verifiable_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let did = ok(&[
        "init",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--key",
        "p256",
    ])
    .trim()
    .to_owned();
    assert!(did.starts_with("did:key:zDn"), "{did}");
    let claims =
        r#"{"legalName":"A","registrationNumber":"1","role":"Auditor","dataSpaceId":"hds"}"#;
    let vc = ok(&[
        "credential",
        "issue",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--type",
        "DataSpaceMembershipCredential",
        "--subject",
        &did,
        "--claims",
        claims,
    ]);
    let file = dir.path().join("vc.jwt");
    std::fs::write(&file, &vc).unwrap();
    ok(&["credential", "verify", "--no-trust", file.to_str().unwrap()]);
    // Without a running server the CLI records the issuance in the trail itself.
    let issued = trail_events(dir.path(), "credential.issued");
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0]["details"]["credential"], vc.trim());
}

/// The events of `kind` in the audit trail of `dir`, exported (through `serve` if it runs).
pub fn trail_events(dir: &Path, kind: &str) -> Vec<serde_json::Value> {
    let out = dir.join(format!("trail-{kind}.json"));
    ok(&[
        "audit",
        "export",
        "--data-dir",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let bundle: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    bundle["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["event"].clone())
        .filter(|event| event["type"] == kind)
        .collect()
}

#[test]
fn walkthrough_issue_verify_store_present_revoke() {
    let authority_dir = tempfile::tempdir().unwrap();
    let hospital_dir = tempfile::tempdir().unwrap();
    let (authority, hospital) = (authority_dir.path(), hospital_dir.path());
    let authority_did = init(authority);
    let hospital_did = init(hospital);
    let (_server, url) = serve(authority);
    let a = authority.to_str().unwrap();
    let h = hospital.to_str().unwrap();

    let trust = ok(&[
        "trust-list",
        "issue",
        "--data-dir",
        a,
        "--data-space",
        "hds",
        "--entry",
        &format!("{authority_did}=DataSpaceMembershipCredential"),
    ]);
    let trust_file = hospital.join("trust.jwt");
    std::fs::write(&trust_file, &trust).unwrap();
    ok(&[
        "trust-list",
        "install",
        "--data-dir",
        h,
        trust_file.to_str().unwrap(),
    ]);

    let claims = r#"{"legalName":"Ziekenhuis","registrationNumber":"KvK-1","role":"Hospital","dataSpaceId":"hds"}"#;
    let vc = ok(&[
        "credential",
        "issue",
        "--data-dir",
        a,
        "--type",
        "DataSpaceMembershipCredential",
        "--subject",
        &hospital_did,
        "--claims",
        claims,
        "--status",
    ]);
    let vc_file = hospital.join("membership.jwt");
    std::fs::write(&vc_file, vc.trim()).unwrap();

    let report: serde_json::Value = serde_json::from_str(&ok(&[
        "credential",
        "verify",
        "--trust-list",
        trust_file.to_str().unwrap(),
        "--json",
        vc_file.to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(report["verified"], true, "{report}");
    assert!(
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["check"] == "status" && c["outcome"] == "passed"),
        "{report}"
    );

    ok(&[
        "credential",
        "store",
        "--data-dir",
        h,
        vc_file.to_str().unwrap(),
    ]);
    let held: serde_json::Value =
        serde_json::from_str(&ok(&["credential", "list", "--data-dir", h, "--json"])).unwrap();
    assert_eq!(held.as_array().unwrap().len(), 1);
    let refused = symbolon(&[
        "credential",
        "store",
        "--data-dir",
        a,
        vc_file.to_str().unwrap(),
    ]);
    assert_eq!(
        refused.status.code(),
        Some(1),
        "the authority is not the subject"
    );

    let vp = ok(&[
        "presentation",
        "create",
        "--data-dir",
        h,
        "--nonce",
        "n-1",
        "--audience",
        &url,
    ]);
    let vp_file = hospital.join("vp.jwt");
    std::fs::write(&vp_file, vp.trim()).unwrap();
    ok(&[
        "presentation",
        "verify",
        "--nonce",
        "n-1",
        "--audience",
        &url,
        "--data-dir",
        h,
        vp_file.to_str().unwrap(),
    ]);
    let wrong = symbolon(&[
        "presentation",
        "verify",
        "--nonce",
        "n-2",
        "--audience",
        &url,
        "--data-dir",
        h,
        vp_file.to_str().unwrap(),
    ]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong challenge"));

    ok(&[
        "credential",
        "revoke",
        "--data-dir",
        a,
        vc_file.to_str().unwrap(),
    ]);
    let rejected = symbolon(&[
        "credential",
        "verify",
        "--trust-list",
        trust_file.to_str().unwrap(),
        vc_file.to_str().unwrap(),
    ]);
    assert_eq!(rejected.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&rejected.stderr).contains("revoked"),
        "{}",
        String::from_utf8_lossy(&rejected.stderr)
    );
    // `serve` held the authority's store, so issuance and revocation went through it and are
    // in its trail.
    let issued = trail_events(authority, "credential.issued");
    assert_eq!(issued.len(), 1, "{issued:?}");
    assert_eq!(issued[0]["details"]["credential"], vc.trim());
    let revoked = trail_events(authority, "credential.status");
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert_eq!(revoked[0]["outcome"], "revoked");
}

#[test]
fn verify_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.txt");
    std::fs::write(&garbage, "not a credential").unwrap();
    assert_eq!(
        symbolon(&[
            "credential",
            "verify",
            "--no-trust",
            garbage.to_str().unwrap()
        ])
        .status
        .code(),
        Some(1)
    );
    assert_eq!(
        symbolon(&["credential", "verify", "/nonexistent/file"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(symbolon(&["credential", "verify"]).status.code(), Some(2));
    let untrusted_dir = tempfile::tempdir().unwrap();
    let rogue = init(untrusted_dir.path());
    let authority = init(dir.path());
    let trust = ok(&[
        "trust-list",
        "issue",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--data-space",
        "hds",
        "--entry",
        &format!("{authority}=DataSpaceMembershipCredential"),
    ]);
    let trust_file = dir.path().join("trust.jwt");
    std::fs::write(&trust_file, trust).unwrap();
    let claims =
        r#"{"legalName":"R","registrationNumber":"1","role":"Hospital","dataSpaceId":"hds"}"#;
    let vc = ok(&[
        "credential",
        "issue",
        "--data-dir",
        untrusted_dir.path().to_str().unwrap(),
        "--type",
        "DataSpaceMembershipCredential",
        "--subject",
        &rogue,
        "--claims",
        claims,
    ]);
    let vc_file = dir.path().join("rogue.jwt");
    std::fs::write(&vc_file, vc).unwrap();
    let output = symbolon(&[
        "credential",
        "verify",
        "--trust-list",
        trust_file.to_str().unwrap(),
        vc_file.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not trusted"));
}

fn policy_file() -> String {
    format!(
        "{}/../policy/tests/data/ppa-ibd-2024.policy",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn policy_check_eval_and_odrl_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let policy = policy_file();
    assert!(ok(&["policy", "check", &policy]).contains("no problems"));

    let bad = dir.path().join("bad.policy");
    std::fs::write(&bad, "policy \"p\" {\n  permit join_computation on offer \"o\" when holder.rol == \"Hospital\"\n}\n").unwrap();
    let output = symbolon(&["policy", "check", bad.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad.policy:2:"), "{stderr}");
    assert!(stderr.contains('^'), "{stderr}");
    assert!(stderr.contains("holder.role"), "did you mean: {stderr}");

    let request = |role: &str| {
        serde_json::json!({
            "action": "join_computation", "offer": "ppa-ibd-2024", "now": "2026-11-23T20:00:00Z",
            "holder": {"role": role, "member_of": "health-data-space-nl"},
            "consent": {"purposes": ["scientific-research"]},
            "request": {"purpose": "scientific-research"},
            "session": {"parties": 3}
        })
    };
    let permit = dir.path().join("permit.json");
    std::fs::write(&permit, request("Hospital").to_string()).unwrap();
    let decision: serde_json::Value = serde_json::from_str(&ok(&[
        "policy",
        "eval",
        &policy,
        "--request",
        permit.to_str().unwrap(),
        "--json",
    ]))
    .unwrap();
    assert!(
        decision.to_string().contains("min_group_size"),
        "{decision}"
    );

    let deny = dir.path().join("deny.json");
    std::fs::write(&deny, request("Pharmacy").to_string()).unwrap();
    let output = symbolon(&[
        "policy",
        "eval",
        &policy,
        "--request",
        deny.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("holder.role was \"Pharmacy\""), "{stdout}");

    let odrl = ok(&["policy", "to-odrl", &policy]);
    let odrl_file = dir.path().join("policy.odrl.json");
    std::fs::write(&odrl_file, &odrl).unwrap();
    let text = ok(&["policy", "from-odrl", odrl_file.to_str().unwrap()]);
    let back = dir.path().join("back.policy");
    std::fs::write(&back, text).unwrap();
    let output = symbolon(&[
        "policy",
        "eval",
        back.to_str().unwrap(),
        "--request",
        deny.to_str().unwrap(),
    ]);
    assert_eq!(
        output.status.code(),
        Some(3),
        "the round trip keeps the denial"
    );
    let output = symbolon(&[
        "policy",
        "eval",
        back.to_str().unwrap(),
        "--request",
        permit.to_str().unwrap(),
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "the round trip keeps the permit"
    );
}

#[test]
fn passphrase_sealed_keystore_needs_the_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let run = |args: &[&str], passphrase: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_symbolon"));
        command.args(args).env_remove("SYMBOLON_PASSPHRASE");
        if let Some(passphrase) = passphrase {
            command.env("SYMBOLON_PASSPHRASE", passphrase);
        }
        command.output().unwrap()
    };
    let created = run(&["init", "--data-dir", d], Some("s3cret"));
    assert!(created.status.success());
    let did = String::from_utf8(created.stdout).unwrap();
    let keystore = std::fs::read_to_string(dir.path().join("identity.key")).unwrap();
    assert!(keystore.contains("argon2id"));
    let locked = run(&["did", "show", "--data-dir", d], None);
    assert_eq!(locked.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&locked.stderr).contains("SYMBOLON_PASSPHRASE"));
    let wrong = run(&["did", "show", "--data-dir", d], Some("guess"));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong passphrase"));
    let opened = run(&["did", "show", "--data-dir", d], Some("s3cret"));
    assert_eq!(String::from_utf8(opened.stdout).unwrap(), did);
}
