//! In-process coordination for a single node without Redis.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use dashmap::DashMap;
use uuid::Uuid;

use crate::coordinator::{
    ClaimToken, ClaimedJob, Coordinator, EnqueueOutcome, FailOutcome, JobId, JobRecord, JobState, Lease, LockToken, NewJob, NodeInfo,
    QueueDepth, ReclaimedJob, ThrottleDecision, EXPIRED_CLAIM_ERROR, FAR_FUTURE, JOB_RETENTION, TICK_RETENTION,
};
use crate::error::{CoordinationError, CoordinationResult};

/// Returns `start + duration`, capped at [`FAR_FUTURE`] so that huge durations do not overflow.
fn later(start: Instant, duration: Duration) -> Instant {
    start + duration.min(FAR_FUTURE)
}

/// Operations between two sweeps of expired cache entries, locks and throttle windows.
const SWEEP_INTERVAL: u64 = 1024;

/// Coordination inside one process, with the same semantics as the Redis implementation.
///
/// Clones share their state, so every clone is the same "deployment". Leadership works as in
/// a cluster: the single node acquires the lease, and its first term has epoch 1.
#[derive(Clone, Default)]
pub struct LocalCoordinator {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    nodes: DashMap<String, (NodeInfo, Instant)>,
    /// Lock order: `leadership` before `queue`, because fenced writes hold both.
    leadership: Mutex<Leadership>,
    queue: Mutex<Queue>,
    throttle_windows: DashMap<String, VecDeque<Instant>>,
    cache: DashMap<String, (Vec<u8>, Instant)>,
    locks: DashMap<String, (LockToken, Instant)>,
    operations: AtomicU64,
}

#[derive(Default)]
struct Leadership {
    lease: Option<(Lease, Instant)>,
    last_epoch: u64,
    /// Expiry of each claimed (task, tick).
    ticks: HashMap<(String, i64), Instant>,
    last_ticks: HashMap<String, i64>,
}

impl Leadership {
    fn current(&mut self, now: Instant) -> Option<&Lease> {
        if self.lease.as_ref().is_some_and(|(_, expiry)| *expiry <= now) {
            self.lease = None;
        }
        self.lease.as_ref().map(|(lease, _)| lease)
    }

    fn check_epoch(&mut self, epoch: u64, now: Instant) -> CoordinationResult<()> {
        match self.current(now) {
            Some(lease) if lease.epoch == epoch => Ok(()),
            _ => Err(CoordinationError::Fenced),
        }
    }

    fn holds(&mut self, node_id: &str, epoch: u64, now: Instant) -> bool {
        self.current(now).is_some_and(|lease| lease.node_id == node_id && lease.epoch == epoch)
    }
}

struct LocalJob {
    record: JobRecord,
    /// The holder's token and deadline while the job is running.
    claim: Option<(ClaimToken, Instant)>,
}

#[derive(Default)]
struct Queue {
    jobs: HashMap<JobId, LocalJob>,
    /// Waiting jobs by (ready time, id). Ids sort by creation, so ties are first-in, first-out.
    ready: BTreeSet<(Instant, JobId)>,
    /// Claimed jobs by (deadline, id).
    running: BTreeSet<(Instant, JobId)>,
    /// Dead-lettered jobs, the most recent at the front.
    dead: VecDeque<(Instant, JobId)>,
    dedup: HashMap<String, JobId>,
    /// Finished jobs in finishing order, to drop their records after [`JOB_RETENTION`].
    finished: VecDeque<(Instant, JobId)>,
}

impl Queue {
    fn drop_expired_records(&mut self, now: Instant) {
        while let Some((finished_at, id)) = self.finished.front() {
            if *finished_at + JOB_RETENTION > now {
                break;
            }
            self.jobs.remove(id);
            self.finished.pop_front();
        }
        while let Some((dead_at, _)) = self.dead.back() {
            if *dead_at + JOB_RETENTION > now {
                break;
            }
            self.dead.pop_back();
        }
    }

    fn insert(&mut self, job: NewJob, now: Instant) -> EnqueueOutcome {
        self.drop_expired_records(now);
        let dedup_key = job.effective_dedup_key().map(str::to_owned);
        if let Some(existing) = dedup_key.as_ref().and_then(|key| self.dedup.get(key)) {
            return EnqueueOutcome::Duplicate(existing.clone());
        }

        let id = JobId::new(Uuid::now_v7().to_string());
        let delay = job.not_before.and_then(|not_before| (not_before - Utc::now()).to_std().ok()).unwrap_or_default();
        let ready_at = later(now, delay);
        if let Some(key) = &dedup_key {
            self.dedup.insert(key.clone(), id.clone());
        }
        let record = JobRecord {
            id: id.clone(),
            max_attempts: job.effective_max_attempts(),
            task: job.task,
            payload: job.payload,
            state: JobState::Pending,
            attempts: 0,
            dedup_key,
            last_error: None,
            result: None,
        };
        self.ready.insert((ready_at, id.clone()));
        self.jobs.insert(id.clone(), LocalJob { record, claim: None });
        EnqueueOutcome::Enqueued(id)
    }

    /// Returns the job if `token` is its current claim.
    fn claimed_job(&mut self, id: &JobId, token: &ClaimToken) -> CoordinationResult<&mut LocalJob> {
        let job = self.jobs.get_mut(id).ok_or(CoordinationError::NotFound)?;
        match &job.claim {
            Some((held, _)) if held == token => Ok(job),
            _ => Err(CoordinationError::StaleClaim),
        }
    }

    /// Ends the running attempt of job `id` as failed: retry after `retry_after`, or dead-letter.
    fn fail_attempt(&mut self, id: &JobId, error: String, retry_after: Duration, now: Instant) -> FailOutcome {
        let Some(job) = self.jobs.get_mut(id) else {
            return FailOutcome::DeadLettered;
        };
        if let Some((_, deadline)) = job.claim.take() {
            self.running.remove(&(deadline, id.clone()));
        }
        job.record.last_error = Some(error);

        if job.record.attempts < job.record.max_attempts {
            let ready_at = later(now, retry_after);
            job.record.state = JobState::Failed;
            self.ready.insert((ready_at, id.clone()));
            return FailOutcome::Retried;
        }

        job.record.state = JobState::DeadLettered;
        let dedup_key = job.record.dedup_key.clone();
        self.dead.push_front((now, id.clone()));
        self.finish(id, dedup_key, now);
        FailOutcome::DeadLettered
    }

    fn finish(&mut self, id: &JobId, dedup_key: Option<String>, now: Instant) {
        if let Some(key) = dedup_key {
            if self.dedup.get(&key) == Some(id) {
                self.dedup.remove(&key);
            }
        }
        self.finished.push_back((now, id.clone()));
    }
}

impl LocalCoordinator {
    pub fn new() -> Self {
        Self::default()
    }

    fn leadership(&self) -> MutexGuard<'_, Leadership> {
        // A panic while holding the lock leaves no half-written state, so poisoning is ignored.
        self.inner.leadership.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.inner.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Drops expired entries now and then, so keys that are never read again do not pile up.
    #[expect(clippy::manual_is_multiple_of, reason = "u64::is_multiple_of needs Rust 1.87, and the workspace supports 1.85")]
    fn sweep_now_and_then(&self, now: Instant) {
        if self.inner.operations.fetch_add(1, Ordering::Relaxed) % SWEEP_INTERVAL != 0 {
            return;
        }
        self.inner.cache.retain(|_, (_, expiry)| *expiry > now);
        self.inner.locks.retain(|_, (_, expiry)| *expiry > now);
        self.inner.nodes.retain(|_, (_, expiry)| *expiry > now);
        // A window's entries are all younger than the window, which this sweep does not know,
        // so it drops only windows that have emptied.
        self.inner.throttle_windows.retain(|_, hits| !hits.is_empty());
        self.leadership().ticks.retain(|_, expiry| *expiry > now);
    }
}

#[async_trait]
impl Coordinator for LocalCoordinator {
    async fn heartbeat(&self, node: &NodeInfo, ttl: Duration) -> CoordinationResult<()> {
        self.inner.nodes.insert(node.id.clone(), (node.clone(), later(Instant::now(), ttl)));
        Ok(())
    }

    async fn live_nodes(&self) -> CoordinationResult<Vec<NodeInfo>> {
        let now = Instant::now();
        self.inner.nodes.retain(|_, (_, expiry)| *expiry > now);
        let mut nodes: Vec<NodeInfo> = self.inner.nodes.iter().map(|entry| entry.value().0.clone()).collect();
        nodes.sort_by(|left, right| left.id.cmp(&right.id));
        Ok(nodes)
    }

    async fn leave(&self, node_id: &str) -> CoordinationResult<()> {
        self.inner.nodes.remove(node_id);
        Ok(())
    }

    async fn acquire_leadership(&self, node_id: &str, ttl: Duration) -> CoordinationResult<Option<Lease>> {
        let now = Instant::now();
        let mut leadership = self.leadership();
        if leadership.current(now).is_some() {
            return Ok(None);
        }
        leadership.last_epoch += 1;
        let lease = Lease { node_id: node_id.to_owned(), epoch: leadership.last_epoch };
        leadership.lease = Some((lease.clone(), later(now, ttl)));
        Ok(Some(lease))
    }

    async fn renew_leadership(&self, node_id: &str, epoch: u64, ttl: Duration) -> CoordinationResult<bool> {
        let now = Instant::now();
        let mut leadership = self.leadership();
        if !leadership.holds(node_id, epoch, now) {
            return Ok(false);
        }
        if let Some((_, expiry)) = leadership.lease.as_mut() {
            *expiry = later(now, ttl);
        }
        Ok(true)
    }

    async fn release_leadership(&self, node_id: &str, epoch: u64) -> CoordinationResult<bool> {
        let mut leadership = self.leadership();
        if !leadership.holds(node_id, epoch, Instant::now()) {
            return Ok(false);
        }
        leadership.lease = None;
        Ok(true)
    }

    async fn current_leader(&self) -> CoordinationResult<Option<Lease>> {
        Ok(self.leadership().current(Instant::now()).cloned())
    }

    async fn enqueue(&self, job: NewJob) -> CoordinationResult<EnqueueOutcome> {
        Ok(self.queue().insert(job, Instant::now()))
    }

    async fn enqueue_fenced(&self, job: NewJob, epoch: u64) -> CoordinationResult<EnqueueOutcome> {
        let now = Instant::now();
        let mut leadership = self.leadership();
        leadership.check_epoch(epoch, now)?;
        let outcome = self.queue().insert(job, now);
        drop(leadership);
        Ok(outcome)
    }

    async fn claim(&self, node_id: &str, visibility: Duration) -> CoordinationResult<Option<ClaimedJob>> {
        let now = Instant::now();
        let mut queue = self.queue();
        let Some((ready_at, id)) = queue.ready.first().cloned() else {
            return Ok(None);
        };
        if ready_at > now {
            return Ok(None);
        }
        queue.ready.remove(&(ready_at, id.clone()));

        let token = ClaimToken::new(Uuid::new_v4().to_string());
        let deadline = later(now, visibility);
        queue.running.insert((deadline, id.clone()));
        let job = queue.jobs.get_mut(&id).ok_or_else(|| CoordinationError::Serialization(format!("ready job {id} has no record")))?;
        job.claim = Some((token.clone(), deadline));
        job.record.attempts += 1;
        job.record.state = JobState::Running { node: node_id.to_owned() };
        Ok(Some(ClaimedJob {
            id,
            task: job.record.task.clone(),
            payload: job.record.payload.clone(),
            attempt: job.record.attempts,
            max_attempts: job.record.max_attempts,
            claim_token: token,
        }))
    }

    async fn ack(&self, job_id: &JobId, claim_token: &ClaimToken, result: Vec<u8>) -> CoordinationResult<()> {
        let now = Instant::now();
        let mut queue = self.queue();
        let job = queue.claimed_job(job_id, claim_token)?;
        let deadline = job.claim.take().map(|(_, deadline)| deadline);
        job.record.state = JobState::Succeeded;
        job.record.result = Some(result);
        let dedup_key = job.record.dedup_key.clone();
        if let Some(deadline) = deadline {
            queue.running.remove(&(deadline, job_id.clone()));
        }
        queue.finish(job_id, dedup_key, now);
        Ok(())
    }

    async fn fail(
        &self,
        job_id: &JobId,
        claim_token: &ClaimToken,
        error: String,
        retry_after: Duration,
    ) -> CoordinationResult<FailOutcome> {
        let mut queue = self.queue();
        queue.claimed_job(job_id, claim_token)?;
        Ok(queue.fail_attempt(job_id, error, retry_after, Instant::now()))
    }

    async fn extend_claim(&self, job_id: &JobId, claim_token: &ClaimToken, visibility: Duration) -> CoordinationResult<()> {
        let new_deadline = later(Instant::now(), visibility);
        let mut queue = self.queue();
        let job = queue.claimed_job(job_id, claim_token)?;
        let old_deadline = job.claim.as_ref().map(|(_, deadline)| *deadline);
        job.claim = Some((claim_token.clone(), new_deadline));
        if let Some(old_deadline) = old_deadline {
            queue.running.remove(&(old_deadline, job_id.clone()));
        }
        queue.running.insert((new_deadline, job_id.clone()));
        Ok(())
    }

    async fn reclaim_expired(&self) -> CoordinationResult<Vec<ReclaimedJob>> {
        let now = Instant::now();
        let mut queue = self.queue();
        let expired: Vec<JobId> = queue.running.iter().take_while(|(deadline, _)| *deadline <= now).map(|(_, id)| id.clone()).collect();

        let mut reclaimed = Vec::with_capacity(expired.len());
        for id in expired {
            let node = match queue.jobs.get(&id).map(|job| &job.record.state) {
                Some(JobState::Running { node }) => node.as_str(),
                _ => "",
            };
            let error = format!("{EXPIRED_CLAIM_ERROR}{node}");
            let outcome = queue.fail_attempt(&id, error, Duration::ZERO, now);
            reclaimed.push(ReclaimedJob { id, outcome });
        }
        Ok(reclaimed)
    }

    async fn job(&self, job_id: &JobId) -> CoordinationResult<Option<JobRecord>> {
        let mut queue = self.queue();
        queue.drop_expired_records(Instant::now());
        Ok(queue.jobs.get(job_id).map(|job| job.record.clone()))
    }

    async fn queue_depth(&self) -> CoordinationResult<QueueDepth> {
        let now = Instant::now();
        let mut queue = self.queue();
        queue.drop_expired_records(now);
        let ready = queue.ready.iter().take_while(|(ready_at, _)| *ready_at <= now).count() as u64;
        Ok(QueueDepth {
            ready,
            scheduled: queue.ready.len() as u64 - ready,
            running: queue.running.len() as u64,
            dead_lettered: queue.dead.len() as u64,
        })
    }

    async fn dead_letters(&self, limit: usize) -> CoordinationResult<Vec<JobRecord>> {
        let mut queue = self.queue();
        queue.drop_expired_records(Instant::now());
        let records = queue.dead.iter().take(limit).filter_map(|(_, id)| queue.jobs.get(id)).map(|job| job.record.clone()).collect();
        Ok(records)
    }

    async fn mark_tick(&self, task: &str, tick_unix: i64, epoch: u64) -> CoordinationResult<bool> {
        let now = Instant::now();
        self.sweep_now_and_then(now);
        let mut leadership = self.leadership();
        leadership.check_epoch(epoch, now)?;

        let tick = (task.to_owned(), tick_unix);
        if leadership.ticks.get(&tick).is_some_and(|expiry| *expiry > now) {
            return Ok(false);
        }
        leadership.ticks.insert(tick, now + TICK_RETENTION);
        let last = leadership.last_ticks.entry(task.to_owned()).or_insert(tick_unix);
        *last = (*last).max(tick_unix);
        Ok(true)
    }

    async fn last_tick(&self, task: &str) -> CoordinationResult<Option<i64>> {
        Ok(self.leadership().last_ticks.get(task).copied())
    }

    async fn throttle_hit(&self, key: &str, limit: u32, window: Duration) -> CoordinationResult<ThrottleDecision> {
        let now = Instant::now();
        self.sweep_now_and_then(now);
        let mut hits = self.inner.throttle_windows.entry(key.to_owned()).or_default();
        while hits.front().is_some_and(|hit| later(*hit, window) <= now) {
            hits.pop_front();
        }

        if hits.len() < limit as usize {
            hits.push_back(now);
            return Ok(ThrottleDecision::Allowed);
        }
        // With `limit` 0 the window is always full and no hit leaves it, so wait a whole window.
        let retry_after = match hits.front() {
            Some(oldest) => later(*oldest, window).saturating_duration_since(now),
            None => window,
        };
        Ok(ThrottleDecision::Limited { retry_after: retry_after.max(Duration::from_millis(1)) })
    }

    async fn cache_get(&self, key: &str) -> CoordinationResult<Option<Vec<u8>>> {
        let now = Instant::now();
        let value = self.inner.cache.get(key).filter(|entry| entry.1 > now).map(|entry| entry.0.clone());
        Ok(value)
    }

    async fn cache_set(&self, key: &str, value: Vec<u8>, ttl: Duration) -> CoordinationResult<()> {
        let now = Instant::now();
        self.sweep_now_and_then(now);
        self.inner.cache.insert(key.to_owned(), (value, later(now, ttl)));
        Ok(())
    }

    async fn try_lock(&self, key: &str, ttl: Duration) -> CoordinationResult<Option<LockToken>> {
        let now = Instant::now();
        let mut entry = self.inner.locks.entry(key.to_owned()).or_insert_with(|| (LockToken::new(String::new()), now));
        if entry.1 > now {
            return Ok(None);
        }
        let token = LockToken::new(Uuid::new_v4().to_string());
        *entry = (token.clone(), later(now, ttl));
        Ok(Some(token))
    }

    async fn unlock(&self, key: &str, token: &LockToken) -> CoordinationResult<bool> {
        let now = Instant::now();
        let removed = self.inner.locks.remove_if(key, |_, (held, expiry)| held == token && *expiry > now);
        Ok(removed.is_some())
    }
}
