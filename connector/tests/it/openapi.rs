//! The OpenAPI document a connector serves covers every route under `/api/v1`: the
//! management API, the audit API and the console's auditor sign-in. The routes are read from
//! the sources that register them (both registration styles, inside a scope or not), so that a
//! route added without its annotation fails here; the sign-in routes carry their request,
//! answer and error schemas.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::dsp::*;

/// The sources that register routes under `/api/v1`, with the prefix their paths have.
const SOURCES: [(&str, &str); 11] = [
    ("", include_str!("../../src/api/management.rs")),
    (
        "/api/v1",
        include_str!("../../src/api/management/identity.rs"),
    ),
    (
        "/api/v1",
        include_str!("../../src/api/management/issuance.rs"),
    ),
    (
        "/api/v1",
        include_str!("../../src/api/management/negotiations.rs"),
    ),
    (
        "/api/v1",
        include_str!("../../src/api/management/policies.rs"),
    ),
    (
        "/api/v1",
        include_str!("../../src/api/management/session_events.rs"),
    ),
    (
        "/api/v1",
        include_str!("../../src/api/management/sessions.rs"),
    ),
    (
        "/api/v1",
        include_str!("../../src/api/management/transfers.rs"),
    ),
    (
        "/api/v1",
        include_str!("../../src/api/management/trust_list.rs"),
    ),
    ("", include_str!("../../src/api/audit.rs")),
    ("", include_str!("../../src/api/console/auditor.rs")),
];

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// The quoted string at the start of `text`.
fn quoted(text: &str) -> Option<&str> {
    text.strip_prefix('"')?.split('"').next()
}

/// The `(method, path)` of every route the `configure` function of `source` registers,
/// in either style: `.route("/p", web::get().to(h))` and `web::resource("/p").get(h)`,
/// inside a `web::scope("/s")` or not.
fn routes(prefix: &str, source: &str) -> BTreeSet<(String, String)> {
    let Some(start) = source.find("fn configure") else {
        return BTreeSet::new();
    };
    let body = &source[start..];
    let body = &body[..body.find("\n}\n").unwrap_or(body.len())];
    let code: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let scope = code
        .split_once("web::scope(")
        .and_then(|(_, rest)| quoted(rest))
        .unwrap_or("");
    let base = format!("{prefix}{scope}");
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices(".route(") {
        let rest = &code[at + ".route(".len()..];
        let path = quoted(rest).unwrap_or_default();
        let method = rest
            .split_once("web::")
            .map(|(_, m)| m.split('(').next().unwrap_or_default())
            .unwrap_or_default();
        found.insert((method.to_owned(), format!("{base}{path}")));
    }
    for (at, _) in code.match_indices("web::resource(") {
        let rest = &code[at + "web::resource(".len()..];
        let path = quoted(rest).unwrap_or_default();
        // The chained methods after the resource's closing parenthesis.
        let mut chain = &rest[path.len() + 3..];
        while let Some(method) = METHODS
            .iter()
            .find(|m| chain.starts_with(&format!(".{m}(")))
        {
            found.insert(((*method).to_owned(), format!("{base}{path}")));
            let after = chain.find(')').map_or(chain.len(), |i| i + 1);
            chain = &chain[after..];
        }
    }
    found
}

/// The OpenAPI document a connector serves.
async fn served() -> Value {
    let node = connector();
    let (status, document) = node.get("/api/v1/openapi.json").await;
    assert_eq!(status, 200, "{document}");
    document
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_under_api_v1_is_documented() {
    let document = served().await;
    let mut registered = BTreeSet::new();
    for (prefix, source) in SOURCES {
        registered.extend(routes(prefix, source));
    }
    // The parser finds both styles and every part of the API.
    for expected in [
        ("get", "/api/v1/offers"),
        ("post", "/api/v1/offers"),
        ("post", "/api/v1/transfers/{pid}/start"),
        ("put", "/api/v1/trust-list"),
        ("get", "/api/v1/audit/export"),
        ("post", "/api/v1/console/auditor/challenge"),
        ("post", "/api/v1/console/auditor/session"),
        ("get", "/api/v1/console/auditor/session"),
        ("delete", "/api/v1/console/auditor/session"),
    ] {
        assert!(
            registered.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} not found among {registered:#?}"
        );
    }
    let missing: Vec<_> = registered
        .iter()
        .filter(|(method, path)| !document["paths"][path.as_str()][method.as_str()].is_object())
        .collect();
    assert!(
        missing.is_empty(),
        "routes not in the OpenAPI document: {missing:?}"
    );
    // And nothing is documented that is not served.
    let paths = document["paths"].as_object().cloned().unwrap_or_default();
    for (path, operations) in paths {
        for method in operations.as_object().into_iter().flat_map(|o| o.keys()) {
            assert!(
                registered.contains(&(method.clone(), path.clone())),
                "{method} {path} is documented but not served"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_sign_in_routes_carry_their_schemas() {
    let document = served().await;
    let session = &document["paths"]["/api/v1/console/auditor/session"];
    assert_eq!(
        session["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/SignIn"
    );
    assert_eq!(
        session["post"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/SessionOpened"
    );
    assert_eq!(
        session["post"]["responses"]["401"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorBody"
    );
    let challenge = &document["paths"]["/api/v1/console/auditor/challenge"]["post"];
    assert_eq!(
        challenge["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ChallengeIssued"
    );
    for schema in [
        "SignIn",
        "SessionOpened",
        "SessionShown",
        "ChallengeIssued",
        "ErrorBody",
    ] {
        assert!(
            document["components"]["schemas"][schema]["properties"].is_object(),
            "{schema}"
        );
    }
    let required = &document["components"]["schemas"]["SignIn"]["required"];
    assert_eq!(required, &serde_json::json!(["challenge", "token"]));
    assert!(document["components"]["securitySchemes"]["auditor_session"].is_object());
}
