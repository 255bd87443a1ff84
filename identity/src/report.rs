//! The verification report: every check performed, its outcome, and the reason for a failure.

use serde::Serialize;
use serde_json::Value;

use crate::error::VerifyError;

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The check ran and passed.
    Passed,
    /// The check ran and failed.
    Failed,
    /// The check did not run (an earlier check failed, or nothing to check).
    Skipped,
}

/// One check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked: `format`, `signature`, `validity`, `status`, `trust`, `challenge`,
    /// `audience`, `replay`, `holder_binding`, `credentials`.
    pub check: &'static str,
    /// Its outcome.
    pub outcome: Outcome,
    /// Why it failed or was skipped, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The rejection code of a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
}

/// The report of verifying a credential or presentation.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// True when every check passed.
    pub verified: bool,
    /// `credential` or `presentation`.
    pub kind: &'static str,
    /// `vc+jwt`, `vp+jwt` or the Data Integrity cryptosuite.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The issuer (credentials) or holder (presentations).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// The credential types other than `VerifiableCredential`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
    /// Each check.
    pub checks: Vec<Check>,
    /// The messages of the credential's `statusPurpose` `message` entries (reported, never a
    /// reason to reject).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub status_messages: Vec<crate::verify::StatusMessage>,
    /// The reports of the credentials inside a presentation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<Report>,
    /// The first failure, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The verified document (the credential JSON, or the presentation JSON).
    #[serde(skip)]
    pub document: Option<Value>,
    #[serde(skip)]
    first_error: Option<VerifyError>,
}

impl Report {
    /// A verified presentation of no credential: what an empty answer to a presentation query
    /// amounts to. Its holder ([`Report::signer`]) is for the caller to set.
    pub fn empty_presentation() -> Self {
        let mut report = Report::new("presentation");
        report.verified = true;
        report
    }

    pub(crate) fn new(kind: &'static str) -> Self {
        Report {
            verified: false,
            kind,
            format: None,
            signer: None,
            types: Vec::new(),
            checks: Vec::new(),
            status_messages: Vec::new(),
            credentials: Vec::new(),
            error: None,
            document: None,
            first_error: None,
        }
    }

    /// The report of an input refused for its form before anything else was looked at.
    pub(crate) fn refused_format(kind: &'static str, error: VerifyError) -> Self {
        let mut report = Report::new(kind);
        report.fail("format", error);
        report.finish()
    }

    /// Whether a check has failed so far.
    pub(crate) fn has_failure(&self) -> bool {
        self.first_error.is_some()
    }

    pub(crate) fn pass(&mut self, check: &'static str) {
        self.checks.push(Check {
            check,
            outcome: Outcome::Passed,
            reason: None,
            code: None,
        });
    }

    pub(crate) fn skip(&mut self, check: &'static str, reason: &str) {
        self.checks.push(Check {
            check,
            outcome: Outcome::Skipped,
            reason: Some(reason.to_owned()),
            code: None,
        });
    }

    pub(crate) fn fail(&mut self, check: &'static str, error: VerifyError) {
        self.checks.push(Check {
            check,
            outcome: Outcome::Failed,
            reason: Some(error.to_string()),
            code: Some(error.code()),
        });
        if self.first_error.is_none() {
            self.error = Some(format!("{check}: {error}"));
            self.first_error = Some(error);
        }
    }

    /// Records the outcome of `result` under `check`; returns whether it passed.
    pub(crate) fn record<T>(
        &mut self,
        check: &'static str,
        result: Result<T, VerifyError>,
    ) -> Option<T> {
        match result {
            Ok(value) => {
                self.pass(check);
                Some(value)
            }
            Err(error) => {
                self.fail(check, error);
                None
            }
        }
    }

    pub(crate) fn finish(mut self) -> Self {
        self.verified =
            self.first_error.is_none() && self.checks.iter().all(|c| c.outcome != Outcome::Failed);
        self
    }

    /// The first rejection, if any.
    pub fn rejection(&self) -> Option<&VerifyError> {
        self.first_error.as_ref()
    }

    /// The outcome of a named check, if it was recorded.
    pub fn outcome(&self, check: &str) -> Option<Outcome> {
        self.checks
            .iter()
            .find(|c| c.check == check)
            .map(|c| c.outcome)
    }
}
