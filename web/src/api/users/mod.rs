//! The users area: users, teams and memberships.

pub mod memberships;
pub mod teams;
#[expect(clippy::module_inception, reason = "the users area holds the users resource beside teams and memberships")]
pub mod users;
