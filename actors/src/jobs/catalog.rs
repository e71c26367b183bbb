//! The tasks Keystone knows: their names (the reference's dotted names and short aliases),
//! schedules and limits.

use std::time::Duration;

/// One task and how it is run.
#[derive(Clone, Copy, Debug)]
pub struct TaskSpec {
    /// The reference's dotted name, used in task records.
    pub name: &'static str,
    /// Short name for the command line.
    pub alias: &'static str,
    /// Cron expression in UTC with a seconds field, or `None` for tasks only run on demand or
    /// fanned out by another task.
    pub schedule: Option<&'static str>,
    /// Longest a run may take before it counts as failed.
    pub timeout: Duration,
    pub max_attempts: u32,
    pub description: &'static str,
}

/// Deletes request, audit and task records older than their retention settings.
pub const CLEAR_LOG_RECORDS: TaskSpec = TaskSpec {
    name: "apps.logging.tasks.clear_log_records",
    alias: "clear_log_records",
    schedule: Some("0 0 * * * *"),
    timeout: Duration::from_secs(300),
    max_attempts: 3,
    description: "delete log records older than LOG_REQ_RETENTION_SEC, LOG_AUD_RETENTION_SEC and LOG_TSK_RETENTION_SEC",
};

/// Enqueues one limit update per enabled cluster.
pub const UPDATE_LIMITS: TaskSpec = TaskSpec {
    name: "apps.allocations.tasks.limits.update_limits",
    alias: "update_limits",
    schedule: Some("0 0 * * * *"),
    timeout: Duration::from_secs(60),
    max_attempts: 3,
    description: "enqueue a Slurm limit update for every enabled cluster",
};

/// Sets the Slurm limits of every account on one cluster (argument `cluster_name`).
pub const UPDATE_LIMITS_FOR_CLUSTER: TaskSpec = TaskSpec {
    name: "apps.allocations.tasks.limits.update_limits_for_cluster",
    alias: "update_limits_for_cluster",
    schedule: None,
    timeout: Duration::from_secs(900),
    max_attempts: 3,
    description: "set the Slurm limits of every account on one cluster (argument cluster_name)",
};

/// Sleeps for `seconds` (default 5); registered only when `KEYSTONE_TEST_TASKS` is set.
pub const TEST_SLEEP: TaskSpec = TaskSpec {
    name: "keystone.testing.sleep",
    alias: "test_sleep",
    schedule: None,
    timeout: Duration::from_secs(120),
    max_attempts: 3,
    description: "sleep for `seconds` seconds (tests only)",
};

/// Panics; registered only when `KEYSTONE_TEST_TASKS` is set.
pub const TEST_PANIC: TaskSpec = TaskSpec {
    name: "keystone.testing.panic",
    alias: "test_panic",
    schedule: None,
    timeout: Duration::from_secs(10),
    max_attempts: 2,
    description: "panic in the worker (tests only)",
};

const PRODUCTION: [TaskSpec; 3] = [CLEAR_LOG_RECORDS, UPDATE_LIMITS, UPDATE_LIMITS_FOR_CLUSTER];
const TESTING: [TaskSpec; 2] = [TEST_SLEEP, TEST_PANIC];

/// The task catalog of a node.
#[derive(Clone, Debug)]
pub struct Catalog {
    tasks: Vec<TaskSpec>,
}

impl Catalog {
    /// The production tasks, plus the test tasks when `with_test_tasks`.
    pub fn new(with_test_tasks: bool) -> Catalog {
        let mut tasks = PRODUCTION.to_vec();
        if with_test_tasks {
            tasks.extend(TESTING);
        }
        Catalog { tasks }
    }

    pub fn tasks(&self) -> &[TaskSpec] {
        &self.tasks
    }

    /// Finds a task by dotted name or alias.
    pub fn find(&self, name: &str) -> Option<&TaskSpec> {
        self.tasks.iter().find(|task| task.name == name || task.alias == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn schedules_parse_and_names_resolve() {
        let catalog = Catalog::new(true);
        for task in catalog.tasks() {
            if let Some(expression) = task.schedule {
                assert!(cron::Schedule::from_str(expression).is_ok(), "{}: {expression}", task.name);
            }
        }
        assert_eq!(catalog.find("update_limits").unwrap().name, UPDATE_LIMITS.name);
        assert_eq!(catalog.find(UPDATE_LIMITS.name).unwrap().alias, "update_limits");
        assert!(Catalog::new(false).find("test_panic").is_none());
    }
}
