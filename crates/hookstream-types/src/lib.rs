//! Model types of the hookstream API, shared by the server contract
//! (`hookstream-api`) and the client (`hookstream-client`).
//!
//! Everything here is generated from `openapi/hookstream.yaml` by
//! `cargo xtask codegen`; see [`Nullable`] for how optional, nullable
//! properties keep absent and `null` apart.

// Laid out by prettyplease, the generator's formatter; rustfmt skips it.
#[rustfmt::skip]
mod generated;

pub use generated::*;
