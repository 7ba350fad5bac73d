//! The JSONata engine behind a small interface, so it can be swapped.
//!
//! Expressions are parsed, never evaluated, here. jsonata-rs values are not
//! `Send`, so everything it builds stays inside [`parse`].

/// Why an expression does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The JSONata error code, such as `S0201`.
    pub code: String,
    /// The character position the engine reports.
    pub position: usize,
    /// The engine's description of the error.
    pub message: String,
}

/// Parses a JSONata expression without evaluating it.
pub fn parse(expression: &str) -> Result<(), ParseError> {
    let arena = bumpalo::Bump::new();
    match jsonata_rs::JsonAta::new(expression, &arena) {
        Ok(_) => Ok(()),
        Err(error) => Err(describe(&error.to_string(), error.code())),
    }
}

/// Splits jsonata-rs's `CODE @ POSITION: MESSAGE` text into its parts.
fn describe(text: &str, code: &str) -> ParseError {
    let rest = text.split_once(" @ ").map_or(text, |(_, rest)| rest);
    let (position, message) = match rest.split_once(": ") {
        Some((position, message)) => (position.trim().parse().unwrap_or(0), message.to_string()),
        None => (0, rest.to_string()),
    };
    ParseError {
        code: code.to_string(),
        position,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_expression_parses() {
        assert_eq!(
            parse("payload.order.{ 'id': id, 'total': $sum(items.price) }"),
            Ok(())
        );
    }

    #[test]
    fn syntax_error_has_code_and_position() {
        let error = parse("payload.(").unwrap_err();
        assert!(error.code.starts_with('S'), "{error:?}");
        assert!(error.position > 0, "{error:?}");
    }

    #[test]
    fn unterminated_string_is_s0101() {
        let error = parse("\"abc").unwrap_err();
        assert_eq!(error.code, "S0101");
    }
}
