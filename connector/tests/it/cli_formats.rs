//! The command line's credential formats as a user types them: SD-JWT VCs issued with chosen
//! selectively disclosable claims and presented with only some of them, VC 1.1 credentials with
//! Data Integrity proofs, and the misuses of these options refused with a usage error.

use base64::Engine as _;
use serde_json::Value;

use crate::cli::{init, ok, symbolon};

const CLAIMS: &str = r#"{"legalName":"Ziekenhuis","registrationNumber":"KvK-1","role":"Hospital","dataSpaceId":"hds"}"#;

/// Issues a membership credential for `subject` with `extra` options; returns its text.
fn issue(dir: &str, subject: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "credential",
        "issue",
        "--data-dir",
        dir,
        "--type",
        "DataSpaceMembershipCredential",
        "--subject",
        subject,
        "--claims",
        CLAIMS,
    ];
    args.extend_from_slice(extra);
    ok(&args).trim().to_owned()
}

/// The claim names of an SD-JWT's disclosures (`salt, name, value` arrays between the `~`s).
fn disclosed_claims(sd_jwt: &str) -> Vec<String> {
    sd_jwt
        .split('~')
        .skip(1)
        .filter(|part| !part.is_empty() && !part.contains('.'))
        .map(|part| {
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap();
            let disclosure: Value = serde_json::from_slice(&bytes).unwrap();
            disclosure[1].as_str().unwrap().to_owned()
        })
        .collect()
}

fn verify_json(args: &[&str]) -> Value {
    serde_json::from_str(&ok(args)).unwrap()
}

#[test]
fn sd_jwt_credentials_disclose_only_what_the_holder_chooses() {
    let issuer_dir = tempfile::tempdir().unwrap();
    let holder_dir = tempfile::tempdir().unwrap();
    let (issuer, holder) = (
        issuer_dir.path().to_str().unwrap(),
        holder_dir.path().to_str().unwrap(),
    );
    init(issuer_dir.path());
    let holder_did = init(holder_dir.path());

    let vc = issue(
        issuer,
        &holder_did,
        &[
            "--format",
            "sd-jwt",
            "--disclosable",
            "legalName,registrationNumber",
        ],
    );
    assert!(vc.ends_with('~'), "an SD-JWT VC without key binding: {vc}");
    let mut issued = disclosed_claims(&vc);
    issued.sort();
    assert_eq!(issued, ["legalName", "registrationNumber"]);
    let vc_file = holder_dir.path().join("membership.sd-jwt");
    std::fs::write(&vc_file, &vc).unwrap();
    let report = verify_json(&[
        "credential",
        "verify",
        "--no-trust",
        "--json",
        vc_file.to_str().unwrap(),
    ]);
    assert_eq!(report["verified"], true, "{report}");

    // The holder discloses its legal name only; the registration number stays hidden.
    let presentation = ok(&[
        "presentation",
        "create",
        "--data-dir",
        holder,
        "--nonce",
        "n-1",
        "--audience",
        "did:web:verifier.example",
        "--format",
        "sd-jwt",
        "--disclose",
        "legalName",
        vc_file.to_str().unwrap(),
    ])
    .trim()
    .to_owned();
    assert_eq!(disclosed_claims(&presentation), ["legalName"]);
    assert!(!presentation.ends_with('~'), "a key binding JWT closes it");
    let vp_file = holder_dir.path().join("vp.sd-jwt");
    std::fs::write(&vp_file, &presentation).unwrap();
    let verify = |nonce: &str| {
        symbolon(&[
            "presentation",
            "verify",
            "--nonce",
            nonce,
            "--audience",
            "did:web:verifier.example",
            "--no-trust",
            "--json",
            vp_file.to_str().unwrap(),
        ])
    };
    let accepted = verify("n-1");
    assert!(
        accepted.status.success(),
        "{}",
        String::from_utf8_lossy(&accepted.stderr)
    );
    let report: Value = serde_json::from_slice(&accepted.stdout).unwrap();
    assert_eq!(report["verified"], true, "{report}");
    assert_eq!(report["format"], "dc+sd-jwt", "{report}");
    // Bound to its nonce: another verifier's challenge refuses it.
    assert_eq!(verify("n-2").status.code(), Some(1));

    // A tampered disclosure breaks its digest.
    let mut parts: Vec<&str> = presentation.split('~').collect();
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(r#"["c2FsdA","legalName","Someone Else"]"#);
    parts[1] = &forged;
    std::fs::write(&vp_file, parts.join("~")).unwrap();
    assert_eq!(verify("n-1").status.code(), Some(1));
}

#[test]
fn vc_1_1_credentials_carry_the_v1_context_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let did = init(dir.path());
    for format in ["di", "di-jcs"] {
        let vc: Value = serde_json::from_str(&issue(
            d,
            &did,
            &["--format", format, "--vc-version", "1.1"],
        ))
        .unwrap();
        assert_eq!(
            vc["@context"][0], "https://www.w3.org/2018/credentials/v1",
            "{format}: {vc}"
        );
        assert!(vc["issuanceDate"].is_string(), "{format}: {vc}");
        assert!(vc.get("validFrom").is_none(), "{format}: {vc}");
        let file = dir.path().join(format!("vc-{format}.json"));
        std::fs::write(&file, vc.to_string()).unwrap();
        let report = verify_json(&[
            "credential",
            "verify",
            "--no-trust",
            "--json",
            file.to_str().unwrap(),
        ]);
        assert_eq!(report["verified"], true, "{format}: {report}");
        // Changing a signed claim breaks the proof.
        let mut tampered = vc.clone();
        tampered["credentialSubject"]["legalName"] = "Someone Else".into();
        std::fs::write(&file, tampered.to_string()).unwrap();
        let rejected = symbolon(&["credential", "verify", "--no-trust", file.to_str().unwrap()]);
        assert_eq!(rejected.status.code(), Some(1), "{format}");
    }
}

#[test]
fn misused_format_options_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let did = init(dir.path());
    let base = [
        "credential",
        "issue",
        "--data-dir",
        d,
        "--type",
        "DataSpaceMembershipCredential",
        "--subject",
        &did,
        "--claims",
        CLAIMS,
    ];
    for (extra, why) in [
        (
            &["--vc-version", "3.0"][..],
            "--vc-version `3.0`: expected 2.0 or 1.1",
        ),
        (
            &["--disclosable", "legalName"][..],
            "--disclosable applies to --format sd-jwt only",
        ),
        (&["--format", "pdf"][..], "pdf"),
    ] {
        let args: Vec<&str> = base.iter().copied().chain(extra.iter().copied()).collect();
        let output = symbolon(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains(why), "{extra:?}: {stderr}");
    }
    // VC-JOSE and SD-JWT VC secure VC 2.0 only: a 1.1 credential in either is refused.
    for (format, why) in [("jwt", "1.1"), ("sd-jwt", "from a VC 2.0 credential")] {
        let args: Vec<&str> = base
            .iter()
            .copied()
            .chain(["--format", format, "--vc-version", "1.1"])
            .collect();
        let output = symbolon(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{format}: 1.1 was issued");
        assert!(stderr.contains(why), "{format}: {stderr}");
        assert!(output.stdout.is_empty(), "{format}: printed a credential");
    }
    let vc = issue(d, &did, &[]);
    let file = dir.path().join("vc.jwt");
    std::fs::write(&file, &vc).unwrap();
    let output = symbolon(&[
        "presentation",
        "create",
        "--data-dir",
        d,
        "--nonce",
        "n",
        "--audience",
        "a",
        "--disclose",
        "legalName",
        file.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--disclose applies to --format sd-jwt only"),
        "{stderr}"
    );
}
