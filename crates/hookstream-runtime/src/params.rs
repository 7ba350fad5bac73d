//! Path, query and header parameters: finding them, converting them to
//! JSON by their declared type, and validating them.

use crate::rejection::{Location, Violation};
use crate::schema::Schema;
use axum::extract::{FromRequestParts, RawPathParams};
use http::HeaderMap;
use http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The primitive type a parameter declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// `type: string`.
    String,
    /// `type: integer`.
    Integer,
    /// `type: number`.
    Number,
    /// `type: boolean`.
    Boolean,
}

/// The declaration of one parameter in the spec.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    /// Its location in the request.
    pub location: Location,
    /// Its name on the wire.
    pub name: &'static str,
    /// Whether a request must carry it.
    pub required: bool,
    /// Its declared primitive type.
    pub kind: ParamKind,
}

/// The path parameters of a request, percent-decoded.
#[derive(Debug, Default)]
pub struct PathParams(Vec<(String, String)>);

impl PathParams {
    /// Reads the parameters that axum matched in the path.
    pub async fn from_parts(parts: &mut Parts) -> Self {
        match RawPathParams::from_request_parts(parts, &()).await {
            Ok(raw) => Self(
                raw.iter()
                    .map(|(name, value)| (name.to_string(), value.to_string()))
                    .collect(),
            ),
            // A segment that is not valid UTF-8 once decoded: report the
            // parameter as missing, which the caller turns into a 400.
            Err(_) => Self::default(),
        }
    }

    /// Returns the value of a parameter.
    pub fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    }
}

/// The query parameters of a request, decoded.
#[derive(Debug, Default)]
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    /// Parses the query string of the request.
    pub fn from_parts(parts: &Parts) -> Self {
        let query = parts.uri.query().unwrap_or("");
        Self(
            form_urlencoded::parse(query.as_bytes())
                .map(|(key, value)| (key.into_owned(), value.into_owned()))
                .collect(),
        )
    }

    /// Returns the first value of a parameter.
    pub fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    }
}

/// Returns the value of a header, or an empty string when it is not
/// visible ASCII, which the schema check then reports.
pub fn header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|value| value.to_str().unwrap_or_default().to_string())
}

/// Converts and validates one parameter. Returns `None` when it is absent
/// or invalid; an invalid or missing required one adds a violation.
pub fn parameter<T: DeserializeOwned>(
    raw: Option<String>,
    spec: &ParamSpec,
    schema: &Schema,
    violations: &mut Vec<Violation>,
) -> Option<T> {
    let Some(raw) = raw else {
        if spec.required {
            violations.push(Violation::new(
                spec.location,
                spec.name,
                "required",
                "is required",
            ));
        }
        return None;
    };
    let Some(value) = to_json(&raw, spec.kind) else {
        let expected = match spec.kind {
            ParamKind::Integer => "must be an integer",
            ParamKind::Number => "must be a number",
            ParamKind::Boolean => "must be `true` or `false`",
            ParamKind::String => "must be a string",
        };
        violations.push(Violation::new(spec.location, spec.name, "type", expected));
        return None;
    };
    let found = schema.violations(&value, spec.location, spec.name);
    if !found.is_empty() {
        violations.extend(found);
        return None;
    }
    match serde_json::from_value(value) {
        Ok(typed) => Some(typed),
        Err(error) => {
            violations.push(Violation::new(
                spec.location,
                spec.name,
                "invalid",
                format!("is not valid: {error}"),
            ));
            None
        }
    }
}

fn to_json(raw: &str, kind: ParamKind) -> Option<Value> {
    match kind {
        ParamKind::String => Some(Value::String(raw.to_string())),
        ParamKind::Integer => raw.parse::<i64>().ok().map(Value::from),
        ParamKind::Number => raw
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number),
        ParamKind::Boolean => match raw {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
    }
}
