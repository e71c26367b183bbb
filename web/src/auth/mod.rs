//! Authentication: API tokens, database sessions and the CSRF check for session requests.

mod csrf;
mod identity;
mod session;

pub use csrf::{check_csrf, new_csrf_secret};
pub use identity::{authenticate, AuthMethod, Identity};
pub use session::{new_session_key, session_digest};
