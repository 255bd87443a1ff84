//! `symbolon policy check|eval|to-odrl|from-odrl`.

use std::sync::Arc;

use anyhow::anyhow;
use symbolon_policy::{Policies, Request, Schema};

use super::{read_input, CommandResult, Failure};

/// Exit code of `policy eval` for a denial.
pub const EXIT_DENY: u8 = 3;

/// Policy commands.
#[derive(Debug, clap::Subcommand)]
pub enum PolicyCommand {
    /// Check policy files against the health data-space schema (exit 0, or 1 with diagnostics).
    Check {
        /// Print diagnostics as JSON.
        #[arg(long)]
        json: bool,
        /// The policy files.
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Evaluate a request against a policy file (exit 0 permit, 3 deny, 1 error).
    Eval {
        /// The policy file.
        file: String,
        /// The request: `{"action", "offer", "now", "holder": {..}, "consent": {..}, ...}`.
        #[arg(long)]
        request: String,
        /// Print the decision as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Export a policy file as ODRL 2.2 JSON-LD.
    ToOdrl {
        /// The policy file.
        file: String,
    },
    /// Import ODRL 2.2 JSON-LD (Symbolon health profile) as policy text.
    FromOdrl {
        /// The ODRL file.
        file: String,
    },
}

/// Runs a policy command; returns the exit code for `eval`.
pub fn run(command: PolicyCommand) -> Result<u8, Failure> {
    let schema = Schema::health();
    match command {
        PolicyCommand::Check { json, files } => {
            let sources = read_sources(&files)?;
            let borrowed: Vec<(&str, &str)> = sources
                .iter()
                .map(|(n, t)| (n.as_str(), t.as_str()))
                .collect();
            match symbolon_policy::parse_and_check(&borrowed, &schema) {
                Ok(set) => {
                    if json {
                        super::print_json(
                            &serde_json::json!({"ok": true, "policies": set.policies.len()}),
                        )?;
                    } else {
                        let count = set.policies.len();
                        let noun = if count == 1 { "policy" } else { "policies" };
                        println!("{count} {noun} checked, no problems found");
                    }
                    Ok(0)
                }
                Err(diagnostics) => {
                    if json {
                        super::print_json(&diagnostics.to_json())?;
                    }
                    eprint!("{}", diagnostics.render());
                    Ok(1)
                }
            }
        }
        PolicyCommand::Eval {
            file,
            request,
            json,
        } => {
            let text = read_input(&file)?;
            let policies =
                match Policies::from_sources(&[(file.as_str(), text.as_str())], Arc::new(schema)) {
                    Ok(policies) => policies,
                    Err(diagnostics) => {
                        eprint!("{}", diagnostics.render());
                        return Ok(1);
                    }
                };
            let request_json: serde_json::Value = serde_json::from_str(&read_input(&request)?)
                .map_err(|e| {
                    Failure::Failed(anyhow!("the request `{request}` is not JSON: {e}"))
                })?;
            let mut request = Request::from_json(policies.schema(), &request_json)
                .map_err(|e| Failure::Failed(anyhow!("request `{}`: {e}", request)))?;
            request.set_now_if_missing(policies.schema());
            let decision = policies.evaluate(&request);
            if json {
                super::print_json(&decision.to_json())?;
            } else {
                println!("{decision}");
            }
            Ok(if decision.is_permit() { 0 } else { EXIT_DENY })
        }
        PolicyCommand::ToOdrl { file } => {
            let text = read_input(&file)?;
            let set = symbolon_policy::parse_and_check(&[(file.as_str(), text.as_str())], &schema)
                .map_err(|d| Failure::Failed(anyhow!("{}", d.render())))?;
            let odrl =
                symbolon_policy::to_odrl(&set, &schema).map_err(|e| Failure::Failed(e.into()))?;
            super::print_json(&odrl)?;
            Ok(0)
        }
        PolicyCommand::FromOdrl { file } => {
            let document: serde_json::Value = serde_json::from_str(&read_input(&file)?)
                .map_err(|e| Failure::Failed(anyhow!("`{file}` is not JSON: {e}")))?;
            let text = symbolon_policy::from_odrl_text(&document, &schema)
                .map_err(|e| Failure::Failed(e.into()))?;
            print!("{text}");
            Ok(0)
        }
    }
}

fn read_sources(files: &[String]) -> Result<Vec<(String, String)>, Failure> {
    files
        .iter()
        .map(|f| read_input(f).map(|text| (f.clone(), text)))
        .collect()
}

/// Exit with `code` unless it is 0.
pub fn finish(code: u8) -> CommandResult {
    match code {
        0 => Ok(()),
        code => Err(Failure::Exit(code)),
    }
}
