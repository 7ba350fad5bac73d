//! Small readers of `syn` syntax trees that both code parsers share.

use quote::ToTokens;
use syn::visit::Visit;
use syn::{Expr, ExprMatch, GenericArgument, Lit, PathArguments, Type};

/// Renders a type by the last segment of each path, keeping generic
/// arguments: `::std::vec::Vec<crate::types::Book>` becomes `Vec<Book>`.
pub(crate) fn type_name(ty: &Type) -> String {
    match ty {
        Type::Path(path) if path.qself.is_none() => match path.path.segments.last() {
            Some(segment) => segment_name(segment),
            None => String::new(),
        },
        Type::Tuple(tuple) => {
            let elements: Vec<String> = tuple.elems.iter().map(type_name).collect();
            format!("({})", elements.join(", "))
        }
        Type::Paren(inner) => type_name(&inner.elem),
        Type::Group(inner) => type_name(&inner.elem),
        other => other.to_token_stream().to_string().replace(' ', ""),
    }
}

fn segment_name(segment: &syn::PathSegment) -> String {
    let name = unraw(&segment.ident);
    let PathArguments::AngleBracketed(arguments) = &segment.arguments else {
        return name;
    };
    let arguments: Vec<String> = arguments
        .args
        .iter()
        .map(|argument| match argument {
            GenericArgument::Type(ty) => type_name(ty),
            other => other.to_token_stream().to_string().replace(' ', ""),
        })
        .collect();
    format!("{name}<{}>", arguments.join(", "))
}

/// Returns an identifier without the `r#` prefix of a raw identifier.
pub(crate) fn unraw(ident: &syn::Ident) -> String {
    ident.to_string().trim_start_matches("r#").to_string()
}

/// Returns the last segment of a path expression, such as `get` for
/// `axum::routing::get` or `handle_x` for `handle_x::<A>`.
pub(crate) fn last_segment(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Path(path) => path.path.segments.last().map(|s| unraw(&s.ident)),
        _ => None,
    }
}

/// Returns the last two segments of a path expression, such as
/// `("RequestMeta", "new")` for `hookstream_runtime::RequestMeta::new`.
pub(crate) fn last_two_segments(expr: &Expr) -> Option<(String, String)> {
    let Expr::Path(path) = expr else {
        return None;
    };
    let mut segments = path.path.segments.iter().rev();
    let last = segments.next()?;
    let previous = segments.next()?;
    Some((unraw(&previous.ident), unraw(&last.ident)))
}

/// Returns the value of a string literal, looking through `&` and
/// parentheses.
pub(crate) fn string_literal(expr: &Expr) -> Option<String> {
    match strip(expr) {
        Expr::Lit(literal) => match &literal.lit {
            Lit::Str(text) => Some(text.value()),
            _ => None,
        },
        _ => None,
    }
}

/// Returns the value of an integer literal of any suffix, such as `200` or
/// `200u16`.
pub(crate) fn integer_literal(expr: &Expr) -> Option<u16> {
    match strip(expr) {
        Expr::Lit(literal) => match &literal.lit {
            Lit::Int(number) => number.base10_parse().ok(),
            _ => None,
        },
        _ => None,
    }
}

/// Returns the value of a `true` or `false` literal.
pub(crate) fn bool_literal(expr: &Expr) -> Option<bool> {
    match strip(expr) {
        Expr::Lit(literal) => match &literal.lit {
            Lit::Bool(flag) => Some(flag.value),
            _ => None,
        },
        _ => None,
    }
}

/// Returns the expression under any `&`, parentheses, invisible groups and
/// single-expression blocks.
pub(crate) fn strip(expr: &Expr) -> &Expr {
    match expr {
        Expr::Reference(reference) => strip(&reference.expr),
        Expr::Paren(inner) => strip(&inner.expr),
        Expr::Group(inner) => strip(&inner.expr),
        // `{ expr }`, a block whose only statement is its value.
        Expr::Block(block) if block.label.is_none() && block.attrs.is_empty() => {
            match block.block.stmts.as_slice() {
                [syn::Stmt::Expr(inner, None)] => strip(inner),
                _ => expr,
            }
        }
        other => other,
    }
}

/// Returns the single identifier of a path expression such as `genre`.
pub(crate) fn variable(expr: &Expr) -> Option<String> {
    match strip(expr) {
        Expr::Path(path) => path.path.get_ident().map(unraw),
        _ => None,
    }
}

/// Returns the type arguments of the last segment of a type path, such as
/// `[T, E]` for `Result<T, E>`, with the segment's name.
pub(crate) fn type_arguments(ty: &Type) -> Option<(String, Vec<&Type>)> {
    let Type::Path(path) = ty else {
        return None;
    };
    let segment = path.path.segments.last()?;
    let arguments = match &segment.arguments {
        PathArguments::AngleBracketed(arguments) => arguments
            .args
            .iter()
            .filter_map(|argument| match argument {
                GenericArgument::Type(ty) => Some(ty),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Some((unraw(&segment.ident), arguments))
}

/// Returns the first `match` expression in a block.
pub(crate) fn first_match(block: &syn::Block) -> Option<&ExprMatch> {
    struct Finder<'ast> {
        found: Option<&'ast ExprMatch>,
    }
    impl<'ast> Visit<'ast> for Finder<'ast> {
        fn visit_expr_match(&mut self, node: &'ast ExprMatch) {
            if self.found.is_none() {
                self.found = Some(node);
            }
        }
    }
    let mut finder = Finder { found: None };
    finder.visit_block(block);
    finder.found
}
