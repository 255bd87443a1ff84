use super::*;

#[test]
fn extreme_times_are_refused_without_overflow() {
    let now = Utc::now().timestamp();
    assert!(check_times(now, now + 120, Some(now), now).is_ok());
    let cases: [(i64, i64, Option<i64>, &str); 8] = [
        (i64::MIN, now + 60, None, "malformed_token"),
        (now, i64::MAX, None, "malformed_token"),
        (now, now + 60, Some(i64::MIN), "malformed_token"),
        (now, now + 60, Some(i64::MAX), "malformed_token"),
        (-8_000_000_000_000, now + 60, None, "lifetime_too_long"),
        (now - 30, now + 8_000_000_000_000, None, "lifetime_too_long"),
        (
            now,
            now + MAX_LIFETIME_SECONDS + 1,
            None,
            "lifetime_too_long",
        ),
        (now + 20, now + 10, None, "malformed_token"),
    ];
    for (iat, exp, nbf, code) in cases {
        let error = check_times(iat, exp, nbf, now).unwrap_err();
        assert_eq!(
            error.code(),
            code,
            "iat {iat} exp {exp} nbf {nbf:?}: {error}"
        );
    }
    let error = check_times(now, i64::MAX, None, now).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "malformed token: claim `exp` ({}) is outside the representable time range",
            i64::MAX
        )
    );
    assert_eq!(
        check_times(now - 1000, now - 900, None, now)
            .unwrap_err()
            .code(),
        "expired"
    );
    assert_eq!(
        check_times(now + 100, now + 200, None, now)
            .unwrap_err()
            .code(),
        "not_yet_valid"
    );
}

/// A did:web identity and a resolver that knows its document, as `edit` leaves it.
fn web_caller(edit: impl FnOnce(&mut Value)) -> (Identity, DidResolver) {
    let key = symbolon_identity::KeyPair::generate(symbolon_identity::KeyAlgorithm::Ed25519);
    let identity = Identity::with_web_did(key, "did:web:caller.example").unwrap();
    let mut document = identity.did_document(&[]);
    edit(&mut document);
    let resolver = DidResolver::offline_with_documents([(&identity.did, &document)]);
    (identity, resolver)
}

fn store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (Store::open(dir.path()).unwrap(), dir)
}

const CALLEE: &str = "did:web:callee.example";

fn signed(identity: &Identity, kid: &str, claims: Value) -> String {
    jose::sign(&identity.key, kid, "JWT", &claims)
}

fn claims(identity: &Identity, edit: impl FnOnce(&mut Value)) -> Value {
    let now = Utc::now().timestamp();
    let mut claims = json!({"iss": identity.did.as_str(), "sub": identity.did.as_str(),
        "aud": CALLEE, "jti": uuid::Uuid::new_v4().to_string(), "iat": now, "exp": now + 60,
        "token": "an-access-token"});
    edit(&mut claims);
    claims
}

#[tokio::test]
async fn the_dcp_token_rules_each_refuse_with_their_own_code() {
    let (caller, resolver) = web_caller(|_| {});
    let (store, _dir) = store();
    let method = caller.verification_method();
    let good = signed(&caller, &method, claims(&caller, |_| {}));
    let accepted = authenticate(Some(&good), CALLEE, &resolver, &store)
        .await
        .unwrap();
    assert_eq!(accepted.did, caller.did.as_str());
    assert_eq!(accepted.access_token.as_deref(), Some("an-access-token"));
    let code = |token: String| {
        let (resolver, store) = (&resolver, &store);
        async move {
            authenticate(Some(&token), CALLEE, resolver, store)
                .await
                .unwrap_err()
                .code()
        }
    };
    assert_eq!(code(good).await, "replayed");
    let now = Utc::now().timestamp();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "iss ≠ sub",
            signed(
                &caller,
                &method,
                claims(&caller, |c| c["sub"] = "did:web:x.example".into()),
            ),
            "iss_sub_mismatch",
        ),
        (
            "wrong aud",
            signed(
                &caller,
                &method,
                claims(&caller, |c| c["aud"] = "did:web:other.example".into()),
            ),
            "wrong_audience",
        ),
        (
            "nbf in the future",
            signed(
                &caller,
                &method,
                claims(&caller, |c| {
                    c["nbf"] = (now + 300).into();
                    c["exp"] = (now + 400).into();
                }),
            ),
            "not_yet_valid",
        ),
        (
            "expired",
            signed(
                &caller,
                &method,
                claims(&caller, |c| {
                    c["iat"] = (now - 600).into();
                    c["exp"] = (now - 300).into();
                }),
            ),
            "expired",
        ),
        (
            "a kid of another DID",
            signed(
                &caller,
                "did:web:other.example#key-1",
                claims(&caller, |_| {}),
            ),
            "bad_kid",
        ),
        (
            "a relative kid",
            signed(&caller, "#key-1", claims(&caller, |_| {})),
            "bad_kid",
        ),
        (
            "signed by another key",
            {
                let other = Identity::generate(symbolon_identity::KeyAlgorithm::Ed25519);
                jose::sign(&other.key, &method, "JWT", &claims(&caller, |_| {}))
            },
            "bad_signature",
        ),
    ];
    for (what, token, expected) in cases {
        assert_eq!(code(token).await, expected, "{what}");
    }
    let no_kid = {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(br#"{"alg":"EdDSA","typ":"JWT"}"#);
        let payload = b64.encode(claims(&caller, |_| {}).to_string());
        let input = format!("{header}.{payload}");
        let signature = b64.encode(caller.key.sign(input.as_bytes()));
        format!("{input}.{signature}")
    };
    assert_eq!(code(no_kid).await, "bad_kid");
    for malformed in ["", "a.b", "not a token", "a.b.c"] {
        assert_eq!(
            code(malformed.into()).await,
            "malformed_token",
            "{malformed:?}"
        );
    }
    assert_eq!(
        authenticate(None, CALLEE, &resolver, &store)
            .await
            .unwrap_err()
            .code(),
        "missing_token"
    );
}

#[tokio::test]
async fn a_key_without_capability_invocation_may_not_sign_a_token() {
    let (caller, resolver) = web_caller(|document| {
        document
            .as_object_mut()
            .unwrap()
            .remove("capabilityInvocation");
    });
    let (store, _dir) = store();
    let token = signed(
        &caller,
        &caller.verification_method(),
        claims(&caller, |_| {}),
    );
    let error = authenticate(Some(&token), CALLEE, &resolver, &store)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "not_capability_invocation", "{error}");
    // Listed by a relative reference, it may.
    let (caller, resolver) = web_caller(|document| {
        document["capabilityInvocation"] = json!(["#key-1"]);
    });
    let token = signed(
        &caller,
        &caller.verification_method(),
        claims(&caller, |_| {}),
    );
    authenticate(Some(&token), CALLEE, &resolver, &store)
        .await
        .unwrap();
}
