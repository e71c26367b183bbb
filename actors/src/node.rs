//! The node's supervision tree:
//!
//! ```text
//! node
//! ├── storage        batched writers
//! │   └── request-log
//! └── jobs           the job system (see `jobs`)
//!     ├── scheduler
//!     ├── worker-N
//!     └── reclaimer
//! ```

use std::time::Duration;

use keystone_storage::Database;
use ractor::{Actor, ActorRef};

use crate::health::Health;
use crate::jobs::JobContext;
use crate::request_log::{RequestLogBatcher, REQUEST_LOG_ACTOR};
use crate::supervisor::{ChildSpec, RestartPolicy, Supervisor, SupervisorArguments, SupervisorMessage};

/// A running supervision tree.
pub struct Node {
    root: ActorRef<SupervisorMessage>,
    handle: tokio::task::JoinHandle<()>,
    pub health: Health,
}

impl Node {
    /// Starts the tree. Actor names are registered globally, so one process runs one node.
    pub async fn start(db: Database, jobs: JobContext) -> Result<Node, ractor::SpawnErr> {
        let health = Health::default();
        let storage =
            supervisor_spec("storage", vec![ChildSpec::new(REQUEST_LOG_ACTOR, || RequestLogBatcher, move || db.clone())], &health);
        let job_system = supervisor_spec("jobs", crate::jobs::children(jobs), &health);
        let arguments =
            SupervisorArguments { children: vec![storage, job_system], policy: RestartPolicy::default(), health: health.clone() };
        let (root, handle) = Actor::spawn(Some("node".to_string()), Supervisor, arguments).await?;
        tracing::info!("supervision tree started");
        Ok(Node { root, handle, health })
    }

    /// Stops every actor, children first, waiting at most 30 s.
    pub async fn stop(self) {
        self.root.stop(Some("node stopping".to_string()));
        if tokio::time::timeout(Duration::from_secs(30), self.handle).await.is_err() {
            tracing::error!("supervision tree did not stop within 30 s");
        }
        tracing::info!("supervision tree stopped");
    }
}

fn supervisor_spec(name: &str, children: Vec<ChildSpec>, health: &Health) -> ChildSpec {
    let health = health.clone();
    ChildSpec::new(
        name,
        || Supervisor,
        move || SupervisorArguments { children: children.clone(), policy: RestartPolicy::default(), health: health.clone() },
    )
}
