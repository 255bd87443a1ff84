//! The verification report: findings, each naming what is wrong and where.

use serde::Serialize;
use serde_json::Value;

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The bundle itself is malformed (format, log id).
    MalformedBundle,
    /// An entry is not a well-formed entry.
    MalformedEntry,
    /// An entry's content differs from what was logged.
    ChangedEntry,
    /// Entries in a range differ from the signed head, but which one cannot be named.
    ChangedRange,
    /// An entry is missing.
    RemovedEntry,
    /// Entries are out of order.
    ReorderedEntries,
    /// An entry appears twice.
    DuplicatedEntry,
    /// A signed head covers more entries than the bundle holds.
    Truncated,
    /// The entries do not match a signed head.
    HeadMismatch,
    /// A head is not a well-formed signed tree head.
    MalformedHead,
    /// A head's signature does not verify.
    ForgedHead,
    /// A head names another log.
    WrongLogId,
    /// Two validly signed heads disagree about the log.
    Fork,
    /// No signed head covers the entries (or part of them).
    Unsigned,
    /// An embedded credential or presentation fails its proof check.
    CredentialInvalid,
    /// An embedded credential or presentation cannot be checked: the bundle lacks the DID
    /// document of a did:web signer (the message names which).
    MissingDidDocument,
    /// Something was not checked (e.g. revocation status offline).
    NotChecked,
    /// A witnessed head of the other log is not validly signed.
    WitnessInvalid,
    /// A witnessed head does not match the other log.
    WitnessMismatch,
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The log is not valid.
    Error,
    /// Worth knowing; the log is still valid.
    Warning,
    /// Information.
    Info,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What.
    pub kind: FindingKind,
    /// How serious.
    pub severity: Severity,
    /// The entry index (or head position for head findings) it is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// The tree size it is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// In words.
    pub message: String,
}

impl Finding {
    /// An error finding.
    pub fn error(kind: FindingKind, message: impl Into<String>) -> Self {
        Finding {
            kind,
            severity: Severity::Error,
            index: None,
            size: None,
            message: message.into(),
        }
    }

    /// A warning.
    pub fn warning(kind: FindingKind, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(kind, message)
        }
    }

    /// Information.
    pub fn info(kind: FindingKind, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Info,
            ..Finding::error(kind, message)
        }
    }

    /// With an entry index.
    pub fn at(mut self, index: u64) -> Self {
        self.index = Some(index);
        self
    }

    /// With a tree size.
    pub fn size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }
}

/// The result of verifying a bundle.
#[derive(Debug, Clone, Serialize)]
pub struct BundleReport {
    /// The log's DID.
    pub log_id: String,
    /// The number of entries in the bundle.
    pub entries: u64,
    /// The number of heads whose signature verified.
    pub verified_heads: u64,
    /// The largest tree size a verified head covers and the entries match.
    pub signed_size: u64,
    /// The number of credentials and presentations whose proof was checked.
    pub credentials_checked: u64,
    /// The did:web signers whose DID documents the bundle lacks, so that what they signed
    /// could not be checked.
    pub missing_did_documents: Vec<String>,
    /// What was found, in order of discovery.
    pub findings: Vec<Finding>,
}

impl BundleReport {
    /// True when no finding is an error.
    pub fn is_valid(&self) -> bool {
        self.findings.iter().all(|f| f.severity != Severity::Error)
    }

    /// The findings of `kind`.
    pub fn of_kind(&self, kind: FindingKind) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.kind == kind)
    }

    /// The report as JSON (with `valid`).
    pub fn to_json(&self) -> Value {
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(object) = value.as_object_mut() {
            object.insert("valid".into(), self.is_valid().into());
        }
        value
    }
}

fn write_findings(f: &mut std::fmt::Formatter<'_>, findings: &[Finding]) -> std::fmt::Result {
    for finding in findings {
        let severity = match finding.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "note",
        };
        writeln!(f, "  {severity}: {}", finding.message)?;
    }
    Ok(())
}

impl std::fmt::Display for BundleReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verdict = if self.is_valid() { "VALID" } else { "INVALID" };
        writeln!(f, "audit log {}: {verdict}", self.log_id)?;
        writeln!(
            f,
            "  {} entries, {} verified signed heads (covering {} entries), {} credentials checked",
            self.entries, self.verified_heads, self.signed_size, self.credentials_checked
        )?;
        write_findings(f, &self.findings)
    }
}

/// The result of checking two organisations' logs against each other.
#[derive(Debug, Clone, Serialize)]
pub struct PairReport {
    /// The first bundle's own report.
    pub a: BundleReport,
    /// The second bundle's own report.
    pub b: BundleReport,
    /// Heads of B witnessed in A that were checked.
    pub b_heads_witnessed_by_a: u64,
    /// Heads of A witnessed in B that were checked.
    pub a_heads_witnessed_by_b: u64,
    /// Findings about the two logs together.
    pub findings: Vec<Finding>,
}

impl PairReport {
    /// True when both logs are valid and agree.
    pub fn is_valid(&self) -> bool {
        self.a.is_valid()
            && self.b.is_valid()
            && self.findings.iter().all(|f| f.severity != Severity::Error)
    }

    /// The report as JSON (with `valid`).
    pub fn to_json(&self) -> Value {
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(object) = value.as_object_mut() {
            object.insert("a".into(), self.a.to_json());
            object.insert("b".into(), self.b.to_json());
            object.insert("valid".into(), self.is_valid().into());
        }
        value
    }
}

impl std::fmt::Display for PairReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.a, self.b)?;
        let verdict = if self.is_valid() { "AGREE" } else { "DISAGREE" };
        writeln!(
            f,
            "cross-witnessing: {verdict} ({} heads of {} seen by {}, {} heads of {} seen by {})",
            self.b_heads_witnessed_by_a,
            self.b.log_id,
            self.a.log_id,
            self.a_heads_witnessed_by_b,
            self.a.log_id,
            self.b.log_id
        )?;
        write_findings(f, &self.findings)
    }
}
