//! Slurm accounting through its command-line tools: list a cluster's accounts, read and set an
//! account's billing limit, and read its billing usage.
//!
//! Keystone counts service units in hours, while Slurm stores `GrpTRESMins` limits and
//! `GrpTRESRaw` usage in TRES-minutes. Reads divide by 60, rounding down, and writes multiply
//! by 60.

mod command;
mod parse;

use std::collections::BTreeSet;

pub use command::{SlurmClient, SlurmError, DEFAULT_TIMEOUT};
pub use parse::{parse_accounts, parse_limit_minutes, parse_usage_minutes};

impl SlurmClient {
    /// Lists the accounts under `root` on `cluster`, by running
    /// `sacctmgr show -nP account withassoc where parents=root format=Account cluster=<cluster>`.
    /// Real Slurm includes `root` itself.
    pub async fn accounts(&self, cluster: &str) -> Result<BTreeSet<String>, SlurmError> {
        let mut args: Vec<String> =
            ["show", "-nP", "account", "withassoc", "where", "parents=root", "format=Account"].into_iter().map(String::from).collect();
        args.push(format!("cluster={cluster}"));
        let stdout = self.run(&self.sacctmgr, &args).await?;
        Ok(parse_accounts(&stdout))
    }

    /// Sets the billing limit of `account` on `cluster` to `hours` service units, by running
    /// `sacctmgr modify -i account where account=<account> cluster=<cluster> set
    /// GrpTresMins=billing=<hours * 60>`. Only the exit status of the tool counts.
    pub async fn set_limit_hours(&self, account: &str, cluster: &str, hours: i64) -> Result<(), SlurmError> {
        let minutes = hours.checked_mul(60).filter(|minutes| *minutes >= 0).ok_or(SlurmError::InvalidLimit { hours })?;
        let args = vec![
            "modify".to_string(),
            "-i".to_string(),
            "account".to_string(),
            "where".to_string(),
            format!("account={account}"),
            format!("cluster={cluster}"),
            "set".to_string(),
            format!("GrpTresMins=billing={minutes}"),
        ];
        self.run(&self.sacctmgr, &args).await?;
        Ok(())
    }

    /// Reads the billing limit of `account` on `cluster` in whole hours, by running
    /// `sacctmgr show -nP association where account=<account> cluster=<cluster>
    /// format=GrpTRESMins`. No limit, or one that cannot be read, is 0.
    pub async fn limit_hours(&self, account: &str, cluster: &str) -> Result<i64, SlurmError> {
        let args = vec![
            "show".to_string(),
            "-nP".to_string(),
            "association".to_string(),
            "where".to_string(),
            format!("account={account}"),
            format!("cluster={cluster}"),
            "format=GrpTRESMins".to_string(),
        ];
        let stdout = self.run(&self.sacctmgr, &args).await?;
        Ok(minutes_to_hours(parse_limit_minutes(&stdout)))
    }

    /// Reads the billing usage of `account` on `cluster` in whole hours, by running
    /// `sshare -nP -A <account> -M <cluster> --format=GrpTRESRaw`. No usage, or usage that
    /// cannot be read, is 0.
    pub async fn usage_hours(&self, account: &str, cluster: &str) -> Result<i64, SlurmError> {
        let args = vec![
            "-nP".to_string(),
            "-A".to_string(),
            account.to_string(),
            "-M".to_string(),
            cluster.to_string(),
            "--format=GrpTRESRaw".to_string(),
        ];
        let stdout = self.run(&self.sshare, &args).await?;
        Ok(minutes_to_hours(parse_usage_minutes(&stdout)))
    }
}

/// Converts TRES-minutes to whole hours, rounding down. Every `u64` count of minutes fits in
/// an `i64` once divided by 60.
fn minutes_to_hours(minutes: u64) -> i64 {
    (minutes / 60) as i64
}
