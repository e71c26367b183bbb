//! The scheduler: holds (or waits for) the leader lease and, while leader, turns each due
//! schedule tick into one job.
//!
//! A tick is enqueued at most once: it must be claimed in the coordinator under the current
//! fencing epoch (so a deposed leader cannot enqueue) and recorded in the database (so a
//! restart of every node does not enqueue it again). Only the latest due tick of each task is
//! considered, so ticks missed while no node ran are caught up by one run, not many. A task
//! with no recorded tick at all (a new deployment) starts with its next tick.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use keystone_cluster::{Lease, NewJob};
use ractor::{Actor, ActorProcessingErr, ActorRef};

use crate::jobs::catalog::TaskSpec;
use crate::jobs::payload::JobPayload;
use crate::jobs::records::record_enqueued;
use crate::jobs::JobContext;

/// How often the scheduler renews its lease and looks for due ticks.
const TICK_INTERVAL: Duration = Duration::from_secs(1);
/// How far back a task with no recorded tick looks for a due one.
const FIRST_LOOKBACK: chrono::Duration = chrono::Duration::days(1);

pub struct Scheduler;

pub enum SchedulerMessage {
    Tick,
}

pub struct SchedulerState {
    context: JobContext,
    lease: Option<Lease>,
    schedules: Vec<(TaskSpec, cron::Schedule)>,
    /// Latest tick known to be enqueued, per task.
    last_ticks: HashMap<&'static str, i64>,
}

impl Actor for Scheduler {
    type Msg = SchedulerMessage;
    type State = SchedulerState;
    type Arguments = JobContext;

    async fn pre_start(&self, myself: ActorRef<Self::Msg>, context: JobContext) -> Result<Self::State, ActorProcessingErr> {
        let schedules = schedules(&context)?;
        // The first look happens at once, so a tick missed while no node ran is caught up at start.
        myself.send_message(SchedulerMessage::Tick)?;
        myself.send_interval(TICK_INTERVAL, || SchedulerMessage::Tick);
        Ok(SchedulerState { context, lease: None, schedules, last_ticks: HashMap::new() })
    }

    async fn handle(&self, _myself: ActorRef<Self::Msg>, _message: Self::Msg, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        hold_lease(state).await;
        metrics::gauge!("keystone_scheduler_leader").set(if state.lease.is_some() { 1.0 } else { 0.0 });
        let Some(epoch) = state.lease.as_ref().map(|lease| lease.epoch) else {
            return Ok(());
        };
        let now = Utc::now();
        for index in 0..state.schedules.len() {
            let (spec, schedule) = state.schedules[index].clone();
            if let Err(error) = enqueue_due_tick(state, &spec, &schedule, now, epoch).await {
                tracing::error!(task = spec.name, %error, "failed to enqueue a scheduled run");
            }
        }
        Ok(())
    }

    async fn post_stop(&self, _myself: ActorRef<Self::Msg>, state: &mut Self::State) -> Result<(), ActorProcessingErr> {
        if let Some(lease) = state.lease.take() {
            let _ = state.context.coordinator.release_leadership(&state.context.node_id, lease.epoch).await;
            tracing::info!(node = %state.context.node_id, epoch = lease.epoch, "released the leader lease");
        }
        Ok(())
    }
}

/// The scheduled tasks with their effective cron schedules (`KEYSTONE_SCHEDULES` overrides).
fn schedules(context: &JobContext) -> Result<Vec<(TaskSpec, cron::Schedule)>, ActorProcessingErr> {
    let mut list = Vec::new();
    for spec in context.catalog.tasks() {
        let expression = match context.settings.jobs.schedules.get(spec.alias) {
            Some(value) if value == "off" => continue,
            Some(value) => value.as_str(),
            None => match spec.schedule {
                Some(value) => value,
                None => continue,
            },
        };
        let schedule = cron::Schedule::from_str(expression)
            .map_err(|error| format!("invalid schedule {expression:?} for task {}: {error}", spec.alias))?;
        list.push((*spec, schedule));
    }
    Ok(list)
}

async fn hold_lease(state: &mut SchedulerState) {
    let context = &state.context;
    let ttl = context.settings.jobs.leader_ttl;
    match &state.lease {
        Some(lease) => match context.coordinator.renew_leadership(&context.node_id, lease.epoch, ttl).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(node = %context.node_id, epoch = lease.epoch, "lost the leader lease");
                state.lease = None;
            }
            Err(error) => {
                tracing::warn!(node = %context.node_id, %error, "failed to renew the leader lease; stepping down");
                state.lease = None;
            }
        },
        None => match context.coordinator.acquire_leadership(&context.node_id, ttl).await {
            Ok(Some(lease)) => {
                tracing::info!(node = %context.node_id, epoch = lease.epoch, "became the scheduler leader");
                state.lease = Some(lease);
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(node = %context.node_id, %error, "failed to reach the coordinator for the leader lease"),
        },
    }
}

/// The latest tick of `schedule` at or before `now`, after `since`.
fn latest_due(schedule: &cron::Schedule, since: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    schedule.after(&since).take_while(|tick| *tick <= now).last()
}

async fn enqueue_due_tick(
    state: &mut SchedulerState,
    spec: &TaskSpec,
    schedule: &cron::Schedule,
    now: DateTime<Utc>,
    epoch: u64,
) -> Result<(), String> {
    let context = &state.context;
    let known = match state.last_ticks.get(spec.name) {
        Some(tick) => Some(*tick),
        None => context.db.last_schedule_tick(spec.name).await.map_err(|error| error.to_string())?,
    };
    let since = match known {
        Some(tick) => Utc.timestamp_opt(tick, 0).single().unwrap_or(now - FIRST_LOOKBACK),
        None => now - FIRST_LOOKBACK,
    };
    let Some(tick) = latest_due(schedule, since, now) else {
        if let Some(tick) = known {
            state.last_ticks.insert(spec.name, tick);
        }
        return Ok(());
    };
    let tick_unix = tick.timestamp();
    if known.is_none() {
        // A task that never ran has no missed tick: its schedule starts with the next one.
        context.db.claim_schedule_tick(spec.name, tick_unix).await.map_err(|error| error.to_string())?;
        state.last_ticks.insert(spec.name, tick_unix);
        tracing::info!(task = spec.name, "schedule starts; the first run is at the next tick");
        return Ok(());
    }
    if !context.coordinator.mark_tick(spec.name, tick_unix, epoch).await.map_err(|error| error.to_string())? {
        state.last_ticks.insert(spec.name, tick_unix);
        return Ok(());
    }
    if !context.db.claim_schedule_tick(spec.name, tick_unix).await.map_err(|error| error.to_string())? {
        state.last_ticks.insert(spec.name, tick_unix);
        return Ok(());
    }
    let payload = JobPayload { tick: Some(tick_unix), periodic_task_name: Some(spec.alias.to_string()), ..Default::default() };
    let job =
        NewJob::new(spec.name, payload.encode()).with_dedup_key(format!("{}@{tick_unix}", spec.alias)).with_max_attempts(spec.max_attempts);
    let outcome = context.coordinator.enqueue_fenced(job, epoch).await.map_err(|error| error.to_string())?;
    record_enqueued(&context.db, outcome.job_id().as_str(), spec.name, &payload).await;
    tracing::info!(task = spec.name, tick = %tick, job_id = %outcome.job_id(), epoch, "enqueued a scheduled run");
    state.last_ticks.insert(spec.name, tick_unix);
    Ok(())
}
