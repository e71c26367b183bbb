//! Behaviours that every `Coordinator` must show, written once for both implementations.
//!
//! `deployment.first` and `deployment.second` stand for two nodes, `node-a` and `node-b`.
//! Expiry times are at most 500 ms, and every wait for an expiry is bounded. A check that
//! something has not expired yet runs right after the write, so only a stall of the whole test
//! process longer than the ttl could fail it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use keystone_cluster::{
    ClaimToken, CoordinationError, Coordinator, EnqueueOutcome, FailOutcome, JobId, JobState, NewJob, NodeInfo, QueueDepth, ReclaimedJob,
    ThrottleDecision,
};

use super::{wait_for, Deployment};

const SHORT_TTL: Duration = Duration::from_millis(500);
const LONG_TTL: Duration = Duration::from_secs(30);
const EXPIRY_WAIT: Duration = Duration::from_secs(3);

fn job(task: &str) -> NewJob {
    NewJob::new(task, task.as_bytes().to_vec())
}

fn enqueued_id(outcome: EnqueueOutcome) -> JobId {
    match outcome {
        EnqueueOutcome::Enqueued(id) => id,
        EnqueueOutcome::Duplicate(id) => panic!("expected a new job, got duplicate of {id}"),
    }
}

async fn state_of(coordinator: &dyn Coordinator, id: &JobId) -> JobState {
    coordinator.job(id).await.unwrap().unwrap_or_else(|| panic!("job {id} has no record")).state
}

/// Waits until the lease has expired, then acquires it for `node_id`.
async fn acquire_after_expiry(coordinator: &Arc<dyn Coordinator>, node_id: &str) -> u64 {
    wait_for(&format!("{node_id} acquires the expired lease"), EXPIRY_WAIT, || {
        let coordinator = coordinator.clone();
        async move { coordinator.acquire_leadership(node_id, LONG_TTL).await.unwrap().map(|lease| lease.epoch) }
    })
    .await
}

pub async fn node_registry(deployment: Deployment) {
    let Deployment { first, second } = deployment;
    let started_at = chrono::DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap();
    let node_a = NodeInfo { id: "node-a".into(), address: "10.0.0.1:8000".into(), started_at };
    let node_b = NodeInfo { id: "node-b".into(), address: "10.0.0.2:8000".into(), started_at };
    assert!(first.live_nodes().await.unwrap().is_empty());

    first.heartbeat(&node_a, LONG_TTL).await.unwrap();
    second.heartbeat(&node_b, SHORT_TTL).await.unwrap();
    assert_eq!(first.live_nodes().await.unwrap(), vec![node_a.clone(), node_b.clone()]);

    first.leave("node-a").await.unwrap();
    assert_eq!(second.live_nodes().await.unwrap(), vec![node_b.clone()]);

    wait_for("node-b's heartbeat expires", EXPIRY_WAIT, || {
        let first = first.clone();
        async move { first.live_nodes().await.unwrap().is_empty().then_some(()) }
    })
    .await;
    second.heartbeat(&node_b, LONG_TTL).await.unwrap();
    assert_eq!(first.live_nodes().await.unwrap(), vec![node_b]);
}

pub async fn leader_election(deployment: Deployment) {
    let Deployment { first, second } = deployment;
    assert_eq!(first.current_leader().await.unwrap(), None);

    let lease_a = first.acquire_leadership("node-a", SHORT_TTL).await.unwrap().expect("node-a acquires a free lease");
    assert_eq!(lease_a.node_id, "node-a");
    assert_eq!(second.acquire_leadership("node-b", SHORT_TTL).await.unwrap(), None, "node-b acquired a held lease");
    assert_eq!(first.acquire_leadership("node-a", SHORT_TTL).await.unwrap(), None, "the holder started a second term");
    assert_eq!(second.current_leader().await.unwrap(), Some(lease_a.clone()));

    assert!(!second.renew_leadership("node-b", lease_a.epoch, SHORT_TTL).await.unwrap(), "a non-holder renewed the lease");
    assert!(!first.renew_leadership("node-a", lease_a.epoch + 1, SHORT_TTL).await.unwrap(), "a wrong epoch renewed the lease");
    assert!(first.renew_leadership("node-a", lease_a.epoch, SHORT_TTL).await.unwrap());
    assert!(!second.release_leadership("node-b", lease_a.epoch).await.unwrap(), "a non-holder released the lease");
    first.enqueue_fenced(job("under-a"), lease_a.epoch).await.unwrap();

    let epoch_b = acquire_after_expiry(&second, "node-b").await;
    assert!(epoch_b > lease_a.epoch, "epoch {epoch_b} of the new term is not above {}", lease_a.epoch);
    assert!(!first.renew_leadership("node-a", lease_a.epoch, SHORT_TTL).await.unwrap(), "the old leader renewed");
    assert_eq!(first.enqueue_fenced(job("stale"), lease_a.epoch).await, Err(CoordinationError::Fenced));
    second.enqueue_fenced(job("under-b"), epoch_b).await.unwrap();

    assert!(second.release_leadership("node-b", epoch_b).await.unwrap());
    assert_eq!(first.current_leader().await.unwrap(), None);
    assert_eq!(second.enqueue_fenced(job("released"), epoch_b).await, Err(CoordinationError::Fenced));
    let lease_a2 = first.acquire_leadership("node-a", SHORT_TTL).await.unwrap().expect("released lease is free at once");
    assert!(lease_a2.epoch > epoch_b);

    // Only the two jobs enqueued under the lease in force were written.
    let mut tasks = Vec::new();
    while let Some(claimed) = first.claim("node-a", LONG_TTL).await.unwrap() {
        tasks.push(claimed.task);
    }
    assert_eq!(tasks, ["under-a", "under-b"]);
}

pub async fn deduplication(deployment: Deployment) {
    let Deployment { first, second } = deployment;
    let keyed = || job("update_limits").with_dedup_key("update_limits@1700000000").with_max_attempts(2);

    let id = enqueued_id(first.enqueue(keyed()).await.unwrap());
    assert_eq!(second.enqueue(keyed()).await.unwrap(), EnqueueOutcome::Duplicate(id.clone()), "duplicate while pending");
    assert_ne!(first.enqueue(job("update_limits")).await.unwrap().job_id(), &id, "a job without a key was de-duplicated");
    assert_ne!(first.enqueue(job("update_limits").with_dedup_key("")).await.unwrap().job_id(), &id, "an empty key was de-duplicated");

    let claimed = first.claim("node-a", LONG_TTL).await.unwrap().unwrap();
    assert_eq!(claimed.id, id);
    assert_eq!(second.enqueue(keyed()).await.unwrap(), EnqueueOutcome::Duplicate(id.clone()), "duplicate while running");
    let outcome = first.fail(&id, &claimed.claim_token, "boom".into(), Duration::ZERO).await.unwrap();
    assert_eq!(outcome, FailOutcome::Retried);
    assert_eq!(second.enqueue(keyed()).await.unwrap(), EnqueueOutcome::Duplicate(id.clone()), "duplicate while waiting for a retry");

    let next = claim_job(&*first, &id).await;
    first.ack(&id, &next, b"done".to_vec()).await.unwrap();
    let second_id = enqueued_id(second.enqueue(keyed()).await.unwrap());
    assert_ne!(second_id, id);

    // A dead-lettered job frees its key too.
    let last = claim_job(&*first, &second_id).await;
    assert_eq!(first.fail(&second_id, &last, "boom".into(), Duration::ZERO).await.unwrap(), FailOutcome::Retried);
    let last = claim_job(&*first, &second_id).await;
    assert_eq!(first.fail(&second_id, &last, "boom".into(), Duration::ZERO).await.unwrap(), FailOutcome::DeadLettered);
    let third_id = enqueued_id(first.enqueue(keyed()).await.unwrap());
    assert_ne!(third_id, second_id);
}

/// Polls `reclaim_expired` until it returns something.
async fn wait_for_reclaim(coordinator: &Arc<dyn Coordinator>, what: &str) -> Vec<ReclaimedJob> {
    wait_for(what, EXPIRY_WAIT, || {
        let coordinator = coordinator.clone();
        async move { Some(coordinator.reclaim_expired().await.unwrap()).filter(|reclaimed| !reclaimed.is_empty()) }
    })
    .await
}

/// Claims jobs until `id` comes up, acknowledging the others, and returns its claim token.
async fn claim_job(coordinator: &dyn Coordinator, id: &JobId) -> ClaimToken {
    loop {
        let claimed = coordinator.claim("node-a", LONG_TTL).await.unwrap().unwrap_or_else(|| panic!("job {id} is not ready"));
        if &claimed.id == id {
            return claimed.claim_token;
        }
        coordinator.ack(&claimed.id, &claimed.claim_token, Vec::new()).await.unwrap();
    }
}

pub async fn claim_ack_fail_and_dead_letter(deployment: Deployment) {
    let Deployment { first, second } = deployment;
    assert_eq!(first.claim("node-a", LONG_TTL).await.unwrap(), None, "claimed from an empty queue");

    let payload = vec![0x93, 0x01, 0xc0, 0xff, 0x00];
    let id = enqueued_id(first.enqueue(NewJob::new("sync_ldap", payload.clone()).with_max_attempts(3)).await.unwrap());
    assert_eq!(state_of(&*first, &id).await, JobState::Pending);

    let claimed = second.claim("node-b", LONG_TTL).await.unwrap().unwrap();
    assert_eq!((claimed.id.clone(), claimed.task.as_str(), claimed.payload.clone()), (id.clone(), "sync_ldap", payload.clone()));
    assert_eq!((claimed.attempt, claimed.max_attempts), (1, 3));
    assert_eq!(state_of(&*first, &id).await, JobState::Running { node: "node-b".into() });
    assert_eq!(first.claim("node-a", LONG_TTL).await.unwrap(), None, "a running job was claimed twice");

    let outcome = second.fail(&id, &claimed.claim_token, "LDAP timed out".into(), Duration::ZERO).await.unwrap();
    assert_eq!(outcome, FailOutcome::Retried);
    let record = first.job(&id).await.unwrap().unwrap();
    assert_eq!(record.state, JobState::Failed);
    assert_eq!(record.last_error.as_deref(), Some("LDAP timed out"));
    assert_eq!(record.attempts, 1);

    let claimed = first.claim("node-a", LONG_TTL).await.unwrap().expect("a retry with no delay is ready at once");
    assert_eq!(claimed.attempt, 2);
    assert_eq!(claimed.payload, payload);
    let outcome = first.fail(&id, &claimed.claim_token, "LDAP refused".into(), SHORT_TTL).await.unwrap();
    assert_eq!(outcome, FailOutcome::Retried);
    assert_eq!(first.claim("node-a", LONG_TTL).await.unwrap(), None, "a delayed retry was claimed early");

    let claimed = wait_for("the delayed retry is ready", EXPIRY_WAIT, || {
        let first = first.clone();
        async move { first.claim("node-a", LONG_TTL).await.unwrap() }
    })
    .await;
    assert_eq!(claimed.attempt, 3);
    let outcome = first.fail(&id, &claimed.claim_token, "LDAP gone".into(), Duration::ZERO).await.unwrap();
    assert_eq!(outcome, FailOutcome::DeadLettered);
    assert_eq!(first.claim("node-a", LONG_TTL).await.unwrap(), None, "a dead-lettered job was claimed");

    let dead = second.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].id, id);
    assert_eq!(dead[0].state, JobState::DeadLettered);
    assert_eq!(dead[0].attempts, 3);
    assert_eq!(dead[0].last_error.as_deref(), Some("LDAP gone"));
    assert_eq!(dead[0].payload, payload);
    assert!(second.dead_letters(0).await.unwrap().is_empty());

    // Acknowledging stores the result, and the finished job rejects later writes.
    let done = enqueued_id(first.enqueue(job("notify")).await.unwrap());
    let claimed = first.claim("node-a", LONG_TTL).await.unwrap().unwrap();
    first.ack(&done, &claimed.claim_token, vec![0xc3]).await.unwrap();
    let record = second.job(&done).await.unwrap().unwrap();
    assert_eq!(record.state, JobState::Succeeded);
    assert_eq!(record.result, Some(vec![0xc3]));
    assert_eq!(first.ack(&done, &claimed.claim_token, Vec::new()).await, Err(CoordinationError::StaleClaim));
    assert_eq!(first.fail(&id, &claimed.claim_token, "late".into(), Duration::ZERO).await, Err(CoordinationError::StaleClaim));

    let unknown = JobId::new("0190c5a2-0000-7000-8000-000000000000");
    assert_eq!(first.job(&unknown).await.unwrap(), None);
    assert_eq!(first.ack(&unknown, &claimed.claim_token, Vec::new()).await, Err(CoordinationError::NotFound));
}

pub async fn claim_order(deployment: Deployment) {
    let Deployment { first, second } = deployment;
    let later = first.enqueue(job("later").with_not_before(Utc::now() + chrono::Duration::milliseconds(500))).await.unwrap();
    for task in ["one", "two", "three"] {
        second.enqueue(job(task)).await.unwrap();
    }

    let mut tasks = Vec::new();
    while let Some(claimed) = first.claim("node-a", LONG_TTL).await.unwrap() {
        tasks.push(claimed.task);
    }
    assert_eq!(tasks, ["one", "two", "three"], "ready jobs were not claimed first-in, first-out");

    let claimed = wait_for("the job with a not-before time is ready", EXPIRY_WAIT, || {
        let first = first.clone();
        async move { first.claim("node-a", LONG_TTL).await.unwrap() }
    })
    .await;
    assert_eq!(&claimed.id, later.job_id());
}

pub async fn stale_claim_after_reclaim(deployment: Deployment) {
    let Deployment { first, second } = deployment;
    let id = enqueued_id(first.enqueue(job("sync_usage")).await.unwrap());
    let stale = first.claim("node-a", Duration::from_millis(100)).await.unwrap().unwrap().claim_token;

    let reclaimed = wait_for_reclaim(&second, "the claim expires and is reclaimed").await;
    assert_eq!(reclaimed.len(), 1);
    assert_eq!(reclaimed[0].id, id);
    assert_eq!(reclaimed[0].outcome, FailOutcome::Retried);
    assert_eq!(first.ack(&id, &stale, Vec::new()).await, Err(CoordinationError::StaleClaim), "ack after reclaim");

    let current = second.claim("node-b", LONG_TTL).await.unwrap().unwrap();
    assert_eq!(current.attempt, 2);
    assert_eq!(first.ack(&id, &stale, Vec::new()).await, Err(CoordinationError::StaleClaim));
    assert_eq!(first.fail(&id, &stale, "late".into(), Duration::ZERO).await, Err(CoordinationError::StaleClaim));
    assert_eq!(first.extend_claim(&id, &stale, LONG_TTL).await, Err(CoordinationError::StaleClaim));
    assert_eq!(state_of(&*first, &id).await, JobState::Running { node: "node-b".into() }, "a stale write changed the job");

    second.ack(&id, &current.claim_token, Vec::new()).await.unwrap();
    assert_eq!(state_of(&*first, &id).await, JobState::Succeeded);
}

pub async fn visibility_timeout(deployment: Deployment) {
    let Deployment { first, second } = deployment;
    let id = enqueued_id(first.enqueue(job("expire_allocations").with_max_attempts(2)).await.unwrap());
    let claimed = first.claim("node-a", Duration::from_millis(200)).await.unwrap().unwrap();

    // An extended claim outlives its first deadline.
    first.extend_claim(&id, &claimed.claim_token, Duration::from_secs(2)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(second.reclaim_expired().await.unwrap().is_empty(), "an extended claim was reclaimed");
    assert_eq!(state_of(&*second, &id).await, JobState::Running { node: "node-a".into() });

    first.extend_claim(&id, &claimed.claim_token, Duration::from_millis(100)).await.unwrap();
    let reclaimed = wait_for_reclaim(&second, "the shortened claim is reclaimed").await;
    assert_eq!(reclaimed.len(), 1);
    assert_eq!(reclaimed[0].outcome, FailOutcome::Retried);
    let record = second.job(&id).await.unwrap().unwrap();
    assert_eq!(record.state, JobState::Failed);
    let last_error = record.last_error.unwrap_or_default();
    assert!(last_error.contains("node-a"), "last error {last_error:?} does not name the node");

    // The expired claim counted as an attempt, so a second expiry exhausts the job.
    let claimed = second.claim("node-b", Duration::from_millis(100)).await.unwrap().expect("reclaimed job is ready");
    assert_eq!(claimed.attempt, 2);
    let reclaimed = wait_for_reclaim(&first, "the last claim is reclaimed").await;
    assert_eq!(reclaimed.len(), 1);
    assert_eq!(reclaimed[0].outcome, FailOutcome::DeadLettered);
    assert_eq!(state_of(&*first, &id).await, JobState::DeadLettered);
    assert!(first.reclaim_expired().await.unwrap().is_empty());
}

pub async fn tick_marked_once_across_leaders(deployment: Deployment) {
    let Deployment { first, second } = deployment;
    let task = "update_limits";
    assert_eq!(first.last_tick(task).await.unwrap(), None);

    let epoch_a = first.acquire_leadership("node-a", SHORT_TTL).await.unwrap().unwrap().epoch;
    assert!(first.mark_tick(task, 1_700_000_100, epoch_a).await.unwrap());
    assert!(!first.mark_tick(task, 1_700_000_100, epoch_a).await.unwrap(), "a tick was claimed twice by one leader");
    assert!(first.mark_tick("sync_ldap", 1_700_000_100, epoch_a).await.unwrap(), "ticks of different tasks collided");
    assert_eq!(second.last_tick(task).await.unwrap(), Some(1_700_000_100));

    let epoch_b = acquire_after_expiry(&second, "node-b").await;
    assert!(!second.mark_tick(task, 1_700_000_100, epoch_b).await.unwrap(), "the next leader claimed a claimed tick");
    assert!(second.mark_tick(task, 1_700_000_160, epoch_b).await.unwrap());
    assert_eq!(first.mark_tick(task, 1_700_000_220, epoch_a).await, Err(CoordinationError::Fenced));
    assert!(second.mark_tick(task, 1_700_000_040, epoch_b).await.unwrap(), "an unclaimed earlier tick was rejected");
    assert_eq!(first.last_tick(task).await.unwrap(), Some(1_700_000_160), "last tick went backwards");
}

pub async fn throttle_shared_between_nodes(deployment: Deployment) {
    let Deployment { first, second } = deployment;
    let limit = 5;
    let window = Duration::from_secs(2);

    let mut hits = Vec::new();
    for index in 0..2 * limit {
        let coordinator = if index % 2 == 0 { first.clone() } else { second.clone() };
        hits.push(tokio::spawn(async move { coordinator.throttle_hit("user:42", limit, window).await.unwrap() }));
    }
    let mut allowed = 0;
    let mut waits = Vec::new();
    for hit in hits {
        match hit.await.unwrap() {
            ThrottleDecision::Allowed => allowed += 1,
            ThrottleDecision::Limited { retry_after } => waits.push(retry_after),
        }
    }
    assert_eq!(allowed, limit, "allowed hits in a burst of {}", 2 * limit);
    for wait in &waits {
        assert!(!wait.is_zero(), "retry_after is zero");
        assert!(*wait <= window, "retry_after {wait:?} is longer than the {window:?} window");
    }
    assert_eq!(first.throttle_hit("user:43", limit, window).await.unwrap(), ThrottleDecision::Allowed, "keys share a window");

    // The hit log's oldest hit leaves the window after `retry_after`, and then one more is
    // allowed. A stall longer than the window between the first two hits would let the second
    // through, so that case starts over on a fresh key, at most three times.
    let short = Duration::from_millis(300);
    for attempt in 1..=3 {
        let key = format!("anon:{attempt}");
        let started = Instant::now();
        assert_eq!(first.throttle_hit(&key, 1, short).await.unwrap(), ThrottleDecision::Allowed);
        match second.throttle_hit(&key, 1, short).await.unwrap() {
            ThrottleDecision::Limited { retry_after } => {
                tokio::time::sleep(retry_after + Duration::from_millis(20)).await;
                assert_eq!(second.throttle_hit(&key, 1, short).await.unwrap(), ThrottleDecision::Allowed, "after retry_after");
                return;
            }
            ThrottleDecision::Allowed => {
                let elapsed = started.elapsed();
                assert!(elapsed >= short, "a second hit {elapsed:?} after the first was allowed within the {short:?} window");
            }
        }
    }
    panic!("every attempt stalled longer than the {short:?} window between two hits");
}

pub async fn single_flight_lock(deployment: Deployment) {
    let Deployment { first, second } = deployment;
    let mut attempts = Vec::new();
    for index in 0..100 {
        let coordinator = if index % 2 == 0 { first.clone() } else { second.clone() };
        attempts.push(tokio::spawn(async move { coordinator.try_lock("stats:teams", LONG_TTL).await.unwrap() }));
    }
    let mut winners = Vec::new();
    for attempt in attempts {
        winners.extend(attempt.await.unwrap());
    }
    assert_eq!(winners.len(), 1, "lock winners among 100 concurrent attempts");
    let token = winners.pop().unwrap();

    assert_eq!(second.cache_get("stats:teams").await.unwrap(), None);
    first.cache_set("stats:teams", b"{\"count\":3}".to_vec(), LONG_TTL).await.unwrap();
    assert_eq!(second.cache_get("stats:teams").await.unwrap(), Some(b"{\"count\":3}".to_vec()));

    let other = second.try_lock("stats:users", LONG_TTL).await.unwrap().expect("another key is free");
    assert!(!second.unlock("stats:teams", &other).await.unwrap(), "a foreign token released the lock");
    assert!(first.unlock("stats:teams", &token).await.unwrap());
    assert!(!first.unlock("stats:teams", &token).await.unwrap(), "a lock was released twice");
    assert!(second.try_lock("stats:teams", LONG_TTL).await.unwrap().is_some(), "a released lock stayed taken");

    // An expired lock is free, and its old token no longer releases it.
    let expiring = first.try_lock("stats:grants", Duration::from_millis(100)).await.unwrap().unwrap();
    let new_token = wait_for("the lock expires", EXPIRY_WAIT, || {
        let second = second.clone();
        async move { second.try_lock("stats:grants", LONG_TTL).await.unwrap() }
    })
    .await;
    assert!(!first.unlock("stats:grants", &expiring).await.unwrap(), "an expired token released the new holder's lock");
    assert!(second.unlock("stats:grants", &new_token).await.unwrap());

    first.cache_set("stats:short", vec![1], Duration::from_millis(100)).await.unwrap();
    wait_for("the cache entry expires", EXPIRY_WAIT, || {
        let second = second.clone();
        async move { second.cache_get("stats:short").await.unwrap().is_none().then_some(()) }
    })
    .await;
}

pub async fn queue_depth(deployment: Deployment) {
    let Deployment { first, second } = deployment;
    assert_eq!(first.queue_depth().await.unwrap(), QueueDepth::default());

    first.enqueue(job("a")).await.unwrap();
    second.enqueue(job("b")).await.unwrap();
    first.enqueue(job("later").with_not_before(Utc::now() + chrono::Duration::hours(1))).await.unwrap();
    second.enqueue(job("doomed").with_max_attempts(1)).await.unwrap();
    assert_eq!(first.queue_depth().await.unwrap(), QueueDepth { ready: 3, scheduled: 1, running: 0, dead_lettered: 0 });

    let claimed = first.claim("node-a", LONG_TTL).await.unwrap().unwrap();
    assert_eq!(second.queue_depth().await.unwrap(), QueueDepth { ready: 2, scheduled: 1, running: 1, dead_lettered: 0 });
    first.ack(&claimed.id, &claimed.claim_token, Vec::new()).await.unwrap();
    assert_eq!(second.queue_depth().await.unwrap(), QueueDepth { ready: 2, scheduled: 1, running: 0, dead_lettered: 0 });

    second.claim("node-b", LONG_TTL).await.unwrap().unwrap();
    let doomed = second.claim("node-b", LONG_TTL).await.unwrap().unwrap();
    assert_eq!(doomed.task, "doomed");
    assert_eq!(second.fail(&doomed.id, &doomed.claim_token, "no".into(), Duration::ZERO).await.unwrap(), FailOutcome::DeadLettered);
    assert_eq!(first.queue_depth().await.unwrap(), QueueDepth { ready: 0, scheduled: 1, running: 1, dead_lettered: 1 });
}

pub async fn huge_durations(deployment: Deployment) {
    let Deployment { first, second } = deployment;
    first.cache_set("forever", vec![7], Duration::MAX).await.unwrap();
    assert_eq!(second.cache_get("forever").await.unwrap(), Some(vec![7]));
    assert!(first.try_lock("forever", Duration::MAX).await.unwrap().is_some());
    let lease = first.acquire_leadership("node-a", Duration::MAX).await.unwrap().unwrap();
    assert!(first.renew_leadership("node-a", lease.epoch, Duration::MAX).await.unwrap());
    assert_eq!(first.throttle_hit("forever", 1, Duration::MAX).await.unwrap(), ThrottleDecision::Allowed);
    assert!(matches!(second.throttle_hit("forever", 1, Duration::MAX).await.unwrap(), ThrottleDecision::Limited { .. }));

    let id = enqueued_id(first.enqueue(job("slow")).await.unwrap());
    let claimed = second.claim("node-b", Duration::MAX).await.unwrap().unwrap();
    second.extend_claim(&id, &claimed.claim_token, Duration::MAX).await.unwrap();
    assert!(first.reclaim_expired().await.unwrap().is_empty());
    let outcome = second.fail(&id, &claimed.claim_token, "later".into(), Duration::MAX).await.unwrap();
    assert_eq!(outcome, FailOutcome::Retried);
    assert_eq!(first.queue_depth().await.unwrap(), QueueDepth { ready: 0, scheduled: 1, running: 0, dead_lettered: 0 });
}
