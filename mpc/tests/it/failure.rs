//! Dropouts, malformed and misrouted messages.
