//! Reading, parsing and validating JSON request bodies.

use crate::rejection::{Location, Rejection, Violation};
use crate::schema::Schema;
use axum::body::Body;
use http::HeaderMap;
use http::header::CONTENT_TYPE;
use serde::de::{DeserializeOwned, Error as _, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// A request body after [`json_body`] read and checked it.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonBody<T> {
    /// No body was sent, or it could not be read or parsed as JSON. A
    /// violation was recorded unless the body is optional and absent.
    Missing,
    /// The body is JSON but does not match the schema, and its violations
    /// were recorded. The value is kept so that an implementation can check its
    /// own rules on the parts that are valid.
    Invalid(Value),
    /// The body matches the schema.
    Valid(T),
}

impl<T: Serialize> JsonBody<T> {
    /// Returns the body as JSON when it was JSON, valid or not.
    pub fn into_json(self) -> Option<Value> {
        match self {
            Self::Missing => None,
            Self::Invalid(value) => Some(value),
            Self::Valid(typed) => serde_json::to_value(&typed).ok(),
        }
    }

    /// Returns the typed body when it matches the schema.
    pub fn into_valid(self) -> Option<T> {
        match self {
            Self::Valid(typed) => Some(typed),
            Self::Missing | Self::Invalid(_) => None,
        }
    }
}

/// Reads a JSON body and checks it against its schema.
///
/// Returns `Err` for a rejection that ends the request at once (wrong media
/// type, body over `limit` bytes). Otherwise returns what it could read and
/// records a violation for each problem found. The problems are a body that
/// could not be read, an empty body that is required, invalid UTF-8,
/// malformed JSON, duplicate keys, nesting deeper than 127 levels
/// (serde_json's recursion limit), and each way in which the value does not
/// match the schema.
pub async fn json_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
    required: bool,
    limit: usize,
    schema: &Schema,
    violations: &mut Vec<Violation>,
) -> Result<JsonBody<T>, Rejection> {
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(error) => {
            let error = error.into_inner();
            if error.is::<http_body_util::LengthLimitError>() {
                return Err(Rejection::PayloadTooLarge(limit));
            }
            // A body that stopped arriving (a body timeout layer gave up) or
            // a connection that broke; the second gets no response anyway.
            violations.push(Violation::new(
                Location::Body,
                "",
                "unreadable",
                format!(
                    "request body could not be read ({error}); send the whole body promptly, as its Content-Length announces"
                ),
            ));
            return Ok(JsonBody::Missing);
        }
    };
    if bytes.is_empty() {
        if required {
            violations.push(Violation::new(
                Location::Body,
                "",
                "required",
                "request body is required",
            ));
        }
        return Ok(JsonBody::Missing);
    }
    check_content_type(headers)?;
    let value = match parse_strict(&bytes) {
        Ok(value) => value,
        Err(violation) => {
            violations.push(violation);
            return Ok(JsonBody::Missing);
        }
    };
    let found = schema.violations(&value, Location::Body, "");
    if !found.is_empty() {
        violations.extend(found);
        return Ok(JsonBody::Invalid(value));
    }
    // The schema and the type agree unless the generator has a bug, so the
    // value is moved into the type rather than kept for that case.
    match serde_json::from_value(value) {
        Ok(typed) => Ok(JsonBody::Valid(typed)),
        Err(error) => {
            violations.push(Violation::new(
                Location::Body,
                "",
                "invalid",
                format!("does not match the expected type: {error}"),
            ));
            Ok(JsonBody::Missing)
        }
    }
}

fn check_content_type(headers: &HeaderMap) -> Result<(), Rejection> {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return Err(Rejection::UnsupportedMediaType(None));
    };
    let text = value.to_str().unwrap_or("");
    let media = text.split(';').next().unwrap_or("").trim();
    if media.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(Rejection::UnsupportedMediaType(Some(
            text.chars().take(100).collect(),
        )))
    }
}

/// Parses JSON, rejecting invalid UTF-8 and duplicate object keys, which
/// `serde_json::Value` would otherwise accept by keeping the last one.
fn parse_strict(bytes: &[u8]) -> Result<Value, Violation> {
    if let Err(error) = std::str::from_utf8(bytes) {
        return Err(Violation::new(
            Location::Body,
            "",
            "invalid_utf8",
            format!("is not valid UTF-8 (at byte {})", error.valid_up_to()),
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue::deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value.0))
        .map_err(|error| {
            let code = if error.to_string().starts_with("duplicate key") {
                "duplicate_key"
            } else {
                "invalid_json"
            };
            Violation::new(
                Location::Body,
                "",
                code,
                format!("is not valid JSON: {error}"),
            )
        })?;
    Ok(value)
}

struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_string()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = access.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(A::Error::custom(format!("duplicate key `{key}`")));
            }
            let StrictValue(value) = access.next_value()?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_key_is_rejected() {
        let violation = parse_strict(br#"{"a": 1, "a": 2}"#).unwrap_err();
        assert_eq!(violation.code, "duplicate_key");
    }

    #[test]
    fn invalid_utf8_is_rejected() {
        let violation = parse_strict(b"{\"a\": \"\xff\"}").unwrap_err();
        assert_eq!(violation.code, "invalid_utf8");
    }

    #[test]
    fn nesting_limit_is_127_levels() {
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(parse_strict(nested(127).as_bytes()).is_ok());
        let violation = parse_strict(nested(128).as_bytes()).unwrap_err();
        assert_eq!(violation.code, "invalid_json");
    }

    #[test]
    fn deep_nesting_is_rejected() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let violation = parse_strict(deep.as_bytes()).unwrap_err();
        assert_eq!(violation.code, "invalid_json");
    }

    #[test]
    fn trailing_garbage_is_rejected() {
        let violation = parse_strict(b"{} x").unwrap_err();
        assert_eq!(violation.code, "invalid_json");
    }

    #[test]
    fn nested_value_parses() {
        let value = parse_strict(br#"{"a": [1, 2.5, "x", null, {"b": true}]}"#).unwrap();
        assert_eq!(value["a"][4]["b"], Value::Bool(true));
    }
}
