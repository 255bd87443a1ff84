//! Symbolon mpc.
