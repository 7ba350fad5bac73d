//! The server side of the hookstream contract, generated from
//! `openapi/hookstream.yaml`.
//!
//! Implement [`HookstreamApi`] and serve [`router`]: the router extracts
//! credentials and parameters, validates the request against the spec's
//! schemas and calls the trait only with valid input. Everything it rejects
//! goes to the operation's `*_rejected` method, which picks the declared
//! response.

// Laid out by prettyplease, the generator's formatter; rustfmt skips it.
#[rustfmt::skip]
mod generated;

pub use generated::*;
pub use hookstream_runtime as runtime;
pub use hookstream_types as types;
