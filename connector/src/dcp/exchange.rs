//! The subset of DIF Presentation Exchange 2.0 that verifiers using the Decentralized Claims
//! Protocol send in a `PresentationQueryMessage`'s `presentationDefinition`.
//!
//! A definition ([`Definition::parse`]) has an `id` and `input_descriptors`, each with an `id`,
//! an optional `format` and `constraints.fields`. A field has a `path` (a list of JSONPath
//! expressions, the first that yields a value matching the field's `filter` decides), an
//! optional `filter` and `optional`. What is read:
//!
//! - **JSONPath**: `$` followed by `.name`, `['name']` / `["name"]`, `[n]` and `[*]` / `.*`;
//!   so `$.type`, `$.credentialSubject.role`, `$['credentialSubject']['role']`. A path of the
//!   VC 1.1 JWT form, `$.vc.…`, is read on the credential itself when the credential (a VC 2.0
//!   document, what this connector holds) has no `vc` member. Anything else (`..`, filters,
//!   slices) is refused with the path named.
//! - **`filter`**, a JSON Schema subset: `type`, `const`, `enum`, `pattern` (a regular
//!   expression searched in a string), `contains` (some element of an array matches); the
//!   annotations `$schema`, `$id`, `title`, `description`, `$comment` are ignored. A filter
//!   that does not ask for an array (`type` `array` or `contains`) and meets an array is
//!   applied to each element, any matching: `{"type": "string", "pattern": "X"}` on `$.type`
//!   asks whether one of the types is `X`, as the protocol's own example means it.
//! - **`format`**: `jwt_vc`, `jwt_vc_json`, `vc+jwt`, `jwt_vp`, `jwt_vp_json`, `vp+jwt`, `jwt`
//!   select the JOSE credentials held (every presentation this connector makes is a
//!   `vp+jwt`); a descriptor (or definition) whose `format` names none of these matches
//!   nothing, never an error. No `format` matches any held credential.
//!
//! Not supported, refused with the member named ([`ExchangeError::Unsupported`], 501):
//! `submission_requirements`, `frame`, `limit_disclosure: "required"` (this connector cannot
//! disclose selectively), a field's `predicate`, and filter keywords outside the subset.

use serde_json::{json, Map, Value};

use super::messages::MessageError;

/// Most input descriptors, fields per descriptor and paths per field read.
pub const MAX_ITEMS: usize = 16;
/// Longest JSONPath expression or `pattern` read, in characters.
pub const MAX_EXPRESSION_CHARS: usize = 256;
/// Deepest nesting of `contains` filters.
const MAX_FILTER_DEPTH: usize = 4;
/// The `format` designations of JOSE credentials and presentations.
const JOSE_FORMATS: [&str; 7] = [
    "jwt_vc",
    "jwt_vc_json",
    "vc+jwt",
    "jwt_vp",
    "jwt_vp_json",
    "vp+jwt",
    "jwt",
];

/// Why a presentation definition is not answered.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// It breaks the Presentation Exchange rules (400).
    #[error(transparent)]
    Malformed(#[from] MessageError),
    /// It asks for a feature this Credential Service does not implement (501).
    #[error(
        "PresentationQueryMessage: `{member}` (DIF Presentation Exchange) is not supported by \
         this Credential Service: {reason}"
    )]
    Unsupported {
        /// Where: `presentationDefinition` and a JSON pointer below it.
        member: String,
        /// What is supported instead.
        reason: String,
    },
}

fn malformed(at: &str, reason: impl Into<String>) -> ExchangeError {
    ExchangeError::Malformed(MessageError {
        field: format!("presentationDefinition{at}"),
        reason: reason.into(),
    })
}

fn unsupported(member: &str, reason: impl Into<String>) -> ExchangeError {
    ExchangeError::Unsupported {
        member: format!("presentationDefinition{member}"),
        reason: reason.into(),
    }
}

/// A presentation definition.
#[derive(Debug, Clone)]
pub struct Definition {
    /// Its `id`.
    pub id: String,
    descriptors: Vec<Descriptor>,
}

#[derive(Debug, Clone)]
struct Descriptor {
    id: String,
    /// What its `format` (or the definition's) admits.
    formats: Formats,
    fields: Vec<Field>,
}

/// What a `format` member admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Formats {
    /// No `format`: any credential held.
    Any,
    /// A JOSE designation among others: the JOSE credentials held.
    Jose,
    /// Only designations of other formats: nothing this connector holds.
    Others,
}

#[derive(Debug, Clone)]
struct Field {
    paths: Vec<Vec<Segment>>,
    filter: Option<Filter>,
    optional: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
    Any,
}

#[derive(Debug, Clone, Default)]
struct Filter {
    types: Option<Vec<String>>,
    constant: Option<Value>,
    choices: Option<Vec<Value>>,
    pattern: Option<regex::Regex>,
    contains: Option<Box<Filter>>,
}

/// A credential chosen by a definition: the descriptors it satisfies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// The ids of the input descriptors it satisfies.
    pub descriptors: Vec<String>,
}

impl Definition {
    /// Reads the `presentationDefinition` member of a query.
    pub fn parse(definition: &Value) -> Result<Definition, ExchangeError> {
        let object = definition
            .as_object()
            .ok_or_else(|| malformed("", "must be a JSON object"))?;
        for member in ["submission_requirements", "frame"] {
            if object.contains_key(member) {
                return Err(unsupported(
                    &format!("/{member}"),
                    "every input descriptor is answered on its own",
                ));
            }
        }
        let id = text(object, "id", "")?;
        let descriptors = items(object, "input_descriptors", "")?;
        if descriptors.is_empty() {
            return Err(malformed(
                "/input_descriptors",
                "must name at least one input descriptor",
            ));
        }
        let outer = formats(object.get("format"), "/format")?;
        let descriptors = descriptors
            .iter()
            .enumerate()
            .map(|(i, d)| descriptor(d, &format!("/input_descriptors/{i}"), outer))
            .collect::<Result<_, _>>()?;
        Ok(Definition { id, descriptors })
    }

    /// Which descriptors `document` (a credential held in `format`, `vc+jwt` or a Data
    /// Integrity cryptosuite) satisfies; `None` when none.
    pub fn choose(&self, document: &Value, format: &str) -> Option<Matched> {
        let descriptors: Vec<String> = self
            .descriptors
            .iter()
            .filter(|d| d.admits(format))
            .filter(|d| d.fields.iter().all(|f| f.optional || f.matches(document)))
            .map(|d| d.id.clone())
            .collect();
        (!descriptors.is_empty()).then_some(Matched { descriptors })
    }

    /// The `presentation_submission` for one presentation (`$.presentation[0]` of the
    /// response) embedding the chosen credentials in order: an entry per credential and
    /// descriptor it satisfies.
    pub fn submission(&self, chosen: &[Matched]) -> Value {
        let map: Vec<Value> = chosen
            .iter()
            .enumerate()
            .flat_map(|(i, matched)| {
                matched.descriptors.iter().map(move |id| {
                    json!({
                        "id": id,
                        "format": "jwt_vp",
                        "path": "$.presentation[0]",
                        "path_nested": {
                            "id": id,
                            "format": "jwt_vc",
                            "path": format!("$.verifiableCredential[{i}]"),
                        },
                    })
                })
            })
            .collect();
        json!({
            "id": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
            "definition_id": self.id,
            "descriptor_map": map,
        })
    }
}

impl Descriptor {
    /// Whether its `format` admits a credential held in `format`.
    fn admits(&self, format: &str) -> bool {
        match self.formats {
            Formats::Any => true,
            Formats::Jose => format == "vc+jwt",
            Formats::Others => false,
        }
    }
}

impl Field {
    fn matches(&self, document: &Value) -> bool {
        self.paths.iter().any(|path| {
            select(document, path)
                .iter()
                .any(|value| self.filter.as_ref().is_none_or(|f| f.admits(value)))
        })
    }
}

impl Filter {
    /// Whether `value` passes; an array meets a filter not asking for one element-wise.
    fn admits(&self, value: &Value) -> bool {
        let wants_array = self.contains.is_some()
            || self
                .types
                .as_ref()
                .is_some_and(|t| t.iter().any(|t| t == "array"));
        match value {
            Value::Array(items) if !wants_array => items.iter().any(|item| self.admits_one(item)),
            _ => self.admits_one(value),
        }
    }

    fn admits_one(&self, value: &Value) -> bool {
        let typed = self
            .types
            .as_ref()
            .is_none_or(|types| types.iter().any(|t| is_type(value, t)));
        let constant = self.constant.as_ref().is_none_or(|c| c == value);
        let chosen = self.choices.as_ref().is_none_or(|c| c.contains(value));
        let pattern = self
            .pattern
            .as_ref()
            .is_none_or(|p| value.as_str().is_some_and(|s| p.is_match(s)));
        let contains = self.contains.as_ref().is_none_or(|inner| {
            value
                .as_array()
                .is_some_and(|items| items.iter().any(|item| inner.admits_one(item)))
        });
        typed && constant && chosen && pattern && contains
    }
}

fn is_type(value: &Value, name: &str) -> bool {
    match name {
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        _ => false,
    }
}

fn text(object: &Map<String, Value>, name: &str, at: &str) -> Result<String, ExchangeError> {
    object
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= MAX_EXPRESSION_CHARS)
        .map(str::to_owned)
        .ok_or_else(|| {
            malformed(
                &format!("{at}/{name}"),
                format!("must be a non-empty string of at most {MAX_EXPRESSION_CHARS} characters"),
            )
        })
}

fn items<'a>(
    object: &'a Map<String, Value>,
    name: &str,
    at: &str,
) -> Result<&'a Vec<Value>, ExchangeError> {
    let list = object
        .get(name)
        .and_then(Value::as_array)
        .ok_or_else(|| malformed(&format!("{at}/{name}"), "must be an array"))?;
    if list.len() > MAX_ITEMS {
        return Err(malformed(
            &format!("{at}/{name}"),
            format!("at most {MAX_ITEMS} entries are read"),
        ));
    }
    Ok(list)
}

/// What a `format` member admits: `Ok(None)` when absent.
fn formats(format: Option<&Value>, at: &str) -> Result<Option<Formats>, ExchangeError> {
    match format {
        None => Ok(None),
        Some(Value::Object(formats)) => Ok(Some(
            if formats.keys().any(|k| JOSE_FORMATS.contains(&k.as_str())) {
                Formats::Jose
            } else {
                Formats::Others
            },
        )),
        Some(_) => Err(malformed(
            at,
            "must be an object keyed by format designations",
        )),
    }
}

fn descriptor(
    value: &Value,
    at: &str,
    outer: Option<Formats>,
) -> Result<Descriptor, ExchangeError> {
    let object = value
        .as_object()
        .ok_or_else(|| malformed(at, "an input descriptor must be a JSON object"))?;
    let id = text(object, "id", at)?;
    let formats = formats(object.get("format"), &format!("{at}/format"))?
        .or(outer)
        .unwrap_or(Formats::Any);
    let fields = match object.get("constraints") {
        None => Vec::new(),
        Some(Value::Object(constraints)) => {
            let at = format!("{at}/constraints");
            if constraints.get("limit_disclosure").and_then(Value::as_str) == Some("required") {
                return Err(unsupported(
                    &format!("{at}/limit_disclosure"),
                    "credentials are presented whole, never selectively disclosed",
                ));
            }
            match constraints.get("fields") {
                None => Vec::new(),
                Some(_) => items(constraints, "fields", &at)?
                    .iter()
                    .enumerate()
                    .map(|(i, f)| field(f, &format!("{at}/fields/{i}")))
                    .collect::<Result<_, _>>()?,
            }
        }
        Some(_) => return Err(malformed(&format!("{at}/constraints"), "must be an object")),
    };
    Ok(Descriptor {
        id,
        formats,
        fields,
    })
}

fn field(value: &Value, at: &str) -> Result<Field, ExchangeError> {
    let object = value
        .as_object()
        .ok_or_else(|| malformed(at, "a field must be a JSON object"))?;
    if object.contains_key("predicate") {
        return Err(unsupported(
            &format!("{at}/predicate"),
            "credentials are presented whole, never as predicates",
        ));
    }
    let paths = items(object, "path", at)?;
    if paths.is_empty() {
        return Err(malformed(
            &format!("{at}/path"),
            "must name at least one path",
        ));
    }
    let paths = paths
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let here = format!("{at}/path/{i}");
            p.as_str()
                .ok_or_else(|| malformed(&here, "must be a string"))
                .and_then(|p| parse_path(p).map_err(|reason| malformed(&here, reason)))
        })
        .collect::<Result<_, _>>()?;
    let filter = match object.get("filter") {
        None => None,
        Some(filter) => Some(parse_filter(filter, &format!("{at}/filter"), 0)?),
    };
    let optional = match object.get("optional") {
        None => false,
        Some(Value::Bool(optional)) => *optional,
        Some(_) => return Err(malformed(&format!("{at}/optional"), "must be a boolean")),
    };
    Ok(Field {
        paths,
        filter,
        optional,
    })
}

fn parse_filter(value: &Value, at: &str, depth: usize) -> Result<Filter, ExchangeError> {
    let object = value
        .as_object()
        .ok_or_else(|| malformed(at, "a filter must be a JSON Schema object"))?;
    let mut filter = Filter::default();
    for (keyword, argument) in object {
        let here = format!("{at}/{keyword}");
        match keyword.as_str() {
            "$schema" | "$id" | "title" | "description" | "$comment" => {}
            "type" => {
                let names: Vec<String> = match argument {
                    Value::String(name) => vec![name.clone()],
                    Value::Array(names) => names
                        .iter()
                        .map(|n| n.as_str().map(str::to_owned))
                        .collect::<Option<_>>()
                        .ok_or_else(|| malformed(&here, "must be a type name or a list of them"))?,
                    _ => return Err(malformed(&here, "must be a type name or a list of them")),
                };
                if let Some(unknown) = names.iter().find(|n| {
                    ![
                        "string", "number", "integer", "boolean", "array", "object", "null",
                    ]
                    .contains(&n.as_str())
                }) {
                    return Err(malformed(
                        &here,
                        format!("`{unknown}` is no JSON Schema type"),
                    ));
                }
                filter.types = Some(names);
            }
            "const" => filter.constant = Some(argument.clone()),
            "enum" => {
                let choices = argument
                    .as_array()
                    .filter(|c| !c.is_empty())
                    .ok_or_else(|| malformed(&here, "must be a non-empty array"))?;
                filter.choices = Some(choices.clone());
            }
            "pattern" => {
                let pattern = argument
                    .as_str()
                    .filter(|p| p.len() <= MAX_EXPRESSION_CHARS)
                    .ok_or_else(|| {
                        malformed(
                            &here,
                            format!(
                                "must be a string of at most {MAX_EXPRESSION_CHARS} characters"
                            ),
                        )
                    })?;
                let compiled = regex::RegexBuilder::new(pattern)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| malformed(&here, format!("not a regular expression: {e}")))?;
                filter.pattern = Some(compiled);
            }
            "contains" => {
                if depth >= MAX_FILTER_DEPTH {
                    return Err(malformed(
                        &here,
                        format!("at most {MAX_FILTER_DEPTH} nested `contains` are read"),
                    ));
                }
                filter.contains = Some(Box::new(parse_filter(argument, &here, depth + 1)?));
            }
            other => {
                return Err(unsupported(
                    &here,
                    format!(
                        "the filter keyword `{}` is not read; filters may use `type`, `const`, \
                         `enum`, `pattern` and `contains`",
                        other.chars().take(64).collect::<String>()
                    ),
                ))
            }
        }
    }
    Ok(filter)
}

/// Parses the JSONPath subset of the module's list.
fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    if path.len() > MAX_EXPRESSION_CHARS {
        return Err(format!("longer than {MAX_EXPRESSION_CHARS} characters"));
    }
    let unsupported = || {
        format!(
            "`{path}` is not a supported JSONPath: use `$` followed by `.name`, `['name']`, \
             `[n]` or `[*]`"
        )
    };
    let mut rest = path.strip_prefix('$').ok_or_else(unsupported)?;
    let mut segments = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            if after.starts_with('.') {
                return Err(unsupported());
            }
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let (name, tail) = after.split_at(end);
            match name {
                "" => return Err(unsupported()),
                "*" => segments.push(Segment::Any),
                name => segments.push(Segment::Key(name.to_owned())),
            }
            rest = tail;
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']').ok_or_else(unsupported)?;
            let (inside, tail) = after.split_at(end);
            let quoted = inside
                .strip_prefix('\'')
                .and_then(|s| s.strip_suffix('\''))
                .or_else(|| inside.strip_prefix('"').and_then(|s| s.strip_suffix('"')));
            segments.push(match (quoted, inside) {
                (Some(name), _) if !name.contains(['\'', '"']) => Segment::Key(name.to_owned()),
                (None, "*") => Segment::Any,
                (None, index) => Segment::Index(index.parse().map_err(|_| unsupported())?),
                _ => return Err(unsupported()),
            });
            rest = tail.get(1..).unwrap_or_default();
        } else {
            return Err(unsupported());
        }
    }
    Ok(segments)
}

/// The values `path` selects in `document`. A path of the VC 1.1 JWT form (`$.vc.…`) reads
/// the credential itself when it has no `vc` member.
fn select<'a>(document: &'a Value, path: &[Segment]) -> Vec<&'a Value> {
    let path = match path.split_first() {
        Some((Segment::Key(first), rest)) if first == "vc" && document.get("vc").is_none() => rest,
        _ => path,
    };
    let mut current = vec![document];
    for segment in path {
        current = current
            .into_iter()
            .flat_map(|value| -> Vec<&Value> {
                match (segment, value) {
                    (Segment::Key(name), Value::Object(map)) => map.get(name).into_iter().collect(),
                    (Segment::Index(i), Value::Array(items)) => items.get(*i).into_iter().collect(),
                    (Segment::Any, Value::Array(items)) => items.iter().collect(),
                    (Segment::Any, Value::Object(map)) => map.values().collect(),
                    _ => Vec::new(),
                }
            })
            .collect();
    }
    current
}

#[cfg(test)]
mod tests;
