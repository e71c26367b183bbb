//! The reclaimer: keeps this node's heartbeat, returns jobs whose claim expired (their node
//! stopped) to the queue, and samples queue and cluster gauges.

use std::time::Duration;

use keystone_cluster::{FailOutcome, NodeInfo};
use ractor::{Actor, ActorProcessingErr, ActorRef};

use crate::jobs::JobContext;

const INTERVAL: Duration = Duration::from_secs(1);
/// A node missing this many heartbeats in a row counts as gone.
const HEARTBEAT_TTL: Duration = Duration::from_secs(5);

pub struct Reclaimer;

pub enum ReclaimerMessage {
    Tick,
}

pub struct ReclaimerState {
    context: JobContext,
    node: NodeInfo,
}

impl Actor for Reclaimer {
    type Msg = ReclaimerMessage;
    type State = ReclaimerState;
    type Arguments = JobContext;

    async fn pre_start(&self, myself: ActorRef<Self::Msg>, context: JobContext) -> Result<Self::State, ActorProcessingErr> {
        let node = NodeInfo { id: context.node_id.clone(), address: context.node_id.clone(), started_at: chrono::Utc::now() };
        myself.send_interval(INTERVAL, || ReclaimerMessage::Tick);
        Ok(ReclaimerState { context, node })
    }

    async fn handle(&self, _myself: ActorRef<Self::Msg>, _message: Self::Msg, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        let coordinator = &state.context.coordinator;
        if let Err(error) = coordinator.heartbeat(&state.node, HEARTBEAT_TTL).await {
            tracing::warn!(node = %state.node.id, %error, "failed to send the node heartbeat");
        }
        match coordinator.reclaim_expired().await {
            Ok(reclaimed) => {
                for job in reclaimed {
                    match job.outcome {
                        FailOutcome::Retried => {
                            tracing::warn!(job_id = %job.id, "returned a job of a stopped worker to the queue");
                            metrics::counter!("keystone_jobs_retried_total", "task" => "reclaimed").increment(1);
                        }
                        FailOutcome::DeadLettered => {
                            tracing::error!(job_id = %job.id, "a job's workers kept stopping; moved it to the dead letters");
                            metrics::counter!("keystone_jobs_dead_lettered_total", "task" => "reclaimed").increment(1);
                            mark_dead(&state.context, job.id.as_str()).await;
                        }
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "failed to reclaim expired jobs"),
        }
        sample_gauges(&state.context).await;
        Ok(())
    }

    async fn post_stop(&self, _myself: ActorRef<Self::Msg>, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        let _ = state.context.coordinator.leave(&state.node.id).await;
        Ok(())
    }
}

/// Marks the task record of a dead-lettered job as failed.
async fn mark_dead(context: &JobContext, job_id: &str) {
    let Ok(Some(record)) = context.coordinator.job(&keystone_cluster::JobId::new(job_id)).await else {
        return;
    };
    let payload = crate::jobs::JobPayload::decode(&record.payload).unwrap_or_default();
    let task_name = context.catalog.find(&record.task).map(|spec| spec.name).unwrap_or(record.task.as_str());
    let base = crate::jobs::records::RecordBase { job_id, task_name, payload: &payload, node_id: None, created: keystone_storage::now() };
    crate::jobs::records::write(&context.db, &base, "FAILURE", None, None, record.last_error.clone()).await;
}

async fn sample_gauges(context: &JobContext) {
    if let Ok(depth) = context.coordinator.queue_depth().await {
        metrics::gauge!("keystone_job_queue_depth", "state" => "ready").set(depth.ready as f64);
        metrics::gauge!("keystone_job_queue_depth", "state" => "scheduled").set(depth.scheduled as f64);
        metrics::gauge!("keystone_job_queue_depth", "state" => "running").set(depth.running as f64);
        metrics::gauge!("keystone_job_queue_depth", "state" => "dead_lettered").set(depth.dead_lettered as f64);
    }
    if let Ok(nodes) = context.coordinator.live_nodes().await {
        metrics::gauge!("keystone_cluster_live_nodes").set(nodes.len() as f64);
    }
}
