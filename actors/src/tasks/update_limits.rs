//! Slurm limit enforcement: sets each team's billing limit on each cluster to the service
//! units it may still use, and records the `final` usage of allocations that have expired.
//!
//! The parent task, [`update_limits`], lists the enabled clusters, and the job system runs
//! [`update_limits_for_cluster`] once per cluster. Service units are hours throughout.
//!
//! For one team's Slurm account on one cluster, counting only allocations of approved requests:
//!
//! 1. `active_sus` is the awarded total of allocations that have started and not expired, and
//!    `expiring_sus` that of expired allocations without a `final` amount yet.
//! 2. `historical = limit - active_sus - expiring_sus` is what the current Slurm limit holds
//!    for allocations that were settled earlier (0 when negative).
//! 3. `current_usage = usage - historical` is what Slurm counted against the allocations that
//!    are not settled yet. When negative it becomes `historical`, not 0, as in the Python
//!    server, whose worked examples depend on it.
//! 4. An inactive team is locked: its limit becomes `current_usage`, so it can run no more.
//! 5. Otherwise the expiring allocations, oldest expiry first, each take
//!    `final = min(current_usage, awarded)` out of `current_usage`. The new limit is the sum
//!    of `final` over all expired allocations plus `active_sus`.

use std::fmt;

use chrono::NaiveDate;
use keystone_storage::allocations::records::{Cluster, ResourceAllocation};
use keystone_storage::limits::AllocationSet;
use keystone_storage::records::Team;
use keystone_storage::{Database, StorageError};
use serde::{Deserialize, Serialize};

use crate::slurm::{SlurmClient, SlurmError};

/// The Slurm account at the top of every cluster's tree, which belongs to no team.
const ROOT_ACCOUNT: &str = "root";

/// The limit task failed as a whole: the database or the account listing failed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateLimitsError {
    #[error(transparent)]
    Storage(#[from] StorageError),

    #[error(transparent)]
    Slurm(#[from] SlurmError),
}

/// The outcome of one run of [`update_limits_for_cluster`], for logs and task results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterReport {
    pub cluster: String,
    /// Whether a cluster of that name exists. When it does not, nothing else was done.
    pub found: bool,
    /// One entry per Slurm account, ordered by account name.
    pub accounts: Vec<AccountReport>,
}

/// One Slurm account and its outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountReport {
    pub account: String,
    pub outcome: AccountOutcome,
}

/// The outcome for one Slurm account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AccountOutcome {
    /// The limit was set to `limit_hours`, after writing the listed `final` amounts.
    LimitSet { limit_hours: i64, finals: Vec<FinalAmount> },
    /// The team is inactive, so its limit was set to its current usage and no `final` amount
    /// was written.
    Locked { limit_hours: i64 },
    /// The account was left alone.
    Skipped { reason: SkipReason },
    /// Updating the account failed with this error. The other accounts were still updated.
    Failed { error: String },
}

/// The reason an account was left alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SkipReason {
    /// The `root` account, which belongs to no team.
    Root,
    /// No team has the account name as its slug.
    NoTeam,
}

/// A `final` amount written to an allocation, in service units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalAmount {
    pub allocation_id: i64,
    pub amount: i64,
}

/// Updating one account failed.
#[derive(Debug)]
enum AccountError {
    Storage(StorageError),
    Slurm(SlurmError),
    /// An expiring allocation has no awarded amount, so its `final` amount cannot be set.
    NotAwarded {
        allocation_id: i64,
    },
}

impl fmt::Display for AccountError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountError::Storage(error) => error.fmt(formatter),
            AccountError::Slurm(error) => error.fmt(formatter),
            AccountError::NotAwarded { allocation_id } => {
                write!(formatter, "resource allocation {allocation_id} has expired without an awarded amount; set its awarded amount")
            }
        }
    }
}

impl From<StorageError> for AccountError {
    fn from(error: StorageError) -> Self {
        AccountError::Storage(error)
    }
}

impl From<SlurmError> for AccountError {
    fn from(error: SlurmError) -> Self {
        AccountError::Slurm(error)
    }
}

/// Lists the names of the enabled clusters, one [`update_limits_for_cluster`] job each.
pub async fn update_limits(db: &Database) -> Result<Vec<String>, UpdateLimitsError> {
    let clusters = db.enabled_cluster_names().await?;
    tracing::info!(clusters = clusters.len(), "updating Slurm limits of the enabled clusters");
    Ok(clusters)
}

/// Updates the Slurm limit of every team account on `cluster`, with `today` deciding which
/// allocations are active and which have expired.
///
/// A missing cluster is logged and reported, not an error, and an enabled flag turned off since
/// the parent ran is not checked again. An account that fails is logged and reported, and the
/// others go on. The task fails only when looking up the cluster or its teams fails, or when
/// listing the cluster's accounts fails.
pub async fn update_limits_for_cluster(
    db: &Database,
    slurm: &SlurmClient,
    cluster: &str,
    today: NaiveDate,
) -> Result<ClusterReport, UpdateLimitsError> {
    let Some(record) = db.cluster_by_name(cluster).await? else {
        tracing::error!(cluster, "cluster not found, so no Slurm limits were updated");
        return Ok(ClusterReport { cluster: cluster.to_string(), found: false, accounts: Vec::new() });
    };

    let accounts = slurm.accounts(&record.name).await?;
    let slugs: Vec<String> = accounts.iter().filter(|account| *account != ROOT_ACCOUNT).cloned().collect();
    let teams = db.teams_by_slugs(&slugs).await?;

    let mut reports = Vec::with_capacity(accounts.len());
    for account in accounts {
        let outcome = if account == ROOT_ACCOUNT {
            AccountOutcome::Skipped { reason: SkipReason::Root }
        } else if let Some(team) = teams.iter().find(|team| team.slug == account) {
            match update_account(db, slurm, &record, team, today).await {
                Ok(outcome) => outcome,
                Err(error) => {
                    tracing::error!(
                        account = %account,
                        cluster = %record.name,
                        error = %error,
                        "failed to update the Slurm limit of an account"
                    );
                    AccountOutcome::Failed { error: error.to_string() }
                }
            }
        } else {
            tracing::warn!(account = %account, cluster = %record.name, "Slurm account skipped because no team has it as its slug");
            AccountOutcome::Skipped { reason: SkipReason::NoTeam }
        };
        reports.push(AccountReport { account, outcome });
    }
    Ok(ClusterReport { cluster: record.name, found: true, accounts: reports })
}

/// Sets the Slurm limit of `team` on `cluster`, writing the `final` amounts of its expiring
/// allocations first unless the team is inactive.
async fn update_account(
    db: &Database,
    slurm: &SlurmClient,
    cluster: &Cluster,
    team: &Team,
    today: NaiveDate,
) -> Result<AccountOutcome, AccountError> {
    let account = team.slug.as_str();
    let cluster_name = cluster.name.as_str();

    let active = db.allocations_in_set(team.id, cluster.id, AllocationSet::Active, today).await?;
    let expiring = db.allocations_in_set(team.id, cluster.id, AllocationSet::Expiring, today).await?;
    let active_sus = awarded_total(&active);
    let expiring_sus = awarded_total(&expiring);

    let current_limit = slurm.limit_hours(account, cluster_name).await?;
    let mut historical = current_limit - active_sus - expiring_sus;
    if historical < 0 {
        tracing::warn!(
            account,
            cluster = cluster_name,
            current_limit,
            active_sus,
            expiring_sus,
            "Slurm limit is below the active and expiring awards, so no earlier usage is counted"
        );
        historical = 0;
    }

    let total_usage = slurm.usage_hours(account, cluster_name).await?;
    let mut current_usage = total_usage - historical;
    if current_usage < 0 {
        tracing::warn!(
            account,
            cluster = cluster_name,
            total_usage,
            historical,
            "Slurm usage is below the usage of settled allocations, so the settled usage is taken as current"
        );
        current_usage = historical;
    }

    if !team.is_active {
        slurm.set_limit_hours(account, cluster_name, current_usage).await?;
        tracing::debug!(
            account,
            cluster = cluster_name,
            limit_hours = current_usage,
            "team is inactive, so its Slurm limit was set to its usage"
        );
        return Ok(AccountOutcome::Locked { limit_hours: current_usage });
    }

    let mut finals = Vec::with_capacity(expiring.len());
    for allocation in &expiring {
        let awarded = allocation.awarded.ok_or(AccountError::NotAwarded { allocation_id: allocation.id })?;
        let amount = current_usage.min(awarded);
        current_usage -= amount;
        finals.push(FinalAmount { allocation_id: allocation.id, amount });
    }
    let pairs: Vec<(i64, i64)> = finals.iter().map(|entry| (entry.allocation_id, entry.amount)).collect();
    db.write_final_amounts(&pairs).await?;

    if current_usage > active_sus {
        tracing::warn!(account, cluster = cluster_name, current_usage, active_sus, "Slurm usage exceeds the active awards");
    }

    let expired = db.allocations_in_set(team.id, cluster.id, AllocationSet::Expired, today).await?;
    let new_historical: i64 = expired.iter().filter_map(|allocation| allocation.final_amount).sum();
    let new_limit = new_historical + active_sus;
    slurm.set_limit_hours(account, cluster_name, new_limit).await?;
    tracing::debug!(account, cluster = cluster_name, limit_hours = new_limit, "Slurm limit set");
    Ok(AccountOutcome::LimitSet { limit_hours: new_limit, finals })
}

/// Sums the awarded service units, ignoring allocations without an award.
fn awarded_total(allocations: &[ResourceAllocation]) -> i64 {
    allocations.iter().filter_map(|allocation| allocation.awarded).sum()
}
