//! Emits the client: progenitor's builder-style client, using the shared
//! model types in place of its own copies, and the credential handling that
//! progenitor leaves out (it ignores `securitySchemes`).

use crate::Settings;
use crate::error::Error;
use crate::model::{Contract, SchemeLocation};
use crate::names::{field_ident, pascal, type_ident};
use proc_macro2::TokenStream;
use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle, TypeImpl};
use quote::{format_ident, quote};
use serde_json::Value;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Emits the client file.
pub(crate) fn emit(contract: &Contract, settings: &Settings) -> Result<TokenStream, Error> {
    let mut document = contract.document.clone();
    loosen_parameters(&mut document);
    drop_mixed_errors(contract, &mut document);
    let module: syn::Path = syn::parse_str(&settings.client_module).map_err(|error| {
        Error::Format(format!(
            "invalid module path `{}`: {error}",
            settings.client_module
        ))
    })?;
    let document: openapiv3::OpenAPI = serde_json::from_value(document).map_err(|error| {
        Error::Parse(format!("the document does not match OpenAPI 3.0: {error}"))
    })?;
    let mut generation = GenerationSettings::new();
    generation
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        .with_hooks(HooksMode::Expected)
        .with_inner_type(quote! { #module::Credentials });
    for (name, schema) in contract.schemas() {
        let rust_path = format!("{}::{}", settings.types_crate, pascal(name));
        generation.with_replacement(pascal(name), rust_path, impls(schema).into_iter());
    }
    // Our checks run first, so progenitor should not panic; if it does, the
    // panic becomes an error instead of ending the process.
    let generated = catch_unwind(AssertUnwindSafe(|| {
        Generator::new(&generation).generate_tokens(&document)
    }));
    let client = match generated {
        Ok(Ok(tokens)) => tokens,
        Ok(Err(error)) => return Err(Error::Progenitor(error.to_string())),
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            return Err(Error::Progenitor(format!("progenitor panicked: {message}")));
        }
    };
    let security = security(contract, &module);
    let decoders = contract
        .operations
        .iter()
        .filter(|operation| operation.has_mixed_errors())
        .map(|operation| error_decoder(operation, settings));
    Ok(quote! {
        #client
        #security
        #(#decoders)*
    })
}

/// Reduces every inline parameter schema to its type and format, in the
/// copy of the document that progenitor reads. The server validates
/// parameters, so the client sends what the caller gives instead of a type
/// of progenitor's own that refuses invalid values before sending.
fn loosen_parameters(document: &mut Value) {
    if let Some(Value::Object(parameters)) = document.pointer_mut("/components/parameters") {
        parameters.values_mut().for_each(loosen_parameter);
    }
    let Some(Value::Object(paths)) = document.get_mut("paths") else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (key, value) in item.iter_mut() {
            let list = if key == "parameters" {
                Some(value)
            } else {
                value.get_mut("parameters")
            };
            if let Some(Value::Array(parameters)) = list {
                parameters.iter_mut().for_each(loosen_parameter);
            }
        }
    }
}

fn loosen_parameter(parameter: &mut Value) {
    if let Some(schema) = parameter.get_mut("schema").and_then(Value::as_object_mut)
        && !schema.contains_key("$ref")
    {
        schema.retain(|key, _| key == "type" || key == "format");
    }
}

/// Removes the error responses of operations whose error statuses carry
/// different body types, in the copy of the document that progenitor
/// reads, because progenitor panics on them. The client then returns those
/// responses as `Error::UnexpectedResponse`, and the generated
/// `<Operation>ErrorResponse::from_response` decodes them by status.
fn drop_mixed_errors(contract: &Contract, document: &mut Value) {
    for operation in contract
        .operations
        .iter()
        .filter(|op| op.has_mixed_errors())
    {
        let at = format!(
            "/paths/{}/{}/responses",
            operation.path.replace('~', "~0").replace('/', "~1"),
            operation.method
        );
        if let Some(Value::Object(responses)) = document.pointer_mut(&at) {
            responses.retain(|status, _| !status.starts_with(['4', '5']));
        }
    }
}

/// Emits the typed decoder for the error responses of an operation whose
/// error statuses carry different body types.
fn error_decoder(operation: &crate::model::Operation, settings: &Settings) -> TokenStream {
    let types: syn::Path =
        syn::parse_str(&settings.types_crate).expect("checked by the server emitter");
    let ident = format_ident!("{}ErrorResponse", pascal(&operation.id));
    let mut variants = Vec::new();
    let mut arms = Vec::new();
    for response in operation.errors() {
        let variant = crate::server::status_variant(response.status);
        let status = proc_macro2::Literal::u16_unsuffixed(response.status);
        let doc = format!(" `{}`: {}", response.status, response.description.trim());
        match &response.type_name {
            Some(type_name) => {
                let body = type_ident(type_name);
                variants.push(quote! { #[doc = #doc] #variant(#types::#body), });
                arms.push(quote! {
                    #status => serde_json::from_slice(&bytes)
                        .map(Self::#variant)
                        .map_err(|error| format!("invalid `{}` body: {error}", #status)),
                });
            }
            None => {
                variants.push(quote! { #[doc = #doc] #variant, });
                arms.push(quote! { #status => Ok(Self::#variant), });
            }
        }
    }
    let doc = format!(
        " The error responses of `{}`, decoded by status. The client returns them as `Error::UnexpectedResponse` because their bodies differ in type.",
        operation.id
    );
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, PartialEq)]
        pub enum #ident {
            #(#variants)*
        }

        impl #ident {
            /// Decodes a response by its status; fails for an undeclared
            /// status or a body that does not match the declared type.
            pub async fn from_response(response: reqwest::Response) -> Result<Self, String> {
                let status = response.status().as_u16();
                let bytes = response.bytes().await.map_err(|error| error.to_string())?;
                match status {
                    #(#arms)*
                    other => Err(format!("status {other} is not declared for this operation")),
                }
            }
        }
    }
}

/// Returns the traits a shared type implements, which progenitor needs to
/// know about for parameters.
fn impls(schema: &Value) -> Vec<TypeImpl> {
    let is_enum = schema.get("enum").is_some()
        && schema.get("type").and_then(Value::as_str) == Some("string");
    if is_enum {
        vec![TypeImpl::Display, TypeImpl::FromStr]
    } else {
        Vec::new()
    }
}

/// Emits `Credentials`, one setter per scheme, and the hook that attaches
/// the credential an operation accepts.
fn security(contract: &Contract, module: &syn::Path) -> TokenStream {
    let fields: Vec<_> = contract
        .schemes
        .iter()
        .map(|s| field_ident(&s.name))
        .collect();
    let setters = contract.schemes.iter().map(|scheme| {
        let field = field_ident(&scheme.name);
        let setter = format_ident!("with_{}", field.to_string().trim_start_matches("r#"));
        let doc = match &scheme.location {
            SchemeLocation::Header(header) => format!(
                " Sends `value` in the `{header}` header (scheme `{}`).",
                scheme.name
            ),
            SchemeLocation::Cookie(cookie) => format!(
                " Sends `value` as the `{cookie}` cookie (scheme `{}`).",
                scheme.name
            ),
            SchemeLocation::Bearer => format!(
                " Sends `Authorization: Bearer <value>` (scheme `{}`).",
                scheme.name
            ),
        };
        quote! {
            #[doc = #doc]
            ///
            /// Operations that accept this scheme carry it; operations that
            /// need no credential carry nothing.
            pub fn #setter(mut self, value: impl Into<String>) -> Self {
                self.inner.#field = Some(value.into());
                self
            }
        }
    });
    let operation_arms = contract.operations.iter().map(|operation| {
        // progenitor names operations in snake case in `OperationInfo`.
        let id = heck::ToSnakeCase::to_snake_case(operation.id.as_str());
        let schemes = operation.security.iter().map(|name| type_ident(name));
        quote! { #id => &[#(Scheme::#schemes),*], }
    });
    let scheme_variants: Vec<_> = contract
        .schemes
        .iter()
        .map(|s| type_ident(&s.name))
        .collect();
    let attach_arms = contract.schemes.iter().map(|scheme| {
        let variant = type_ident(&scheme.name);
        let field = field_ident(&scheme.name);
        let attach = match &scheme.location {
            SchemeLocation::Header(header) => {
                quote! { attach_header(request, #header, value.clone()) }
            }
            SchemeLocation::Cookie(cookie) => quote! { attach_cookie(request, #cookie, value) },
            SchemeLocation::Bearer => {
                quote! { attach_header(request, "authorization", format!("Bearer {value}")) }
            }
        };
        quote! {
            Scheme::#variant => {
                if let Some(value) = &self.inner.#field {
                    return #attach.map_err(Error::InvalidRequest);
                }
            }
        }
    });
    let enum_tokens = if scheme_variants.is_empty() {
        quote! {
            #[derive(Debug, Clone, Copy)]
            enum Scheme {}
        }
    } else {
        quote! {
            #[derive(Debug, Clone, Copy)]
            enum Scheme { #(#scheme_variants),* }
        }
    };
    let names: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
    let attach = if scheme_variants.is_empty() {
        quote! {
            let _ = (request, info);
        }
    } else {
        quote! {
            for scheme in accepted_schemes(info.operation_id) {
                match scheme {
                    #(#attach_arms)*
                }
            }
        }
    };
    quote! {
        /// The credentials a [`Client`] sends, one optional value per
        /// security scheme of the spec. Set them with the `with_*` methods
        /// of [`Client`].
        #[derive(Clone, Default)]
        pub struct Credentials {
            #( #fields: Option<String>, )*
        }

        impl std::fmt::Debug for Credentials {
            fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let mut debug = formatter.debug_struct("Credentials");
                #( debug.field(#names, &self.#fields.as_ref().map(|_| "<redacted>")); )*
                debug.finish()
            }
        }

        impl Client {
            #(#setters)*
        }

        #enum_tokens

        /// Returns the schemes an operation accepts, in the spec's order.
        fn accepted_schemes(operation_id: &str) -> &'static [Scheme] {
            match operation_id {
                #(#operation_arms)*
                _ => &[],
            }
        }

        impl ClientHooks<#module::Credentials> for Client {
            async fn pre<E>(
                &self,
                request: &mut reqwest::Request,
                info: &OperationInfo,
            ) -> Result<(), Error<E>> {
                #attach
                Ok(())
            }
        }

        #[allow(dead_code)]
        fn attach_header(request: &mut reqwest::Request, name: &'static str, value: String) -> Result<(), String> {
            let mut value = reqwest::header::HeaderValue::from_str(&value)
                .map_err(|_| format!("the credential for the `{name}` header is not a valid header value"))?;
            value.set_sensitive(true);
            request.headers_mut().insert(name, value);
            Ok(())
        }

        #[allow(dead_code)]
        fn attach_cookie(request: &mut reqwest::Request, name: &'static str, value: &str) -> Result<(), String> {
            if value.contains([';', ',', ' ', '"', '\\']) || value.chars().any(|c| c.is_control()) {
                return Err(format!("the credential for the `{name}` cookie contains a character that a cookie value cannot hold"));
            }
            attach_header(request, "cookie", format!("{name}={value}"))
        }
    }
}
