//! The hookstream reference server: the generated contract implemented on
//! an embedded SQLite database.
//!
//! [`app`] builds the axum application and [`serve`] runs it until a
//! shutdown signal; the `hookstream-server` binary wraps both with a
//! command line. Tests start the same server on an ephemeral port.

mod app;
pub mod rules;
mod service;
pub mod store;
pub mod transform;

pub use app::{app, serve, shutdown_signal};
pub use service::ReferenceApi;
