//! Symbolon connector.
