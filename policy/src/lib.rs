//! Symbolon policy.
