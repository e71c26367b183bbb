//! Loaders for records nested in representations: a fixed number of queries per page,
//! whatever the number of rows.

use std::collections::HashMap;

use keystone_storage::audit::ContentType;
use keystone_storage::records::{AuditEntry, User};
use keystone_storage::Database;

use crate::error::ApiError;
use crate::json::UserContext;

/// Loads memberships, history and history actors for a page of users (three queries).
pub async fn user_context(db: &Database, users: &[User]) -> Result<UserContext, ApiError> {
    let ids: Vec<i64> = users.iter().map(|user| user.id).collect();
    let mut context = UserContext::default();
    for membership in db.memberships_of_users(&ids).await? {
        context.memberships.entry(membership.user_id).or_default().push(membership);
    }
    let history = db.history(ContentType::User, &ids).await?;
    context.actors = actors_of(db, &history).await?;
    for entry in history {
        if let Some(object_id) = entry.object_id {
            context.history.entry(object_id).or_default().push(entry);
        }
    }
    Ok(context)
}

/// Fetches the users who made the given audit entries (one query).
pub async fn actors_of(db: &Database, entries: &[AuditEntry]) -> Result<HashMap<i64, User>, ApiError> {
    let mut ids: Vec<i64> = entries.iter().filter_map(|entry| entry.actor_id).collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(db.users_by_ids(&ids).await?.into_iter().map(|user| (user.id, user)).collect())
}
