//! Keystone's actors: the supervision tree and the background work that outlives a request.

pub mod health;
pub mod jobs;
pub mod node;
pub mod request_log;
pub mod slurm;
pub mod supervisor;
pub mod tasks;

pub use health::Health;
pub use node::Node;
pub use supervisor::{ChildSpec, RestartPolicy, Supervisor, SupervisorArguments, SupervisorMessage};
