//! Emits the server side of the contract: a trait with one method per
//! operation, a response enum per operation, request validators and an axum
//! router that authenticates, validates and calls the trait.

use crate::Settings;
use crate::error::{Error, SpecError};
use crate::jsonschema_export;
use crate::model::{Contract, Operation, Parameter, ParameterLocation, Response, SchemeLocation};
use crate::names::{field_ident, pascal, pointer, type_ident};
use heck::ToShoutySnakeCase;
use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};
use serde_json::Value;

/// Emits the server file.
pub(crate) fn emit(contract: &Contract, settings: &Settings) -> Result<TokenStream, Error> {
    let types = syn_path(&settings.types_crate)?;
    let runtime = syn_path(&settings.runtime_crate)?;
    let trait_ident = format_ident!("{}Api", pascal(&contract.title));
    let mut errors = Vec::new();
    let mut operations = Vec::new();
    for operation in &contract.operations {
        match OperationCode::new(contract, operation, &trait_ident, &types, &runtime) {
            Ok(code) => operations.push(code),
            Err(mut found) => errors.append(&mut found),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Spec(errors));
    }
    let base_path = &contract.base_path;
    let schemes = schemes(contract, &runtime);
    let secured = contract.operations.iter().any(|op| !op.security.is_empty());
    let auth_items = if secured {
        quote! {
            /// The caller that [`Self::authenticate`] accepted.
            type Identity: Send + Sync + 'static;

            /// Checks a credential that a request carried and returns the
            /// caller, or why it was rejected. The router passes a rejection to
            /// the operation's `*_rejected` method.
            fn authenticate(
                &self,
                meta: &#runtime::RequestMeta,
                credential: Credential,
            ) -> impl std::future::Future<Output = Result<Self::Identity, #runtime::AuthFailure>> + Send;
        }
    } else {
        quote! {}
    };
    let params: Vec<_> = operations.iter().map(|op| &op.params_struct).collect();
    let responses: Vec<_> = operations.iter().map(|op| &op.response_enum).collect();
    let methods: Vec<_> = operations.iter().map(|op| &op.trait_methods).collect();
    let handlers: Vec<_> = operations.iter().map(|op| &op.handler).collect();
    let statics: Vec<_> = operations.iter().map(|op| &op.statics).collect();
    let routes = routes(contract, &operations);
    let api_doc = api_doc(contract, &operations, &types);
    let title = &contract.title;
    let source_json =
        serde_json::to_string(&contract.source).expect("a JSON value always serializes");
    let trait_doc =
        format!(" The operations of the {title} API. Implement it and serve it with [`router`].");
    Ok(quote! {
        use std::sync::{Arc, LazyLock};
        use axum::response::IntoResponse;

        /// The path under which the API is served: the path of the spec's
        /// first server URL.
        pub const BASE_PATH: &str = #base_path;

        /// The source spec as JSON, for serving at `/openapi.json`.
        pub const OPENAPI_JSON: &str = #source_json;

        #schemes
        #(#params)*
        #(#responses)*

        #[doc = #trait_doc]
        pub trait #trait_ident: Send + Sync + 'static {
            /// The largest request body, in bytes, that the router reads;
            /// a larger one gets the `rejected` response for `413`.
            const MAX_BODY_BYTES: usize = 1024 * 1024;

            #auth_items
            #(#methods)*
        }

        /// Returns a router that serves every operation under [`BASE_PATH`].
        pub fn router<A: #trait_ident>(api: Arc<A>) -> axum::Router {
            axum::Router::new()
                #(#routes)*
                .with_state(api)
        }

        #api_doc

        #(#statics)*
        #(#handlers)*
    })
}

fn syn_path(text: &str) -> Result<syn::Path, Error> {
    syn::parse_str(text)
        .map_err(|error| Error::Format(format!("invalid crate path `{text}`: {error}")))
}

/// Emits the `SecurityScheme` enum and the `Credential` alias.
fn schemes(contract: &Contract, runtime: &syn::Path) -> TokenStream {
    if contract.schemes.is_empty() {
        return quote! {};
    }
    let variants: Vec<Ident> = contract
        .schemes
        .iter()
        .map(|s| type_ident(&s.name))
        .collect();
    let names: Vec<&str> = contract.schemes.iter().map(|s| s.name.as_str()).collect();
    let docs: Vec<String> = names.iter().map(|name| format!(" `{name}`")).collect();
    let locations: Vec<TokenStream> = contract
        .schemes
        .iter()
        .map(|scheme| location_tokens(&scheme.location, runtime))
        .collect();
    quote! {
        /// The security schemes of the spec.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum SecurityScheme {
            #( #[doc = #docs] #variants, )*
        }

        impl SecurityScheme {
            /// Returns the scheme's name under `components/securitySchemes`.
            pub fn name(self) -> &'static str {
                match self {
                    #( Self::#variants => #names, )*
                }
            }

            /// Returns where the credential of this scheme travels.
            pub fn location(self) -> #runtime::CredentialLocation {
                match self {
                    #( Self::#variants => #locations, )*
                }
            }
        }

        /// A credential taken from a request, tagged with its scheme.
        pub type Credential = #runtime::Credential<SecurityScheme>;
    }
}

fn location_tokens(location: &SchemeLocation, runtime: &syn::Path) -> TokenStream {
    match location {
        SchemeLocation::Header(name) => quote! { #runtime::CredentialLocation::Header(#name) },
        SchemeLocation::Cookie(name) => quote! { #runtime::CredentialLocation::Cookie(#name) },
        SchemeLocation::Bearer => quote! { #runtime::CredentialLocation::Bearer },
    }
}

fn routes(contract: &Contract, operations: &[OperationCode]) -> Vec<TokenStream> {
    let mut paths: Vec<&str> = Vec::new();
    for operation in &contract.operations {
        if !paths.contains(&operation.path.as_str()) {
            paths.push(&operation.path);
        }
    }
    paths
        .into_iter()
        .map(|path| {
            let full = format!("{}{}", contract.base_path, path);
            let mut methods = contract
                .operations
                .iter()
                .zip(operations)
                .filter(|(operation, _)| operation.path == path)
                .map(|(operation, code)| {
                    let method = format_ident!("{}", operation.method);
                    let handler = &code.handler_ident;
                    (method, handler)
                });
            let (first_method, first_handler) =
                methods.next().expect("a listed path has an operation");
            let rest = methods.map(|(method, handler)| quote! { .#method(#handler::<A>) });
            quote! { .route(#full, axum::routing::#first_method(#first_handler::<A>) #(#rest)*) }
        })
        .collect()
}

/// The generated code of one operation.
struct OperationCode {
    params_struct: TokenStream,
    response_enum: TokenStream,
    trait_methods: TokenStream,
    statics: TokenStream,
    handler: TokenStream,
    handler_ident: Ident,
}

impl OperationCode {
    fn new(
        contract: &Contract,
        operation: &Operation,
        trait_ident: &Ident,
        types: &syn::Path,
        runtime: &syn::Path,
    ) -> Result<Self, Vec<SpecError>> {
        let mut errors = Vec::new();
        let name = pascal(&operation.id);
        let method_ident = field_ident(&operation.id);
        // The method's name without `r#`, to build the names derived from it.
        let method = method_ident
            .to_string()
            .trim_start_matches("r#")
            .to_string();
        let rejected_ident = format_ident!("{method}_rejected");
        let invalid_ident = format_ident!("{method}_invalid");
        let handler_ident = format_ident!("handle_{method}");
        let response_ident = format_ident!("{name}Response");
        let params_ident = format_ident!("{name}Params");
        let constant = operation.id.to_shouty_snake_case();

        let mut params = Vec::new();
        for (index, parameter) in operation.parameters.iter().enumerate() {
            let at = pointer(
                &pointer(&operation.pointer, "parameters"),
                &index.to_string(),
            );
            match ParamCode::new(
                contract, operation, parameter, &constant, types, runtime, &at,
            ) {
                Ok(code) => params.push(code),
                Err(error) => errors.push(error),
            }
        }
        let body = match &operation.body {
            Some(body) => {
                let schema = serde_json::json!({ "$ref": format!("#/components/schemas/{}", body.type_name) });
                let at = pointer(&operation.pointer, "requestBody");
                match jsonschema_export::document(contract, &schema, &at) {
                    Ok(json) => Some((body, json)),
                    Err(error) => {
                        errors.push(error);
                        None
                    }
                }
            }
            None => None,
        };
        if !errors.is_empty() {
            return Err(errors);
        }

        let secured = !operation.security.is_empty();
        let path_doc = format!(" `{} {}`", operation.method.to_uppercase(), operation.path);
        let summary_doc = if operation.summary.is_empty() {
            format!(" Handles `{}`.", operation.id)
        } else {
            format!(" {}", operation.summary)
        };

        // The parameter struct.
        let params_struct = if params.is_empty() {
            quote! {}
        } else {
            let fields = params.iter().map(|p| &p.field);
            let doc = format!(" The parameters of `{}`.", operation.id);
            quote! {
                #[doc = #doc]
                #[derive(Debug, Clone, PartialEq)]
                pub struct #params_ident {
                    #(#fields)*
                }
            }
        };

        // The response enum.
        let response_enum = response_enum(operation, &response_ident, types, runtime);

        // The trait methods.
        let context_type = if secured {
            quote! { #runtime::RequestContext<Self::Identity> }
        } else {
            quote! { #runtime::RequestContext<()> }
        };
        let params_arg = if params.is_empty() {
            quote! {}
        } else {
            quote! { params: #params_ident, }
        };
        let body_arg = match &body {
            Some((body, _)) => {
                let body_type = type_ident(&body.type_name);
                if body.required {
                    quote! { body: #types::#body_type, }
                } else {
                    quote! { body: Option<#types::#body_type>, }
                }
            }
            None => quote! {},
        };
        let rejected_doc = format!(
            " Builds the response to a request for `{}` that the router rejected before calling [`Self::{}`]: invalid input, missing or rejected credentials, an unsupported media type or a body over [`Self::MAX_BODY_BYTES`].",
            operation.id, method,
        );
        // An operation without credentials, parameters or a body cannot be
        // rejected, so it gets no `*_rejected` method.
        let can_reject = secured || !params.is_empty() || body.is_some();
        let rejected_method = if can_reject {
            quote! {
                #[doc = #rejected_doc]
                fn #rejected_ident(&self, meta: &#runtime::RequestMeta, rejection: #runtime::Rejection) -> #response_ident;
            }
        } else {
            quote! {}
        };
        // The parameters for the `*_invalid` hook: a struct when every
        // required one was valid. The hook runs only before a rejection, so
        // the values move into it.
        let (hook_unused, params_option, params_hook_value) = if params.is_empty() {
            (Vec::new(), quote! {}, quote! {})
        } else {
            let locals = params.iter().map(|p| &p.local);
            let patterns = params.iter().map(|p| {
                let local = &p.local;
                if p.required {
                    quote! { Some(#local) }
                } else {
                    quote! { #local }
                }
            });
            let fields = params.iter().map(|p| {
                let field = &p.field_ident;
                let local = &p.local;
                quote! { #field: #local }
            });
            (
                vec![quote! { params }],
                quote! {
                    let params = match (#(#locals,)*) {
                        (#(#patterns,)*) => Some(#params_ident { #(#fields),* }),
                        #[allow(unreachable_patterns)]
                        _ => None,
                    };
                },
                quote! { params, },
            )
        };
        let identity_type = if secured {
            quote! { Self::Identity }
        } else {
            quote! { () }
        };
        let params_hook_arg = if params.is_empty() {
            quote! {}
        } else {
            quote! { params: Option<#params_ident>, }
        };
        let invalid_method = if body.is_some() {
            let arguments = if params.is_empty() {
                " `body` is `Some` whenever the body is JSON."
            } else {
                " `params` is `Some` when every parameter is valid, and `body` is `Some`\n whenever the body is JSON."
            };
            let invalid_doc: Vec<String> = format!(
                " Finds violations of your own rules in a request for `{}` whose\n \
                 parameters or body break the schema, so that the caller learns of every\n \
                 problem at once.\n\n \
                 The router calls it only for such a request, after authentication.\n\
                 {arguments}\n \
                 The router merges what this returns with `violations` (sorted, repeats\n \
                 dropped) and passes them all to [`Self::{method}_rejected`].\n \
                 A valid request goes to [`Self::{method}`] instead, so check the same\n \
                 rules there. The default finds none.",
                operation.id,
            )
            .lines()
            .map(str::to_string)
            .collect();
            quote! {
                #(#[doc = #invalid_doc])*
                fn #invalid_ident(
                    &self,
                    meta: &#runtime::RequestMeta,
                    identity: &#identity_type,
                    #params_hook_arg
                    body: Option<serde_json::Value>,
                    violations: &[#runtime::Violation],
                ) -> impl std::future::Future<Output = Vec<#runtime::Violation>> + Send {
                    let _ = (meta, identity, #(#hook_unused,)* body, violations);
                    async { Vec::new() }
                }
            }
        } else {
            quote! {}
        };
        let trait_methods = quote! {
            #[doc = #summary_doc]
            ///
            #[doc = #path_doc]
            fn #method_ident(
                &self,
                context: #context_type,
                #params_arg
                #body_arg
            ) -> impl std::future::Future<Output = #response_ident> + Send;

            #rejected_method

            #invalid_method
        };

        // Statics: parameter and body schemas, security alternatives.
        let mut statics: Vec<TokenStream> =
            params.iter().map(|p| p.schema_static.clone()).collect();
        let security_ident = format_ident!("{constant}_SECURITY");
        if secured {
            let alternatives = operation.security.iter().map(|name| {
                let variant = type_ident(name);
                let location = location_tokens(
                    &contract
                        .scheme(name)
                        .expect("the parser checked every scheme name")
                        .location,
                    runtime,
                );
                quote! { (SecurityScheme::#variant, #location) }
            });
            statics.push(quote! {
                const #security_ident: &[(SecurityScheme, #runtime::CredentialLocation)] = &[#(#alternatives),*];
            });
        }
        let body_schema_ident = format_ident!("{constant}_BODY_SCHEMA");
        if let Some((_, json)) = &body {
            statics.push(quote! {
                static #body_schema_ident: LazyLock<#runtime::Schema> = LazyLock::new(|| #runtime::Schema::new(#json));
            });
        }

        // The handler.
        let operation_id = &operation.id;
        let authenticate = if secured {
            quote! {
                let credential = match #runtime::extract_credential(&parts.headers, #security_ident) {
                    Ok(credential) => credential,
                    Err(failure) => return reject(#runtime::Rejection::Unauthenticated(failure)),
                };
                let identity = match api.authenticate(&meta, credential).await {
                    Ok(identity) => identity,
                    Err(failure) => return reject(#runtime::Rejection::Unauthenticated(failure)),
                };
            }
        } else {
            quote! { let identity = (); }
        };
        let has_path = params.iter().any(|p| p.location == ParameterLocation::Path);
        let has_query = params
            .iter()
            .any(|p| p.location == ParameterLocation::Query);
        let path_source = if has_path {
            quote! { let path = #runtime::PathParams::from_parts(&mut parts).await; }
        } else {
            quote! {}
        };
        let query_source = if has_query {
            quote! { let query = #runtime::QueryParams::from_parts(&parts); }
        } else {
            quote! {}
        };
        let extractions = params.iter().map(|p| &p.extraction);
        let body_extraction = match &body {
            Some((body, _)) => {
                let body_type = type_ident(&body.type_name);
                let required = body.required;
                quote! {
                    let body = match #runtime::json_body::<#types::#body_type>(
                        &parts.headers,
                        body,
                        #required,
                        A::MAX_BODY_BYTES,
                        &#body_schema_ident,
                        &mut violations,
                    ).await {
                        Ok(body) => body,
                        Err(rejection) => return reject(rejection),
                    };
                    if !violations.is_empty() {
                        #params_option
                        let more = api.#invalid_ident(&meta, &identity, #params_hook_value body.into_json(), &violations).await;
                        #runtime::add_violations(&mut violations, more);
                        return reject(#runtime::Rejection::Invalid(violations));
                    }
                    let body = body.into_valid();
                }
            }
            None => quote! { drop(body); },
        };
        // Required values are `Some` unless a violation was recorded.
        let mut bindings: Vec<TokenStream> = Vec::new();
        let mut sources: Vec<TokenStream> = Vec::new();
        for param in &params {
            let ident = &param.local;
            if param.required {
                bindings.push(quote! { Some(#ident) });
            } else {
                bindings.push(quote! { #ident });
            }
            sources.push(quote! { #ident });
        }
        let mut call_args = Vec::new();
        if !params.is_empty() {
            let fields = params.iter().map(|p| {
                let field = &p.field_ident;
                let local = &p.local;
                quote! { #field: #local }
            });
            call_args.push(quote! { #params_ident { #(#fields),* } });
        }
        if let Some((body, _)) = &body {
            if body.required {
                bindings.push(quote! { Some(body) });
            } else {
                bindings.push(quote! { body });
            }
            sources.push(quote! { body });
            call_args.push(quote! { body });
        }
        let parts_binding = if has_path {
            quote! { let (mut parts, body) = request.into_parts(); }
        } else {
            quote! { let (parts, body) = request.into_parts(); }
        };
        let violations_binding = if params.is_empty() && body.is_none() {
            quote! { let violations: Vec<#runtime::Violation> = Vec::new(); }
        } else {
            quote! { let mut violations: Vec<#runtime::Violation> = Vec::new(); }
        };
        let path_attr = utoipa_path(contract, operation, types);
        let checks = if can_reject {
            quote! {
                let reject = |rejection: #runtime::Rejection| {
                    #runtime::log_rejection(&meta, &rejection);
                    api.#rejected_ident(&meta, rejection).into_response()
                };
                #authenticate
                #violations_binding
                #path_source
                #query_source
                #(#extractions)*
                #body_extraction
                let (true, #(#bindings),*) = (violations.is_empty(), #(#sources),*) else {
                    return reject(#runtime::Rejection::Invalid(violations));
                };
            }
        } else {
            quote! {
                drop(body);
                let identity = ();
            }
        };
        let handler = quote! {
            #path_attr
            async fn #handler_ident<A: #trait_ident>(
                axum::extract::State(api): axum::extract::State<Arc<A>>,
                request: axum::extract::Request,
            ) -> axum::response::Response {
                #parts_binding
                let meta = #runtime::RequestMeta::new(&parts, #operation_id);
                #checks
                let context = #runtime::RequestContext { meta, identity };
                api.#method_ident(context, #(#call_args),*).await.into_response()
            }
        };
        Ok(OperationCode {
            params_struct,
            response_enum,
            trait_methods,
            statics: quote! { #(#statics)* },
            handler,
            handler_ident,
        })
    }
}

fn response_enum(
    operation: &Operation,
    ident: &Ident,
    types: &syn::Path,
    runtime: &syn::Path,
) -> TokenStream {
    let variants: Vec<(Ident, &Response)> = operation
        .responses
        .iter()
        .map(|response| (status_variant(response.status), response))
        .collect();
    let declarations = variants.iter().map(|(variant, response)| {
        let doc = format!(" `{}`: {}", response.status, response.description.trim());
        match &response.type_name {
            Some(type_name) => {
                let body = type_ident(type_name);
                quote! { #[doc = #doc] #variant(#types::#body), }
            }
            None => quote! { #[doc = #doc] #variant, },
        }
    });
    let arms = variants.iter().map(|(variant, response)| {
        let status = Literal::u16_unsuffixed(response.status);
        match &response.type_name {
            Some(_) => quote! { Self::#variant(body) => #runtime::json_response(#status, &body), },
            None => quote! { Self::#variant => #runtime::empty_response(#status), },
        }
    });
    let status_arms = variants.iter().map(|(variant, response)| {
        let status = Literal::u16_unsuffixed(response.status);
        match &response.type_name {
            Some(_) => quote! { Self::#variant(_) => #status, },
            None => quote! { Self::#variant => #status, },
        }
    });
    let doc = format!(
        " The responses that `{}` declares, one variant per status.",
        operation.id
    );
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, PartialEq)]
        #[allow(clippy::large_enum_variant)]
        pub enum #ident {
            #(#declarations)*
        }

        impl #ident {
            /// Returns the HTTP status of this response.
            pub fn status(&self) -> u16 {
                match self {
                    #(#status_arms)*
                }
            }
        }

        impl axum::response::IntoResponse for #ident {
            fn into_response(self) -> axum::response::Response {
                match self {
                    #(#arms)*
                }
            }
        }
    }
}

/// Returns the variant name of a status: its reason phrase in PascalCase.
pub(crate) fn status_variant(status: u16) -> Ident {
    match http::StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
    {
        Some(reason) => type_ident(&reason.replace('-', " ")),
        None => format_ident!("Status{status}"),
    }
}

/// The generated code of one parameter.
struct ParamCode {
    location: ParameterLocation,
    required: bool,
    field: TokenStream,
    field_ident: Ident,
    local: Ident,
    schema_static: TokenStream,
    extraction: TokenStream,
}

impl ParamCode {
    fn new(
        contract: &Contract,
        operation: &Operation,
        parameter: &Parameter,
        constant: &str,
        types: &syn::Path,
        runtime: &syn::Path,
        at: &str,
    ) -> Result<Self, SpecError> {
        let resolved = resolve_schema(contract, &parameter.schema);
        let kind = match resolved.get("type").and_then(Value::as_str) {
            Some("string") => quote! { #runtime::ParamKind::String },
            Some("integer") => quote! { #runtime::ParamKind::Integer },
            Some("number") => quote! { #runtime::ParamKind::Number },
            Some("boolean") => quote! { #runtime::ParamKind::Boolean },
            other => {
                return Err(SpecError::new(
                    pointer(at, "schema"),
                    format!(
                        "parameter `{}` of `{}` has type `{}`; only string, integer, number and boolean parameters are supported",
                        parameter.name,
                        operation.id,
                        other.unwrap_or("none")
                    ),
                ));
            }
        };
        let value_type = param_type(&parameter.schema, &resolved, types);
        let field_ident = field_ident(&parameter.name);
        let bare = field_ident.to_string().trim_start_matches("r#").to_string();
        let local = format_ident!("param_{bare}");
        let schema_ident = format_ident!("{constant}_{}_SCHEMA", bare.to_shouty_snake_case());
        let json =
            jsonschema_export::document(contract, &parameter.schema, &pointer(at, "schema"))?;
        let schema_static = quote! {
            static #schema_ident: LazyLock<#runtime::Schema> = LazyLock::new(|| #runtime::Schema::new(#json));
        };
        let name = &parameter.name;
        let required = parameter.required;
        let (location, source) = match parameter.location {
            ParameterLocation::Path => (
                quote! { #runtime::Location::Path },
                quote! { path.get(#name) },
            ),
            ParameterLocation::Query => (
                quote! { #runtime::Location::Query },
                quote! { query.get(#name) },
            ),
            ParameterLocation::Header => {
                let lower = name.to_ascii_lowercase();
                (
                    quote! { #runtime::Location::Header },
                    quote! { #runtime::header_value(&parts.headers, #lower) },
                )
            }
        };
        let extraction = quote! {
            let #local = #runtime::parameter::<#value_type>(
                #source,
                &#runtime::ParamSpec { location: #location, name: #name, required: #required, kind: #kind },
                &#schema_ident,
                &mut violations,
            );
        };
        let doc = if parameter.description.is_empty() {
            format!(" `{name}`")
        } else {
            format!(" {}", parameter.description)
        };
        let field_type = if required {
            value_type.clone()
        } else {
            quote! { Option<#value_type> }
        };
        let field = quote! {
            #[doc = #doc]
            pub #field_ident: #field_type,
        };
        Ok(ParamCode {
            location: parameter.location,
            required,
            field,
            field_ident,
            local,
            schema_static,
            extraction,
        })
    }
}

fn resolve_schema(contract: &Contract, schema: &Value) -> Value {
    let mut current = schema.clone();
    while let Some(name) = current
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|target| target.strip_prefix("#/components/schemas/"))
    {
        match contract.schema(name) {
            Some(next) => current = next.clone(),
            None => break,
        }
    }
    current
}

fn param_type(schema: &Value, resolved: &Value, types: &syn::Path) -> TokenStream {
    if let Some(name) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|target| target.strip_prefix("#/components/schemas/"))
    {
        let ident = type_ident(name);
        return quote! { #types::#ident };
    }
    match resolved.get("type").and_then(Value::as_str) {
        Some("integer") => match resolved.get("format").and_then(Value::as_str) {
            Some("int32") => quote! { i32 },
            _ => quote! { i64 },
        },
        Some("number") => quote! { f64 },
        Some("boolean") => quote! { bool },
        _ => quote! { String },
    }
}

/// Emits `ApiDoc`: the server's OpenAPI document, which utoipa derives from
/// the handlers' `#[utoipa::path]` attributes and the types' `ToSchema`.
fn api_doc(contract: &Contract, operations: &[OperationCode], types: &syn::Path) -> TokenStream {
    let title = &contract.title;
    let version = contract
        .document
        .pointer("/info/version")
        .and_then(Value::as_str)
        .unwrap_or("0.0.0");
    let handlers = operations.iter().map(|op| &op.handler_ident);
    let schemas = contract
        .schemas()
        .filter(|(_, schema)| crate::types::is_named_type(schema))
        .map(|(name, _)| {
            let ident = type_ident(name);
            quote! { #types::#ident }
        });
    let servers = match contract
        .document
        .pointer("/servers/0/url")
        .and_then(Value::as_str)
    {
        Some(url) => quote! { servers((url = #url)), },
        None => quote! {},
    };
    let schemes = contract.schemes.iter().map(|scheme| {
        let name = &scheme.name;
        let value = match &scheme.location {
            SchemeLocation::Header(header) => quote! {
                utoipa::openapi::security::SecurityScheme::ApiKey(
                    utoipa::openapi::security::ApiKey::Header(utoipa::openapi::security::ApiKeyValue::new(#header)),
                )
            },
            SchemeLocation::Cookie(cookie) => quote! {
                utoipa::openapi::security::SecurityScheme::ApiKey(
                    utoipa::openapi::security::ApiKey::Cookie(utoipa::openapi::security::ApiKeyValue::new(#cookie)),
                )
            },
            SchemeLocation::Bearer => quote! {
                utoipa::openapi::security::SecurityScheme::Http(
                    utoipa::openapi::security::Http::new(utoipa::openapi::security::HttpAuthScheme::Bearer),
                )
            },
        };
        quote! { components.add_security_scheme(#name, #value); }
    });
    // NOTE: utoipa-gen 5.5.0 turns `#[schema(min_properties = n)]` into
    // `maxProperties: n`, so `minProperties` is set here instead.
    let min_properties = contract.schemas().filter_map(|(name, schema)| {
        let limit = schema.get("minProperties").and_then(Value::as_u64)?;
        let limit = Literal::usize_unsuffixed(usize::try_from(limit).ok()?);
        Some(quote! {
            if let Some(utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(object))) =
                components.schemas.get_mut(#name)
            {
                object.min_properties = Some(#limit);
            }
        })
    });
    // NOTE: utoipa cannot attach validation keywords to a tuple variant, so
    // the array bounds of inline `oneOf` branches are set here too. Other
    // keywords on such branches would be lost; the round-trip test shows it.
    let branch_bounds = contract.schemas().flat_map(|(name, schema)| {
        let branches = schema.get("oneOf").and_then(Value::as_array).cloned().unwrap_or_default();
        branches
            .into_iter()
            .enumerate()
            .filter(|(_, branch)| branch.get("type").and_then(Value::as_str) == Some("array"))
            .filter_map(move |(index, branch)| {
                let assignments: Vec<TokenStream> = [("minItems", "min_items"), ("maxItems", "max_items")]
                    .into_iter()
                    .filter_map(|(keyword, field)| {
                        let limit = usize::try_from(branch.get(keyword)?.as_u64()?).ok()?;
                        let limit = Literal::usize_unsuffixed(limit);
                        let field = format_ident!("{field}");
                        Some(quote! { array.#field = Some(#limit); })
                    })
                    .collect();
                if assignments.is_empty() {
                    return None;
                }
                let name = name.clone();
                Some(quote! {
                    if let Some(utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::OneOf(one_of))) =
                        components.schemas.get_mut(#name)
                        && let Some(utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Array(array))) =
                            one_of.items.get_mut(#index)
                    {
                        #(#assignments)*
                    }
                })
            })
    });
    quote! {
        /// The OpenAPI document of this server, derived by utoipa from the
        /// handlers and the model types (OpenAPI 3.1).
        #[derive(Debug, utoipa::OpenApi)]
        #[openapi(
            info(title = #title, version = #version),
            #servers
            paths(#(#handlers),*),
            components(schemas(#(#schemas),*)),
            modifiers(&SpecDetails),
        )]
        pub struct ApiDoc;

        /// Adds to [`ApiDoc`] what the derives cannot express: the security
        /// schemes and `minProperties`.
        struct SpecDetails;

        impl utoipa::Modify for SpecDetails {
            fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
                #[allow(unused_variables)]
                let components = openapi.components.get_or_insert_with(Default::default);
                #(#schemes)*
                #(#min_properties)*
                #(#branch_bounds)*
            }
        }
    }
}

/// Returns the `#[utoipa::path]` attribute that describes an operation.
fn utoipa_path(contract: &Contract, operation: &Operation, types: &syn::Path) -> TokenStream {
    let method = format_ident!("{}", operation.method);
    let path = &operation.path;
    let id = &operation.id;
    let params = operation.parameters.iter().map(|parameter| {
        let name = &parameter.name;
        let resolved = resolve_schema(contract, &parameter.schema);
        let value_type = param_type(&parameter.schema, &resolved, types);
        let value_type = if parameter.required {
            value_type
        } else {
            quote! { Option<#value_type> }
        };
        let location = match parameter.location {
            ParameterLocation::Path => quote! { Path },
            ParameterLocation::Query => quote! { Query },
            ParameterLocation::Header => quote! { Header },
        };
        quote! { (#name = #value_type, #location) }
    });
    let body = match &operation.body {
        Some(body) => {
            let ident = type_ident(&body.type_name);
            quote! { request_body(content = #types::#ident, content_type = "application/json"), }
        }
        None => quote! {},
    };
    let responses = operation.responses.iter().map(|response| {
        let status = Literal::u16_unsuffixed(response.status);
        let description = &response.description;
        match &response.type_name {
            Some(type_name) => {
                let ident = type_ident(type_name);
                quote! { (status = #status, description = #description, body = #types::#ident) }
            }
            None => quote! { (status = #status, description = #description) },
        }
    });
    let security = if operation.security.is_empty() {
        quote! {}
    } else {
        let names = operation.security.iter();
        quote! { security(#( (#names = []) ),*), }
    };
    quote! {
        #[utoipa::path(
            #method,
            path = #path,
            operation_id = #id,
            params(#(#params),*),
            #body
            responses(#(#responses),*),
            #security
        )]
    }
}
