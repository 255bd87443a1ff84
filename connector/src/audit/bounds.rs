//! What the audit trail keeps of what a caller controls: a bounded summary. Every event's
//! subject and details pass through [`text`] and [`details`] when the trail builds the event
//! ([`AuditTrail::event`](super::AuditTrail::event)), whoever builds it; only a document an
//! action itself produced (a credential this connector issued) is recorded whole, through
//! [`AuditTrail::event_with_document`](super::AuditTrail::event_with_document). A stranger's
//! body is recorded as its [`digest`].

use serde_json::{json, Map, Value};
use sha2::Digest as _;

/// Most characters of one text kept; a longer one keeps this many, then its size and hash.
pub const MAX_TEXT_CHARS: usize = 512;
/// Most items of one array, or members of one object, kept.
pub const MAX_ITEMS: usize = 64;
/// Deepest nesting kept; anything deeper is kept as its digest.
pub const MAX_DEPTH: usize = 8;
/// Largest details kept (JSON bytes, after the bounds above); larger ones are kept as their
/// digest.
pub const MAX_DETAILS_BYTES: usize = 32 * 1024;

/// A bounded stand-in for a caller's document: the SHA-256 of its JSON text and its size, so
/// that the trail proves what was seen without holding it.
pub fn digest(document: &Value) -> Value {
    let text = document.to_string();
    json!({
        "sha256": hex::encode(sha2::Sha256::digest(text.as_bytes())),
        "bytes": text.len(),
    })
}

/// `text`, or its first [`MAX_TEXT_CHARS`] characters followed by its size and SHA-256.
pub fn text(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT_CHARS) {
        None => text.to_owned(),
        Some((end, _)) => format!(
            "{}… ({} bytes in all, sha256 {})",
            &text[..end],
            text.len(),
            hex::encode(sha2::Sha256::digest(text.as_bytes()))
        ),
    }
}

/// `details` within the bounds: texts cut ([`text`]), arrays and objects cut to
/// [`MAX_ITEMS`] (saying how many more there were), nesting beyond [`MAX_DEPTH`] and details
/// larger than [`MAX_DETAILS_BYTES`] replaced by their [`digest`].
pub fn details(details: &Value) -> Value {
    let bounded = bound(details, 0);
    let size = serde_json::to_vec(&bounded).map_or(usize::MAX, |bytes| bytes.len());
    if size <= MAX_DETAILS_BYTES {
        bounded
    } else {
        json!({ "digest": digest(details), "bounded": format!("details over {MAX_DETAILS_BYTES} bytes are kept as their digest") })
    }
}

fn bound(value: &Value, depth: usize) -> Value {
    match value {
        Value::String(s) => Value::String(text(s)),
        Value::Array(items) if depth < MAX_DEPTH => {
            let mut out: Vec<Value> = items
                .iter()
                .take(MAX_ITEMS)
                .map(|item| bound(item, depth + 1))
                .collect();
            if items.len() > MAX_ITEMS {
                out.push(Value::String(format!(
                    "… {} more items",
                    items.len() - MAX_ITEMS
                )));
            }
            Value::Array(out)
        }
        Value::Object(members) if depth < MAX_DEPTH => {
            let mut out: Map<String, Value> = members
                .iter()
                .take(MAX_ITEMS)
                .map(|(name, member)| (text(name), bound(member, depth + 1)))
                .collect();
            if members.len() > MAX_ITEMS {
                out.insert(
                    "…".into(),
                    format!("{} more members", members.len() - MAX_ITEMS).into(),
                );
            }
            Value::Object(out)
        }
        Value::Array(_) | Value::Object(_) => digest(value),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_texts_and_small_details_are_kept_as_they_are() {
        let details = json!({"reason": "expired", "types": ["A", "B"], "n": 3});
        assert_eq!(super::details(&details), details);
        assert_eq!(text("did:key:z6Mk"), "did:key:z6Mk");
    }

    #[test]
    fn long_texts_many_items_and_deep_nesting_are_cut() {
        let long = "x".repeat(100_000);
        let cut = text(&long);
        assert!(cut.len() < MAX_TEXT_CHARS + 120, "{}", cut.len());
        assert!(cut.contains("100000 bytes in all, sha256 "));
        let many: Vec<u32> = (0..1000).collect();
        let mut deep = json!("bottom");
        for _ in 0..20 {
            deep = json!([deep]);
        }
        let bounded = details(&json!({"reason": long, "items": many, "deep": deep}));
        let items = bounded["items"].as_array().unwrap();
        assert_eq!(items.len(), MAX_ITEMS + 1);
        assert_eq!(items[MAX_ITEMS], "… 936 more items");
        assert!(bounded.to_string().contains("\"sha256\""));
        assert!(bounded.to_string().len() < MAX_DETAILS_BYTES);
    }

    #[test]
    fn details_too_large_even_when_cut_are_kept_as_their_digest() {
        let wide: Map<String, Value> = (0..MAX_ITEMS)
            .map(|i| (format!("k{i}"), Value::String("y".repeat(MAX_TEXT_CHARS))))
            .collect();
        let bounded = details(&Value::Object(wide.clone()));
        assert_eq!(bounded["digest"], digest(&Value::Object(wide)));
    }
}
