#![doc = include_str!("../README.md")]

pub mod ast;
pub mod check;
pub mod compile;
pub mod describe;
pub mod diag;
pub mod eval;
pub mod explain;
pub mod lexer;
pub mod loc;
pub mod odrl;
pub mod parser;
pub mod request;
pub mod schema;
pub mod suggest;
pub mod value;

pub use ast::{Effect, PolicySet};
pub use check::check;
pub use compile::{ObligationInstance, Policies};
pub use describe::describe;
pub use diag::{Diagnostic, Diagnostics};
pub use eval::{Outcome, Verdict};
pub use explain::{Condition, Decision};
pub use odrl::{from_odrl, from_odrl_text, to_odrl, OdrlError};
pub use parser::{parse, MAX_NESTING};
pub use request::{Request, RequestError};
pub use schema::Schema;
pub use value::{Type, Value};

/// Parses every (file name, text) source and checks the policies together against `schema`
/// (so duplicate ids across files are found). What `symbolon policy check FILE...` runs.
pub fn parse_and_check(
    sources: &[(&str, &str)],
    schema: &Schema,
) -> Result<PolicySet, Diagnostics> {
    let mut set = PolicySet::default();
    let mut diags = Diagnostics::default();
    for (name, text) in sources {
        match parse(name, text) {
            Ok(s) => set.extend(s),
            Err(d) => diags.items.extend(d.items),
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    check(&set, schema)?;
    Ok(set)
}
