//! The supervisor restarts a failing child with backoff and gives up on one that keeps
//! failing, without stopping itself; the node health then reports the failure.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keystone_actors::{ChildSpec, Health, RestartPolicy, Supervisor, SupervisorArguments};
use ractor::{Actor, ActorProcessingErr, ActorRef};

/// Fails in `pre_start` while `failures_left` is positive, counting its starts.
struct Flaky;

#[derive(Clone)]
struct FlakyArguments {
    starts: Arc<AtomicUsize>,
    failures_left: Arc<AtomicUsize>,
}

impl Actor for Flaky {
    type Msg = ();
    type State = ();
    type Arguments = FlakyArguments;

    async fn pre_start(&self, myself: ActorRef<Self::Msg>, arguments: FlakyArguments) -> Result<(), ActorProcessingErr> {
        arguments.starts.fetch_add(1, Ordering::SeqCst);
        if arguments.failures_left.load(Ordering::SeqCst) > 0 {
            arguments.failures_left.fetch_sub(1, Ordering::SeqCst);
            // Fail after start-up, from a message, the way a running actor fails.
            myself.send_message(())?;
        }
        Ok(())
    }

    async fn handle(&self, _myself: ActorRef<Self::Msg>, _message: (), _state: &mut ()) -> Result<(), ActorProcessingErr> {
        Err("flaky actor failed on purpose".into())
    }
}

fn policy() -> RestartPolicy {
    RestartPolicy {
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        max_restarts: 3,
        window: Duration::from_secs(30),
    }
}

async fn start(failures: usize) -> (Arc<AtomicUsize>, Health, ActorRef<keystone_actors::SupervisorMessage>) {
    let starts = Arc::new(AtomicUsize::new(0));
    let arguments = FlakyArguments { starts: starts.clone(), failures_left: Arc::new(AtomicUsize::new(failures)) };
    let child = ChildSpec::new(format!("flaky-{}", uuid::Uuid::new_v4()), || Flaky, move || arguments.clone());
    let health = Health::default();
    let (supervisor, _) =
        Actor::spawn(None, Supervisor, SupervisorArguments { children: vec![child], policy: policy(), health: health.clone() })
            .await
            .expect("supervisor starts");
    (starts, health, supervisor)
}

async fn wait_until(condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        assert!(Instant::now() < deadline, "condition not reached within 10 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn failed_child_is_restarted() {
    let (starts, health, supervisor) = start(2).await;
    wait_until(|| starts.load(Ordering::SeqCst) >= 3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(starts.load(Ordering::SeqCst), 3, "two failures, two restarts, then it keeps running");
    assert!(health.is_healthy());
    assert_eq!(health.restarts().values().sum::<u64>(), 2);
    supervisor.stop(None);
}

#[tokio::test]
async fn child_that_keeps_failing_is_given_up() {
    let (starts, health, supervisor) = start(usize::MAX).await;
    wait_until(|| !health.is_healthy()).await;
    let settled = starts.load(Ordering::SeqCst);
    assert_eq!(settled, 4, "the first start and three restarts");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(starts.load(Ordering::SeqCst), settled, "no restart after giving up");
    assert_eq!(health.failed_actors().len(), 1);
    assert!(supervisor.get_status() == ractor::ActorStatus::Running, "the supervisor keeps running");
    supervisor.stop(None);
}
