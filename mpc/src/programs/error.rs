//! [`ProgramError`]: why a program refused to start or failed.

use crate::error::MpcError;

/// Why a program could not be validated or run. No variant carries a data
/// value: an out-of-range value is reported by column and row only.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProgramError {
    /// No program of this id and version in the library.
    #[error("unknown program `{id}` version `{version}`")]
    UnknownProgram {
        /// The requested id.
        id: String,
        /// The requested version.
        version: String,
    },
    /// A parameter is missing, unknown, of the wrong type or out of range.
    #[error("invalid parameter `{param}`: {reason}")]
    Param {
        /// The parameter's path, e.g. `outcomes[1].max`.
        param: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The roles do not fit the session or the program.
    #[error("invalid roles: {0}")]
    Roles(String),
    /// The disclosure threshold k must lie in 1..=2^32.
    #[error("min_group_size (k) must lie in 1..=2^32")]
    InvalidK,
    /// We are an input party but were given no input table.
    #[error("this party is an input party of the program but was given no input table")]
    InputMissing,
    /// We are not an input party but were given an input table.
    #[error("this party is not an input party of the program but was given an input table")]
    InputNotAllowed,
    /// Our input table is malformed (columns of different lengths, ...).
    #[error("the input table is malformed: {0}")]
    Table(String),
    /// A column the program needs from us is missing from our table.
    #[error("column `{column}` is missing from this party's table")]
    ColumnMissing {
        /// The column's name.
        column: String,
    },
    /// One of our values lies outside the range the parameters declare.
    #[error("column `{column}` row {row}: value outside the declared range [{min}, {max}]")]
    OutOfRange {
        /// The column's name.
        column: String,
        /// The row (0-based) in our table.
        row: usize,
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// A group column value that is not one of the declared group values.
    #[error("column `{column}` row {row}: value is not one of the declared group values")]
    NotAGroup {
        /// The column's name.
        column: String,
        /// The row (0-based) in our table.
        row: usize,
    },
    /// The program links records but our table has no identifiers.
    #[error("this program needs one identifier per row, and the table has none")]
    IdsMissing,
    /// An identifier occurs twice in our table.
    #[error("identifier of row {row} occurs earlier in the table too")]
    DuplicateId {
        /// The row (0-based) of the second occurrence.
        row: usize,
    },
    /// The announced layout does not fit the program (a column held by no
    /// party, or by several where one is required, ...).
    #[error("the parties' data do not fit the program: {0}")]
    Layout(String),
    /// Another party refused its own input (out of range, malformed, ...)
    /// in the layout round; it reports the reason itself.
    #[error("party {party} refused its input (its own error says why)")]
    PeerRefused {
        /// The refusing party.
        party: usize,
    },
    /// Another party runs a different plan, roles or k.
    #[error("party {party} runs a different program, parameters, roles or k")]
    Disagreement {
        /// The disagreeing party.
        party: usize,
    },
    /// The regression's covariates are collinear over the selected records.
    #[error("the covariates are collinear: XᵀX is singular")]
    Singular,
    /// The MPC engine failed (transport, malformed message, ...).
    #[error(transparent)]
    Engine(#[from] MpcError),
}

impl ProgramError {
    /// Shorthand for a [`ProgramError::Param`].
    pub(crate) fn param(param: impl Into<String>, reason: impl Into<String>) -> ProgramError {
        ProgramError::Param {
            param: param.into(),
            reason: reason.into(),
        }
    }
}
