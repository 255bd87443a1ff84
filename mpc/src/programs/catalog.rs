//! The catalog: every program's id, version, parameters and what it reveals,
//! and the hash that names exactly that description.

use sha2::{Digest, Sha256};

/// One parameter of a program, as its description (and hash) states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamSpec {
    /// The key in the params object.
    pub name: &'static str,
    /// Its JSON type and constraints.
    pub kind: &'static str,
    /// Whether it must be present.
    pub required: bool,
    /// What it means.
    pub doc: &'static str,
}

/// A program of the library: what a signed manifest names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgramSpec {
    /// The program id, e.g. `linked-group-stats`.
    pub id: &'static str,
    /// The version; a changed computation or disclosure gets a new version.
    pub version: &'static str,
    /// What it computes, in one or two sentences.
    pub summary: &'static str,
    /// What it reveals, to whom (recipients, all parties).
    pub reveals: &'static str,
    /// Its parameters.
    pub params: &'static [ParamSpec],
}

/// The prefix of [`ProgramSpec::canonical`]; changes only if that format does.
pub const CANONICAL_HEADER: &str = "symbolon-mpc program description v1";

impl ProgramSpec {
    /// The canonical description the hash is taken of: UTF-8 lines joined by
    /// `\n` (no trailing newline): [`CANONICAL_HEADER`], `id=…`,
    /// `version=…`, `summary=…`, `reveals=…`, then one line
    /// `param=NAME;KIND;required|optional;DOC` per parameter in catalog
    /// order. No field contains a newline.
    pub fn canonical(&self) -> String {
        let mut lines = vec![
            CANONICAL_HEADER.to_owned(),
            format!("id={}", self.id),
            format!("version={}", self.version),
            format!("summary={}", self.summary),
            format!("reveals={}", self.reveals),
        ];
        for p in self.params {
            let req = if p.required { "required" } else { "optional" };
            lines.push(format!("param={};{};{req};{}", p.name, p.kind, p.doc));
        }
        lines.join("\n")
    }

    /// Lowercase hex SHA-256 of [`ProgramSpec::canonical`]: what a
    /// manifest's `program.hash` must equal.
    pub fn hash(&self) -> String {
        Sha256::digest(self.canonical().as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// All programs of the library.
pub fn catalog() -> &'static [ProgramSpec] {
    CATALOG
}

/// The program of this id and version, if the library has it.
pub fn find(id: &str, version: &str) -> Option<&'static ProgramSpec> {
    CATALOG.iter().find(|s| s.id == id && s.version == version)
}

/// The newest version of the program `id` (versions compare as numbers).
pub fn latest(id: &str) -> Option<&'static ProgramSpec> {
    CATALOG
        .iter()
        .filter(|s| s.id == id)
        .max_by_key(|s| s.version.parse::<u64>().unwrap_or(0))
}

const COLUMN: ParamSpec = ParamSpec {
    name: "column",
    kind: "string (1..=64 chars)",
    required: true,
    doc: "the integer column, held by any of the input parties (a party without it contributes no rows)",
};
const MIN: ParamSpec = ParamSpec {
    name: "min",
    kind: "integer, |min| <= 2^40, default 0",
    required: false,
    doc: "smallest allowed value; a party holding a smaller one refuses before inputting anything",
};
const MAX: ParamSpec = ParamSpec {
    name: "max",
    kind: "integer, min <= max, |max| <= 2^40",
    required: true,
    doc: "largest allowed value; a party holding a larger one refuses before inputting anything",
};
const GROUP: ParamSpec = ParamSpec {
    name: "group",
    kind: "object {column: string, values: array of 1..=64 distinct integers}",
    required: true,
    doc: "the group column and its groups; a value outside the list is refused like an out-of-range value",
};

const DOMINANCE: ParamSpec = ParamSpec {
    name: "dominance",
    kind: "object {n: integer 1..=10, k: integer 1..=100}, default {n: 1, k: 85}",
    required: false,
    doc: "the dominance rule (n, k): a cell whose n largest contributions (absolute values, one per record) exceed k % of its total of absolute values is suppressed; k = 100 never suppresses",
};

static CATALOG: &[ProgramSpec] = &[
    ProgramSpec {
        id: "sum",
        version: "2",
        summary: "The sum of one integer column over all input parties' rows; suppressed if count < k (threshold rule) or if the dominance rule (n, k) holds (the n largest absolute values exceed k % of the sum of absolute values, decided in secret).",
        reveals: "to recipients: the count and the sum, unless suppressed (then only that it is, and by which rule); to all parties: the layout (so the count), whether the threshold rule suppresses the result and, if it does not, whether the dominance rule does",
        params: &[COLUMN, MIN, MAX, DOMINANCE],
    },
    ProgramSpec {
        id: "count",
        version: "1",
        summary: "The number of rows whose column value v satisfies from <= v < to (either bound optional), over all input parties' rows.",
        reveals: "to recipients: the count, unless count < k (then only that it is suppressed); to all parties: the layout (the number of rows holding the column) and whether the result is suppressed",
        params: &[
            COLUMN,
            MIN,
            MAX,
            ParamSpec {
                name: "from",
                kind: "integer",
                required: false,
                doc: "count only values >= from",
            },
            ParamSpec {
                name: "to",
                kind: "integer, > from",
                required: false,
                doc: "count only values < to",
            },
        ],
    },
    ProgramSpec {
        id: "mean",
        version: "2",
        summary: "The mean of one integer column over all input parties' rows; suppressed if count < k (threshold rule) or if the dominance rule (n, k) holds (the n largest absolute values exceed k % of the sum of absolute values, decided in secret).",
        reveals: "to recipients: the count, the sum and the mean, unless suppressed (then only that it is, and by which rule); to all parties: the layout (so the count), whether the threshold rule suppresses the result and, if it does not, whether the dominance rule does",
        params: &[COLUMN, MIN, MAX, DOMINANCE],
    },
    ProgramSpec {
        id: "variance",
        version: "2",
        summary: "The mean and the sample variance (divisor count - 1) of one integer column over all input parties' rows; suppressed if count < k (threshold rule) or if the dominance rule (n, k) holds (the n largest absolute values exceed k % of the sum of absolute values, decided in secret).",
        reveals: "to recipients: the count, the sum, the sum of squares and what follows (mean, variance), unless suppressed (then only that it is, and by which rule); to all parties: the layout (so the count), whether the threshold rule suppresses the result and, if it does not, whether the dominance rule does",
        params: &[COLUMN, MIN, MAX, DOMINANCE],
    },
    ProgramSpec {
        id: "histogram",
        version: "1",
        summary: "Counts of one integer column per bin split at the edges: bin 0 is v < edges[0], bin i is edges[i-1] <= v < edges[i], the last bin v >= the last edge. If any bin has fewer than k rows the whole histogram is suppressed (a single suppressed bin could be recovered from the public row count).",
        reveals: "to recipients: every bin count, unless some bin has count < k (then only that the histogram is suppressed); to all parties: the layout and the one bit whether the histogram is suppressed",
        params: &[
            COLUMN,
            MIN,
            MAX,
            ParamSpec {
                name: "edges",
                kind: "array of 1..=64 strictly increasing integers",
                required: true,
                doc: "the bin edges",
            },
        ],
    },
    ProgramSpec {
        id: "group-stats",
        version: "2",
        summary: "Group-by over all input parties' rows (each input party holds all or none of the program's columns): per group value, the count and per value column the sum and mean. Groups with count < k are suppressed (threshold rule); with value columns, so are groups where the dominance rule (n, k) holds for any value column (decided in secret).",
        reveals: "to recipients: per released group its count and sums (and means), per suppressed group the rule that suppressed it; to all parties: the layout, which groups the threshold rule suppresses and, of the others, which the dominance rule suppresses (one bit per group, not per column). The total row count is public, so if exactly one group is suppressed its count follows by subtraction",
        params: &[
            GROUP,
            ParamSpec {
                name: "values",
                kind: "array of 0..=16 objects {column, min?, max}",
                required: true,
                doc: "the value columns summed per group, with their bounds",
            },
            DOMINANCE,
        ],
    },
    // No dominance rule for `linear-regression`: its coefficients are no
    // magnitude table (no cell is a sum of contributions one record could
    // dominate), so the threshold rule on the number of records applies.
    // Saying so in the summary would change version 1's hash.
    ProgramSpec {
        id: "linear-regression",
        version: "1",
        summary: "Ordinary least squares of the outcome on the covariates plus an intercept, over all input parties' rows (each input party holds all or none of the columns); refused (suppressed) if count < k.",
        reveals: "to recipients: X'X and X'y (count, sums, sums of squares and cross products) from which the coefficients are solved, unless count < k; to all parties: the layout and whether the result is suppressed",
        params: &[
            ParamSpec {
                name: "outcome",
                kind: "object {column, min?, max}",
                required: true,
                doc: "the outcome column y",
            },
            ParamSpec {
                name: "covariates",
                kind: "array of 1..=8 objects {column, min?, max}",
                required: true,
                doc: "the covariate columns",
            },
        ],
    },
    ProgramSpec {
        id: "psi-cardinality",
        version: "2",
        summary: "The size of the intersection of the input parties' identifier sets. With two input parties and a recipient among them: PSI in count mode (in a three-party session helped by the third party, AES-128 on replicated shares; otherwise Diffie-Hellman PSI), that recipient receiving and forwarding the size to the other recipients. Otherwise: private joint linkage (AES-128 tags on shares with three parties, ElGamal tags with more), the size opened to the recipients.",
        reveals: "every input party's set size to all parties. Two input parties with a recipient among them: the intersection size to the recipients only. Otherwise: the multiplicity profile of the identifiers (how many occur at 1, 2, ... parties, hence the intersection size) to all parties. k does not apply",
        params: &[],
    },
    ProgramSpec {
        id: "psi-membership",
        version: "2",
        summary: "Each recipient (which must be an input party) learns which of its own identifiers each other input party holds, and which all of them hold: PSI with every other input party in turn (in a three-party session helped by the third party, AES-128 on replicated shares; otherwise Diffie-Hellman PSI).",
        reveals: "to each recipient: which of its own identifiers each other input party holds, and those parties' set sizes; to the other input parties: the recipient's set size; to all parties: the set sizes (layout round). k does not apply",
        params: &[],
    },
    ProgramSpec {
        id: "linked-group-stats",
        version: "3",
        summary: "Records of the input parties linked privately on their identifiers (AES-128 tags on replicated shares with three parties, ElGamal tags with more); over the records present at all input parties, per (group value, treatment 0/1) cell: the count and per outcome the sum and mean. Cells with count < k are suppressed (threshold rule), and so are cells where the dominance rule (n, k) holds for any outcome (the n largest absolute values of the cell's linked records exceed k % of their sum, decided in secret: contributions formed and ranked in secret, as no party knows the cells of the records); per group and outcome the effect mean(treatment 1) - mean(treatment 0), suppressed if either cell is. Each column is held by exactly one input party.",
        reveals: "to recipients: count and outcome sums of every released cell, the rule that suppressed each other cell and effect; to all parties: the layout, which cells the threshold rule suppresses and, of the others, which the dominance rule suppresses (one bit per cell, not per outcome), and what private linkage reveals (the number of distinct identifiers and how many occur at 1, 2, ... parties, hence the number of records present at all parties: with it, a single suppressed cell's count can be derived by subtraction)",
        params: &[
            GROUP,
            ParamSpec {
                name: "treatment",
                kind: "string (1..=64 chars)",
                required: true,
                doc: "the 0/1 treatment column; any other value is refused",
            },
            ParamSpec {
                name: "outcomes",
                kind: "array of 1..=16 objects {column, min?, max}",
                required: true,
                doc: "the outcome columns, with their bounds",
            },
            DOMINANCE,
        ],
    },
];
