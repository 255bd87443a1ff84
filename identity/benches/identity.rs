//! Issue and verify per operation, beside a raw Ed25519 baseline.
//!
//! Run: `cargo bench -p symbolon-identity --bench identity`.
#![recursion_limit = "256"]
#![allow(
    missing_docs,
    reason = "criterion macros generate undocumented functions"
)]

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use ed25519_dalek::Signer as _;
use serde_json::json;
use symbolon_identity::{
    credential, issue_credential, DidResolver, Format, Identity, Input, KeyAlgorithm, Verifier,
};

fn bench(c: &mut Criterion) {
    // Verifications run under a deadline (`tokio::time::timeout_at`): the runtime needs timers.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let issuer = Identity::generate(KeyAlgorithm::Ed25519);
    let subject = Identity::generate(KeyAlgorithm::Ed25519);
    let claims = json!({"legalName": "Org", "registrationNumber": "KvK-1", "role": "Hospital", "dataSpaceId": "hds"});
    let unsigned = credential::build(
        &issuer.did,
        "DataSpaceMembershipCredential",
        &subject.did,
        &claims,
        None,
    )
    .expect("credential");
    let verifier = Verifier::new(Arc::new(DidResolver::offline()));

    let raw_key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let message = serde_json::to_vec(&unsigned).expect("json");
    let signature = raw_key.sign(&message);
    let raw_public = raw_key.verifying_key();
    let mut group = c.benchmark_group("baseline");
    group.bench_function("ed25519_sign", |b| b.iter(|| raw_key.sign(&message)));
    group.bench_function("ed25519_verify", |b| {
        b.iter(|| {
            raw_public
                .verify_strict(&message, &signature)
                .expect("verify")
        })
    });
    group.finish();

    for (name, format) in [
        ("jwt", Format::Jwt),
        ("eddsa_rdfc_2022", Format::DataIntegrity),
        ("eddsa_jcs_2022", Format::DataIntegrityJcs),
    ] {
        let mut group = c.benchmark_group(name);
        group.bench_function("issue", |b| {
            b.iter(|| {
                runtime
                    .block_on(issue_credential(&issuer, unsigned.clone(), format))
                    .expect("issue")
            })
        });
        let signed = runtime
            .block_on(issue_credential(&issuer, unsigned.clone(), format))
            .expect("issue");
        let input = Input::parse(&signed.to_text()).expect("input");
        group.bench_function("verify", |b| {
            b.iter(|| {
                let report = runtime.block_on(verifier.verify_credential(&input));
                assert!(report.verified);
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
