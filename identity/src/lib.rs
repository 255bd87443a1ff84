//! Symbolon identity.
