//! Keystone's HTTP API and command line.

pub mod api;
pub mod auth;
pub mod cli;
pub mod commands;
pub mod control;
pub mod error;
pub mod health;
pub mod http;
pub mod json;
pub mod metrics;
pub mod openapi;
pub mod router;
pub mod server;
pub mod state;
pub mod throttle;
