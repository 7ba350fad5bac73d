//! Reads the contract surface from generated server code.
//!
//! The reader follows the code that runs for a request: each `.route(...)`
//! of `router` names a method, a path and a handler. The handler's calls
//! give the operation id (`RequestMeta::new`), the parameters
//! (`parameter` with its `ParamSpec`), the body (`json_body`), the security
//! alternatives (`extract_credential` and the constant it reads) and the
//! trait method it calls, whose output type is the response enum. The enum's
//! `into_response` gives each variant's status and whether a body is sent.

use super::syntax::{
    bool_literal, first_match, integer_literal, last_segment, last_two_segments, string_literal,
    strip, type_name, unraw, variable,
};
use super::{
    BodySurface, Location, OperationSurface, ParameterSurface, ResponseSurface,
    normalise_identifier, normalise_template,
};
use std::collections::BTreeMap;
use syn::visit::{self, Visit};
use syn::{
    Arm, Expr, ExprCall, ExprMatch, ExprMethodCall, Fields, GenericArgument, ImplItem, Item,
    ItemConst, ItemEnum, ItemFn, ItemImpl, Pat, PathArguments, ReturnType, TraitItem, TraitItemFn,
    Type, TypeParamBound,
};

/// Lists the operations that a generated server file routes, reading only
/// the Rust code.
pub fn from_server_code(code: &str) -> Result<Vec<OperationSurface>, String> {
    let file =
        syn::parse_file(code).map_err(|error| fail(format!("the code does not parse: {error}")))?;
    let items = Items::new(&file);
    let base_path = items.base_path()?;
    let routes = routes(items.function("router")?)?;
    routes
        .iter()
        .map(|route| operation(&items, &base_path, route))
        .collect()
}

fn fail(message: impl std::fmt::Display) -> String {
    format!("from_server_code: {message}")
}

/// The top-level items of the server file, by name.
struct Items<'a> {
    functions: BTreeMap<String, &'a ItemFn>,
    enums: BTreeMap<String, &'a ItemEnum>,
    constants: BTreeMap<String, &'a ItemConst>,
    impls: Vec<&'a ItemImpl>,
    trait_methods: BTreeMap<String, &'a TraitItemFn>,
}

impl<'a> Items<'a> {
    fn new(file: &'a syn::File) -> Self {
        let mut items = Items {
            functions: BTreeMap::new(),
            enums: BTreeMap::new(),
            constants: BTreeMap::new(),
            impls: Vec::new(),
            trait_methods: BTreeMap::new(),
        };
        for item in &file.items {
            match item {
                Item::Fn(function) => {
                    items.functions.insert(unraw(&function.sig.ident), function);
                }
                Item::Enum(item_enum) => {
                    items.enums.insert(unraw(&item_enum.ident), item_enum);
                }
                Item::Const(constant) => {
                    items.constants.insert(unraw(&constant.ident), constant);
                }
                Item::Impl(item_impl) => items.impls.push(item_impl),
                Item::Trait(item_trait) => {
                    for trait_item in &item_trait.items {
                        if let TraitItem::Fn(method) = trait_item {
                            items.trait_methods.insert(unraw(&method.sig.ident), method);
                        }
                    }
                }
                _ => {}
            }
        }
        items
    }

    fn function(&self, name: &str) -> Result<&'a ItemFn, String> {
        self.functions
            .get(name)
            .copied()
            .ok_or_else(|| fail(format!("no function `{name}` found")))
    }

    fn base_path(&self) -> Result<String, String> {
        let constant = self
            .constants
            .get("BASE_PATH")
            .ok_or_else(|| fail("no constant `BASE_PATH` found"))?;
        string_literal(&constant.expr)
            .ok_or_else(|| fail("the constant `BASE_PATH` is not a string literal"))
    }

    /// Returns the scheme variants listed by a `<OP>_SECURITY` constant.
    fn security(&self, name: &str) -> Result<Vec<String>, String> {
        let constant = self.constants.get(name).ok_or_else(|| {
            fail(format!(
                "no constant `{name}` (security alternatives) found"
            ))
        })?;
        let Expr::Array(array) = strip(&constant.expr) else {
            return Err(fail(format!("the constant `{name}` is not an array")));
        };
        array
            .elems
            .iter()
            .map(|element| match strip(element) {
                Expr::Tuple(tuple) => tuple.elems.first().and_then(last_segment),
                _ => None,
            })
            .map(|scheme| {
                scheme.ok_or_else(|| {
                    fail(format!(
                        "an entry of the constant `{name}` is not a `(SecurityScheme::Variant, location)` tuple"
                    ))
                })
            })
            .collect()
    }

    /// Returns the output type that a trait method's future resolves to.
    fn method_output(&self, method: &str) -> Result<String, String> {
        let function = self
            .trait_methods
            .get(method)
            .ok_or_else(|| fail(format!("no trait method `{method}` found")))?;
        let missing = || {
            fail(format!(
                "the trait method `{method}` does not return `impl Future<Output = ...>`"
            ))
        };
        let ReturnType::Type(_, output) = &function.sig.output else {
            return Err(missing());
        };
        let Type::ImplTrait(bounds) = output.as_ref() else {
            return Err(missing());
        };
        for bound in &bounds.bounds {
            let TypeParamBound::Trait(bound) = bound else {
                continue;
            };
            let Some(segment) = bound.path.segments.last() else {
                continue;
            };
            let PathArguments::AngleBracketed(arguments) = &segment.arguments else {
                continue;
            };
            for argument in &arguments.args {
                if let GenericArgument::AssocType(associated) = argument
                    && associated.ident == "Output"
                {
                    return Ok(type_name(&associated.ty));
                }
            }
        }
        Err(missing())
    }

    /// Returns the `match` of a method in an `impl` block of `type_name`,
    /// either inherent (`trait_name` is `None`) or of the named trait.
    fn impl_match(
        &self,
        type_name: &str,
        trait_name: Option<&str>,
        method: &str,
    ) -> Result<&'a ExprMatch, String> {
        let place = match trait_name {
            Some(trait_name) => format!("`impl {trait_name} for {type_name}`"),
            None => format!("`impl {type_name}`"),
        };
        let function = self
            .impls
            .iter()
            .filter(|item_impl| {
                matches!(item_impl.self_ty.as_ref(), Type::Path(path)
                    if path.path.segments.last().is_some_and(|s| s.ident == type_name))
            })
            .filter(|item_impl| {
                let implemented = item_impl
                    .trait_
                    .as_ref()
                    .and_then(|(_, path, _)| path.segments.last())
                    .map(|segment| unraw(&segment.ident));
                implemented.as_deref() == trait_name
            })
            .flat_map(|item_impl| &item_impl.items)
            .find_map(|item| match item {
                ImplItem::Fn(function) if function.sig.ident == method => Some(function),
                _ => None,
            })
            .ok_or_else(|| fail(format!("no method `{method}` in {place} found")))?;
        first_match(&function.block)
            .ok_or_else(|| fail(format!("the method `{method}` in {place} has no `match`")))
    }

    /// Returns the responses of a response enum: each variant's status and
    /// the type of the body that `into_response` sends.
    fn responses(&self, enum_name: &str) -> Result<Vec<ResponseSurface>, String> {
        let item_enum = self
            .enums
            .get(enum_name)
            .ok_or_else(|| fail(format!("no response enum `{enum_name}` found")))?;
        let mut payloads = BTreeMap::new();
        for variant in &item_enum.variants {
            let payload = match &variant.fields {
                Fields::Unit => None,
                Fields::Unnamed(fields) if fields.unnamed.len() == 1 => {
                    Some(type_name(&fields.unnamed[0].ty))
                }
                _ => {
                    return Err(fail(format!(
                        "the variant `{enum_name}::{}` is neither a unit nor a one-field variant",
                        variant.ident
                    )));
                }
            };
            payloads.insert(unraw(&variant.ident), payload);
        }
        let sent = self.impl_match(enum_name, Some("IntoResponse"), "into_response")?;
        let declared = self.impl_match(enum_name, None, "status")?;
        let mut statuses = BTreeMap::new();
        for arm in &declared.arms {
            let variant = arm_variant(arm)
                .ok_or_else(|| fail(format!("an arm of `{enum_name}::status` names no variant")))?;
            let status = integer_literal(&arm.body).ok_or_else(|| {
                fail(format!(
                    "`{enum_name}::status` returns no status literal for `{variant}`"
                ))
            })?;
            statuses.insert(variant, status);
        }
        let mut responses = Vec::new();
        for arm in &sent.arms {
            let variant = arm_variant(arm).ok_or_else(|| {
                fail(format!(
                    "an arm of `{enum_name}::into_response` names no variant"
                ))
            })?;
            let payload = payloads.remove(&variant).ok_or_else(|| {
                fail(format!(
                    "`{enum_name}::into_response` matches `{variant}`, which the enum does not declare"
                ))
            })?;
            let response = sent_response(enum_name, &variant, payload, &arm.body)?;
            match statuses.get(&variant) {
                Some(&status) if status == response.status => {}
                Some(&status) => {
                    return Err(fail(format!(
                        "`{enum_name}::status` returns {status} for `{variant}` but `into_response` sends {}",
                        response.status
                    )));
                }
                None => {
                    return Err(fail(format!(
                        "`{enum_name}::status` has no arm for `{variant}`"
                    )));
                }
            }
            responses.push(response);
        }
        if let Some(variant) = payloads.keys().next() {
            return Err(fail(format!(
                "`{enum_name}::into_response` has no arm for `{variant}`"
            )));
        }
        responses.sort_by_key(|response| response.status);
        Ok(responses)
    }
}

/// Returns the response that one `into_response` arm sends: the status
/// given to `json_response` or `empty_response`, and the variant's payload
/// type when the body is JSON.
fn sent_response(
    enum_name: &str,
    variant: &str,
    payload: Option<String>,
    body: &Expr,
) -> Result<ResponseSurface, String> {
    let unrecognised = || {
        fail(format!(
            "`{enum_name}::into_response` for `{variant}` calls neither `json_response(status, ..)` nor `empty_response(status)`"
        ))
    };
    let Expr::Call(call) = strip(body) else {
        return Err(unrecognised());
    };
    let status = call
        .args
        .first()
        .and_then(integer_literal)
        .ok_or_else(unrecognised)?;
    let type_name = match last_segment(&call.func).as_deref() {
        Some("json_response") => Some(payload.ok_or_else(|| {
            fail(format!(
                "`{enum_name}::into_response` sends a JSON body for `{variant}`, which has no payload"
            ))
        })?),
        Some("empty_response") => None,
        _ => return Err(unrecognised()),
    };
    Ok(ResponseSurface { status, type_name })
}

/// Returns the variant that a `match self` arm names, such as `NotFound`
/// for `Self::NotFound(body)`.
fn arm_variant(arm: &Arm) -> Option<String> {
    let path = match &arm.pat {
        Pat::TupleStruct(pattern) => &pattern.path,
        Pat::Path(pattern) => &pattern.path,
        _ => return None,
    };
    path.segments.last().map(|segment| unraw(&segment.ident))
}

/// One `(method, handler)` pair of a `.route(path, ...)` call.
struct Route {
    method: String,
    path: String,
    handler: String,
}

fn routes(router: &ItemFn) -> Result<Vec<Route>, String> {
    #[derive(Default)]
    struct Finder {
        routes: Vec<Route>,
        errors: Vec<String>,
    }
    impl<'ast> Visit<'ast> for Finder {
        fn visit_expr_method_call(&mut self, call: &'ast ExprMethodCall) {
            if call.method == "route" {
                let path = call.args.first().and_then(string_literal);
                match (path, call.args.get(1)) {
                    (Some(path), Some(methods)) => match route_methods(methods) {
                        Ok(methods) => {
                            for (method, handler) in methods {
                                self.routes.push(Route {
                                    method,
                                    path: path.clone(),
                                    handler,
                                });
                            }
                        }
                        Err(error) => self.errors.push(error),
                    },
                    _ => self.errors.push(fail(
                        "a `.route(...)` call in `router` has no path literal and method router",
                    )),
                }
            }
            visit::visit_expr_method_call(self, call);
        }
    }
    let mut finder = Finder::default();
    finder.visit_block(&router.block);
    if let Some(error) = finder.errors.into_iter().next() {
        return Err(error);
    }
    if finder.routes.is_empty() {
        return Err(fail("no `.route(...)` call in `router` found"));
    }
    Ok(finder.routes)
}

/// Reads a method router such as `axum::routing::get(handle_a::<A>)
/// .post(handle_b::<A>)` as `(method, handler)` pairs.
fn route_methods(expr: &Expr) -> Result<Vec<(String, String)>, String> {
    let unrecognised = || {
        fail("a method router in `router` is not a chain of `method(handler)` calls".to_string())
    };
    match strip(expr) {
        Expr::MethodCall(call) => {
            let mut methods = route_methods(&call.receiver)?;
            let handler = call
                .args
                .first()
                .and_then(last_segment)
                .ok_or_else(unrecognised)?;
            methods.push((call.method.to_string(), handler));
            Ok(methods)
        }
        Expr::Call(call) => {
            let method = last_segment(&call.func).ok_or_else(unrecognised)?;
            let handler = call
                .args
                .first()
                .and_then(last_segment)
                .ok_or_else(unrecognised)?;
            Ok(vec![(method, handler)])
        }
        _ => Err(unrecognised()),
    }
}

fn operation(items: &Items, base_path: &str, route: &Route) -> Result<OperationSurface, String> {
    let handler = items
        .function(&route.handler)
        .map_err(|error| format!("{error} (the handler of the route `{}`)", route.path))?;
    let facts = HandlerFacts::collect(handler)?;

    let in_handler = |what: &str| fail(format!("no {what} in `{}` found", route.handler));
    let id = facts
        .operation_id
        .ok_or_else(|| in_handler("`RequestMeta::new(.., \"<operationId>\")` call"))?;

    let path = route.path.strip_prefix(base_path).ok_or_else(|| {
        fail(format!(
            "the route `{}` does not start with `BASE_PATH` (`{base_path}`)",
            route.path
        ))
    })?;
    let called: Vec<&String> = facts
        .api_calls
        .iter()
        .filter(|method| {
            *method != "authenticate"
                && !method.ends_with("_rejected")
                && !method.ends_with("_invalid")
        })
        .collect();
    let [method] = called.as_slice() else {
        return Err(fail(format!(
            "`{}` should call exactly one operation method on `api`, but calls {called:?}",
            route.handler
        )));
    };
    let response_enum = items.method_output(method)?;

    let security = match &facts.security_constant {
        Some(name) => items.security(name)?,
        None => Vec::new(),
    };
    let mut parameters = facts.parameters;
    parameters.sort();

    Ok(OperationSurface {
        id: normalise_identifier(&id),
        method: route.method.to_uppercase(),
        path: normalise_template(path),
        parameters,
        body: facts.body,
        responses: items.responses(&response_enum)?,
        security,
    })
}

/// The facts that a handler's calls state about its operation.
#[derive(Default)]
struct HandlerFacts {
    operation_id: Option<String>,
    security_constant: Option<String>,
    parameters: Vec<ParameterSurface>,
    body: Option<BodySurface>,
    api_calls: Vec<String>,
    errors: Vec<String>,
}

impl HandlerFacts {
    fn collect(handler: &ItemFn) -> Result<Self, String> {
        let mut facts = HandlerFacts::default();
        facts.visit_block(&handler.block);
        match facts.errors.first() {
            Some(error) => Err(fail(format!("in `{}`: {error}", handler.sig.ident))),
            None => Ok(facts),
        }
    }

    fn read_call(&mut self, call: &ExprCall) -> Result<(), String> {
        let Some((owner, function)) = last_two_segments(&call.func)
            .or_else(|| last_segment(&call.func).map(|name| (String::new(), name)))
        else {
            return Ok(());
        };
        match (owner.as_str(), function.as_str()) {
            ("RequestMeta", "new") => {
                let id = call.args.get(1).and_then(string_literal).ok_or(
                    "`RequestMeta::new` has no operation id literal as its second argument",
                )?;
                self.operation_id = Some(id);
            }
            (_, "extract_credential") => {
                let constant = call
                    .args
                    .get(1)
                    .and_then(|argument| last_segment(strip(argument)))
                    .ok_or("`extract_credential` names no security constant")?;
                self.security_constant = Some(constant);
            }
            (_, "parameter") => self.parameters.push(parameter(call)?),
            (_, "json_body") => {
                let type_name =
                    turbofish_type(&call.func).ok_or("`json_body` has no `::<Type>` argument")?;
                let required = call
                    .args
                    .get(2)
                    .and_then(bool_literal)
                    .ok_or("`json_body` has no `required` literal as its third argument")?;
                self.body = Some(BodySurface {
                    type_name,
                    required,
                });
            }
            _ => {}
        }
        Ok(())
    }
}

impl<'ast> Visit<'ast> for HandlerFacts {
    fn visit_expr_call(&mut self, call: &'ast ExprCall) {
        if let Err(error) = self.read_call(call) {
            self.errors.push(error);
        }
        visit::visit_expr_call(self, call);
    }

    fn visit_expr_method_call(&mut self, call: &'ast ExprMethodCall) {
        if variable(&call.receiver).as_deref() == Some("api") {
            self.api_calls.push(unraw(&call.method));
        }
        visit::visit_expr_method_call(self, call);
    }
}

/// Returns `T` of a call such as `json_body::<T>(...)`.
fn turbofish_type(func: &Expr) -> Option<String> {
    let Expr::Path(path) = func else {
        return None;
    };
    let PathArguments::AngleBracketed(arguments) = &path.path.segments.last()?.arguments else {
        return None;
    };
    arguments.args.iter().find_map(|argument| match argument {
        GenericArgument::Type(ty) => Some(type_name(ty)),
        _ => None,
    })
}

/// Reads a `parameter::<T>(source, &ParamSpec { .. }, ..)` call. The
/// location and name come from the source expression, which reads the
/// request. `ParamSpec` gives `required` and must agree on the rest.
fn parameter(call: &ExprCall) -> Result<ParameterSurface, String> {
    let source = call
        .args
        .first()
        .ok_or("a `parameter` call has no arguments")?;
    let (location, name) = parameter_source(source)?;
    let Some(Expr::Struct(spec)) = call.args.get(1).map(strip) else {
        return Err(format!(
            "the `parameter` call for `{name}` has no `&ParamSpec {{ .. }}` second argument"
        ));
    };
    let field = |field_name: &str| {
        spec.fields.iter().find_map(|field| match &field.member {
            syn::Member::Named(ident) if ident == field_name => Some(&field.expr),
            _ => None,
        })
    };
    let required = field("required")
        .and_then(bool_literal)
        .ok_or_else(|| format!("the `ParamSpec` of `{name}` has no `required` literal"))?;
    let spec_name = field("name")
        .and_then(string_literal)
        .ok_or_else(|| format!("the `ParamSpec` of `{name}` has no `name` literal"))?;
    let spec_location = field("location").and_then(last_segment);
    let read = ParameterSurface::new(location, &name, required);
    let declared = ParameterSurface::new(location, &spec_name, required);
    if spec_location.as_deref() != Some(location_variant(location)) || read != declared {
        return Err(format!(
            "the parameter read as {} `{name}` is declared as {} `{spec_name}` in its `ParamSpec`",
            location.as_str(),
            spec_location.as_deref().unwrap_or("an unknown location"),
        ));
    }
    Ok(read)
}

fn location_variant(location: Location) -> &'static str {
    match location {
        Location::Path => "Path",
        Location::Query => "Query",
        Location::Header => "Header",
    }
}

/// Reads `path.get("x")`, `query.get("x")` or `header_value(.., "x")`.
fn parameter_source(source: &Expr) -> Result<(Location, String), String> {
    let unrecognised = || {
        "a `parameter` call reads neither `path.get(..)`, `query.get(..)` nor `header_value(..)`"
            .to_string()
    };
    match strip(source) {
        Expr::MethodCall(call) if call.method == "get" => {
            let location = match variable(&call.receiver).as_deref() {
                Some("path") => Location::Path,
                Some("query") => Location::Query,
                _ => return Err(unrecognised()),
            };
            let name = call
                .args
                .first()
                .and_then(string_literal)
                .ok_or_else(unrecognised)?;
            Ok((location, name))
        }
        Expr::Call(call) if last_segment(&call.func).as_deref() == Some("header_value") => {
            let name = call
                .args
                .get(1)
                .and_then(string_literal)
                .ok_or_else(unrecognised)?;
            Ok((Location::Header, name))
        }
        _ => Err(unrecognised()),
    }
}
