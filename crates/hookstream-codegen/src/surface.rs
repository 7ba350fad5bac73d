//! The contract surface: what each operation accepts and returns, as the
//! spec, the generated server and the generated client each state it.
//!
//! [`from_contract`] reads the parsed spec, [`from_server_code`] and
//! [`from_client_code`] parse generated Rust text with `syn`, and [`render`]
//! prints any of the three as the same stable listing, so that a test can
//! require the three to be identical.
//!
//! The listings normalise only what one side cannot express:
//!
//! - Operation ids and path parameter names are snake_case, because the
//!   client keeps progenitor's snake_case names and no wire names for them.
//! - Header names are lower-case, because HTTP header names are
//!   case-insensitive. Query names stay as written.
//! - Types are compared by the last segment of each path, so
//!   `crate::types::Book` and `hookstream_types::Book` are both `Book`.

mod client_code;
mod server_code;
mod syntax;
#[cfg(test)]
mod tests;

use crate::model::{Contract, ParameterLocation};
use crate::names::pascal;
use heck::ToSnakeCase;
use std::fmt::Write as _;

pub use client_code::from_client_code;
pub use server_code::from_server_code;

/// The contract surface of one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationSurface {
    /// The operation id in snake_case.
    pub id: String,
    /// The upper-case HTTP method.
    pub method: String,
    /// The path template without the base path, with snake_case parameter
    /// names.
    pub path: String,
    /// The parameters, sorted by location and name.
    pub parameters: Vec<ParameterSurface>,
    /// The JSON request body, if any.
    pub body: Option<BodySurface>,
    /// The responses, sorted by status.
    pub responses: Vec<ResponseSurface>,
    /// The PascalCase names of the schemes that authenticate a request, in
    /// the order in which they are tried, or empty when no credential is
    /// needed.
    pub security: Vec<String>,
}

/// The location of a parameter in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Location {
    /// A segment of the path.
    Path,
    /// The query string.
    Query,
    /// A request header.
    Header,
}

/// One parameter of an operation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ParameterSurface {
    /// The location of the parameter.
    pub location: Location,
    /// The normalised name: snake_case for a path parameter, lower-case for
    /// a header and as written for a query parameter.
    pub name: String,
    /// Whether a request must carry it.
    pub required: bool,
}

/// The request body of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodySurface {
    /// The type name, by the last segment of each path.
    pub type_name: String,
    /// Whether a request must carry a body.
    pub required: bool,
}

/// One declared response of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseSurface {
    /// The HTTP status.
    pub status: u16,
    /// The body type, by the last segment of each path, or `None` without a
    /// body.
    pub type_name: Option<String>,
}

impl Location {
    /// Returns the lower-case word that OpenAPI uses for the location.
    pub fn as_str(self) -> &'static str {
        match self {
            Location::Path => "path",
            Location::Query => "query",
            Location::Header => "header",
        }
    }
}

impl ParameterSurface {
    /// Creates a parameter, normalising `name` for its location.
    pub fn new(location: Location, name: &str, required: bool) -> Self {
        let name = match location {
            Location::Path => normalise_identifier(name),
            Location::Query => name.to_string(),
            Location::Header => name.to_ascii_lowercase(),
        };
        ParameterSurface {
            location,
            name,
            required,
        }
    }
}

/// Returns the snake_case form of an operation id or a path parameter name,
/// without the `r#` prefix of a raw identifier.
pub(crate) fn normalise_identifier(name: &str) -> String {
    name.trim_start_matches("r#").to_snake_case()
}

/// Returns a path template with each `{name}` written in snake_case.
pub(crate) fn normalise_template(path: &str) -> String {
    let mut output = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        output.push_str(&rest[..start]);
        match rest[start..].find('}') {
            Some(length) => {
                let name = &rest[start + 1..start + length];
                output.push('{');
                output.push_str(&normalise_identifier(name));
                output.push('}');
                rest = &rest[start + length + 1..];
            }
            None => {
                output.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    output.push_str(rest);
    output
}

/// Lists the operations of a parsed spec, using the Rust type names that
/// the generator gives to component schemas.
pub fn from_contract(contract: &Contract) -> Vec<OperationSurface> {
    contract
        .operations
        .iter()
        .map(|operation| {
            let mut parameters: Vec<ParameterSurface> = operation
                .parameters
                .iter()
                .map(|parameter| {
                    let location = match parameter.location {
                        ParameterLocation::Path => Location::Path,
                        ParameterLocation::Query => Location::Query,
                        ParameterLocation::Header => Location::Header,
                    };
                    ParameterSurface::new(location, &parameter.name, parameter.required)
                })
                .collect();
            parameters.sort();
            let body = operation.body.as_ref().map(|body| BodySurface {
                type_name: pascal(&body.type_name),
                required: body.required,
            });
            let mut responses: Vec<ResponseSurface> = operation
                .responses
                .iter()
                .map(|response| ResponseSurface {
                    status: response.status,
                    type_name: response.type_name.as_deref().map(pascal),
                })
                .collect();
            responses.sort_by_key(|response| response.status);
            OperationSurface {
                id: normalise_identifier(&operation.id),
                method: operation.method.to_uppercase(),
                path: normalise_template(&operation.path),
                parameters,
                body,
                responses,
                security: operation.security.iter().map(|name| pascal(name)).collect(),
            }
        })
        .collect()
}

/// Renders operations as a text listing, sorted by operation id, with one
/// block per operation.
pub fn render(operations: &[OperationSurface]) -> String {
    let mut sorted: Vec<&OperationSurface> = operations.iter().collect();
    sorted.sort_by(|left, right| left.id.cmp(&right.id));
    let mut output = String::new();
    for (index, operation) in sorted.into_iter().enumerate() {
        if index > 0 {
            output.push('\n');
        }
        render_operation(&mut output, operation);
    }
    output
}

fn render_operation(output: &mut String, operation: &OperationSurface) {
    // `fmt::Write` for `String` never returns an error.
    let _ = writeln!(output, "{}", operation.id);
    let _ = writeln!(output, "  {} {}", operation.method, operation.path);
    for parameter in &operation.parameters {
        let _ = writeln!(
            output,
            "  {} {} {}",
            parameter.location.as_str(),
            parameter.name,
            requirement(parameter.required)
        );
    }
    match &operation.body {
        Some(body) => {
            let _ = writeln!(
                output,
                "  body: {} ({})",
                body.type_name,
                requirement(body.required)
            );
        }
        None => output.push_str("  body: none\n"),
    }
    for response in &operation.responses {
        let body = response.type_name.as_deref().unwrap_or("no body");
        let _ = writeln!(output, "  {}: {}", response.status, body);
    }
    if operation.security.is_empty() {
        output.push_str("  security: none\n");
    } else {
        let _ = writeln!(output, "  security: {}", operation.security.join(" | "));
    }
}

fn requirement(required: bool) -> &'static str {
    if required { "required" } else { "optional" }
}
