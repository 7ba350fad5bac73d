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

/// Stack of the thread that runs the parser. jsonata-rs parses and checks
/// the syntax tree recursively, one stack frame or more per nesting level,
/// and the longest expression the spec allows (65,536 characters) can nest
/// about 32,000 levels deep (`1+1+…`, `((…))`, `a.a.…`). The stack is
/// reserved, not touched, so only a deep expression uses the memory, and
/// only while it is parsed.
const PARSER_STACK_BYTES: usize = 1 << 30;

/// Parses a JSONata expression without evaluating it.
///
/// The parser runs on its own thread with [`PARSER_STACK_BYTES`] of stack,
/// so a deeply nested expression cannot overflow the caller's stack. A
/// panic inside jsonata-rs (it has `unimplemented!` branches, for example
/// for the parent operator `%`) becomes an [`UNSUPPORTED`] error.
pub fn parse(expression: &str) -> Result<(), ParseError> {
    let text = expression.to_owned();
    let spawned = std::thread::Builder::new()
        .name(PARSER_THREAD.into())
        .stack_size(PARSER_STACK_BYTES)
        .spawn(move || std::panic::catch_unwind(|| parse_here(&text)));
    match spawned.map(std::thread::JoinHandle::join) {
        Ok(Ok(Ok(result))) => result,
        Ok(Ok(Err(_panic))) | Ok(Err(_panic)) => Err(ParseError {
            code: UNSUPPORTED.into(),
            position: 0,
            message:
                "the expression uses a JSONata construct that this server's parser does not support"
                    .into(),
        }),
        Err(error) => Err(ParseError {
            code: UNAVAILABLE.into(),
            position: 0,
            message: format!("the parser could not start ({error}); retry the request"),
        }),
    }
}

/// The name of the thread that parses one expression.
pub const PARSER_THREAD: &str = "jsonata-parse";

/// The code of a [`ParseError`] for an expression the engine cannot handle.
pub const UNSUPPORTED: &str = "unsupported";
/// The code of a [`ParseError`] when the parser thread could not start.
pub const UNAVAILABLE: &str = "unavailable";

fn parse_here(expression: &str) -> Result<(), ParseError> {
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

    /// Returns the deepest expressions of the longest length the spec allows.
    fn deepest_expressions() -> Vec<(&'static str, String)> {
        const MAX: usize = 65_536;
        let half = MAX / 2;
        vec![
            ("sum chain", format!("1{}", "+1".repeat(half - 1))),
            (
                "parentheses",
                format!("{}1{}", "(".repeat(half - 1), ")".repeat(half - 1)),
            ),
            (
                "arrays",
                format!("{}1{}", "[".repeat(half - 1), "]".repeat(half - 1)),
            ),
            ("negations", format!("{}1", "-".repeat(MAX - 1))),
            ("path", format!("a{}", ".a".repeat(half - 1))),
            ("conditions", format!("a{}", "?a".repeat(half - 1))),
            (
                "calls",
                format!("{}1{}", "$f(".repeat(MAX / 4 - 1), ")".repeat(MAX / 4 - 1)),
            ),
            (
                "objects",
                format!(
                    "{}1{}",
                    "{'a':".repeat(MAX / 6 - 1),
                    "}".repeat(MAX / 6 - 1)
                ),
            ),
            ("unclosed", "(".repeat(MAX)),
        ]
    }

    #[test]
    fn deep_expressions_parse_without_overflow() {
        for (name, expression) in deepest_expressions() {
            assert!(expression.len() <= 65_536, "{name}");
            // A stack overflow aborts the test binary, so returning at all is
            // the check, whatever the outcome.
            let outcome = parse(&expression);
            eprintln!(
                "{name}: {:?}",
                outcome.as_ref().map_err(|error| &error.code)
            );
        }
    }

    #[test]
    fn parser_panic_becomes_unsupported() {
        let error = parse("payload.%").unwrap_err();
        assert_eq!(error.code, UNSUPPORTED);
    }

    #[test]
    fn unterminated_string_is_s0101() {
        let error = parse("\"abc").unwrap_err();
        assert_eq!(error.code, "S0101");
    }
}
