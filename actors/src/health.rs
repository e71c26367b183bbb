//! Node health as the supervision tree sees it: restart counts per actor and the actors that
//! were given up on. A node with any given-up actor reports itself unhealthy.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Shared, cheaply cloned record of actor restarts and failures.
#[derive(Clone, Default)]
pub struct Health {
    inner: Arc<Mutex<HealthState>>,
}

#[derive(Default)]
struct HealthState {
    restarts: BTreeMap<String, u64>,
    given_up: Vec<String>,
}

impl Health {
    pub fn record_restart(&self, actor: &str) {
        let mut state = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *state.restarts.entry(actor.to_string()).or_default() += 1;
    }

    pub fn give_up(&self, actor: &str) {
        let mut state = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !state.given_up.iter().any(|name| name == actor) {
            state.given_up.push(actor.to_string());
        }
    }

    /// True while no actor has been given up on.
    pub fn is_healthy(&self) -> bool {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).given_up.is_empty()
    }

    /// Actors given up on, in the order they failed for good.
    pub fn failed_actors(&self) -> Vec<String> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).given_up.clone()
    }

    /// Restarts per actor since the node started.
    pub fn restarts(&self) -> BTreeMap<String, u64> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).restarts.clone()
    }
}
