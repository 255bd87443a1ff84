//! ODRL 2.2: export checked policies as ODRL JSON-LD under the Symbolon health profile, and import
//! ODRL that uses this profile and the Dataspace Protocol's core operators.
//!
//! | Symbolon | ODRL |
//! | --- | --- |
//! | `policy "id" { ... }` | a `Set` policy with `uid` `urn:symbolon:policy:id` and `profile` |
//! | `permit` / `forbid` | one `permission` / `prohibition` |
//! | actions | `action`: `symbolon:join_computation`, ...; `*` is `use` |
//! | offers | `target`; `*` omits the target |
//! | `when a and b` | `constraint: [a, b]`; nested `and` / `or` are logical constraints |
//! | `==` `!=` `<` `<=` `>` `>=` | `eq` `neq` `lt` `lteq` `gt` `gteq` |
//! | `x in [..]` | `isAnyOf`; negated: `isNoneOf` |
//! | `s contains v`, `s contains_all [..]` | `isAllOf` (a set-valued left operand) |
//! | `s contains_any [..]` | `isAnyOf` (a set-valued left operand); negated: `isNoneOf` |
//! | `has x` / `not has x` | `symbolon:isPresent` `true` / `false`; in the protocol's form ([`offer_rules`]) `neq` / `eq` `{"@id": "symbolon:absent"}` |
//! | `not` | pushed into the operators (ODRL has no negation) |
//! | `obligation n { p = v }` | a `duty` whose action `symbolon:n` has a refinement `p eq v` |
//!
//! Attributes map to left operands through the schema (`holder.role` is `symbolon:role`, `now` is
//! `dateTime`, `usage.count` is `count`, ...). Anything the importer does not understand is an
//! [`OdrlError`] naming it, never silently dropped.

mod dsp;
mod export;
mod import;

pub use dsp::{duty, offer_rules, profile_iri, read_duty, ABSENT};
pub use export::to_odrl;
pub use import::{from_odrl, from_odrl_text};

use crate::diag::Diagnostics;

/// The JSON-LD prefix of the Symbolon health profile's terms.
pub const PREFIX: &str = "symbolon";

/// The IRI the `symbolon:` prefix expands to.
pub const NAMESPACE: &str = "https://w3id.org/symbolon/odrl/health#";

/// The ODRL 2.2 JSON-LD context.
pub const ODRL_CONTEXT: &str = "http://www.w3.org/ns/odrl.jsonld";

/// The prefix of exported policy uids.
pub const UID_PREFIX: &str = "urn:symbolon:policy:";

/// Why an ODRL document could not be exported or imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OdrlError {
    /// A construct this profile does not support (an operator, key, action, left operand, ...).
    #[error("unsupported ODRL construct `{construct}` at {path}{}", help.as_ref().map(|h| format!(": {h}")).unwrap_or_default())]
    Unsupported {
        /// The construct, as written.
        construct: String,
        /// Where, as a JSON pointer.
        path: String,
        /// What is supported instead.
        help: Option<String>,
    },
    /// The document is not well-formed ODRL.
    #[error("invalid ODRL at {path}: {message}")]
    Invalid {
        /// Where, as a JSON pointer.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A policy cannot be expressed in ODRL.
    #[error("policy `{policy}` cannot be exported: {message}")]
    Export {
        /// The policy id.
        policy: String,
        /// Why.
        message: String,
    },
    /// The imported policies do not pass the checker.
    #[error("the imported policies do not check:\n{0}")]
    Check(Diagnostics),
}

/// `min_group_size` to `minGroupSize`.
pub(crate) fn camel(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut up = false;
    for c in s.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `minGroupSize` to `min_group_size`.
pub(crate) fn snake(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A term without its `symbolon:`/`odrl:` prefix or namespace IRI.
pub(crate) fn bare(term: &str) -> &str {
    for p in [
        "symbolon:",
        "odrl:",
        NAMESPACE,
        "http://www.w3.org/ns/odrl/2/",
        "https://www.w3.org/ns/odrl/2/",
    ] {
        if let Some(rest) = term.strip_prefix(p) {
            return rest;
        }
    }
    term
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(camel("min_group_size"), "minGroupSize");
        assert_eq!(snake("minGroupSize"), "min_group_size");
        assert_eq!(bare("symbolon:role"), "role");
        assert_eq!(bare("http://www.w3.org/ns/odrl/2/eq"), "eq");
    }
}
