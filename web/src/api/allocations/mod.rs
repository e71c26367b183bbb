//! The allocations area: clusters, allocation requests, reviews, resource allocations,
//! attachments and comments.

use crate::router::Route;

/// Routes of the allocations area.
pub static ROUTES: &[Route] = &[];
