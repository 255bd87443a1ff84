//! `symbolon credential types`: each credential type this connector knows, with the claims it
//! requires and may carry and an example, read from the JSON Schemas the issuer checks
//! (`identity/schemas/`).

use anyhow::anyhow;
use symbolon_identity::schemas::{self, SubjectSchema};

use crate::cli::{print_json, CommandResult, Failure};

/// Runs `symbolon credential types [TYPE] [--json]`.
pub fn run(credential_type: Option<&str>, json: bool) -> CommandResult {
    let chosen: Vec<&SubjectSchema> = match credential_type {
        None => schemas::all().iter().collect(),
        Some(name) => vec![schemas::of(name).ok_or_else(|| {
            let known: Vec<&str> = schemas::all().iter().map(|s| s.credential_type).collect();
            Failure::Usage(anyhow!(
                "no credential type `{name}`; the types are {}",
                known.join(", ")
            ))
        })?],
    };
    if json {
        let documents: Vec<&serde_json::Value> = chosen.iter().map(|s| &s.document).collect();
        return match documents.as_slice() {
            [one] if credential_type.is_some() => print_json(one),
            _ => print_json(&documents),
        };
    }
    let mut text = String::new();
    for (i, schema) in chosen.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        describe(schema, &mut text);
    }
    print!("{text}");
    Ok(())
}

/// One type, as text.
fn describe(schema: &SubjectSchema, out: &mut String) {
    use std::fmt::Write as _;
    let required = schema.required();
    let one_of = schema.one_of();
    let claims = schema.claims();
    let width = claims.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let _ = writeln!(out, "{}", schema.credential_type);
    let _ = writeln!(out, "  {}", schema.description());
    let mut section = |title: &str, pick: &dyn Fn(&str) -> bool| {
        let chosen: Vec<&(&str, &str)> = claims.iter().filter(|(n, _)| pick(n)).collect();
        if chosen.is_empty() {
            return;
        }
        let _ = writeln!(out, "  {title}:");
        for (name, description) in chosen {
            let _ = writeln!(out, "    {name:<width$}  {description}");
        }
    };
    section("required claims", &|name| required.contains(&name));
    section("one of these is required", &|name| one_of.contains(&name));
    section("optional claims", &|name| {
        !required.contains(&name) && !one_of.contains(&name)
    });
    if required.is_empty() && one_of.is_empty() {
        let _ = writeln!(out, "  (no claim is required)");
    }
    if let Some(example) = schema.example() {
        let claims = serde_json::to_string(example).unwrap_or_default();
        let _ = writeln!(out, "  example:");
        if schema.credential_type == "TrustListCredential" {
            let _ = writeln!(out, "    {claims}");
        } else {
            let _ = writeln!(
                out,
                "    symbolon credential issue --data-dir DIR --type {} --subject DID \\",
                schema.credential_type
            );
            if schema.credential_type == crate::dcp::issuer::permits::TYPE {
                // A permit has a period and a status entry (see docs/credentials.md).
                let _ = writeln!(out, "      --valid-until 2027-01-01T00:00:00Z --status \\");
            }
            let _ = writeln!(out, "      --claims '{claims}'");
        }
    }
}
