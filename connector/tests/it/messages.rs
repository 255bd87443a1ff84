//! Every error says what happened and what to do next, once: one test per message.
//! See: issue #21, "Messages that do not say the next step".

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::process::{Command, Stdio};

use super::cli::{init, ok, serve, symbolon};

const POLICY: &str = r#"
policy "members-only" {
  permit use on offer *
  when holder.member_of == "hds"
}
"#;

/// A provider with one offer, `cohort`, and a consumer, both serving; runs `negotiate` from
/// the consumer with `extra` arguments and answers its stderr and exit code.
fn negotiate(extra: impl Fn(&str) -> Vec<String>) -> (String, Option<i32>) {
    let (provider, consumer) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    init(provider.path());
    init(consumer.path());
    let policy = provider.path().join("offer.policy");
    std::fs::write(&policy, POLICY).unwrap();
    let (_p, provider_url) = serve(provider.path());
    let (_c, _) = serve(consumer.path());
    let p = provider.path().to_str().unwrap();
    ok(&[
        "offer",
        "create",
        "--data-dir",
        p,
        "--id",
        "cohort",
        "--title",
        "C",
        "--policy",
        policy.to_str().unwrap(),
    ]);
    let mut args: Vec<String> = ["negotiate", "--data-dir", consumer.path().to_str().unwrap()]
        .map(str::to_owned)
        .to_vec();
    args.extend(extra(&provider_url));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = symbolon(&args);
    (
        String::from_utf8_lossy(&output.stderr).into_owned(),
        output.status.code(),
    )
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

#[test]
fn a_provider_address_without_the_protocol_path_is_named_as_the_likely_mistake() {
    let (stderr, code) = negotiate(|url| strings(&["--provider", url, "--offer", "cohort"]));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("the address is probably missing `/dsp/2025-1`"),
        "{stderr}"
    );
    assert!(!stderr.contains("\"error\""), "no raw JSON: {stderr}");
}

#[test]
fn a_provider_that_answers_404_with_no_body_is_named_as_the_likely_mistake() {
    // Another implementation answers an unknown path with an empty 404.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buffer = [0u8; 8192];
            let _ = stream.read(&mut buffer);
            let _ = stream.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    let consumer = tempfile::tempdir().unwrap();
    init(consumer.path());
    let (_c, _) = serve(consumer.path());
    let output = symbolon(&[
        "negotiate",
        "--data-dir",
        consumer.path().to_str().unwrap(),
        "--provider",
        &format!("http://{address}"),
        "--provider-did",
        "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "--offer",
        "cohort",
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("answered 404 with no explanation"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the address is probably missing `/dsp/2025-1`"),
        "{stderr}"
    );
}

#[test]
fn a_wrong_offer_id_is_told_by_the_providers_reason_not_its_json() {
    let (stderr, code) = negotiate(|url| {
        strings(&[
            "--provider",
            &format!("{url}/dsp/2025-1"),
            "--offer",
            "nope",
        ])
    });
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("answered 404: no dataset `nope` in this catalog"),
        "{stderr}"
    );
    assert!(!stderr.contains("@context"), "no raw JSON: {stderr}");
    assert!(!stderr.contains("CatalogError"), "no raw JSON: {stderr}");
}

#[test]
fn a_wrong_provider_did_is_told_by_the_providers_reason_not_its_json() {
    let (stderr, code) = negotiate(|url| {
        strings(&[
            "--provider",
            &format!("{url}/dsp/2025-1"),
            "--provider-did",
            "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            "--offer",
            "cohort",
        ])
    });
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("answered 401: "), "{stderr}");
    assert!(stderr.contains("audience"), "{stderr}");
    assert!(
        stderr.contains("check the provider's DID you gave"),
        "the next step: {stderr}"
    );
    assert!(!stderr.contains("@context"), "no raw JSON: {stderr}");
}

#[test]
fn a_mistyped_data_dir_is_named_as_missing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("hospitl");
    let output = symbolon(&["offer", "list", "--data-dir", missing.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("hospitl"), "{stderr}");
    assert!(stderr.contains("no such directory"), "{stderr}");
    assert!(stderr.contains("symbolon init --data-dir"), "{stderr}");
    assert!(!stderr.contains("serve.url"), "{stderr}");
}

#[test]
fn an_os_error_is_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let output = symbolon(&[
        "serve",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--http",
        &taken.local_addr().unwrap().to_string(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.matches("Address already in use").count(),
        1,
        "{stderr}"
    );
}

#[test]
fn output_to_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    let d = dir.path().to_str().unwrap();
    for args in [
        &["did", "show", "--data-dir", d][..],
        &["credential", "list", "--data-dir", d, "--json"][..],
    ] {
        // The reader is gone before the command writes, as after `| head -1` has its line.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = Command::new(env!("CARGO_BIN_EXE_symbolon"))
            .args(args)
            .env_remove("SYMBOLON_PASSPHRASE")
            .env_remove("SYMBOLON_DATA_DIR")
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}
