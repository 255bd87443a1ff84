//! Symbolon's audit trail: an append-only Merkle log in the manner of Certificate
//! Transparency (RFC 9162), with signed tree heads and offline verification.
