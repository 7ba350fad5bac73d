//! The contract: what the generator reads from an OpenAPI document.
//!
//! Parsing checks everything the emitters and progenitor rely on and reports
//! each problem with the JSON pointer of the offending value. It also hoists
//! inline request and response schemas into `components/schemas`, so that
//! every body has a named type that server and client share.

use crate::error::{Error, SpecError};
use crate::names::{pascal, pointer};
use serde_json::{Map, Value};

/// HTTP methods in the order the generator visits them on one path.
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// A parsed and checked OpenAPI document.
#[derive(Debug, Clone)]
pub struct Contract {
    /// The document as written.
    pub(crate) source: Value,
    /// The document after inline body schemas were moved to components.
    pub(crate) document: Value,
    /// `info.title`.
    pub title: String,
    /// The path of the first server URL, such as `/v1`, or empty.
    pub base_path: String,
    /// Security schemes, in document order.
    pub schemes: Vec<Scheme>,
    /// Operations, in document order of paths and a fixed method order.
    pub operations: Vec<Operation>,
}

/// A security scheme the generator supports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheme {
    /// The key under `components/securitySchemes`.
    pub name: String,
    /// The location of the credential.
    pub location: SchemeLocation,
}

/// The location of a credential in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemeLocation {
    /// An API key in the named header.
    Header(String),
    /// An API key in the named cookie.
    Cookie(String),
    /// `Authorization: Bearer <token>`.
    Bearer,
}

/// One operation of the document.
#[derive(Debug, Clone)]
pub struct Operation {
    /// `operationId`, as written.
    pub id: String,
    /// Lower-case HTTP method.
    pub method: String,
    /// The path template, without the base path.
    pub path: String,
    /// `summary`, or empty.
    pub summary: String,
    /// Path, query and header parameters, in document order.
    pub parameters: Vec<Parameter>,
    /// The JSON request body, if any.
    pub body: Option<Body>,
    /// Declared responses, by ascending status.
    pub responses: Vec<Response>,
    /// Names of the security schemes, any one of which authenticates a
    /// request; empty when the operation needs no credential.
    pub security: Vec<String>,
    /// The JSON pointer of the operation.
    pub pointer: String,
}

/// The location of a parameter in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParameterLocation {
    /// A segment of the path.
    Path,
    /// The query string.
    Query,
    /// A request header.
    Header,
}

/// A parameter of an operation.
#[derive(Debug, Clone)]
pub struct Parameter {
    /// The name on the wire.
    pub name: String,
    /// Its location in the request.
    pub location: ParameterLocation,
    /// Whether a request must carry it.
    pub required: bool,
    /// `description`, or empty.
    pub description: String,
    /// Its schema, with `$ref`s left in place.
    pub schema: Value,
}

/// A JSON request body.
#[derive(Debug, Clone)]
pub struct Body {
    /// The component schema that describes it.
    pub type_name: String,
    /// Whether the body must be present.
    pub required: bool,
}

/// A declared response.
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// `description`.
    pub description: String,
    /// The component schema of its JSON body, or `None` without a body.
    pub type_name: Option<String>,
}

impl Operation {
    /// Returns the declared error responses (4xx and 5xx).
    pub(crate) fn errors(&self) -> impl Iterator<Item = &Response> {
        self.responses
            .iter()
            .filter(|response| response.status >= 400)
    }

    /// Returns true when the error responses carry more than one body type,
    /// which progenitor cannot express.
    pub(crate) fn has_mixed_errors(&self) -> bool {
        let mut kinds = self.errors().map(|response| &response.type_name);
        match kinds.next() {
            Some(first) => kinds.any(|kind| kind != first),
            None => false,
        }
    }
}

impl Contract {
    /// Parses and checks a document given as YAML or JSON text.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let yaml: serde_yaml::Value =
            serde_yaml::from_str(text).map_err(|error| Error::Parse(error.to_string()))?;
        let document = yaml_to_json(yaml).map_err(Error::Parse)?;
        if !document.is_object() {
            return Err(Error::Parse(
                "the document must be a mapping at the top level".into(),
            ));
        }
        let mut parser = Parser {
            document: document.clone(),
            errors: Vec::new(),
        };
        let mut contract = parser.contract();
        contract.source = document;
        if parser.errors.is_empty() {
            Ok(contract)
        } else {
            Err(Error::Spec(parser.errors))
        }
    }

    /// Returns the named component schema.
    pub(crate) fn schema(&self, name: &str) -> Option<&Value> {
        self.document
            .pointer("/components/schemas")
            .and_then(|schemas| schemas.get(name))
    }

    /// Returns the component schemas, in document order.
    pub(crate) fn schemas(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.document
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
    }

    /// Returns the scheme of that name.
    pub(crate) fn scheme(&self, name: &str) -> Option<&Scheme> {
        self.schemes.iter().find(|scheme| scheme.name == name)
    }
}

struct Parser {
    document: Value,
    errors: Vec<SpecError>,
}

impl Parser {
    fn fail(&mut self, pointer: impl Into<String>, message: impl Into<String>) {
        self.errors.push(SpecError::new(pointer, message));
    }

    fn contract(&mut self) -> Contract {
        self.check_version();
        self.check_refs(&self.document.clone(), "#".to_string());
        let title = self.string_at("/info/title").unwrap_or_default();
        let base_path = self.base_path();
        let schemes = self.schemes();
        let global_security = self.document.get("security").cloned();
        let mut operations = Vec::new();
        let paths = self
            .document
            .get("paths")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if paths.is_empty() {
            self.fail("#/paths", "the document declares no paths");
        }
        for (path, item) in &paths {
            let item_pointer = pointer("#/paths", path);
            for method in METHODS {
                if let Some(operation) = item.get(*method) {
                    let op_pointer = pointer(&item_pointer, method);
                    if let Some(op) = self.operation(
                        path,
                        method,
                        item,
                        operation,
                        &op_pointer,
                        global_security.as_ref(),
                        &schemes,
                    ) {
                        operations.push(op);
                    }
                }
            }
        }
        self.check_unique_ids(&operations);
        Contract {
            source: Value::Null,
            document: self.document.clone(),
            title,
            base_path,
            schemes,
            operations,
        }
    }

    fn string_at(&self, path: &str) -> Option<String> {
        self.document
            .pointer(path)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    fn check_version(&mut self) {
        match self.string_at("/openapi") {
            Some(version) if version.starts_with("3.0.") => {}
            Some(version) => self.fail(
                "#/openapi",
                format!(
                    "OpenAPI {version} is not supported: progenitor reads only 3.0.x documents"
                ),
            ),
            None => self.fail(
                "#/openapi",
                "missing `openapi` version; write `openapi: 3.0.3`",
            ),
        }
    }

    /// Reports every `$ref` that does not resolve inside the document.
    fn check_refs(&mut self, value: &Value, at: String) {
        match value {
            Value::Object(map) => {
                if let Some(reference) = map.get("$ref") {
                    let ref_pointer = pointer(&at, "$ref");
                    match reference.as_str() {
                        Some(target) if target.starts_with("#/") => {
                            if self.document.pointer(&target[1..]).is_none() {
                                self.fail(ref_pointer, format!("unknown reference `{target}`"));
                            }
                        }
                        Some(target) => self.fail(
                            ref_pointer,
                            format!("external reference `{target}` is not supported; move the schema into this document"),
                        ),
                        None => self.fail(ref_pointer, "`$ref` must be a string"),
                    }
                }
                for (key, child) in map {
                    self.check_refs(child, pointer(&at, key));
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    self.check_refs(child, pointer(&at, &index.to_string()));
                }
            }
            _ => {}
        }
    }

    fn base_path(&mut self) -> String {
        let Some(url) = self.string_at("/servers/0/url") else {
            return String::new();
        };
        let without_scheme = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
        let path = without_scheme
            .find('/')
            .map_or("", |index| &without_scheme[index..]);
        path.trim_end_matches('/').to_string()
    }

    fn schemes(&mut self) -> Vec<Scheme> {
        let Some(map) = self
            .document
            .pointer("/components/securitySchemes")
            .and_then(Value::as_object)
            .cloned()
        else {
            return Vec::new();
        };
        let mut schemes = Vec::new();
        for (name, scheme) in &map {
            let at = pointer("#/components/securitySchemes", name);
            let kind = scheme.get("type").and_then(Value::as_str).unwrap_or("");
            let location = match kind {
                "apiKey" => {
                    let key_name = scheme.get("name").and_then(Value::as_str).unwrap_or("");
                    if key_name.is_empty() {
                        self.fail(pointer(&at, "name"), "an apiKey scheme needs a `name`");
                        continue;
                    }
                    match scheme.get("in").and_then(Value::as_str) {
                        Some("header") => SchemeLocation::Header(key_name.to_string()),
                        Some("cookie") => SchemeLocation::Cookie(key_name.to_string()),
                        other => {
                            self.fail(
                                pointer(&at, "in"),
                                format!(
                                    "apiKey `in: {}` is not supported; use `header` or `cookie`",
                                    other.unwrap_or("")
                                ),
                            );
                            continue;
                        }
                    }
                }
                "http" => match scheme.get("scheme").and_then(Value::as_str) {
                    Some(http) if http.eq_ignore_ascii_case("bearer") => SchemeLocation::Bearer,
                    other => {
                        self.fail(
                            pointer(&at, "scheme"),
                            format!(
                                "HTTP scheme `{}` is not supported; use `bearer`",
                                other.unwrap_or("")
                            ),
                        );
                        continue;
                    }
                },
                other => {
                    self.fail(
                        pointer(&at, "type"),
                        format!("security scheme type `{other}` is not supported; use `apiKey` or `http` with `bearer`"),
                    );
                    continue;
                }
            };
            schemes.push(Scheme {
                name: name.clone(),
                location,
            });
        }
        schemes
    }

    #[allow(clippy::too_many_arguments)]
    fn operation(
        &mut self,
        path: &str,
        method: &str,
        item: &Value,
        operation: &Value,
        at: &str,
        global_security: Option<&Value>,
        schemes: &[Scheme],
    ) -> Option<Operation> {
        let Some(id) = operation.get("operationId").and_then(Value::as_str) else {
            self.fail(
                at,
                "missing `operationId`; every operation needs one to name its method",
            );
            return None;
        };
        let id = id.to_string();
        let summary = operation
            .get("summary")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let parameters = self.parameters(path, item, operation, at);
        let body = self.body(&id, operation, at);
        let responses = self.responses(&id, operation, at);
        let security = match operation.get("security") {
            Some(security) => self.security(security, &pointer(at, "security"), schemes),
            None => match global_security {
                Some(security) => self.security(security, "#/security", schemes),
                None => Vec::new(),
            },
        };
        Some(Operation {
            id,
            method: method.to_string(),
            path: path.to_string(),
            summary,
            parameters,
            body,
            responses,
            security,
            pointer: at.to_string(),
        })
    }

    fn resolve(&self, value: &Value) -> Value {
        let mut current = value.clone();
        for _ in 0..16 {
            match current.get("$ref").and_then(Value::as_str) {
                Some(target) if target.starts_with("#/") => {
                    match self.document.pointer(&target[1..]) {
                        Some(next) => current = next.clone(),
                        None => break,
                    }
                }
                _ => break,
            }
        }
        current
    }

    fn parameters(
        &mut self,
        path: &str,
        item: &Value,
        operation: &Value,
        at: &str,
    ) -> Vec<Parameter> {
        let mut parameters: Vec<Parameter> = Vec::new();
        let shared = item
            .get("parameters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let own = operation
            .get("parameters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut entries: Vec<(String, Value)> = Vec::new();
        let item_at = at
            .rsplit_once('/')
            .map_or(at, |(parent, _)| parent)
            .to_string();
        for (index, raw) in shared.iter().enumerate() {
            entries.push((
                pointer(&pointer(&item_at, "parameters"), &index.to_string()),
                raw.clone(),
            ));
        }
        for (index, raw) in own.iter().enumerate() {
            entries.push((
                pointer(&pointer(at, "parameters"), &index.to_string()),
                raw.clone(),
            ));
        }
        for (param_at, raw) in entries {
            let resolved = self.resolve(&raw);
            let name = resolved
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let location = match resolved.get("in").and_then(Value::as_str) {
                Some("path") => ParameterLocation::Path,
                Some("query") => ParameterLocation::Query,
                Some("header") => ParameterLocation::Header,
                Some("cookie") => {
                    self.fail(
                        param_at,
                        format!("cookie parameter `{name}` is not supported (progenitor rejects cookie parameters); carry credentials with an apiKey security scheme `in: cookie`"),
                    );
                    continue;
                }
                other => {
                    self.fail(
                        param_at,
                        format!("parameter location `{}` is not valid", other.unwrap_or("")),
                    );
                    continue;
                }
            };
            let Some(schema) = resolved.get("schema").cloned() else {
                self.fail(param_at, format!("parameter `{name}` needs a `schema`"));
                continue;
            };
            let required = resolved
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if location == ParameterLocation::Path && !required {
                self.fail(
                    param_at.clone(),
                    format!("path parameter `{name}` must have `required: true`"),
                );
            }
            let description = resolved
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            // An operation's own parameter replaces a path-level one of the same name and location.
            parameters.retain(|p| !(p.name == name && p.location == location));
            parameters.push(Parameter {
                name,
                location,
                required,
                description,
                schema,
            });
        }
        for segment in path.split('/') {
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                let declared = parameters
                    .iter()
                    .any(|p| p.name == name && p.location == ParameterLocation::Path);
                if !declared {
                    self.fail(at, format!("path template names `{{{name}}}` but no path parameter `{name}` is declared"));
                }
            }
        }
        parameters
    }

    fn body(&mut self, id: &str, operation: &Value, at: &str) -> Option<Body> {
        let raw = operation.get("requestBody")?;
        let body_at = pointer(at, "requestBody");
        let resolved = self.resolve(raw);
        let required = resolved
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if !required {
            // progenitor 0.15 always requires a body in its builder, so an
            // optional body would make the client stricter than the server.
            self.fail(
                body_at.clone(),
                "an optional request body is not supported, because the progenitor client always sends one; set `required: true`",
            );
        }
        let content = resolved
            .get("content")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for media in content.keys() {
            if media != "application/json" {
                self.fail(
                    pointer(&pointer(&body_at, "content"), media),
                    format!(
                        "request media type `{media}` is not supported; use `application/json`"
                    ),
                );
            }
        }
        let schema_at = pointer(
            &pointer(&pointer(&body_at, "content"), "application/json"),
            "schema",
        );
        let Some(schema) = content
            .get("application/json")
            .and_then(|m| m.get("schema"))
            .cloned()
        else {
            self.fail(schema_at, "a JSON request body needs a schema");
            return None;
        };
        let type_name = self.named_type(&schema, &format!("{}Body", pascal(id)), &schema_at)?;
        Some(Body {
            type_name,
            required,
        })
    }

    fn responses(&mut self, id: &str, operation: &Value, at: &str) -> Vec<Response> {
        let responses_at = pointer(at, "responses");
        let Some(map) = operation
            .get("responses")
            .and_then(Value::as_object)
            .cloned()
        else {
            self.fail(responses_at, "an operation needs `responses`");
            return Vec::new();
        };
        let mut responses = Vec::new();
        for (status_text, raw) in &map {
            let response_at = pointer(&responses_at, status_text);
            let status = match status_text.parse::<u16>() {
                Ok(status) if (100..600).contains(&status) => status,
                _ => {
                    self.fail(
                        response_at,
                        format!("response `{status_text}` is not supported; declare each status as a number such as `200` or `404`"),
                    );
                    continue;
                }
            };
            let resolved = self.resolve(raw);
            let description = resolved
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let content = resolved
                .get("content")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let mut type_name = None;
            for (media, media_value) in &content {
                let media_at = pointer(&pointer(&response_at, "content"), media);
                if media != "application/json" {
                    self.fail(
                        media_at,
                        format!(
                            "response media type `{media}` is not supported; use `application/json`"
                        ),
                    );
                    continue;
                }
                let Some(schema) = media_value.get("schema") else {
                    self.fail(
                        media_at,
                        "a JSON response needs a schema (progenitor panics without one)",
                    );
                    continue;
                };
                let fallback = format!("{}{}Response", pascal(id), status);
                type_name = self.named_type(schema, &fallback, &pointer(&media_at, "schema"));
            }
            responses.push(Response {
                status,
                description,
                type_name,
            });
        }
        responses.sort_by_key(|r| r.status);
        self.check_response_types(&responses, &responses_at);
        responses
    }

    /// Checks what progenitor asserts for success statuses: they share one
    /// body type. Error statuses may differ; the client emitter adapts them.
    fn check_response_types(&mut self, responses: &[Response], at: &str) {
        for response in responses {
            if !(200..300).contains(&response.status) && response.status < 400 {
                self.fail(
                    pointer(at, &response.status.to_string()),
                    format!(
                        "status `{}` is not supported; declare 2xx, 4xx and 5xx statuses only",
                        response.status
                    ),
                );
            }
        }
        let successes: Vec<&Response> = responses
            .iter()
            .filter(|r| (200..300).contains(&r.status))
            .collect();
        if successes.is_empty() {
            self.fail(at, "an operation needs at least one 2xx response");
        }
        if let Some(first) = successes.first() {
            for other in &successes[1..] {
                if other.type_name != first.type_name {
                    self.fail(
                        pointer(at, &other.status.to_string()),
                        format!(
                            "success responses must share one body type, because progenitor panics otherwise: `{}` has {} but `{}` has {}",
                            other.status,
                            describe(&other.type_name),
                            first.status,
                            describe(&first.type_name),
                        ),
                    );
                }
            }
        }
    }

    /// Returns the component name of a body schema, moving an inline schema
    /// into `components/schemas` under `fallback`.
    fn named_type(&mut self, schema: &Value, fallback: &str, at: &str) -> Option<String> {
        if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
            return match target.strip_prefix("#/components/schemas/") {
                Some(name) if !name.contains('/') => {
                    Some(name.replace("~1", "/").replace("~0", "~"))
                }
                _ => {
                    self.fail(
                        pointer(at, "$ref"),
                        format!("a body must refer to `#/components/schemas/...`, not `{target}`"),
                    );
                    None
                }
            };
        }
        let components = self
            .document
            .as_object_mut()
            .expect("a parsed document is an object")
            .entry("components")
            .or_insert_with(|| Value::Object(Map::new()));
        let Some(components) = components.as_object_mut() else {
            self.fail("#/components", "`components` must be an object");
            return None;
        };
        let schemas = components
            .entry("schemas")
            .or_insert_with(|| Value::Object(Map::new()));
        let Some(schemas) = schemas.as_object_mut() else {
            self.fail(
                "#/components/schemas",
                "`components/schemas` must be an object",
            );
            return None;
        };
        if schemas.contains_key(fallback) {
            self.fail(at, format!("cannot name this inline schema `{fallback}` because a component of that name exists; move it into `components/schemas`"));
            return None;
        }
        schemas.insert(fallback.to_string(), schema.clone());
        // Point the body at the new component, so progenitor uses the
        // shared type instead of generating its own copy.
        let reference = serde_json::json!({ "$ref": format!("#/components/schemas/{fallback}") });
        if let Some(slot) = self.document.pointer_mut(at.trim_start_matches('#')) {
            *slot = reference;
        }
        Some(fallback.to_string())
    }

    fn security(&mut self, security: &Value, at: &str, schemes: &[Scheme]) -> Vec<String> {
        let Some(requirements) = security.as_array() else {
            self.fail(at, "`security` must be a list of requirements");
            return Vec::new();
        };
        let mut names = Vec::new();
        for (index, requirement) in requirements.iter().enumerate() {
            let requirement_at = pointer(at, &index.to_string());
            let Some(map) = requirement.as_object() else {
                self.fail(requirement_at, "a security requirement must be an object");
                continue;
            };
            match map.len() {
                0 => {
                    self.fail(requirement_at, "an empty requirement `{}` (optional credentials) is not supported; use `security: []` for none")
                }
                1 => {
                    let name = map.keys().next().cloned().unwrap_or_default();
                    if schemes.iter().any(|scheme| scheme.name == name) {
                        names.push(name);
                    } else {
                        self.fail(pointer(&requirement_at, &name), format!("unknown security scheme `{name}`"));
                    }
                }
                _ => self.fail(
                    requirement_at,
                    "a requirement that combines several schemes (AND) is not supported; list them as alternatives",
                ),
            }
        }
        names
    }

    fn check_unique_ids(&mut self, operations: &[Operation]) {
        let mut seen = std::collections::BTreeMap::new();
        for operation in operations {
            let key = heck::ToSnakeCase::to_snake_case(operation.id.as_str());
            if let Some(first) = seen.insert(key.clone(), operation.pointer.clone()) {
                self.fail(
                    pointer(&operation.pointer, "operationId"),
                    format!(
                        "operationId `{}` gives the method name `{key}`, already used by {first}",
                        operation.id
                    ),
                );
            }
        }
    }
}

fn describe(type_name: &Option<String>) -> String {
    match type_name {
        Some(name) => format!("`{name}`"),
        None => "no body".to_string(),
    }
}

/// Converts YAML to JSON, turning scalar keys such as `200:` into strings.
fn yaml_to_json(value: serde_yaml::Value) -> Result<Value, String> {
    use serde_yaml::Value as Yaml;
    Ok(match value {
        Yaml::Null => Value::Null,
        Yaml::Bool(flag) => Value::Bool(flag),
        Yaml::Number(number) => serde_json::to_value(&number).map_err(|error| error.to_string())?,
        Yaml::String(text) => Value::String(text),
        Yaml::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(yaml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Mapping(mapping) => {
            let mut map = Map::new();
            for (key, item) in mapping {
                let key = match key {
                    Yaml::String(text) => text,
                    Yaml::Number(number) => number.to_string(),
                    Yaml::Bool(flag) => flag.to_string(),
                    other => return Err(format!("unsupported mapping key {other:?}")),
                };
                map.insert(key, yaml_to_json(item)?);
            }
            Value::Object(map)
        }
        Yaml::Tagged(tagged) => yaml_to_json(tagged.value)?,
    })
}
