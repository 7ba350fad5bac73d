//! Generates Rust bindings from an OpenAPI 3.0 document.
//!
//! One call to [`generate`] reads the document and returns three formatted
//! files: the shared model types, the server contract (an axum trait and
//! router) and the progenitor client. The `xtask` binary decides where they
//! go; tests call [`generate`] directly on fixture documents.

mod client;
mod error;
mod format;
mod jsonschema_export;
mod model;
mod names;
mod server;
pub mod surface;
mod types;

pub use error::{Error, SpecError};
pub use format::header;
pub use model::Contract;

/// The paths by which generated code refers to other crates.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The command that regenerates the files, named in their header.
    pub command: String,
    /// The path of the spec, as the header names it.
    pub source: String,
    /// The Rust path of the crate that contains the generated model types.
    pub types_crate: String,
    /// The Rust path of the server runtime crate.
    pub runtime_crate: String,
    /// The Rust path of the module that contains the generated client, such as
    /// `crate` when the client file is a crate's root module.
    pub client_module: String,
}

/// The generated files, formatted and with their header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// Model types shared by server and client.
    pub types: String,
    /// The server trait, response enums, validators and the axum router.
    pub server: String,
    /// The progenitor client and its credential handling.
    pub client: String,
}

/// Generates all three files from the text of an OpenAPI document (YAML or
/// JSON).
pub fn generate(spec_text: &str, settings: &Settings) -> Result<Generated, Error> {
    let contract = Contract::parse(spec_text)?;
    generate_from(&contract, settings)
}

/// Generates all three files from a contract that is already parsed.
pub fn generate_from(contract: &Contract, settings: &Settings) -> Result<Generated, Error> {
    let types = types::emit(contract)?;
    let server = server::emit(contract, settings)?;
    let client = client::emit(contract, settings)?;
    Ok(Generated {
        types: format::finish(types, settings)?,
        server: format::finish(server, settings)?,
        client: format::finish(client, settings)?,
    })
}
