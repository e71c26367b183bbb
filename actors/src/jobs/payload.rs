//! Job payloads, encoded as MessagePack.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a job carries: the task's keyword arguments and, for scheduled runs, the tick.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobPayload {
    pub args: BTreeMap<String, String>,
    /// Unix seconds of the schedule tick that enqueued the job.
    pub tick: Option<i64>,
    /// Name of the schedule entry, for task records.
    pub periodic_task_name: Option<String>,
}

impl JobPayload {
    pub fn encode(&self) -> Vec<u8> {
        rmp_serde::to_vec_named(self).expect("a payload of strings always encodes")
    }

    pub fn decode(bytes: &[u8]) -> Result<JobPayload, String> {
        rmp_serde::from_slice(bytes).map_err(|error| format!("invalid job payload: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips() {
        let mut payload = JobPayload { tick: Some(1_700_000_000), ..Default::default() };
        payload.args.insert("cluster_name".into(), "cluster-a".into());
        assert_eq!(JobPayload::decode(&payload.encode()).unwrap(), payload);
        assert!(JobPayload::decode(b"\xc1").is_err());
    }
}
