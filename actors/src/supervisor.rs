//! A supervisor actor that restarts failed children with exponential backoff and jitter, and
//! gives up on a child that keeps failing without stopping itself or the node.
//!
//! Children are described by [`ChildSpec`]s, so one supervisor type serves every level of the
//! tree. Restarts and give-ups are logged with the child's name and counted in [`Health`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, SpawnErr, SupervisionEvent};
use rand::Rng;

use crate::health::Health;

/// Starts one child linked to `supervisor`.
pub type SpawnChild = Arc<dyn Fn(ActorCell) -> BoxFuture<'static, Result<ActorCell, SpawnErr>> + Send + Sync>;

/// A child of a supervisor.
#[derive(Clone)]
pub struct ChildSpec {
    /// Unique name within the node, used in logs and metrics.
    pub name: String,
    pub spawn: SpawnChild,
}

impl ChildSpec {
    /// Describes a child that `spawn_linked`s actor `make()` with `arguments()` under `name`.
    pub fn new<A, F, G>(name: impl Into<String>, make: F, arguments: G) -> ChildSpec
    where
        A: Actor,
        F: Fn() -> A + Send + Sync + 'static,
        G: Fn() -> A::Arguments + Send + Sync + 'static,
    {
        let name = name.into();
        let actor_name = name.clone();
        let make = Arc::new(make);
        let arguments = Arc::new(arguments);
        let spawn: SpawnChild = Arc::new(move |supervisor: ActorCell| {
            let actor_name = actor_name.clone();
            let make = make.clone();
            let arguments = arguments.clone();
            Box::pin(async move {
                let (actor, _handle) = Actor::spawn_linked(Some(actor_name), make(), arguments(), supervisor).await?;
                Ok(actor.get_cell())
            })
        });
        ChildSpec { name, spawn }
    }
}

/// When and how often to restart.
#[derive(Clone, Copy, Debug)]
pub struct RestartPolicy {
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// More than this many restarts of one child within `window` gives up on it.
    pub max_restarts: u32,
    pub window: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        RestartPolicy {
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
            max_restarts: 5,
            window: Duration::from_secs(60),
        }
    }
}

impl RestartPolicy {
    /// Backoff before restart number `attempt` (1-based): doubling from the initial backoff up
    /// to the maximum, with up to 25 % random jitter so restarted children do not stampede.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
        let base = self.initial_backoff.saturating_mul(factor).min(self.max_backoff);
        let jitter = rand::thread_rng().gen_range(0.0..=0.25);
        base.mul_f64(1.0 + jitter)
    }
}

/// Messages to a [`Supervisor`].
pub enum SupervisorMessage {
    /// Restart the named child (sent to itself after the backoff).
    Restart(String),
}

/// Arguments of a [`Supervisor`].
pub struct SupervisorArguments {
    pub children: Vec<ChildSpec>,
    pub policy: RestartPolicy,
    pub health: Health,
}

/// State of a [`Supervisor`].
pub struct SupervisorState {
    specs: HashMap<String, ChildSpec>,
    /// Running children by actor id.
    running: HashMap<ractor::ActorId, String>,
    /// Restart times per child, within the policy window.
    restarts: HashMap<String, Vec<Instant>>,
    policy: RestartPolicy,
    health: Health,
}

/// Restarts failed children per its [`RestartPolicy`].
pub struct Supervisor;

impl Actor for Supervisor {
    type Msg = SupervisorMessage;
    type State = SupervisorState;
    type Arguments = SupervisorArguments;

    async fn pre_start(&self, myself: ActorRef<Self::Msg>, arguments: Self::Arguments) -> Result<Self::State, ActorProcessingErr> {
        let mut state = SupervisorState {
            specs: HashMap::new(),
            running: HashMap::new(),
            restarts: HashMap::new(),
            policy: arguments.policy,
            health: arguments.health,
        };
        for spec in arguments.children {
            let cell = (spec.spawn)(myself.get_cell()).await?;
            tracing::info!(actor = %spec.name, "actor started");
            state.running.insert(cell.get_id(), spec.name.clone());
            state.specs.insert(spec.name.clone(), spec);
        }
        Ok(state)
    }

    async fn handle(&self, myself: ActorRef<Self::Msg>, message: Self::Msg, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        let SupervisorMessage::Restart(name) = message;
        let Some(spec) = state.specs.get(&name).cloned() else {
            return Ok(());
        };
        match (spec.spawn)(myself.get_cell()).await {
            Ok(cell) => {
                tracing::info!(actor = %name, "actor restarted");
                state.running.insert(cell.get_id(), name);
            }
            Err(error) => {
                tracing::error!(actor = %name, %error, "failed to restart actor");
                schedule_restart(&myself, state, name, &error.to_string());
            }
        }
        Ok(())
    }

    async fn post_stop(&self, myself: ActorRef<Self::Msg>, _state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        // Children stop first, so batchers write what they hold while the database is open.
        myself.get_cell().stop_children_and_wait(Some("supervisor stopping".to_string()), Some(Duration::from_secs(30))).await;
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorFailed(cell, error) => {
                if let Some(name) = state.running.remove(&cell.get_id()) {
                    tracing::warn!(actor = %name, error = %error, "actor failed");
                    schedule_restart(&myself, state, name, &error.to_string());
                }
            }
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                if let Some(name) = state.running.remove(&cell.get_id()) {
                    tracing::info!(actor = %name, reason = ?reason, "actor stopped");
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Schedules a restart after the backoff, or gives up when the child failed too often.
fn schedule_restart(myself: &ActorRef<SupervisorMessage>, state: &mut SupervisorState, name: String, error: &str) {
    let now = Instant::now();
    let window = state.policy.window;
    let history = state.restarts.entry(name.clone()).or_default();
    history.retain(|time| now.duration_since(*time) < window);
    if history.len() as u32 >= state.policy.max_restarts {
        tracing::error!(actor = %name, restarts = history.len(), error, "actor keeps failing; giving up on it");
        state.health.give_up(&name);
        metrics::counter!("keystone_actor_give_ups_total", "actor" => name).increment(1);
        return;
    }
    history.push(now);
    let attempt = history.len() as u32;
    let delay = state.policy.backoff(attempt);
    state.health.record_restart(&name);
    metrics::counter!("keystone_actor_restarts_total", "actor" => name.clone()).increment(1);
    tracing::warn!(actor = %name, attempt, delay_ms = delay.as_millis() as u64, "restarting actor after backoff");
    myself.send_after(delay, move || SupervisorMessage::Restart(name));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        let policy =
            RestartPolicy { initial_backoff: Duration::from_millis(100), max_backoff: Duration::from_secs(1), ..Default::default() };
        for (attempt, base) in [(1, 100), (2, 200), (3, 400), (4, 800), (5, 1000), (9, 1000)] {
            let delay = policy.backoff(attempt).as_millis() as u64;
            assert!(delay >= base && delay <= base * 5 / 4, "attempt {attempt}: {delay} ms");
        }
    }
}
