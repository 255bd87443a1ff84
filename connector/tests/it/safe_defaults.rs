//! Settings that would quietly weaken the connector are refused, with the way out named.
//! See: issue #21, "Unsafe settings pass silently".

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use super::cli::{init, ok, symbolon, Server};

/// A membership credential issued by a fresh authority, written to a file in `dir`; returns
/// the file and the authority's trust list file.
fn issued(dir: &std::path::Path) -> (String, String) {
    let authority = dir.join("authority");
    let authority_did = init(&authority);
    let a = authority.to_str().unwrap();
    let vc = ok(&[
        "credential",
        "issue",
        "--data-dir",
        a,
        "--type",
        "DataSpaceMembershipCredential",
        "--subject",
        &authority_did,
        "--claims",
        r#"{"legalName":"A","registrationNumber":"1","role":"Hospital","dataSpaceId":"hds"}"#,
    ]);
    let vc_file = dir.join("vc.jwt");
    std::fs::write(&vc_file, vc.trim()).unwrap();
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
    let trust_file = dir.join("trust.jwt");
    std::fs::write(&trust_file, trust).unwrap();
    (
        vc_file.to_str().unwrap().to_owned(),
        trust_file.to_str().unwrap().to_owned(),
    )
}

#[test]
fn credential_verify_without_a_trust_list_fails_and_says_how_to_name_one() {
    let dir = tempfile::tempdir().unwrap();
    let (vc, trust) = issued(dir.path());

    let output = symbolon(&["credential", "verify", &vc]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no trust list"), "{stderr}");
    assert!(stderr.contains("--trust-list FILE"), "{stderr}");
    assert!(stderr.contains("symbolon trust-list install"), "{stderr}");
    assert!(stderr.contains("--no-trust"), "{stderr}");
    assert!(output.stdout.is_empty(), "nothing is reported as verified");

    // A data directory without an installed trust list is no trust list either.
    let empty = dir.path().join("empty");
    init(&empty);
    let output = symbolon(&[
        "credential",
        "verify",
        "--data-dir",
        empty.to_str().unwrap(),
        &vc,
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("has no trust list installed"), "{stderr}");
    assert!(
        stderr.contains("symbolon trust-list install --data-dir"),
        "{stderr}"
    );

    // The operator may skip the issuer check, saying so; a trust list makes it pass.
    let skipped = ok(&["credential", "verify", "--no-trust", &vc]);
    assert!(skipped.starts_with("verified"), "{skipped}");
    assert!(
        skipped.contains("Skipped"),
        "the skipped check is shown: {skipped}"
    );
    let trusted = ok(&["credential", "verify", "--trust-list", &trust, &vc]);
    assert!(trusted.starts_with("verified"), "{trusted}");
    let both = symbolon(&[
        "credential",
        "verify",
        "--no-trust",
        "--trust-list",
        &trust,
        &vc,
    ]);
    assert_eq!(
        both.status.code(),
        Some(2),
        "the flags contradict each other"
    );
}

#[test]
fn presentation_verify_without_a_trust_list_fails_too() {
    let dir = tempfile::tempdir().unwrap();
    let (vc, _) = issued(dir.path());
    let a = dir.path().join("authority");
    let vp = ok(&[
        "presentation",
        "create",
        "--data-dir",
        a.to_str().unwrap(),
        "--nonce",
        "n-1",
        "--audience",
        "did:web:verifier.example",
        &vc,
    ]);
    let vp_file = dir.path().join("vp.jwt");
    std::fs::write(&vp_file, vp.trim()).unwrap();
    let verify = |extra: &[&str]| {
        let mut args = vec![
            "presentation",
            "verify",
            "--nonce",
            "n-1",
            "--audience",
            "did:web:verifier.example",
        ];
        args.extend_from_slice(extra);
        args.push(vp_file.to_str().unwrap());
        symbolon(&args)
    };
    let output = verify(&[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--no-trust"));
    assert_eq!(verify(&["--no-trust"]).status.code(), Some(0));
}

#[test]
fn a_passphrase_for_an_unsealed_keystore_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    let output = Command::new(env!("CARGO_BIN_EXE_symbolon"))
        .args(["did", "show", "--data-dir", dir.path().to_str().unwrap()])
        .env("SYMBOLON_PASSPHRASE", "s3cret")
        .env_remove("SYMBOLON_DATA_DIR")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is not sealed with a passphrase, but SYMBOLON_PASSPHRASE is set"),
        "{stderr}"
    );
    assert!(stderr.contains("unset it"), "{stderr}");
    assert!(output.stdout.is_empty());
}

fn serve_on(dir: &std::path::Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_symbolon"));
    command
        .args(["serve", "--data-dir", dir.to_str().unwrap()])
        .args(extra)
        .env_remove("SYMBOLON_PASSPHRASE")
        .env_remove("SYMBOLON_DATA_DIR");
    command
}

#[test]
fn serve_refuses_plain_http_on_a_non_loopback_address_unless_told() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    let output = serve_on(dir.path(), &["--http", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("refusing to serve plain HTTP on `0.0.0.0:0`"),
        "{stderr}"
    );
    assert!(stderr.contains("unencrypted"), "says why: {stderr}");
    assert!(
        stderr.contains("--tls-cert FILE --tls-key FILE"),
        "{stderr}"
    );
    assert!(stderr.contains("--insecure-http"), "{stderr}");
    assert!(!dir.path().join("serve.url").exists(), "nothing was served");

    let mut child = serve_on(dir.path(), &["--http", "0.0.0.0:0", "--insecure-http"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    assert!(line.starts_with("listening on "), "{line}");
}
