//! Background tasks that the job system runs.

pub mod update_limits;
