//! Records attached to allocation requests: comments and attachments.

use crate::router::Route;

/// Routes for comments and attachments.
pub static ROUTES: &[Route] = &[];
