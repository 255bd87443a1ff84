//! An evaluation request: the action, the offer and the attribute values, stored by attribute id
//! so that evaluation reads them without hashing or allocating.

use std::sync::Arc;

use crate::schema::{AttrId, Schema};
use crate::value::{parse_datetime, parse_decimal, parse_duration, Type, Value};

/// Why a request was refused before evaluation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The request is not shaped as documented.
    #[error("request: {0}")]
    Shape(String),
    /// An attribute has a value of the wrong type.
    #[error("request: `{name}` must be {expected:#} ({hint}), found {found}")]
    Type {
        /// The attribute.
        name: String,
        /// Its schema type.
        expected: Type,
        /// How such a value is written in JSON.
        hint: &'static str,
        /// The JSON found.
        found: String,
    },
    /// An attribute name is not in the schema.
    #[error("request: unknown attribute `{name}`{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    Unknown {
        /// The attribute.
        name: String,
        /// The closest known name.
        suggestion: Option<String>,
    },
}

/// What a decision is asked about. Build it with [`Request::new`] and [`Request::set`], or with
/// [`Request::from_json`].
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    action: Arc<str>,
    offer: Arc<str>,
    values: Vec<Option<Value>>,
}

fn hint(t: Type) -> &'static str {
    match t {
        Type::Bool => "true or false",
        Type::Int => "a whole number",
        Type::Decimal => "a number or a string such as \"2.5\"",
        Type::Str => "a string",
        Type::DateTime => "a string such as \"2026-11-23T20:00:00Z\"",
        Type::Duration => "a string such as \"30d\" or \"P30D\"",
        Type::Set => "an array of strings",
    }
}

impl Request {
    /// A request for `action` on `offer` with no attributes set.
    pub fn new(schema: &Schema, action: &str, offer: &str) -> Request {
        Request {
            action: action.into(),
            offer: offer.into(),
            values: vec![None; schema.attributes().len()],
        }
    }

    /// The action asked for.
    pub fn action(&self) -> &str {
        &self.action
    }

    /// The offer asked about.
    pub fn offer(&self) -> &str {
        &self.offer
    }

    pub(crate) fn action_arc(&self) -> Arc<str> {
        Arc::clone(&self.action)
    }

    pub(crate) fn offer_arc(&self) -> Arc<str> {
        Arc::clone(&self.offer)
    }

    /// Sets attribute `name` (such as `holder.role` or `now`), checking its type.
    pub fn set(
        &mut self,
        schema: &Schema,
        name: &str,
        value: Value,
    ) -> Result<&mut Self, RequestError> {
        let Some((id, def)) = schema.attribute(name) else {
            return Err(RequestError::Unknown {
                name: name.to_owned(),
                suggestion: crate::suggest::closest(
                    name,
                    schema.attributes().iter().map(|a| a.name.as_str()),
                )
                .map(str::to_owned),
            });
        };
        let value = match (def.ty, value) {
            (Type::Decimal, Value::Int(n)) => Value::Decimal(n.saturating_mul(10_000)),
            (t, v) if v.ty() == t => v,
            (t, v) => {
                return Err(RequestError::Type {
                    name: name.to_owned(),
                    expected: t,
                    hint: hint(t),
                    found: v.to_string(),
                })
            }
        };
        if let Some(slot) = self.values.get_mut(id) {
            *slot = Some(value.normalized());
        }
        Ok(self)
    }

    /// Sets `now` to the system clock if the request does not say when it is.
    pub fn set_now_if_missing(&mut self, schema: &Schema) {
        if let Some((id, _)) = schema.attribute("now") {
            if self.get(id).is_none() {
                let ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
                if let Some(slot) = self.values.get_mut(id) {
                    *slot = Some(Value::DateTime(ms));
                }
            }
        }
    }

    /// The value of attribute `id`, if the request has it.
    pub fn get(&self, id: AttrId) -> Option<&Value> {
        self.values.get(id).and_then(Option::as_ref)
    }

    /// Reads a request from JSON:
    /// `{"action": "join_computation", "offer": "ppa-ibd-2024", "now": "2026-11-23T20:00:00Z",
    ///   "holder": {"role": "Hospital", ...}, "consent": {...}, "request": {...},
    ///   "session": {"parties": 3}, "usage": {"count": 0}}`.
    /// Nested objects give dotted names (`holder.address.city`). Values are converted to the
    /// schema's types (datetimes and durations as strings, sets as arrays of strings); an unknown
    /// attribute or a wrong type is an error. `null` means absent.
    pub fn from_json(schema: &Schema, json: &serde_json::Value) -> Result<Request, RequestError> {
        let obj = json
            .as_object()
            .ok_or_else(|| RequestError::Shape("expected a JSON object".to_owned()))?;
        let text = |key: &str| -> Result<&str, RequestError> {
            obj.get(key)
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| RequestError::Shape(format!("`{key}` must be a string")))
        };
        let mut req = Request::new(schema, text("action")?, text("offer")?);
        for (key, value) in obj {
            match key.as_str() {
                "action" | "offer" => {}
                "now" => req.set_json(schema, "now", value)?,
                root if crate::schema::ROOTS.contains(&root) => {
                    let inner = value.as_object().ok_or_else(|| {
                        RequestError::Shape(format!("`{root}` must be an object of attributes"))
                    })?;
                    for (k, v) in inner {
                        req.set_nested(schema, &format!("{root}.{k}"), v)?;
                    }
                }
                other => {
                    return Err(RequestError::Shape(format!(
                        "unknown key `{other}`; a request has action, offer, now, holder, consent, request, session, usage, permit"
                    )))
                }
            }
        }
        Ok(req)
    }

    fn set_nested(
        &mut self,
        schema: &Schema,
        name: &str,
        v: &serde_json::Value,
    ) -> Result<(), RequestError> {
        match v {
            serde_json::Value::Object(map) if schema.attribute(name).is_none() => {
                for (k, inner) in map {
                    self.set_nested(schema, &format!("{name}.{k}"), inner)?;
                }
                Ok(())
            }
            _ => self.set_json(schema, name, v),
        }
    }

    fn set_json(
        &mut self,
        schema: &Schema,
        name: &str,
        v: &serde_json::Value,
    ) -> Result<(), RequestError> {
        use serde_json::Value as J;
        if v.is_null() {
            return Ok(());
        }
        let ty = schema.attribute(name).map(|(_, d)| d.ty);
        let value = match (ty, v) {
            (None, _) => None,
            (Some(Type::Bool), J::Bool(b)) => Some(Value::Bool(*b)),
            (Some(Type::Int), J::Number(n)) => n.as_i64().map(Value::Int),
            (Some(Type::Decimal), J::Number(n)) => n
                .as_i64()
                .map(Value::Int)
                .or_else(|| parse_decimal(&n.to_string()).map(Value::Decimal)),
            (Some(Type::Decimal), J::String(s)) => parse_decimal(s).map(Value::Decimal),
            (Some(Type::Str), J::String(s)) => Some(Value::str(s)),
            (Some(Type::DateTime), J::String(s)) => parse_datetime(s).map(Value::DateTime),
            (Some(Type::Duration), J::String(s)) => parse_duration(s).map(Value::Duration),
            (Some(Type::Set), J::Array(items)) => {
                let strs: Option<Vec<&str>> = items.iter().map(J::as_str).collect();
                strs.map(Value::set)
            }
            (Some(_), _) => None,
        };
        match (ty, value) {
            (Some(t), None) => Err(RequestError::Type {
                name: name.to_owned(),
                expected: t,
                hint: hint(t),
                found: v.to_string(),
            }),
            (_, Some(value)) => self.set(schema, name, value).map(|_| ()),
            (None, None) => self.set(schema, name, Value::Bool(false)).map(|_| ()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_json() {
        let s = Schema::health();
        let r = Request::from_json(
            &s,
            &json!({"action": "read", "offer": "o", "now": "2026-01-01",
                    "holder": {"role": "Hospital", "credentials": ["A"]},
                    "session": {"parties": 3, "epsilon": 0.5}, "request": {"retention": "30d"}}),
        )
        .unwrap();
        assert_eq!(
            r.get(s.attribute("holder.role").unwrap().0),
            Some(&Value::str("Hospital"))
        );
        assert_eq!(
            r.get(s.attribute("session.epsilon").unwrap().0),
            Some(&Value::Decimal(5000))
        );
        let e = Request::from_json(
            &s,
            &json!({"action": "read", "offer": "o", "holder": {"rol": "x"}}),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "request: unknown attribute `holder.rol`; did you mean `holder.role`?"
        );
        let e = Request::from_json(
            &s,
            &json!({"action": "read", "offer": "o", "session": {"parties": "3"}}),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "request: `session.parties` must be an integer (a whole number), found \"3\""
        );
    }
}
