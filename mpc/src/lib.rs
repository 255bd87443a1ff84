//! Symbolon mpc: secure multiparty computation for health data spaces.
//!
//! Parties compute statistics across their data without revealing it. The
//! engine is Shamir secret sharing over GF(2^127 − 1) with an honest
//! majority (threshold t < n/2, semi-honest adversary), written against a
//! small [`Transport`] trait so that the connector can plug in its own
//! authenticated streams; [`MemoryTransport`] and [`TcpTransport`] ship here.
//!
//! The principal types:
//! - [`Party`]: one participant of a session, built from a transport and a
//!   [`SessionConfig`] (session id, threshold, timeout). It inputs, opens and
//!   multiplies [`SecretVec`]s; everything is vectorised: a vector of N values
//!   costs the rounds of one value.
//! - [`encoding`]: integers and fixed-point numbers with checked ranges.
//! - [`compare`]: less-than and equality with 40-bit statistical security.
//! - [`stats`]: sums, counts, means, variances, histograms, group-by,
//!   dot products, linear regression and the disclosure rule (count ≥ k).
//! - [`linkage`] and [`psi`]: pseudonymous record linkage and private set
//!   intersection by commutative blinding over Ristretto255.
//! - [`joint`]: private record linkage into a joint secret-shared table in
//!   which nobody learns which records matched ([`shuffle`]; tags by AES-128
//!   on replicated shares with three parties ([`boolean`]), by [`elgamal`]
//!   with more).
//! - [`helped_psi`]: PSI between two parties of a three-party session with
//!   the third as helper, by AES-128 on replicated shares.
//! - [`Channel`]: the round layer every message goes through; it checks the
//!   session id, sender, addressee and round of each message and fails with
//!   a clear error when a peer is silent past the timeout.
//!
//! Lower-level building blocks are public for benches and for protocols
//! built on top: [`field`], [`shamir`], [`prg`], [`group`], [`elgamal`],
//! [`shuffle`], [`boolean`], [`party::BitShares`]. They are easy to misuse; prefer [`Party`] and the modules
//! above.
//!
//! `SECURITY.md` states the adversary model, what each protocol reveals and
//! why the parameters are what they are.
//!
//! # Example: the average salary of four employees
//!
//! ```
//! use symbolon_mpc::{encoding::IntCodec, MemoryTransport, Party, SessionConfig};
//!
//! let salaries = [2500, 3250, 1800, 4320];
//! let config = SessionConfig::new(*b"salary-example-1");
//! let codec = IntCodec::new(32).unwrap();
//! let handles: Vec<_> = MemoryTransport::network(4)
//!     .into_iter()
//!     .zip(salaries)
//!     .map(|(transport, salary)| {
//!         let config = config.clone();
//!         std::thread::spawn(move || -> symbolon_mpc::Result<f64> {
//!             let mut party = Party::new(transport, &config)?;
//!             let mine = codec.encode(&[salary])?;
//!             let shared = party.input_all(&mine)?;
//!             let mut total = shared[0].clone();
//!             for s in &shared[1..] {
//!                 total = total.add(s)?;
//!             }
//!             let sum = party.open(&total)?;
//!             Ok(codec.decode(sum[0]) as f64 / 4.0)
//!         })
//!     })
//!     .collect();
//! for h in handles {
//!     let average = h.join().unwrap().unwrap();
//!     assert_eq!(format!("{average:.2}"), "2967.50");
//! }
//! ```

pub mod boolean;
pub mod channel;
pub mod compare;
pub mod elgamal;
pub mod encoding;
pub mod error;
pub mod field;
pub mod group;
pub mod helped_psi;
pub mod joint;
pub mod linkage;
pub mod memory;
pub mod party;
mod pool;
pub mod prg;
pub mod programs;
pub mod psi;
pub mod secret;
pub mod shamir;
pub mod shuffle;
pub mod stats;
pub mod tcp;
pub mod transport;

pub use channel::{Channel, SessionId};
pub use error::{FailureKind, MpcError, Result, TransportError};
pub use field::Fp;
pub use memory::MemoryTransport;
pub use party::{Party, SessionConfig};
pub use secret::SecretVec;
pub use tcp::{TcpConfig, TcpTransport};
pub use transport::Transport;
