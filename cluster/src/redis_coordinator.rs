//! Coordination through a Redis server shared by every node.
//!
//! Key layout, under the configured key prefix `P`:
//!
//! | key | type | contents |
//! |---|---|---|
//! | `P nodes` | sorted set | node id, scored by heartbeat expiry (ms) |
//! | `P node:<id>` | hash, expires with the heartbeat | `address`, `started_at_ms` |
//! | `P leader` | string, expires with the lease | `<node id>:<epoch>` |
//! | `P leader_epoch` | counter, no expiry | epoch of the latest term, starting from the server time in ms |
//! | `P jobs:ready` | sorted set | waiting job ids, scored by the time they become ready (ms) |
//! | `P jobs:running` | sorted set | claimed job ids, scored by claim deadline (ms) |
//! | `P jobs:dead` | sorted set | dead-lettered job ids, scored by the time they died (ms) |
//! | `P job:<id>` | hash, expires [`JOB_RETENTION`] after finishing | the job record and its claim |
//! | `P dedup:<key>` | string, deleted when the job finishes | the id of the unfinished job |
//! | `P tick:<task>:<tick>` | string, expires after [`TICK_RETENTION`] | the epoch that claimed the tick |
//! | `P last_tick:<task>` | string, no expiry | the latest claimed tick |
//! | `P throttle:<key>` | sorted set, expires with the window | one member per allowed hit, scored by time (ms) |
//! | `P cache:<key>` | string, expires with its ttl | the cached value |
//! | `P lock:<key>` | string, expires with its ttl | the owner's token |
//!
//! NOTE: Redis must keep its data (RDB or AOF persistence) for the de-duplication keys and tick
//! markers to hold across a Redis restart. After a data loss, a tick or a de-duplicated job can
//! be enqueued a second time, although fencing epochs still rise.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bb8_redis::redis::{self, FromRedisValue, ScriptInvocation};
use chrono::{DateTime, Utc};
use keystone_config::RedisSettings;
use uuid::Uuid;

use crate::coordinator::{
    ClaimToken, ClaimedJob, Coordinator, EnqueueOutcome, FailOutcome, JobId, JobRecord, JobState, Lease, LockToken, NewJob, NodeInfo,
    QueueDepth, ReclaimedJob, ThrottleDecision, EXPIRED_CLAIM_ERROR, FAR_FUTURE, JOB_RETENTION, TICK_RETENTION,
};
use crate::error::{CoordinationError, CoordinationResult};
use crate::redis_link::{RedisPool, RedisPoolOptions};
use crate::redis_scripts::Scripts;

/// Expired claims handled by one script run, so one run does not block Redis for long.
const RECLAIM_BATCH: usize = 100;

/// Coordination through Redis, for a cluster of nodes.
///
/// Clones share one connection pool. Every operation fails with `Unavailable` within the pool's
/// connection timeout while Redis is unreachable, and works again once Redis is back.
#[derive(Clone)]
pub struct RedisCoordinator {
    pool: RedisPool,
    keys: Keys,
    scripts: Arc<Scripts>,
}

impl RedisCoordinator {
    /// Connects with the default pool options and checks that Redis replies to `PING`.
    pub async fn connect(settings: &RedisSettings) -> CoordinationResult<Self> {
        Self::connect_with(settings, RedisPoolOptions::default()).await
    }

    /// Connects and checks that Redis replies to `PING`, so a node without Redis fails at start-up.
    pub async fn connect_with(settings: &RedisSettings, options: RedisPoolOptions) -> CoordinationResult<Self> {
        let coordinator = Self {
            pool: RedisPool::new(settings, options)?,
            keys: Keys { prefix: settings.key_prefix.clone() },
            scripts: Arc::new(Scripts::new()),
        };
        coordinator.ping().await?;
        tracing::info!(redis = %coordinator.pool.target(), key_prefix = %settings.key_prefix, "connected to Redis");
        Ok(coordinator)
    }

    /// Sends `PING` through the pool.
    pub async fn ping(&self) -> CoordinationResult<()> {
        let _: String = self.query(&redis::cmd("PING")).await?;
        Ok(())
    }

    /// Returns the prefix of every key this coordinator reads or writes.
    pub fn key_prefix(&self) -> &str {
        &self.keys.prefix
    }

    async fn run<T: FromRedisValue>(&self, invocation: &ScriptInvocation<'_>) -> CoordinationResult<T> {
        let mut connection = self.pool.get().await?;
        invocation.invoke_async(&mut *connection).await.map_err(|error| self.pool.command_error(error))
    }

    async fn query<T: FromRedisValue>(&self, command: &redis::Cmd) -> CoordinationResult<T> {
        let mut connection = self.pool.get().await?;
        command.query_async(&mut *connection).await.map_err(|error| self.pool.command_error(error))
    }

    async fn enqueue_with_epoch(&self, job: NewJob, epoch: Option<u64>) -> CoordinationResult<EnqueueOutcome> {
        let id = Uuid::now_v7().to_string();
        let not_before = job.not_before.map(|time| time.timestamp_millis().to_string()).unwrap_or_default();
        let epoch = epoch.map(|epoch| epoch.to_string()).unwrap_or_default();
        let max_attempts = job.effective_max_attempts();
        let dedup_key = job.effective_dedup_key().unwrap_or_default();

        let mut invocation = self.scripts.enqueue.key(self.keys.ready());
        invocation.key(self.keys.leader());
        invocation.arg(&self.keys.prefix).arg(&id).arg(&job.task).arg(&job.payload).arg(dedup_key);
        invocation.arg(max_attempts).arg(not_before).arg(epoch);
        let reply: Vec<String> = self.run(&invocation).await?;

        match reply.as_slice() {
            [status, id] if status == "enqueued" => Ok(EnqueueOutcome::Enqueued(JobId::new(id.clone()))),
            [status, id] if status == "duplicate" => Ok(EnqueueOutcome::Duplicate(JobId::new(id.clone()))),
            [status] if status == "fenced" => Err(CoordinationError::Fenced),
            _ => Err(unexpected_reply("enqueue", &reply)),
        }
    }
}

#[async_trait]
impl Coordinator for RedisCoordinator {
    async fn heartbeat(&self, node: &NodeInfo, ttl: Duration) -> CoordinationResult<()> {
        let mut invocation = self.scripts.heartbeat.key(self.keys.nodes());
        invocation.key(self.keys.node(&node.id));
        invocation.arg(&node.id).arg(&node.address).arg(node.started_at.timestamp_millis()).arg(millis(ttl));
        let _: String = self.run(&invocation).await?;
        Ok(())
    }

    async fn live_nodes(&self) -> CoordinationResult<Vec<NodeInfo>> {
        let mut invocation = self.scripts.live_nodes.key(self.keys.nodes());
        invocation.arg(&self.keys.prefix);
        let reply: Vec<String> = self.run(&invocation).await?;

        let mut nodes = Vec::with_capacity(reply.len() / 3);
        for entry in reply.chunks(3) {
            let [id, address, started_at_ms] = entry else {
                return Err(unexpected_reply("live_nodes", &reply));
            };
            let started_at = started_at_ms.parse::<i64>().ok().and_then(DateTime::<Utc>::from_timestamp_millis);
            let started_at =
                started_at.ok_or_else(|| CoordinationError::Serialization(format!("invalid start time {started_at_ms:?} of node {id}")))?;
            nodes.push(NodeInfo { id: id.clone(), address: address.clone(), started_at });
        }
        nodes.sort_by(|left, right| left.id.cmp(&right.id));
        Ok(nodes)
    }

    async fn leave(&self, node_id: &str) -> CoordinationResult<()> {
        let mut pipeline = redis::pipe();
        pipeline.atomic().zrem(self.keys.nodes(), node_id).ignore().del(self.keys.node(node_id)).ignore();
        let mut connection = self.pool.get().await?;
        pipeline.query_async::<()>(&mut *connection).await.map_err(|error| self.pool.command_error(error))
    }

    async fn acquire_leadership(&self, node_id: &str, ttl: Duration) -> CoordinationResult<Option<Lease>> {
        let mut invocation = self.scripts.acquire_leadership.key(self.keys.leader());
        invocation.key(self.keys.leader_epoch());
        invocation.arg(node_id).arg(millis(ttl));
        let epoch: Option<u64> = self.run(&invocation).await?;
        Ok(epoch.map(|epoch| Lease { node_id: node_id.to_owned(), epoch }))
    }

    async fn renew_leadership(&self, node_id: &str, epoch: u64, ttl: Duration) -> CoordinationResult<bool> {
        let mut invocation = self.scripts.compare_and_expire.key(self.keys.leader());
        invocation.arg(lease_value(node_id, epoch)).arg(millis(ttl));
        let renewed: i64 = self.run(&invocation).await?;
        Ok(renewed == 1)
    }

    async fn release_leadership(&self, node_id: &str, epoch: u64) -> CoordinationResult<bool> {
        let mut invocation = self.scripts.compare_and_delete.key(self.keys.leader());
        invocation.arg(lease_value(node_id, epoch));
        let released: i64 = self.run(&invocation).await?;
        Ok(released == 1)
    }

    async fn current_leader(&self) -> CoordinationResult<Option<Lease>> {
        let value: Option<String> = self.query(redis::cmd("GET").arg(self.keys.leader())).await?;
        value.map(|value| parse_lease(&value)).transpose()
    }

    async fn enqueue(&self, job: NewJob) -> CoordinationResult<EnqueueOutcome> {
        self.enqueue_with_epoch(job, None).await
    }

    async fn enqueue_fenced(&self, job: NewJob, epoch: u64) -> CoordinationResult<EnqueueOutcome> {
        self.enqueue_with_epoch(job, Some(epoch)).await
    }

    async fn claim(&self, node_id: &str, visibility: Duration) -> CoordinationResult<Option<ClaimedJob>> {
        let claim_token = ClaimToken::new(Uuid::new_v4().to_string());
        let mut invocation = self.scripts.claim.key(self.keys.ready());
        invocation.key(self.keys.running());
        invocation.arg(&self.keys.prefix).arg(node_id).arg(millis(visibility)).arg(claim_token.as_str());
        let reply: Option<(String, String, Vec<u8>, u32, u32)> = self.run(&invocation).await?;

        Ok(reply.map(|(id, task, payload, attempt, max_attempts)| ClaimedJob {
            id: JobId::new(id),
            task,
            payload,
            attempt,
            max_attempts,
            claim_token,
        }))
    }

    async fn ack(&self, job_id: &JobId, claim_token: &ClaimToken, result: Vec<u8>) -> CoordinationResult<()> {
        let mut invocation = self.scripts.ack.key(self.keys.running());
        invocation.arg(&self.keys.prefix).arg(job_id.as_str()).arg(claim_token.as_str()).arg(result).arg(millis(JOB_RETENTION));
        let status: String = self.run(&invocation).await?;
        claim_status(&status).and_then(|()| expect_status("ack", &status, "ok"))
    }

    async fn fail(
        &self,
        job_id: &JobId,
        claim_token: &ClaimToken,
        error: String,
        retry_after: Duration,
    ) -> CoordinationResult<FailOutcome> {
        let mut invocation = self.scripts.fail.key(self.keys.ready());
        invocation.key(self.keys.running()).key(self.keys.dead());
        invocation.arg(&self.keys.prefix).arg(job_id.as_str()).arg(claim_token.as_str()).arg(error);
        // A zero delay stays zero, so the job is ready again at once.
        invocation.arg(retry_after.min(FAR_FUTURE).as_millis() as u64).arg(millis(JOB_RETENTION));
        let status: String = self.run(&invocation).await?;
        claim_status(&status)?;
        parse_fail_outcome("fail", &status)
    }

    async fn extend_claim(&self, job_id: &JobId, claim_token: &ClaimToken, visibility: Duration) -> CoordinationResult<()> {
        let mut invocation = self.scripts.extend_claim.key(self.keys.running());
        invocation.arg(&self.keys.prefix).arg(job_id.as_str()).arg(claim_token.as_str()).arg(millis(visibility));
        let status: String = self.run(&invocation).await?;
        claim_status(&status).and_then(|()| expect_status("extend_claim", &status, "ok"))
    }

    async fn reclaim_expired(&self) -> CoordinationResult<Vec<ReclaimedJob>> {
        let mut reclaimed = Vec::new();
        loop {
            let mut invocation = self.scripts.reclaim_expired.key(self.keys.ready());
            invocation.key(self.keys.running()).key(self.keys.dead());
            invocation.arg(&self.keys.prefix).arg(RECLAIM_BATCH).arg(millis(JOB_RETENTION)).arg(EXPIRED_CLAIM_ERROR);
            let reply: Vec<String> = self.run(&invocation).await?;

            for entry in reply.chunks(2) {
                let [id, outcome] = entry else {
                    return Err(unexpected_reply("reclaim_expired", &reply));
                };
                let outcome = parse_fail_outcome("reclaim_expired", outcome)?;
                reclaimed.push(ReclaimedJob { id: JobId::new(id.clone()), outcome });
            }
            // A batch short of the limit means no expired claim is left.
            if reply.len() / 2 < RECLAIM_BATCH {
                return Ok(reclaimed);
            }
        }
    }

    async fn job(&self, job_id: &JobId) -> CoordinationResult<Option<JobRecord>> {
        let fields: HashMap<String, Vec<u8>> = self.query(redis::cmd("HGETALL").arg(self.keys.job(job_id.as_str()))).await?;
        if fields.is_empty() {
            return Ok(None);
        }
        parse_job(job_id.clone(), fields).map(Some)
    }

    async fn queue_depth(&self) -> CoordinationResult<QueueDepth> {
        let mut invocation = self.scripts.queue_depth.key(self.keys.ready());
        invocation.key(self.keys.running()).key(self.keys.dead());
        invocation.arg(millis(JOB_RETENTION));
        let counts: Vec<u64> = self.run(&invocation).await?;
        match counts.as_slice() {
            &[ready, scheduled, running, dead_lettered] => Ok(QueueDepth { ready, scheduled, running, dead_lettered }),
            _ => Err(unexpected_reply("queue_depth", &counts)),
        }
    }

    async fn dead_letters(&self, limit: usize) -> CoordinationResult<Vec<JobRecord>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = self.query(redis::cmd("ZREVRANGE").arg(self.keys.dead()).arg(0).arg(limit - 1)).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }

        let mut pipeline = redis::pipe();
        for id in &ids {
            pipeline.hgetall(self.keys.job(id));
        }
        let mut connection = self.pool.get().await?;
        let jobs: Vec<HashMap<String, Vec<u8>>> =
            pipeline.query_async(&mut *connection).await.map_err(|error| self.pool.command_error(error))?;

        // A record that expired since the list was read is left out.
        let records = ids.into_iter().zip(jobs).filter(|(_, fields)| !fields.is_empty());
        records.map(|(id, fields)| parse_job(JobId::new(id), fields)).collect()
    }

    async fn mark_tick(&self, task: &str, tick_unix: i64, epoch: u64) -> CoordinationResult<bool> {
        let mut invocation = self.scripts.mark_tick.key(self.keys.leader());
        invocation.key(self.keys.tick(task, tick_unix)).key(self.keys.last_tick(task));
        invocation.arg(epoch).arg(tick_unix).arg(millis(TICK_RETENTION));
        let marked: i64 = self.run(&invocation).await?;
        match marked {
            1 => Ok(true),
            0 => Ok(false),
            -1 => Err(CoordinationError::Fenced),
            other => Err(unexpected_reply("mark_tick", &other)),
        }
    }

    async fn last_tick(&self, task: &str) -> CoordinationResult<Option<i64>> {
        self.query(redis::cmd("GET").arg(self.keys.last_tick(task))).await
    }

    async fn throttle_hit(&self, key: &str, limit: u32, window: Duration) -> CoordinationResult<ThrottleDecision> {
        let mut invocation = self.scripts.throttle_hit.key(self.keys.throttle(key));
        invocation.arg(limit).arg(millis(window)).arg(Uuid::new_v4().to_string());
        let wait_ms: u64 = self.run(&invocation).await?;
        Ok(match wait_ms {
            0 => ThrottleDecision::Allowed,
            wait_ms => ThrottleDecision::Limited { retry_after: Duration::from_millis(wait_ms) },
        })
    }

    async fn cache_get(&self, key: &str) -> CoordinationResult<Option<Vec<u8>>> {
        self.query(redis::cmd("GET").arg(self.keys.cache(key))).await
    }

    async fn cache_set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> CoordinationResult<()> {
        self.query(redis::cmd("SET").arg(self.keys.cache(key)).arg(value).arg("PX").arg(millis(ttl))).await
    }

    async fn try_lock(&self, key: &str, ttl: Duration) -> CoordinationResult<Option<LockToken>> {
        let token = LockToken::new(Uuid::new_v4().to_string());
        let command = redis::cmd("SET").arg(self.keys.lock(key)).arg(token.as_str()).arg("NX").arg("PX").arg(millis(ttl)).clone();
        let reply: Option<String> = self.query(&command).await?;
        Ok(reply.map(|_| token))
    }

    async fn unlock(&self, key: &str, token: &LockToken) -> CoordinationResult<bool> {
        let mut invocation = self.scripts.compare_and_delete.key(self.keys.lock(key));
        invocation.arg(token.as_str());
        let released: i64 = self.run(&invocation).await?;
        Ok(released == 1)
    }
}

/// Names of the keys under the prefix, as listed in the module documentation.
#[derive(Clone)]
struct Keys {
    prefix: String,
}

impl Keys {
    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn nodes(&self) -> String {
        self.key("nodes")
    }

    fn node(&self, node_id: &str) -> String {
        self.key(&format!("node:{node_id}"))
    }

    fn leader(&self) -> String {
        self.key("leader")
    }

    fn leader_epoch(&self) -> String {
        self.key("leader_epoch")
    }

    fn ready(&self) -> String {
        self.key("jobs:ready")
    }

    fn running(&self) -> String {
        self.key("jobs:running")
    }

    fn dead(&self) -> String {
        self.key("jobs:dead")
    }

    /// Must match the job keys that the scripts build from the prefix.
    fn job(&self, job_id: &str) -> String {
        self.key(&format!("job:{job_id}"))
    }

    fn tick(&self, task: &str, tick_unix: i64) -> String {
        self.key(&format!("tick:{task}:{tick_unix}"))
    }

    fn last_tick(&self, task: &str) -> String {
        self.key(&format!("last_tick:{task}"))
    }

    fn throttle(&self, key: &str) -> String {
        self.key(&format!("throttle:{key}"))
    }

    fn cache(&self, key: &str) -> String {
        self.key(&format!("cache:{key}"))
    }

    fn lock(&self, key: &str) -> String {
        self.key(&format!("lock:{key}"))
    }
}

/// Converts a duration to whole milliseconds for `PX` and the scripts. Rounds up, so a short
/// ttl never becomes 0, which Redis rejects or treats as already expired, and caps it at
/// [`FAR_FUTURE`], since Redis rejects expiry times that overflow.
fn millis(duration: Duration) -> u64 {
    let millis = duration.min(FAR_FUTURE).as_nanos().div_ceil(1_000_000);
    u64::try_from(millis).unwrap_or(u64::MAX).max(1)
}

fn lease_value(node_id: &str, epoch: u64) -> String {
    format!("{node_id}:{epoch}")
}

fn parse_lease(value: &str) -> CoordinationResult<Lease> {
    let parsed =
        value.rsplit_once(':').and_then(|(node_id, epoch)| Some(Lease { node_id: node_id.to_owned(), epoch: epoch.parse().ok()? }));
    parsed.ok_or_else(|| CoordinationError::Serialization(format!("invalid leader lease {value:?}: expected <node id>:<epoch>")))
}

/// Maps the claim check of the ack, fail and extend scripts to its error.
fn claim_status(status: &str) -> CoordinationResult<()> {
    match status {
        "not_found" => Err(CoordinationError::NotFound),
        "stale" => Err(CoordinationError::StaleClaim),
        _ => Ok(()),
    }
}

fn expect_status(operation: &str, status: &str, expected: &str) -> CoordinationResult<()> {
    if status == expected {
        Ok(())
    } else {
        Err(unexpected_reply(operation, &status))
    }
}

fn parse_fail_outcome(operation: &str, status: &str) -> CoordinationResult<FailOutcome> {
    match status {
        "retried" => Ok(FailOutcome::Retried),
        "dead" => Ok(FailOutcome::DeadLettered),
        _ => Err(unexpected_reply(operation, &status)),
    }
}

fn unexpected_reply(operation: &str, reply: &dyn std::fmt::Debug) -> CoordinationError {
    CoordinationError::Serialization(format!("unexpected reply to {operation} from Redis: {reply:?}"))
}

/// Builds a job record from the fields of its hash.
fn parse_job(id: JobId, mut fields: HashMap<String, Vec<u8>>) -> CoordinationResult<JobRecord> {
    let text = |name: &str| -> CoordinationResult<Option<String>> {
        match fields.get(name) {
            None => Ok(None),
            Some(bytes) => String::from_utf8(bytes.clone())
                .map(Some)
                .map_err(|_| CoordinationError::Serialization(format!("field {name} of job {id} is not UTF-8"))),
        }
    };
    let task = text("task")?.unwrap_or_default();
    let state_name = text("state")?.unwrap_or_default();
    let node = text("node")?.unwrap_or_default();
    let dedup_key = text("dedup_key")?.filter(|key| !key.is_empty());
    let last_error = text("last_error")?;
    let attempts = text("attempts")?.unwrap_or_default();
    let max_attempts = text("max_attempts")?.unwrap_or_default();

    let state = match state_name.as_str() {
        "pending" => JobState::Pending,
        "running" => JobState::Running { node },
        "succeeded" => JobState::Succeeded,
        "failed" => JobState::Failed,
        "dead" => JobState::DeadLettered,
        other => return Err(CoordinationError::Serialization(format!("invalid state {other:?} of job {id}"))),
    };
    let count = |name: &str, value: &str| {
        value.parse::<u32>().map_err(|_| CoordinationError::Serialization(format!("invalid {name} {value:?} of job {id}")))
    };

    Ok(JobRecord {
        attempts: count("attempts", &attempts)?,
        max_attempts: count("max_attempts", &max_attempts)?,
        payload: fields.remove("payload").unwrap_or_default(),
        result: fields.remove("result"),
        id,
        task,
        state,
        dedup_key,
        last_error,
    })
}
