//! Credential-gated MPC sessions, as a transfer profile of the Dataspace Protocol
//! (`MpcSession-PUSH`; see `docs/mpc-session-profile.md`). So far: the session manifest an
//! analyst signs and every party countersigns ([`manifest`]), and a data holder's admission
//! decision on it against its agreement and its offer's policy ([`admission`]). The transport
//! of shares, the program library, the sealed results and the CLI are still to come.

pub mod admission;
pub mod binding;
pub mod differencing;
mod disclosure;
pub mod links;
pub mod manifest;
pub mod runner;
pub mod seal;
pub mod start;
pub mod transport;

/// The transfer format of an MPC session.
pub const MPC_SESSION_FORMAT: &str = "MpcSession-PUSH";
