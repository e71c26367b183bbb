//! `keystone task list|run|status`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use keystone_actors::jobs::{enqueue_now, job_status, Catalog, JobStatus};
use keystone_cluster::{Coordinator, RedisCoordinator};
use keystone_config::Settings;

use crate::cli::TaskCommand;
use crate::commands::open_database;
use crate::control::{self, ControlRequest};

pub async fn task(settings: Settings, command: TaskCommand) -> anyhow::Result<()> {
    let catalog = Catalog::new(settings.jobs.test_tasks);
    match command {
        TaskCommand::List => {
            list(&settings, &catalog);
            Ok(())
        }
        TaskCommand::Run { name, args, wait, timeout } => {
            let args = parse_args(&args)?;
            let target = Target::open(&settings).await?;
            let job_id = run(&settings, &target, &catalog, &name, args).await?;
            println!("{job_id}");
            if wait {
                let status = wait_for(&target, &job_id, Duration::from_secs(timeout)).await?;
                print_status(&status);
                if status.state != "succeeded" {
                    bail!("job {job_id} failed: {}", status.last_error.unwrap_or_default());
                }
            }
            Ok(())
        }
        TaskCommand::Status { job_id } => {
            let target = Target::open(&settings).await?;
            let status = status(&target, &job_id).await?.with_context(|| format!("no job {job_id}"))?;
            print_status(&status);
            Ok(())
        }
    }
}

fn list(settings: &Settings, catalog: &Catalog) {
    println!("{:<58} {:<26} schedule", "task", "short name");
    for task in catalog.tasks() {
        let schedule = settings.jobs.schedules.get(task.alias).map(String::as_str).or(task.schedule).unwrap_or("on demand");
        println!("{:<58} {:<26} {schedule}", task.name, task.alias);
    }
}

fn parse_args(raw: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut args = BTreeMap::new();
    for pair in raw {
        let Some((key, value)) = pair.split_once('=') else {
            bail!("invalid --arg {pair:?}: expected KEY=VALUE");
        };
        if key.trim().is_empty() {
            bail!("invalid --arg {pair:?}: the KEY before `=` is empty");
        }
        if args.insert(key.to_string(), value.to_string()).is_some() {
            bail!("invalid --arg {pair:?}: {key} is given more than once");
        }
    }
    Ok(args)
}

/// Destination of the command's requests: Redis in a cluster, else the control socket of the
/// node that serves this data directory. Opened once, so `--wait` polls on one Redis pool.
enum Target {
    Cluster(Arc<dyn Coordinator>),
    Node(PathBuf),
}

impl Target {
    async fn open(settings: &Settings) -> anyhow::Result<Target> {
        if settings.cluster_enable {
            let coordinator = RedisCoordinator::connect(&settings.redis).await.context("failed to reach Redis")?;
            Ok(Target::Cluster(Arc::new(coordinator)))
        } else {
            Ok(Target::Node(control::socket_path(&settings.data_dir)))
        }
    }
}

async fn run(
    settings: &Settings,
    target: &Target,
    catalog: &Catalog,
    name: &str,
    args: BTreeMap<String, String>,
) -> anyhow::Result<String> {
    let socket = match target {
        Target::Cluster(coordinator) => {
            let db = open_database(settings).await?;
            let job_id = enqueue_now(coordinator.as_ref(), &db, catalog, name, args).await.map_err(anyhow::Error::msg);
            db.close().await;
            return Ok(job_id?.to_string());
        }
        Target::Node(socket) => socket,
    };
    let response = control::send(socket, &ControlRequest::Run { task: name.to_string(), args }).await?;
    match (response.job_id, response.error) {
        (_, Some(error)) => bail!(error),
        (Some(job_id), None) => Ok(job_id),
        (None, None) => bail!("the node answered without a job id"),
    }
}

async fn status(target: &Target, job_id: &str) -> anyhow::Result<Option<JobStatus>> {
    let socket = match target {
        Target::Cluster(coordinator) => return job_status(coordinator.as_ref(), job_id).await.map_err(anyhow::Error::msg),
        Target::Node(socket) => socket,
    };
    let response = control::send(socket, &ControlRequest::Status { job_id: job_id.to_string() }).await?;
    match (response.status, response.error) {
        (Some(status), _) => Ok(Some(status)),
        (None, Some(error)) if error.starts_with("no job") => Ok(None),
        (None, Some(error)) => bail!(error),
        (None, None) => Ok(None),
    }
}

/// Polls the job until it succeeds or is dead, at most `timeout`.
async fn wait_for(target: &Target, job_id: &str, timeout: Duration) -> anyhow::Result<JobStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = status(target, job_id).await? {
            if status.is_final() {
                return Ok(status);
            }
        }
        if Instant::now() >= deadline {
            bail!("job {job_id} did not finish within {} s", timeout.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn print_status(status: &JobStatus) {
    println!("job:      {}", status.job_id);
    println!("task:     {}", status.task);
    println!("state:    {}", status.state);
    println!("attempts: {}/{}", status.attempts, status.max_attempts);
    if let Some(node) = &status.node {
        println!("node:     {node}");
    }
    if let Some(error) = &status.last_error {
        println!("error:    {error}");
    }
    if let Some(result) = &status.result {
        println!("result:   {result}");
    }
}

#[cfg(test)]
mod tests {
    use super::parse_args;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| item.to_string()).collect()
    }

    #[test]
    fn task_arguments() {
        let parsed = parse_args(&strings(&["cluster=hpc-a", "note=a=b", "empty="])).expect("valid arguments");
        assert_eq!(parsed["cluster"], "hpc-a");
        assert_eq!(parsed["note"], "a=b");
        assert_eq!(parsed["empty"], "");
        for bad in [&["cluster"][..], &["=x"], &[" =x"], &["a=1", "a=2"]] {
            assert!(parse_args(&strings(bad)).is_err(), "{bad:?} was accepted");
        }
    }
}
