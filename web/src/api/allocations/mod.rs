//! The allocations area: clusters, allocation requests, reviews, resource allocations,
//! attachments and comments.

pub mod children;

use crate::router::Route;

/// Routes of the allocations area.
pub static ROUTES: &[Route] = &[];
