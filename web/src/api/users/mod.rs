//! The users area: users, teams and memberships.

pub mod memberships;
pub mod teams;
pub mod users;
