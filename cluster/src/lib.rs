//! Node coordination for Keystone.
//!
//! A single node coordinates in-process; a cluster coordinates through Redis. This crate knows
//! nothing of Keystone's domain.

mod redis_link;

pub use redis_link::{ping_redis, redis_url};
