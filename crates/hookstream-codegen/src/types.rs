//! Emits the model types: one Rust type per component schema.
//!
//! Optional properties become `Option<T>`, skipped when `None`. Optional and
//! nullable ones become `Nullable<T>`, which keeps absent, `null` and a value
//! apart in both directions. Empty arrays are always sent.

use crate::error::{Error, SpecError};
use crate::model::Contract;
use crate::names::{field_ident, pascal, pointer, type_ident};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use serde_json::Value;

/// Emits the types file.
pub(crate) fn emit(contract: &Contract) -> Result<TokenStream, Error> {
    let mut emitter = TypeEmitter::default();
    for (name, schema) in contract.schemas() {
        let at = pointer("#/components/schemas", name);
        emitter.named(&pascal(name), schema, &at);
    }
    if !emitter.errors.is_empty() {
        return Err(Error::Spec(emitter.errors));
    }
    let items = emitter.items;
    let nullable = nullable_type();
    Ok(quote! {
        #nullable
        #(#items)*
    })
}

#[derive(Default)]
struct TypeEmitter {
    items: Vec<TokenStream>,
    errors: Vec<SpecError>,
}

impl TypeEmitter {
    /// Emits a named type for a schema: a struct, an enum or an alias.
    fn named(&mut self, name: &str, schema: &Value, at: &str) {
        let ident = type_ident(name);
        let doc = doc_attr(schema);
        if schema.get("oneOf").is_some() || schema.get("anyOf").is_some() {
            self.union(name, schema, at);
        } else if is_string_enum(schema) {
            self.string_enum(name, schema);
        } else if schema.get("type").and_then(Value::as_str) == Some("object")
            || schema.get("properties").is_some()
        {
            self.object(name, schema, at);
        } else {
            let target = self.rust_type(schema, name, at);
            self.items.push(quote! {
                #doc
                pub type #ident = #target;
            });
        }
    }

    fn object(&mut self, name: &str, schema: &Value, at: &str) {
        let properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if properties.is_empty() {
            let ident = type_ident(name);
            let doc = doc_attr(schema);
            let target = self.map_type(schema, name, at);
            self.items.push(quote! {
                #doc
                pub type #ident = #target;
            });
            return;
        }
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut fields = Vec::new();
        for (property, property_schema) in &properties {
            let property_at = pointer(&pointer(at, "properties"), property);
            let nested_name = format!("{name}{}", pascal(property));
            let value_type = self.rust_type(property_schema, &nested_name, &property_at);
            let nullable = is_nullable(property_schema);
            let is_required = required.contains(&property.as_str());
            // utoipa treats every `Option` as nullable and not required,
            // so the schema attribute states what the spec says instead.
            let mut schema_items = constraint_items(property_schema);
            let (field_type, serde_attr) = match (is_required, nullable) {
                (true, false) => (value_type, quote! {}),
                (true, true) => {
                    schema_items.push(quote! { required = true });
                    (quote! { Option<#value_type> }, quote! {})
                }
                (false, false) => {
                    schema_items.push(quote! { nullable = false });
                    (
                        quote! { Option<#value_type> },
                        quote! { #[serde(default, skip_serializing_if = "Option::is_none")] },
                    )
                }
                (false, true) => {
                    schema_items.push(quote! { value_type = Option<#value_type> });
                    (
                        quote! { Nullable<#value_type> },
                        quote! { #[serde(default, skip_serializing_if = "Nullable::is_absent")] },
                    )
                }
            };
            let schema_attr = if schema_items.is_empty() {
                quote! {}
            } else {
                quote! { #[schema(#(#schema_items),*)] }
            };
            let ident = field_ident(property);
            let rename = rename_attr(&ident, property);
            let doc = doc_attr(property_schema);
            fields.push(quote! {
                #doc
                #serde_attr
                #rename
                #schema_attr
                pub #ident: #field_type,
            });
        }
        let ident = type_ident(name);
        let doc = doc_attr(schema);
        let default = if required.is_empty() {
            quote! { Default, }
        } else {
            quote! {}
        };
        let deny_unknown = if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
            quote! { #[serde(deny_unknown_fields)] }
        } else {
            quote! {}
        };
        self.items.push(quote! {
            #doc
            #[derive(Debug, Clone, PartialEq, #default serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
            #deny_unknown
            pub struct #ident {
                #(#fields)*
            }
        });
    }

    fn string_enum(&mut self, name: &str, schema: &Value) {
        let ident = type_ident(name);
        let doc = doc_attr(schema);
        let values: Vec<String> = schema
            .get("enum")
            .and_then(Value::as_array)
            .map(|values| {
                values
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let variants: Vec<_> = values.iter().map(|value| type_ident(value)).collect();
        self.items.push(quote! {
            #doc
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
            pub enum #ident {
                #(
                    #[serde(rename = #values)]
                    #variants,
                )*
            }

            impl #ident {
                /// Returns the value as it appears on the wire.
                pub fn as_str(&self) -> &'static str {
                    match self {
                        #( Self::#variants => #values, )*
                    }
                }
            }

            impl std::fmt::Display for #ident {
                fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    formatter.write_str(self.as_str())
                }
            }

            impl std::str::FromStr for #ident {
                type Err = String;

                fn from_str(value: &str) -> Result<Self, Self::Err> {
                    match value {
                        #( #values => Ok(Self::#variants), )*
                        other => Err(format!("invalid value `{other}`")),
                    }
                }
            }
        });
    }

    /// Emits an untagged enum for `oneOf` or `anyOf`.
    fn union(&mut self, name: &str, schema: &Value, at: &str) {
        let keyword = if schema.get("oneOf").is_some() {
            "oneOf"
        } else {
            "anyOf"
        };
        let members = schema
            .get(keyword)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if members.is_empty() {
            self.errors.push(SpecError::new(
                pointer(at, keyword),
                format!("`{keyword}` needs at least one schema"),
            ));
            return;
        }
        let mut variants = Vec::new();
        let mut used = Vec::new();
        for (index, member) in members.iter().enumerate() {
            let member_at = pointer(&pointer(at, keyword), &index.to_string());
            let mut variant = variant_name(member);
            if used.contains(&variant) {
                variant = format!("{variant}{index}");
            }
            used.push(variant.clone());
            let nested_name = format!("{name}{variant}");
            let member_type = self.rust_type(member, &nested_name, &member_at);
            let variant = type_ident(&variant);
            variants.push(quote! { #variant(#member_type), });
        }
        let ident = type_ident(name);
        let doc = doc_attr(schema);
        self.items.push(quote! {
            #doc
            #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
            #[serde(untagged)]
            pub enum #ident {
                #(#variants)*
            }
        });
    }

    /// Returns the Rust type of a schema used in place, emitting a named
    /// type for inline objects, enums and unions.
    fn rust_type(&mut self, schema: &Value, context: &str, at: &str) -> TokenStream {
        if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
            return match target.strip_prefix("#/components/schemas/") {
                Some(name) => {
                    let ident = type_ident(name);
                    quote! { #ident }
                }
                None => {
                    self.errors.push(SpecError::new(
                        pointer(at, "$ref"),
                        format!(
                            "a schema must refer to `#/components/schemas/...`, not `{target}`"
                        ),
                    ));
                    quote! { serde_json::Value }
                }
            };
        }
        if let Some(all_of) = schema.get("allOf").and_then(Value::as_array) {
            if let [single] = all_of.as_slice() {
                return self.rust_type(single, context, &pointer(&pointer(at, "allOf"), "0"));
            }
            self.errors.push(SpecError::new(
                pointer(at, "allOf"),
                "`allOf` with more than one schema is not supported; merge the schemas into one object",
            ));
            return quote! { serde_json::Value };
        }
        let inline_named = schema.get("oneOf").is_some()
            || schema.get("anyOf").is_some()
            || is_string_enum(schema)
            || schema.get("properties").is_some();
        if inline_named {
            self.named(context, schema, at);
            let ident = type_ident(context);
            return quote! { #ident };
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("string") => quote! { String },
            Some("boolean") => quote! { bool },
            Some("number") => quote! { f64 },
            Some("integer") => match schema.get("format").and_then(Value::as_str) {
                Some("int32") => quote! { i32 },
                _ => quote! { i64 },
            },
            Some("array") => {
                let items_at = pointer(at, "items");
                let Some(items) = schema.get("items") else {
                    self.errors
                        .push(SpecError::new(at, "an array schema needs `items`"));
                    return quote! { Vec<serde_json::Value> };
                };
                let item_type = self.rust_type(items, &format!("{context}Item"), &items_at);
                quote! { Vec<#item_type> }
            }
            Some("object") => self.map_type(schema, context, at),
            Some(other) => {
                self.errors.push(SpecError::new(
                    pointer(at, "type"),
                    format!("unknown schema type `{other}`"),
                ));
                quote! { serde_json::Value }
            }
            None => quote! { serde_json::Value },
        }
    }

    fn map_type(&mut self, schema: &Value, context: &str, at: &str) -> TokenStream {
        match schema.get("additionalProperties") {
            Some(Value::Object(values)) if !values.is_empty() => {
                let value_schema = Value::Object(values.clone());
                let value_type = self.rust_type(
                    &value_schema,
                    &format!("{context}Value"),
                    &pointer(at, "additionalProperties"),
                );
                quote! { std::collections::BTreeMap<String, #value_type> }
            }
            _ => quote! { serde_json::Map<String, serde_json::Value> },
        }
    }
}

/// Returns true when a component becomes a struct or an enum, which can
/// describe itself with utoipa, and false when it becomes a type alias.
pub(crate) fn is_named_type(schema: &Value) -> bool {
    schema.get("oneOf").is_some()
        || schema.get("anyOf").is_some()
        || is_string_enum(schema)
        || schema
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|properties| !properties.is_empty())
}

/// Returns utoipa `#[schema]` items for the validation keywords of a
/// property schema that is not a `$ref`.
fn constraint_items(schema: &Value) -> Vec<TokenStream> {
    let mut items = Vec::new();
    if schema.get("$ref").is_some() {
        return items;
    }
    for (keyword, feature) in [
        ("maxLength", "max_length"),
        ("minLength", "min_length"),
        ("maxItems", "max_items"),
        ("minItems", "min_items"),
    ] {
        if let Some(limit) = schema.get(keyword).and_then(Value::as_u64) {
            let feature = format_ident!("{feature}");
            let limit = Literal::u64_unsuffixed(limit);
            items.push(quote! { #feature = #limit });
        }
    }
    for keyword in ["maximum", "minimum"] {
        if let Some(limit) = schema.get(keyword).and_then(Value::as_f64) {
            let feature = format_ident!("{keyword}");
            let limit = Literal::f64_unsuffixed(limit);
            items.push(quote! { #feature = #limit });
        }
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
        items.push(quote! { pattern = #pattern });
    }
    // utoipa derives integer and number formats from the Rust type; these
    // string formats have no Rust type of their own.
    let format = match schema.get("format").and_then(Value::as_str) {
        Some("date-time") => Some(quote! { DateTime }),
        Some("date") => Some(quote! { Date }),
        Some("time") => Some(quote! { Time }),
        Some("duration") => Some(quote! { Duration }),
        Some("password") => Some(quote! { Password }),
        Some("byte") => Some(quote! { Byte }),
        Some("binary") => Some(quote! { Binary }),
        _ => None,
    };
    if let Some(format) = format {
        items.push(quote! { format = #format });
    }
    items
}

fn is_string_enum(schema: &Value) -> bool {
    schema.get("enum").is_some() && schema.get("type").and_then(Value::as_str) == Some("string")
}

fn is_nullable(schema: &Value) -> bool {
    schema.get("nullable").and_then(Value::as_bool) == Some(true)
}

fn variant_name(member: &Value) -> String {
    if let Some(target) = member.get("$ref").and_then(Value::as_str) {
        return pascal(target.rsplit('/').next().unwrap_or("Value"));
    }
    match member.get("type").and_then(Value::as_str) {
        Some("string") => "String".into(),
        Some("number") => "Number".into(),
        Some("integer") => "Integer".into(),
        Some("boolean") => "Boolean".into(),
        Some("array") => "Array".into(),
        Some("object") => "Object".into(),
        _ => "Value".into(),
    }
}

fn doc_attr(schema: &Value) -> TokenStream {
    let text = schema
        .get("description")
        .or_else(|| schema.get("title"))
        .and_then(Value::as_str)
        .map(str::trim);
    match text {
        Some(text) if !text.is_empty() => {
            let lines = text.lines().map(|line| format!(" {line}"));
            quote! { #( #[doc = #lines] )* }
        }
        _ => quote! {},
    }
}

fn rename_attr(ident: &proc_macro2::Ident, wire_name: &str) -> TokenStream {
    let rust_name = ident.to_string();
    let rust_name = rust_name.strip_prefix("r#").unwrap_or(&rust_name);
    if rust_name == wire_name {
        quote! {}
    } else {
        quote! { #[serde(rename = #wire_name)] }
    }
}

/// Returns the `Nullable` type that optional, nullable properties use.
fn nullable_type() -> TokenStream {
    let value = format_ident!("Value");
    quote! {
        /// The state of an optional, nullable property: absent, `null`, or a
        /// value.
        ///
        /// Fields of this type carry `#[serde(default, skip_serializing_if =
        /// "Nullable::is_absent")]`, so an absent property is omitted on the
        /// wire and decoded as [`Nullable::Absent`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub enum Nullable<T> {
            /// The property is not in the object.
            #[default]
            Absent,
            /// The property is `null`.
            Null,
            /// The property has a value.
            #value(T),
        }

        impl<T> Nullable<T> {
            /// Returns true when the property is not in the object.
            pub fn is_absent(&self) -> bool {
                matches!(self, Self::Absent)
            }

            /// Returns the value, if there is one.
            pub fn as_value(&self) -> Option<&T> {
                match self {
                    Self::Value(value) => Some(value),
                    _ => None,
                }
            }

            /// Returns `None` when absent, `Some(None)` for `null` and
            /// `Some(Some(value))` for a value.
            pub fn into_option(self) -> Option<Option<T>> {
                match self {
                    Self::Absent => None,
                    Self::Null => Some(None),
                    Self::Value(value) => Some(Some(value)),
                }
            }
        }

        impl<T> From<Option<T>> for Nullable<T> {
            fn from(value: Option<T>) -> Self {
                match value {
                    Some(value) => Self::Value(value),
                    None => Self::Null,
                }
            }
        }

        impl<T: serde::Serialize> serde::Serialize for Nullable<T> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    Self::Value(value) => serializer.serialize_some(value),
                    Self::Absent | Self::Null => serializer.serialize_none(),
                }
            }
        }

        impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Nullable<T> {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Option::<T>::deserialize(deserializer).map(Self::from)
            }
        }
    }
}
