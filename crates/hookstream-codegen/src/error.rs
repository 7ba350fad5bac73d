//! Errors of the generator.

/// A problem in the OpenAPI document, located by its JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pointer}: {message}")]
pub struct SpecError {
    /// The JSON pointer (RFC 6901) of the offending value, for example
    /// `#/paths/~1connections~1{id}/patch/operationId`.
    pub pointer: String,
    /// What is wrong and, where it helps, what to do.
    pub message: String,
}

impl SpecError {
    pub(crate) fn new(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

/// Everything that can stop generation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The document is not valid YAML or JSON.
    #[error("cannot parse the OpenAPI document: {0}")]
    Parse(String),
    /// The document has one or more problems the generator cannot handle.
    #[error("invalid OpenAPI document:\n{}", list(.0))]
    Spec(Vec<SpecError>),
    /// progenitor rejected the document after our checks passed.
    #[error("progenitor failed on the document: {0}")]
    Progenitor(String),
    /// The generated tokens do not parse as a Rust file, so prettyplease
    /// cannot print them.
    #[error("formatting the generated code failed: {0}")]
    Format(String),
}

fn list(errors: &[SpecError]) -> String {
    let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
    lines.join("\n")
}

impl From<SpecError> for Error {
    fn from(error: SpecError) -> Self {
        Error::Spec(vec![error])
    }
}
