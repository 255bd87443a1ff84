#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![recursion_limit = "256"]

mod backend;
pub mod context;
pub mod credential;
pub mod data_integrity;
pub mod did;
pub mod error;
pub mod issue;
pub mod jose;
pub mod json;
pub mod keys;
pub mod keystore;
pub mod limits;
pub mod net;
pub mod nonce;
pub mod report;
pub mod schemas;
pub mod sd_jwt;
pub mod status_list;
pub mod trust;
pub mod verify;

pub use did::{Did, DidResolver};
pub use error::{DidError, IssueError, KeyError, PublicKeyError, VerifyError};
pub use issue::{create_presentation, issue_credential, Format, Secured};
pub use keys::{KeyAlgorithm, KeyPair, PublicKey};
pub use keystore::Identity;
pub use report::{Check, Outcome, Report};
pub use status_list::{StatusList, StatusPurpose};
pub use trust::TrustList;
pub use verify::{Expectations, Input, PresentationOptions, Verifier};
