//! The one error type of every coordination operation.

use thiserror::Error;

/// Error of a coordination operation.
///
/// `Unavailable` is the only transient error: the caller may retry the same operation later.
/// The others describe the request and fail again unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CoordinationError {
    /// The backend (Redis) could not be reached or failed to run the command.
    #[error("coordination backend unavailable: {0}")]
    Unavailable(String),
    /// The fencing epoch is not the current leader's, so this node is no longer the leader.
    #[error("rejected write from a stale leader: the fencing epoch is not the current leader's")]
    Fenced,
    /// The claim token is no longer the job's current claim, because the job was reclaimed
    /// (and possibly claimed again by another worker) or has already finished.
    #[error("rejected write with a stale claim token: the job is no longer held by this claim")]
    StaleClaim,
    /// The job does not exist, or its record expired.
    #[error("job not found")]
    NotFound,
    /// A value read from the backend has an unexpected shape.
    #[error("invalid data in the coordination backend: {0}")]
    Serialization(String),
}

/// The result of a coordination operation.
pub type CoordinationResult<T> = Result<T, CoordinationError>;
