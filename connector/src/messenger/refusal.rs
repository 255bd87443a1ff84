//! What a counterparty's refusal says, in one line: its status, the reason its error body
//! gives (a JSON error's `message`, a Dataspace Protocol error's `reason` or `dspace:reason`,
//! else its `code`) rather than the raw body, and the likely cause of a 404 at an address
//! without the protocol's base path.

use serde_json::Value;

/// Most characters of a body that is not a JSON error repeated in the message.
const MAX_RAW: usize = 200;

/// The message of a refusal: `url` answered `status` with `body`.
pub(super) fn describe(url: &str, status: u16, body: &str) -> String {
    let mut text = format!("`{url}` answered {status}");
    match explanation(body) {
        Some(reason) => {
            text.push_str(": ");
            text.push_str(&reason);
        }
        None if body.trim().is_empty() => text.push_str(" with no explanation"),
        None => {
            text.push_str(": ");
            text.extend(
                body.split_whitespace()
                    .flat_map(|word| [" ", word])
                    .skip(1)
                    .flat_map(str::chars)
                    .take(MAX_RAW),
            );
        }
    }
    if status == 404 && lacks_protocol_path(url) {
        text.push_str(
            "; the address is probably missing `/dsp/2025-1` (a Symbolon connector's protocol \
             address is its URL followed by `/dsp/2025-1`)",
        );
    }
    text
}

/// The reason a JSON error body gives, if it is one.
fn explanation(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body).ok()?;
    let object = value.as_object()?;
    // A JSON error's `message` is its sentence (its `reason`, if any, a code); a protocol
    // error has no `message`, and its `reason` is the sentence.
    let reason = ["message", "reason", "dspace:reason", "rejectionReason"]
        .iter()
        .filter_map(|name| object.get(*name))
        .map(words)
        .find(|text| !text.is_empty());
    if reason.is_some() {
        return reason;
    }
    ["code", "dspace:code", "error"]
        .iter()
        .filter_map(|name| object.get(*name))
        .map(words)
        .find(|text| !text.is_empty())
        .map(|code| format!("code `{code}`"))
}

/// The text of a reason: a string, a list of them, or JSON-LD values (`{"@value": …}`).
fn words(value: &Value) -> String {
    match value {
        Value::String(text) => text.trim().to_owned(),
        Value::Array(items) => items
            .iter()
            .map(words)
            .filter(|text| !text.is_empty())
            .collect::<Vec<_>>()
            .join("; "),
        Value::Object(object) => object.get("@value").map(words).unwrap_or_default(),
        Value::Number(number) => number.to_string(),
        _ => String::new(),
    }
}

/// Whether `url` is an http(s) address whose path holds none of the connector's API bases,
/// as when a provider's address was given without `/dsp/2025-1`.
fn lacks_protocol_path(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    let path = parsed.path();
    matches!(parsed.scheme(), "http" | "https")
        && !path.contains("/dsp/")
        && !path.contains("/dcp/")
        && !path.starts_with("/.well-known/")
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn a_protocol_error_is_told_by_its_reason_not_its_json() {
        let body = r#"{"@context":["https://w3id.org/dspace/2025/1/context.jsonld"],"@type":"CatalogError","code":"404","reason":["no dataset `nope`"]}"#;
        assert_eq!(
            describe(
                "https://p.example/dsp/2025-1/catalog/datasets/nope",
                404,
                body
            ),
            "`https://p.example/dsp/2025-1/catalog/datasets/nope` answered 404: no dataset `nope`"
        );
    }

    #[test]
    fn namespaced_and_json_ld_reasons_are_read() {
        let body = r#"{"dspace:code":"401","dspace:reason":[{"@value":"wrong audience"}]}"#;
        assert_eq!(
            describe("https://p.example/dsp/2025-1/x", 401, body),
            "`https://p.example/dsp/2025-1/x` answered 401: wrong audience"
        );
        assert_eq!(
            describe(
                "https://p.example/dsp/2025-1/x",
                400,
                r#"{"code":"bad_thing"}"#
            ),
            "`https://p.example/dsp/2025-1/x` answered 400: code `bad_thing`"
        );
    }

    #[test]
    fn a_json_errors_message_is_preferred_to_its_reason_code() {
        let body = r#"{"error":"rejected","message":"`did:key:z6Mk` is not in the issuer's registry","status":"REJECTED","reason":"not_registered"}"#;
        assert_eq!(
            describe("https://a.example/dcp/issuer/credentials", 422, body),
            "`https://a.example/dcp/issuer/credentials` answered 422: `did:key:z6Mk` is not in the issuer's registry"
        );
    }

    #[test]
    fn a_404_without_the_protocol_path_names_the_likely_cause() {
        let text = describe("http://127.0.0.1:7800/catalog/datasets/x", 404, "");
        assert!(
            text.starts_with("`http://127.0.0.1:7800/catalog/datasets/x` answered 404 with no explanation; the address is probably missing `/dsp/2025-1`"),
            "{text}"
        );
        let under_base = describe(
            "http://127.0.0.1:7800/dsp/2025-1/catalog/datasets/x",
            404,
            "",
        );
        assert!(!under_base.contains("probably"), "{under_base}");
    }

    #[test]
    fn a_body_that_is_no_json_error_is_cut_to_one_short_line() {
        let page = format!("<html>\n<body>{}</body></html>", "x".repeat(1000));
        let text = describe("https://p.example/dsp/2025-1/x", 502, &page);
        assert!(!text.contains('\n'), "{text}");
        assert!(text.len() < 300, "{text}");
    }
}
