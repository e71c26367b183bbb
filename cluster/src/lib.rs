//! Node coordination for Keystone.
//!
//! [`Coordinator`] is the one interface: node heartbeats, the leader lease with a fencing epoch,
//! the job queue, sliding-window throttling and a shared cache. A single node coordinates
//! in-process with [`LocalCoordinator`], and a cluster coordinates through Redis with
//! [`RedisCoordinator`]. Both keep the same semantics, and callers hold an
//! `Arc<dyn Coordinator>`. This crate contains nothing of Keystone's domain: job payloads and
//! results are opaque bytes.

mod coordinator;
mod error;
mod local;
mod redis_coordinator;
mod redis_link;
mod redis_scripts;

pub use coordinator::{
    ClaimToken, ClaimedJob, Coordinator, EnqueueOutcome, FailOutcome, JobId, JobRecord, JobState, Lease, LockToken, NewJob, NodeInfo,
    QueueDepth, ReclaimedJob, ThrottleDecision, JOB_RETENTION, TICK_RETENTION,
};
pub use error::{CoordinationError, CoordinationResult};
pub use local::LocalCoordinator;
pub use redis_coordinator::RedisCoordinator;
pub use redis_link::{ping_redis, redis_url, RedisPoolOptions};
