//! The `Coordinator` trait and the values it takes and returns.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::CoordinationResult;

/// How long a finished (succeeded or dead-lettered) job's record stays readable through
/// [`Coordinator::job`] and [`Coordinator::dead_letters`].
pub const JOB_RETENTION: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// How long [`Coordinator::mark_tick`] remembers a claimed tick. A scheduler must not look
/// further back than this for missed ticks, or it could enqueue a tick a second time.
pub const TICK_RETENTION: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Coordination between the nodes of one deployment.
///
/// Every method is atomic with respect to every other node using the same backend. Times that
/// decide expiry (leases, claims, throttling windows) are measured by the backend's own clock,
/// so the nodes' clocks only matter for [`NewJob::not_before`].
#[async_trait]
pub trait Coordinator: Send + Sync + 'static {
    /// Records that `node` is alive for the next `ttl`.
    async fn heartbeat(&self, node: &NodeInfo, ttl: Duration) -> CoordinationResult<()>;

    /// Lists the nodes whose last heartbeat has not expired, ordered by id.
    async fn live_nodes(&self) -> CoordinationResult<Vec<NodeInfo>>;

    /// Removes the node from the live nodes at once, without waiting for its heartbeat to expire.
    async fn leave(&self, node_id: &str) -> CoordinationResult<()>;

    /// Acquires the leader lease for `ttl` if no node holds it.
    ///
    /// Each successful call starts a new term with a higher fencing epoch than every earlier
    /// one. Returns `None` while any node holds the lease, including `node_id` itself.
    async fn acquire_leadership(&self, node_id: &str, ttl: Duration) -> CoordinationResult<Option<Lease>>;

    /// Extends the lease to `ttl` from now. Returns `false`, and changes nothing, unless the
    /// lease is still held by `node_id` in the term `epoch`.
    async fn renew_leadership(&self, node_id: &str, epoch: u64, ttl: Duration) -> CoordinationResult<bool>;

    /// Gives up the lease so another node can acquire it at once. Returns `false` when the
    /// lease was not held by `node_id` in the term `epoch`.
    async fn release_leadership(&self, node_id: &str, epoch: u64) -> CoordinationResult<bool>;

    /// Returns the lease in force, if any node holds one.
    async fn current_leader(&self) -> CoordinationResult<Option<Lease>>;

    /// Adds a job to the queue, or returns the id of the unfinished job with the same
    /// de-duplication key.
    async fn enqueue(&self, job: NewJob) -> CoordinationResult<EnqueueOutcome>;

    /// Adds a job like [`Coordinator::enqueue`], but only while `epoch` is the epoch of the
    /// lease in force. Otherwise it fails with `Fenced` and writes nothing.
    async fn enqueue_fenced(&self, job: NewJob, epoch: u64) -> CoordinationResult<EnqueueOutcome>;

    /// Claims the ready job that has waited longest, if any.
    ///
    /// The claim counts as an attempt. It lasts `visibility` unless extended, after which
    /// [`Coordinator::reclaim_expired`] returns the job to the queue.
    async fn claim(&self, node_id: &str, visibility: Duration) -> CoordinationResult<Option<ClaimedJob>>;

    /// Records the job as succeeded with its result and frees its de-duplication key.
    ///
    /// Fails with `StaleClaim` unless `claim_token` is the job's current claim. A claim past
    /// its deadline stays current until [`Coordinator::reclaim_expired`] takes the job back.
    async fn ack(&self, job_id: &JobId, claim_token: &ClaimToken, result: Vec<u8>) -> CoordinationResult<()>;

    /// Records a failed attempt. The job becomes ready again after `retry_after`, or goes to
    /// the dead letters when it has used all its attempts.
    ///
    /// Fails with `StaleClaim` unless `claim_token` is the job's current claim.
    async fn fail(&self, job_id: &JobId, claim_token: &ClaimToken, error: String, retry_after: Duration)
        -> CoordinationResult<FailOutcome>;

    /// Moves the claim's deadline to `visibility` from now, for jobs that run long.
    ///
    /// Fails with `StaleClaim` unless `claim_token` is the job's current claim.
    async fn extend_claim(&self, job_id: &JobId, claim_token: &ClaimToken, visibility: Duration) -> CoordinationResult<()>;

    /// Takes back every claim whose deadline has passed. The expired claim counts as a failed
    /// attempt, so a job with no attempts left goes to the dead letters instead of the queue.
    async fn reclaim_expired(&self) -> CoordinationResult<Vec<ReclaimedJob>>;

    /// Returns a job's record, or `None` when the job never existed or its record expired.
    async fn job(&self, job_id: &JobId) -> CoordinationResult<Option<JobRecord>>;

    /// Counts the jobs in each part of the queue.
    async fn queue_depth(&self) -> CoordinationResult<QueueDepth>;

    /// Lists up to `limit` dead-lettered jobs, the most recent first.
    async fn dead_letters(&self, limit: usize) -> CoordinationResult<Vec<JobRecord>>;

    /// Claims the schedule tick `tick_unix` (seconds since the Unix epoch) of `task` for the
    /// leader of term `epoch`.
    ///
    /// Returns `true` only for the first claim of that tick in the whole deployment, for
    /// [`TICK_RETENTION`]. Fails with `Fenced` when `epoch` is not the epoch of the lease in force.
    async fn mark_tick(&self, task: &str, tick_unix: i64, epoch: u64) -> CoordinationResult<bool>;

    /// Returns the latest tick of `task` claimed by [`Coordinator::mark_tick`].
    async fn last_tick(&self, task: &str) -> CoordinationResult<Option<i64>>;

    /// Counts one request against `key`'s sliding window: at most `limit` requests are allowed
    /// in any interval of length `window`. A limited request is not counted.
    async fn throttle_hit(&self, key: &str, limit: u32, window: Duration) -> CoordinationResult<ThrottleDecision>;

    /// Returns the cached value, if it has not expired.
    async fn cache_get(&self, key: &str) -> CoordinationResult<Option<Vec<u8>>>;

    /// Stores a value for `ttl`, replacing any earlier one.
    async fn cache_set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> CoordinationResult<()>;

    /// Takes the lock named `key` for `ttl`, unless it is taken. Used for single-flight cache
    /// fills: only the lock owner computes the value, and the others wait for the cache.
    async fn try_lock(&self, key: &str, ttl: Duration) -> CoordinationResult<Option<LockToken>>;

    /// Releases the lock if `token` is still its owner's. Returns `false` when the lock had
    /// expired or was taken by someone else since.
    async fn unlock(&self, key: &str, token: &LockToken) -> CoordinationResult<bool>;
}

/// A node's entry in the list of live nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub id: String,
    /// Network address of the node for other nodes and operators, for example `10.0.0.5:8000`.
    pub address: String,
    pub started_at: DateTime<Utc>,
}

/// One term of the leader lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub node_id: String,
    /// Fencing token: strictly greater than the epoch of every earlier term.
    pub epoch: u64,
}

/// Defines an identifier type that wraps a string.
macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// A job's id: a UUID version 7, so ids sort by creation time.
    JobId
);
string_id!(
    /// Proof of one claim on a job. Writes with an earlier claim's token are rejected.
    ClaimToken
);
string_id!(
    /// Proof of holding a lock taken with [`Coordinator::try_lock`].
    LockToken
);

/// A job to enqueue. The payload is opaque here, and callers encode it (as MessagePack in Keystone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// The task name that workers dispatch on.
    pub task: String,
    pub payload: Vec<u8>,
    /// While a job with this key is pending or running, enqueueing another returns the first.
    /// An empty key counts as no key.
    pub dedup_key: Option<String>,
    /// Attempts before the job goes to the dead letters. 0 counts as 1.
    pub max_attempts: u32,
    /// The job is not claimed before this time (by the enqueuing node's clock).
    pub not_before: Option<DateTime<Utc>>,
}

impl NewJob {
    /// Default for [`NewJob::max_attempts`].
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

    /// Creates a job that may run at once, with no de-duplication key and the default attempts.
    pub fn new(task: impl Into<String>, payload: Vec<u8>) -> Self {
        Self { task: task.into(), payload, dedup_key: None, max_attempts: Self::DEFAULT_MAX_ATTEMPTS, not_before: None }
    }

    pub fn with_dedup_key(mut self, dedup_key: impl Into<String>) -> Self {
        self.dedup_key = Some(dedup_key.into());
        self
    }

    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    pub fn with_not_before(mut self, not_before: DateTime<Utc>) -> Self {
        self.not_before = Some(not_before);
        self
    }

    /// Returns the attempt limit as stored: at least 1.
    pub(crate) fn effective_max_attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }

    pub(crate) fn effective_dedup_key(&self) -> Option<&str> {
        self.dedup_key.as_deref().filter(|key| !key.is_empty())
    }
}

/// Outcome of [`Coordinator::enqueue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnqueueOutcome {
    /// The job was added under this id.
    Enqueued(JobId),
    /// An unfinished job with the same de-duplication key exists, so nothing was added.
    Duplicate(JobId),
}

impl EnqueueOutcome {
    /// Returns the id of the new job or of the existing duplicate.
    pub fn job_id(&self) -> &JobId {
        match self {
            Self::Enqueued(id) | Self::Duplicate(id) => id,
        }
    }
}

/// A job handed to a worker by [`Coordinator::claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    pub id: JobId,
    pub task: String,
    pub payload: Vec<u8>,
    /// This attempt's number, starting at 1.
    pub attempt: u32,
    pub max_attempts: u32,
    pub claim_token: ClaimToken,
}

/// Outcome of a failed or expired attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FailOutcome {
    /// The job waits for another attempt.
    Retried,
    /// The job used all its attempts and went to the dead letters.
    DeadLettered,
}

/// A job whose claim expired, as returned by [`Coordinator::reclaim_expired`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReclaimedJob {
    pub id: JobId,
    pub outcome: FailOutcome,
}

/// Lifecycle state of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobState {
    /// Waiting for its first attempt.
    Pending,
    /// Claimed by the worker on `node`.
    Running { node: String },
    /// Finished with a result.
    Succeeded,
    /// An attempt failed or its claim expired, and the job waits for another attempt.
    Failed,
    /// Every attempt failed, and the job is kept in the dead letters.
    DeadLettered,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    pub id: JobId,
    pub task: String,
    pub payload: Vec<u8>,
    pub state: JobState,
    /// Attempts started so far, the running one included.
    pub attempts: u32,
    pub max_attempts: u32,
    pub dedup_key: Option<String>,
    /// The error of the latest failed or expired attempt.
    pub last_error: Option<String>,
    /// The result recorded by [`Coordinator::ack`].
    pub result: Option<Vec<u8>>,
}

/// Job counts by queue part, as returned by [`Coordinator::queue_depth`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueDepth {
    /// Jobs that a worker may claim now.
    pub ready: u64,
    /// Jobs waiting for their `not_before` time or retry delay.
    pub scheduled: u64,
    /// Claimed jobs.
    pub running: u64,
    /// Jobs in the dead letters, within [`JOB_RETENTION`].
    pub dead_lettered: u64,
}

/// Decision of [`Coordinator::throttle_hit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleDecision {
    Allowed,
    /// The window is full. A request after `retry_after` will be allowed unless others come first.
    Limited {
        retry_after: Duration,
    },
}

/// Maximum ttl, visibility or delay. Longer ones are cut to it, so that adding them to a time
/// cannot overflow.
pub(crate) const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// Start of the `last_error` stored when a claim expires. The node id of the claim follows.
pub(crate) const EXPIRED_CLAIM_ERROR: &str = "claim expired before the job finished, claimed by node ";
