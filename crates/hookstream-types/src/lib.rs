//! Model types of the hookstream API, shared by the server contract
//! (`hookstream-api`) and the client (`hookstream-client`).
//!
//! Everything here is generated from `openapi/hookstream.yaml` by
//! `cargo xtask codegen`; see [`Nullable`] for how optional, nullable
//! properties keep absent and `null` apart.

mod generated;

pub use generated::*;
