//! Rust names for OpenAPI names, and JSON pointers.

use heck::{ToPascalCase, ToSnakeCase};
use proc_macro2::{Ident, Span};

/// Appends one reference token to a JSON pointer, escaped as RFC 6901 specifies.
pub(crate) fn pointer(base: &str, token: &str) -> String {
    format!("{base}/{}", token.replace('~', "~0").replace('/', "~1"))
}

/// Returns the snake-case identifier for a name, as a raw identifier when it
/// is a Rust keyword (`type` becomes `r#type`).
pub(crate) fn field_ident(name: &str) -> Ident {
    ident(&sanitize(&name.to_snake_case()))
}

/// Returns the PascalCase identifier for a type or variant name.
pub(crate) fn type_ident(name: &str) -> Ident {
    ident(&sanitize(&name.to_pascal_case()))
}

/// Returns the PascalCase form of a name, without making an identifier.
pub(crate) fn pascal(name: &str) -> String {
    sanitize(&name.to_pascal_case())
}

fn sanitize(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() || cleaned.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{cleaned}")
    } else {
        cleaned
    }
}

fn ident(name: &str) -> Ident {
    // `self`, `Self`, `super` and `crate` cannot be raw identifiers.
    match name {
        "self" | "Self" | "super" | "crate" => Ident::new(&format!("{name}_"), Span::call_site()),
        _ if is_keyword(name) => Ident::new_raw(name, Span::call_site()),
        _ => Ident::new(name, Span::call_site()),
    }
}

fn is_keyword(name: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern",
        "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
        "pub", "ref", "return", "static", "struct", "trait", "true", "type", "unsafe", "use",
        "where", "while", "abstract", "become", "box", "do", "final", "gen", "macro", "override",
        "priv", "try", "typeof", "unsized", "virtual", "yield",
    ];
    KEYWORDS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_escapes_slash_and_tilde() {
        assert_eq!(pointer("#/paths", "/a~b/{id}"), "#/paths/~1a~0b~1{id}");
    }

    #[test]
    fn keyword_field_is_raw() {
        assert_eq!(field_ident("type").to_string(), "r#type");
        assert_eq!(field_ident("self").to_string(), "self_");
    }

    #[test]
    fn camel_case_field_is_snake() {
        assert_eq!(field_ident("createdAt").to_string(), "created_at");
        assert_eq!(type_ident("filter-rule").to_string(), "FilterRule");
    }
}
