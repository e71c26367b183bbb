//! Loaders for records nested in representations: a fixed number of queries per page,
//! whatever the number of rows.

use std::collections::HashMap;

use keystone_storage::audit::ContentType;
use keystone_storage::records::{AuditEntry, User};
use keystone_storage::Database;

use crate::error::ApiError;
use crate::json::UserContext;

/// Loads memberships, history, history actors, groups and permissions for a page of users
/// (five queries).
pub async fn user_context(db: &Database, users: &[User]) -> Result<UserContext, ApiError> {
    let ids: Vec<i64> = users.iter().map(|user| user.id).collect();
    let mut context = UserContext::default();
    for membership in db.memberships_of_users(&ids).await? {
        context.memberships.entry(membership.user_id).or_default().push(membership);
    }
    let (history, actors) = history_of(db, ContentType::User, &ids).await?;
    context.history = history;
    context.actors = actors;
    let (groups, permissions) = db.user_groups_and_permissions(&ids).await?;
    for (user_id, group_id) in groups {
        context.groups.entry(user_id).or_default().push(group_id);
    }
    for (user_id, permission_id) in permissions {
        context.permissions.entry(user_id).or_default().push(permission_id);
    }
    Ok(context)
}

/// Audit entries of the given records grouped by record id (newest first), and their actors
/// (two queries).
pub async fn history_of(
    db: &Database,
    content_type: ContentType,
    ids: &[i64],
) -> Result<(HashMap<i64, Vec<AuditEntry>>, HashMap<i64, User>), ApiError> {
    let entries = db.history(content_type, ids).await?;
    let actors = actors_of(db, &entries).await?;
    let mut grouped: HashMap<i64, Vec<AuditEntry>> = HashMap::new();
    for entry in entries {
        if let Some(object_id) = entry.object_id {
            grouped.entry(object_id).or_default().push(entry);
        }
    }
    Ok((grouped, actors))
}

/// Fetches the users who made the given audit entries (one query).
pub async fn actors_of(db: &Database, entries: &[AuditEntry]) -> Result<HashMap<i64, User>, ApiError> {
    let mut ids: Vec<i64> = entries.iter().filter_map(|entry| entry.actor_id).collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(db.users_by_ids(&ids).await?.into_iter().map(|user| (user.id, user)).collect())
}
