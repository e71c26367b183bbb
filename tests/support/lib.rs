//! Support for black-box tests: start real `keystone` processes on a fresh SQLite file or a
//! fresh PostgreSQL database, talk to them over HTTP, and clean up afterwards.

mod client;
mod cluster;
mod database;
mod process;
mod server;
mod users_fixtures;

pub use client::{mask_csrf_secret, raw_request, Client, RawResponse, Response, CSRF_ALPHABET};
pub use cluster::{metric_total, wait_until, ClusterNode, PrivateRedis, RedisMode, TestCluster, TestClusterBuilder, SHARED_REDIS_PORT};
pub use database::{Backend, TestDatabase};
pub use process::{free_port, run_keystone, KeystoneProcess, COMMAND_TIMEOUT, START_TIMEOUT};
pub use server::{keystone_binary, query_count, TestServer, TestServerBuilder, TEST_SECRET_KEY};
pub use users_fixtures::{
    api_token, count_rows, fixture_password_hash, insert_user, insert_user_with, send_request, set_date_joined, text_rows, token_client,
    FIXTURE_PASSWORD, REQUEST_TIMEOUT,
};

/// Both backends, for tests that must pass on each.
pub const BACKENDS: [Backend; 2] = [Backend::Sqlite, Backend::Postgres];
