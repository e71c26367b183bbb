//! The research area: grants and publications.

use crate::router::Route;

/// Routes of the research area.
pub static ROUTES: &[Route] = &[];
