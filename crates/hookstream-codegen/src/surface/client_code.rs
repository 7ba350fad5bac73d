//! Reads the contract surface from generated client code.
//!
//! Each builder in `mod builder` with a `send` method is one operation. The
//! reader follows what `send` does: the `url` it formats, the method it
//! calls on `client.client`, the query parameters and headers it adds, the
//! JSON body, the `OperationInfo` id and the statuses that its `match`
//! decodes. The builder's fields tell which values may be absent. The
//! credential comes from the `accepted_schemes` arm for that id, and an
//! `<Builder>ErrorResponse` decoder adds the error statuses that `send`
//! leaves undecoded.

use super::syntax::{
    first_match, integer_literal, last_segment, last_two_segments, string_literal, strip,
    type_arguments, type_name, unraw, variable,
};
use super::{
    BodySurface, Location, OperationSurface, ParameterSurface, ResponseSurface,
    normalise_identifier,
};
use std::collections::BTreeMap;
use syn::punctuated::Punctuated;
use syn::visit::{self, Visit};
use syn::{
    Expr, ExprIf, ExprMatch, ExprMethodCall, ExprStruct, Fields, ImplItem, ImplItemFn, Item,
    ItemEnum, ItemImpl, ItemStruct, Local, Pat, ReturnType, Token,
};

/// Progenitor's own header, which every request carries and no spec
/// declares.
// NOTE: a spec parameter named `api-version` would be skipped too.
const PROGENITOR_HEADER: &str = "api-version";

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Lists the operations of a generated client file, reading only the Rust
/// code.
pub fn from_client_code(code: &str) -> Result<Vec<OperationSurface>, String> {
    let file =
        syn::parse_file(code).map_err(|error| fail(format!("the code does not parse: {error}")))?;
    let builder = file
        .items
        .iter()
        .find_map(|item| match item {
            Item::Mod(module) if module.ident == "builder" => module.content.as_ref(),
            _ => None,
        })
        .map(|(_, items)| items)
        .ok_or_else(|| fail("no `mod builder` found"))?;
    let schemes = AcceptedSchemes::read(&file.items)?;
    let mut decoders = error_decoders(&file.items)?;
    let structs: BTreeMap<String, &ItemStruct> = builder
        .iter()
        .filter_map(|item| match item {
            Item::Struct(item_struct) => Some((unraw(&item_struct.ident), item_struct)),
            _ => None,
        })
        .collect();
    let mut operations = Vec::new();
    for item in builder {
        let Item::Impl(item_impl) = item else {
            continue;
        };
        let Some(send) = method(item_impl, "send") else {
            continue;
        };
        let name = self_type(item_impl).ok_or_else(|| fail("a builder `impl` names no type"))?;
        let item_struct = structs
            .get(&name)
            .ok_or_else(|| fail(format!("no builder struct `{name}` found")))?;
        let decoder = decoders.remove(&format!("{name}ErrorResponse"));
        operations.push(operation(&name, item_struct, send, decoder, &schemes)?);
    }
    if let Some(decoder) = decoders.keys().next() {
        return Err(fail(format!(
            "the decoder `{decoder}` matches no builder in `mod builder`"
        )));
    }
    if operations.is_empty() {
        return Err(fail(
            "no builder with a `send` method in `mod builder` found",
        ));
    }
    Ok(operations)
}

fn fail(message: impl std::fmt::Display) -> String {
    format!("from_client_code: {message}")
}

fn self_type(item_impl: &ItemImpl) -> Option<String> {
    match item_impl.self_ty.as_ref() {
        syn::Type::Path(path) => path.path.segments.last().map(|s| unraw(&s.ident)),
        _ => None,
    }
}

fn method<'a>(item_impl: &'a ItemImpl, name: &str) -> Option<&'a ImplItemFn> {
    item_impl.items.iter().find_map(|item| match item {
        ImplItem::Fn(function) if function.sig.ident == name => Some(function),
        _ => None,
    })
}

/// A builder field: `Result<T, String>` for a required value and
/// `Result<Option<T>, String>` for one that may be absent.
struct Field {
    type_name: String,
    required: bool,
}

fn fields(name: &str, item_struct: &ItemStruct) -> Result<BTreeMap<String, Field>, String> {
    let Fields::Named(named) = &item_struct.fields else {
        return Err(fail(format!("the builder `{name}` has no named fields")));
    };
    let mut fields = BTreeMap::new();
    for field in &named.named {
        let Some(ident) = &field.ident else {
            continue;
        };
        let field_name = unraw(ident);
        if field_name == "client" {
            continue;
        }
        let value = match type_arguments(&field.ty) {
            Some((outer, arguments)) if outer == "Result" && !arguments.is_empty() => arguments[0],
            _ => {
                return Err(fail(format!(
                    "the field `{name}::{field_name}` is not a `Result<_, String>`"
                )));
            }
        };
        let parsed = match type_arguments(value) {
            Some((inner, arguments)) if inner == "Option" && arguments.len() == 1 => Field {
                type_name: client_type(arguments[0]),
                required: false,
            },
            _ => Field {
                type_name: client_type(value),
                required: true,
            },
        };
        fields.insert(field_name, parsed);
    }
    Ok(fields)
}

/// The arms of `accepted_schemes`: scheme variants by operation id, and the
/// variants of the `_` arm.
struct AcceptedSchemes {
    by_id: BTreeMap<String, Vec<String>>,
    fallback: Vec<String>,
}

impl AcceptedSchemes {
    fn read(items: &[Item]) -> Result<Self, String> {
        let function = items
            .iter()
            .find_map(|item| match item {
                Item::Fn(function) if function.sig.ident == "accepted_schemes" => Some(function),
                _ => None,
            })
            .ok_or_else(|| fail("no function `accepted_schemes` found"))?;
        let matched = first_match(&function.block)
            .ok_or_else(|| fail("the function `accepted_schemes` has no `match`"))?;
        let mut schemes = AcceptedSchemes {
            by_id: BTreeMap::new(),
            fallback: Vec::new(),
        };
        for arm in &matched.arms {
            let variants = scheme_list(&arm.body).ok_or_else(|| {
                fail("an arm of `accepted_schemes` does not return `&[Scheme::Variant, ..]`")
            })?;
            match &arm.pat {
                Pat::Lit(literal) => {
                    let Some(id) = string_literal(&Expr::Lit(literal.clone())) else {
                        return Err(fail("an arm of `accepted_schemes` matches no string"));
                    };
                    schemes.by_id.insert(id, variants);
                }
                Pat::Wild(_) => schemes.fallback = variants,
                _ => return Err(fail("an arm of `accepted_schemes` matches no string")),
            }
        }
        Ok(schemes)
    }

    /// Returns the schemes that `accepted_schemes(operation_id)` returns.
    fn lookup(&self, operation_id: &str) -> Vec<String> {
        self.by_id
            .get(operation_id)
            .unwrap_or(&self.fallback)
            .clone()
    }
}

fn scheme_list(expr: &Expr) -> Option<Vec<String>> {
    let Expr::Array(array) = strip(expr) else {
        return None;
    };
    array.elems.iter().map(last_segment).collect()
}

/// Reads every `<Name>ErrorResponse` enum whose `from_response` decodes
/// error statuses, keyed by the enum's name.
fn error_decoders(items: &[Item]) -> Result<BTreeMap<String, Vec<ResponseSurface>>, String> {
    let enums: BTreeMap<String, &ItemEnum> = items
        .iter()
        .filter_map(|item| match item {
            Item::Enum(item_enum) => Some((unraw(&item_enum.ident), item_enum)),
            _ => None,
        })
        .collect();
    let mut decoders = BTreeMap::new();
    for item in items {
        let Item::Impl(item_impl) = item else {
            continue;
        };
        let Some(decode) = method(item_impl, "from_response") else {
            continue;
        };
        let Some(name) = self_type(item_impl).filter(|name| name.ends_with("ErrorResponse")) else {
            continue;
        };
        let item_enum = enums
            .get(&name)
            .ok_or_else(|| fail(format!("no enum `{name}` for its `from_response` found")))?;
        decoders.insert(name.clone(), decoder_responses(&name, item_enum, decode)?);
    }
    Ok(decoders)
}

fn decoder_responses(
    name: &str,
    item_enum: &ItemEnum,
    decode: &ImplItemFn,
) -> Result<Vec<ResponseSurface>, String> {
    let mut payloads = BTreeMap::new();
    for variant in &item_enum.variants {
        let payload = match &variant.fields {
            Fields::Unit => None,
            Fields::Unnamed(fields) if fields.unnamed.len() == 1 => {
                Some(client_type(&fields.unnamed[0].ty))
            }
            _ => {
                return Err(fail(format!(
                    "the variant `{name}::{}` is neither a unit nor a one-field variant",
                    variant.ident
                )));
            }
        };
        payloads.insert(unraw(&variant.ident), payload);
    }
    let matched = first_match(&decode.block)
        .ok_or_else(|| fail(format!("`{name}::from_response` has no `match`")))?;
    let mut responses = Vec::new();
    for arm in &matched.arms {
        let Pat::Lit(literal) = &arm.pat else {
            continue;
        };
        let status = integer_literal(&Expr::Lit(literal.clone())).ok_or_else(|| {
            fail(format!(
                "an arm of `{name}::from_response` matches no status"
            ))
        })?;
        let variant = self_variant(&arm.body).ok_or_else(|| {
            fail(format!(
                "the arm for {status} in `{name}::from_response` builds no `Self::Variant`"
            ))
        })?;
        let payload = payloads.get(&variant).ok_or_else(|| {
            fail(format!(
                "`{name}::from_response` builds `{variant}`, which the enum does not declare"
            ))
        })?;
        responses.push(ResponseSurface {
            status,
            type_name: payload.clone(),
        });
    }
    Ok(responses)
}

/// Returns `V` of the first `Self::V` path in an expression.
fn self_variant(expr: &Expr) -> Option<String> {
    struct Finder {
        found: Option<String>,
    }
    impl<'ast> Visit<'ast> for Finder {
        fn visit_expr_path(&mut self, node: &'ast syn::ExprPath) {
            if self.found.is_none()
                && let Some((owner, variant)) = last_two_segments(&Expr::Path(node.clone()))
                && owner == "Self"
            {
                self.found = Some(variant);
            }
        }
    }
    let mut finder = Finder { found: None };
    finder.visit_expr(expr);
    finder.found
}

fn operation(
    name: &str,
    item_struct: &ItemStruct,
    send: &ImplItemFn,
    decoder: Option<Vec<ResponseSurface>>,
    schemes: &AcceptedSchemes,
) -> Result<OperationSurface, String> {
    let fields = fields(name, item_struct)?;
    let (success_type, error_type) = send_types(name, send)?;
    let mut facts = SendFacts::default();
    facts.visit_block(&send.block);
    if let Some(error) = facts.errors.first() {
        return Err(fail(format!("in `{name}::send`: {error}")));
    }
    let missing = |what: &str| fail(format!("no {what} in `{name}::send` found"));
    let id = facts
        .operation_id
        .ok_or_else(|| missing("`OperationInfo { operation_id }`"))?;
    let method = facts
        .method
        .ok_or_else(|| missing("`client.client.<method>(url)` call"))?;
    let (template, path_variables) = facts
        .url
        .ok_or_else(|| missing("`let url = format!(..)`"))?;
    let field = |variable: &str| {
        fields.get(variable).ok_or_else(|| {
            fail(format!(
                "`{name}::send` uses `{variable}`, which is no field of the builder"
            ))
        })
    };

    let path = url_path(name, &template, &path_variables)?;
    let mut parameters = Vec::new();
    for variable in &path_variables {
        let required = field(variable)?.required;
        parameters.push(ParameterSurface::new(Location::Path, variable, required));
    }
    for (query_name, variable) in &facts.query {
        let required = field(variable)?.required;
        parameters.push(ParameterSurface::new(Location::Query, query_name, required));
    }
    for (header_name, required) in &facts.headers {
        parameters.push(ParameterSurface::new(
            Location::Header,
            header_name,
            *required,
        ));
    }
    parameters.sort();
    let body = match &facts.body {
        Some(variable) => {
            let field = field(variable)?;
            Some(BodySurface {
                type_name: field.type_name.clone(),
                required: field.required,
            })
        }
        None => None,
    };

    let mut responses = Vec::new();
    for arm in &facts.arms {
        let type_name = match arm.decoded {
            Decoded::Empty => None,
            Decoded::Success => Some(success_type.clone()),
            Decoded::Error => Some(error_type.clone()),
        };
        responses.push(ResponseSurface {
            status: arm.status,
            type_name,
        });
    }
    responses.extend(decoder.unwrap_or_default());
    responses.sort_by_key(|response| response.status);

    Ok(OperationSurface {
        id: normalise_identifier(&id),
        method: method.to_uppercase(),
        path,
        parameters,
        body,
        responses,
        security: schemes.lookup(&id),
    })
}

/// Returns `T` and `E` of `send`'s `Result<ResponseValue<T>, Error<E>>`.
fn send_types(name: &str, send: &ImplItemFn) -> Result<(String, String), String> {
    let unrecognised = || {
        fail(format!(
            "`{name}::send` does not return `Result<ResponseValue<T>, Error<E>>`"
        ))
    };
    let ReturnType::Type(_, output) = &send.sig.output else {
        return Err(unrecognised());
    };
    let Some((outer, arguments)) = type_arguments(output) else {
        return Err(unrecognised());
    };
    let [success, error] = arguments.as_slice() else {
        return Err(unrecognised());
    };
    if outer != "Result" {
        return Err(unrecognised());
    }
    let inner = |ty: &syn::Type, wrapper: &str| match type_arguments(ty) {
        Some((name, arguments)) if name == wrapper && arguments.len() == 1 => {
            Some(client_type(arguments[0]))
        }
        _ => None,
    };
    let success = inner(success, "ResponseValue").ok_or_else(unrecognised)?;
    let error = inner(error, "Error").ok_or_else(unrecognised)?;
    Ok((success, error))
}

/// Rebuilds the path template from `format!("{}/a/{}", client.baseurl, ..)`
/// by writing each path variable into its `{}`.
fn url_path(name: &str, template: &str, variables: &[String]) -> Result<String, String> {
    let mut pieces = template.split("{}");
    if pieces.next() != Some("") || template.contains("{{") {
        return Err(fail(format!(
            "the url template `{template}` in `{name}::send` does not start with `{{}}` for the base URL or contains escaped braces"
        )));
    }
    let pieces: Vec<&str> = pieces.collect();
    if pieces.len() != variables.len() + 1 {
        return Err(fail(format!(
            "the url template `{template}` in `{name}::send` has {} placeholders for {} path values",
            pieces.len(),
            variables.len() + 1
        )));
    }
    let mut path = pieces[0].to_string();
    for (variable, piece) in variables.iter().zip(&pieces[1..]) {
        path.push('{');
        path.push_str(&normalise_identifier(variable));
        path.push('}');
        path.push_str(piece);
    }
    Ok(path)
}

/// The decoding of a response in one status arm of `send`.
#[derive(Debug, Clone, Copy)]
enum Decoded {
    /// `ResponseValue::empty`: no body.
    Empty,
    /// `ResponseValue::from_response` returned as `Ok`: the success type.
    Success,
    /// `ResponseValue::from_response` inside `Error::ErrorResponse`: the
    /// error type.
    Error,
}

struct StatusArm {
    status: u16,
    decoded: Decoded,
}

/// The facts that the calls in `send` state about its operation.
#[derive(Default)]
struct SendFacts {
    operation_id: Option<String>,
    method: Option<String>,
    /// The template and the path variables of `let url = format!(..)`.
    url: Option<(String, Vec<String>)>,
    /// `(query name, builder variable)` pairs.
    query: Vec<(String, String)>,
    /// `(header name, required)` pairs.
    headers: Vec<(String, bool)>,
    /// The variable that `.json(..)` sends.
    body: Option<String>,
    arms: Vec<StatusArm>,
    /// Set while visiting the body of `if let Some(..) = value { .. }`.
    in_optional: bool,
    errors: Vec<String>,
}

impl SendFacts {
    fn read_url(&mut self, local: &Local) {
        let Pat::Ident(binding) = &local.pat else {
            return;
        };
        if binding.ident != "url" {
            return;
        }
        let Some(Expr::Macro(call)) = local.init.as_ref().map(|init| strip(&init.expr)) else {
            self.errors.push("`url` is not built with `format!`".into());
            return;
        };
        let arguments = match call
            .mac
            .parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated)
        {
            Ok(arguments) => arguments,
            Err(error) => {
                self.errors
                    .push(format!("the `format!` of `url` does not parse: {error}"));
                return;
            }
        };
        let mut arguments = arguments.iter();
        let Some(template) = arguments.next().and_then(string_literal) else {
            self.errors
                .push("the `format!` of `url` has no template literal".into());
            return;
        };
        // The first argument is `client.baseurl`, and the rest are path values.
        let variables: Option<Vec<String>> = arguments.skip(1).map(root_variable).collect();
        match variables {
            Some(variables) => self.url = Some((template, variables)),
            None => self
                .errors
                .push("a path value in the `format!` of `url` names no variable".into()),
        }
    }

    fn read_method_call(&mut self, call: &ExprMethodCall) {
        let method = call.method.to_string();
        if METHODS.contains(&method.as_str()) && is_client_client(&call.receiver) {
            self.method = Some(method);
            return;
        }
        match method.as_str() {
            "query" => {
                let Some(Expr::Call(query)) = call.args.first().map(strip) else {
                    return;
                };
                if last_two_segments(&query.func)
                    != Some(("QueryParam".to_string(), "new".to_string()))
                {
                    return;
                }
                let name = query.args.first().and_then(string_literal);
                let value = query.args.get(1).and_then(variable);
                match (name, value) {
                    (Some(name), Some(value)) => self.query.push((name, value)),
                    _ => self
                        .errors
                        .push("a `QueryParam::new` call has no name literal and variable".into()),
                }
            }
            "append" if variable(&call.receiver).as_deref() == Some("header_map") => {
                match call.args.first().and_then(header_name) {
                    Some(name) if name.eq_ignore_ascii_case(PROGENITOR_HEADER) => {}
                    Some(name) => self.headers.push((name, !self.in_optional)),
                    None => self
                        .errors
                        .push("a `header_map.append` call has no header name literal".into()),
                }
            }
            "json" => match call.args.first().and_then(variable) {
                Some(value) => self.body = Some(value),
                None => self
                    .errors
                    .push("the `.json(..)` call sends no variable".into()),
            },
            _ => {}
        }
    }

    fn read_status_match(&mut self, matched: &ExprMatch) {
        let Expr::MethodCall(call) = strip(&matched.expr) else {
            return;
        };
        if call.method != "as_u16" {
            return;
        }
        for arm in &matched.arms {
            let status = match &arm.pat {
                Pat::Lit(literal) => integer_literal(&Expr::Lit(literal.clone())),
                Pat::Wild(_) => continue,
                _ => None,
            };
            let Some(status) = status else {
                self.errors
                    .push("an arm of the status `match` matches no status literal".into());
                continue;
            };
            let calls = CallNames::of(&arm.body);
            let decoded = if calls.contains("ResponseValue", "empty") {
                Decoded::Empty
            } else if calls.contains("ResponseValue", "from_response") {
                if calls.contains("Error", "ErrorResponse") {
                    Decoded::Error
                } else {
                    Decoded::Success
                }
            } else {
                self.errors.push(format!(
                    "the arm for {status} neither calls `ResponseValue::empty` nor `ResponseValue::from_response`"
                ));
                continue;
            };
            self.arms.push(StatusArm { status, decoded });
        }
    }
}

impl<'ast> Visit<'ast> for SendFacts {
    fn visit_local(&mut self, local: &'ast Local) {
        self.read_url(local);
        visit::visit_local(self, local);
    }

    fn visit_expr_method_call(&mut self, call: &'ast ExprMethodCall) {
        self.read_method_call(call);
        visit::visit_expr_method_call(self, call);
    }

    fn visit_expr_struct(&mut self, node: &'ast ExprStruct) {
        if node
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "OperationInfo")
        {
            let id = node.fields.iter().find_map(|field| match &field.member {
                syn::Member::Named(ident) if ident == "operation_id" => string_literal(&field.expr),
                _ => None,
            });
            match id {
                Some(id) => self.operation_id = Some(id),
                None => self
                    .errors
                    .push("`OperationInfo` has no `operation_id` literal".into()),
            }
        }
        visit::visit_expr_struct(self, node);
    }

    fn visit_expr_match(&mut self, node: &'ast ExprMatch) {
        self.read_status_match(node);
        visit::visit_expr_match(self, node);
    }

    fn visit_expr_if(&mut self, node: &'ast ExprIf) {
        let optional = matches!(node.cond.as_ref(), Expr::Let(condition)
            if matches!(&*condition.pat, Pat::TupleStruct(pattern)
                if pattern.path.is_ident("Some")));
        self.visit_expr(&node.cond);
        let outer = self.in_optional;
        self.in_optional = outer || optional;
        self.visit_block(&node.then_branch);
        self.in_optional = outer;
        if let Some((_, otherwise)) = &node.else_branch {
            self.visit_expr(otherwise);
        }
    }
}

/// Renders a type by [`type_name`], marking a type that progenitor
/// generated into the client's own `types` module instead of using the
/// shared model type of the same name. Progenitor refers to its own types by
/// relative paths such as `types::Name` or `types::builder::Name`.
fn client_type(ty: &syn::Type) -> String {
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_type_path(&mut self, node: &'ast syn::TypePath) {
            let first = node.path.segments.first().map(|s| s.ident.to_string());
            if node.path.leading_colon.is_none()
                && matches!(first.as_deref(), Some("types" | "self" | "super"))
            {
                self.0 = true;
            }
            visit::visit_type_path(self, node);
        }
    }
    let mut finder = Finder(false);
    finder.visit_type(ty);
    if finder.0 {
        format!("{} (client's own type)", type_name(ty))
    } else {
        type_name(ty)
    }
}

/// Returns true for the expression `client.client`.
fn is_client_client(expr: &Expr) -> bool {
    match strip(expr) {
        Expr::Field(field) => {
            matches!(&field.member, syn::Member::Named(ident) if ident == "client")
                && variable(&field.base).as_deref() == Some("client")
        }
        _ => false,
    }
}

/// Returns the header name of `"Name"` or `HeaderName::from_static("name")`.
fn header_name(expr: &Expr) -> Option<String> {
    if let Some(name) = string_literal(expr) {
        return Some(name);
    }
    match strip(expr) {
        Expr::Call(call) if last_segment(&call.func).as_deref() == Some("from_static") => {
            call.args.first().and_then(string_literal)
        }
        _ => None,
    }
}

/// Returns the variable at the root of an expression such as
/// `encode_path(&book_id.to_string())`, following method receivers and the
/// first argument of calls.
fn root_variable(expr: &Expr) -> Option<String> {
    match strip(expr) {
        Expr::Path(_) => variable(expr),
        Expr::MethodCall(call) => root_variable(&call.receiver),
        Expr::Call(call) => call.args.first().and_then(root_variable),
        _ => None,
    }
}

/// The `(owner, name)` pairs of the path expressions in an expression,
/// such as `("ResponseValue", "empty")`.
struct CallNames(Vec<(String, String)>);

impl CallNames {
    fn of(expr: &Expr) -> Self {
        struct Finder(Vec<(String, String)>);
        impl<'ast> Visit<'ast> for Finder {
            fn visit_expr_path(&mut self, node: &'ast syn::ExprPath) {
                if let Some(pair) = last_two_segments(&Expr::Path(node.clone())) {
                    self.0.push(pair);
                }
            }
        }
        let mut finder = Finder(Vec::new());
        finder.visit_expr(expr);
        CallNames(finder.0)
    }

    fn contains(&self, owner: &str, name: &str) -> bool {
        self.0
            .iter()
            .any(|(found_owner, found_name)| found_owner == owner && found_name == name)
    }
}
