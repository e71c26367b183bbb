//! Support for black-box tests: start real `keystone` processes on a fresh SQLite file or a
//! fresh PostgreSQL database, talk to them over HTTP, and clean up afterwards.

mod client;
mod database;
mod server;

pub use client::{Client, Response};
pub use database::{Backend, TestDatabase};
pub use server::{keystone_binary, TestServer, TestServerBuilder};

/// Both backends, for tests that must pass on each.
pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];
