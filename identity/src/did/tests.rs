//! Tests of `did`.

use super::*;
use crate::keys::{KeyAlgorithm, KeyPair};

#[test]
fn did_key_and_did_jwk_round_trip() {
    for alg in [KeyAlgorithm::Ed25519, KeyAlgorithm::P256] {
        let public = KeyPair::generate(alg).public_key();
        for did in [Did::key(&public), Did::jwk(&public)] {
            let parsed = Did::parse(did.as_str()).unwrap();
            assert_eq!(offline_public_key(&parsed).unwrap(), public);
            let doc = offline_document(&parsed).unwrap();
            let (id, key) = key_in_document(&parsed, &doc, None).unwrap();
            assert_eq!(key, public);
            assert_eq!(id, parsed.default_method());
        }
    }
}

#[test]
fn malformed_dids_are_rejected_with_reasons() {
    for bad in [
        "",
        "did",
        "did:",
        "did:key",
        "did:key:",
        "did:KEY:abc",
        "did:key:a b",
        "dod:key:z6",
    ] {
        let err = Did::parse(bad).unwrap_err();
        assert_eq!(err.resolution_code(), "invalidDid", "{bad}");
    }
    let long = format!("did:key:{}", "z".repeat(MAX_DID_LENGTH));
    assert!(Did::parse(&long).is_err());
    let err = offline_public_key(&Did::parse("did:key:z6MkNOPE").unwrap()).unwrap_err();
    assert_eq!(err.resolution_code(), "invalidDid");
}

#[tokio::test]
async fn unknown_method_is_not_supported() {
    let err = DidResolver::offline()
        .resolve(&Did::parse("did:example:123").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.resolution_code(), "methodNotSupported");
}

#[test]
fn did_web_urls_use_https_except_on_loopback() {
    let url = |d: &str| did_web_url(&Did::parse(d).unwrap());
    assert_eq!(
        url("did:web:example.com").unwrap(),
        "https://example.com/.well-known/did.json"
    );
    assert_eq!(
        url("did:web:example.com:org:a").unwrap(),
        "https://example.com/org/a/did.json"
    );
    assert_eq!(
        url("did:web:localhost%3A8080").unwrap(),
        "http://localhost:8080/.well-known/did.json"
    );
    assert_eq!(
        url("did:web:127.0.0.1%3A9").unwrap(),
        "http://127.0.0.1:9/.well-known/did.json"
    );
    assert_eq!(
        url("did:web:10.0.0.1").unwrap(),
        "https://10.0.0.1/.well-known/did.json"
    );
    for lookalike in ["127.0.0.1.example.org", "localhost.evil.com"] {
        assert!(url(&format!("did:web:{lookalike}"))
            .unwrap()
            .starts_with("https://"));
    }
    assert!(url("did:web:example.com::x").is_err());
}

#[tokio::test]
async fn did_web_resolves_over_loopback_http() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let did = Did::parse(&format!("did:web:127.0.0.1%3A{port}")).unwrap();
    let public = KeyPair::generate(KeyAlgorithm::Ed25519).public_key();
    let document = serde_json::json!({
        "id": did.as_str(),
        "verificationMethod": [{"id": "#key-1", "type": "Multikey", "controller": did.as_str(),
                                "publicKeyMultibase": public.to_multibase()}],
    })
    .to_string();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let _ = socket.read(&mut buf).await.unwrap();
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{document}",
            document.len()
        );
        socket.write_all(reply.as_bytes()).await.unwrap();
    });
    let refused = DidResolver::new()
        .public_key(&format!("{did}#key-1"))
        .await
        .unwrap_err();
    assert!(matches!(refused, DidError::Refused { .. }), "{refused}");
    assert!(
        refused
            .to_string()
            .contains("refused by the address policy"),
        "{refused}"
    );
    let resolver = DidResolver::with_policy(AddressPolicy::ALLOW_PRIVATE);
    let (id, key) = resolver.public_key(&format!("{did}#key-1")).await.unwrap();
    assert_eq!(key, public);
    assert_eq!(id, format!("{did}#key-1"));
}

/// A did:web host that answers with an error: the message says the document could not be
/// fetched, never what the host answered (that would make resolution a port scanner).
#[tokio::test]
async fn did_web_errors_do_not_echo_the_upstream_answer() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let _ = socket.read(&mut buf).await.unwrap();
        let reply = "HTTP/1.1 418 I'm a teapot\r\ncontent-length: 13\r\nconnection: close\r\n\r\nsecret-banner";
        socket.write_all(reply.as_bytes()).await.unwrap();
    });
    let did = Did::parse(&format!("did:web:127.0.0.1%3A{port}")).unwrap();
    let error = DidResolver::with_policy(AddressPolicy::ALLOW_PRIVATE)
        .resolve(&did)
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("could not be fetched"), "{message}");
    // The DID itself (its port may contain "418") is named; nothing the host answered is.
    let answer_part = message.replace(did.as_str(), "");
    for leak in ["418", "teapot", "secret-banner"] {
        assert!(!answer_part.contains(leak), "{message}");
    }
}
