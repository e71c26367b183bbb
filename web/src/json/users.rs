//! Users as JSON, with their nested memberships and audit history.

use std::collections::HashMap;

use keystone_storage::audit::AuditAction;
use keystone_storage::records::{AuditEntry, MembershipWithTeam, User};
use serde_json::{json, Map, Value};

use crate::json::format_datetime;

/// Records nested in user representations, fetched once for a whole page of users.
#[derive(Default)]
pub struct UserContext {
    pub memberships: HashMap<i64, Vec<MembershipWithTeam>>,
    pub history: HashMap<i64, Vec<AuditEntry>>,
    /// Actors of the history entries, by id.
    pub actors: HashMap<i64, User>,
    pub groups: HashMap<i64, Vec<i64>>,
    pub permissions: HashMap<i64, Vec<i64>>,
}

/// The short user form nested in other records.
pub fn user_summary(user: &User) -> Value {
    json!({
        "id": user.id,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "display_name": user.display_name(),
        "abbreviation": user.abbreviation(),
        "email": user.email,
        "department": user.department,
        "role": user.role,
    })
}

/// The same fields as [`user_summary`], serialised without building a `Value`; large pages
/// nest hundreds of these.
#[derive(serde::Serialize)]
pub struct UserSummaryView<'a> {
    id: i64,
    username: &'a str,
    first_name: Option<&'a str>,
    last_name: Option<&'a str>,
    display_name: String,
    abbreviation: String,
    email: Option<&'a str>,
    department: Option<&'a str>,
    role: Option<&'a str>,
}

impl<'a> From<&'a User> for UserSummaryView<'a> {
    fn from(user: &'a User) -> Self {
        UserSummaryView {
            id: user.id,
            username: &user.username,
            first_name: user.first_name.as_deref(),
            last_name: user.last_name.as_deref(),
            display_name: user.display_name(),
            abbreviation: user.abbreviation(),
            email: user.email.as_deref(),
            department: user.department.as_deref(),
            role: user.role.as_deref(),
        }
    }
}

/// The full user representation (the same fields for every reader; `password` never appears).
pub fn user_json(user: &User, context: &UserContext) -> Value {
    let memberships: Vec<Value> = context
        .memberships
        .get(&user.id)
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    json!({
                        "id": row.id,
                        "team": row.team_id,
                        "role": row.role,
                        "_team": {"id": row.team_id, "slug": row.team_slug, "name": row.team_name, "is_active": row.team_is_active},
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let history = history_json(context.history.get(&user.id).map(Vec::as_slice).unwrap_or(&[]), &context.actors);

    let mut object = Map::new();
    object.insert("id".into(), json!(user.id));
    object.insert("display_name".into(), json!(user.display_name()));
    object.insert("abbreviation".into(), json!(user.abbreviation()));
    object.insert("_membership".into(), Value::Array(memberships));
    object.insert("_history".into(), history);
    object.insert("is_superuser".into(), json!(user.is_superuser));
    object.insert("username".into(), json!(user.username));
    object.insert("first_name".into(), json!(user.first_name));
    object.insert("last_name".into(), json!(user.last_name));
    object.insert("email".into(), json!(user.email));
    object.insert("department".into(), json!(user.department));
    object.insert("role".into(), json!(user.role));
    object.insert("is_active".into(), json!(user.is_active));
    object.insert("is_staff".into(), json!(user.is_staff));
    object.insert("is_ldap_user".into(), json!(user.is_ldap_user));
    object.insert("date_joined".into(), json!(format_datetime(&user.date_joined)));
    object.insert("last_login".into(), json!(user.last_login.as_ref().map(format_datetime)));
    object.insert("groups".into(), json!(context.groups.get(&user.id).cloned().unwrap_or_default()));
    object.insert("user_permissions".into(), json!(context.permissions.get(&user.id).cloned().unwrap_or_default()));
    Value::Object(object)
}

/// The `_history` list of a record: `{id, timestamp, action, actor, _actor, changes}`.
pub fn history_json(entries: &[AuditEntry], actors: &HashMap<i64, User>) -> Value {
    Value::Array(
        entries
            .iter()
            .map(|entry| {
                let actor = entry.actor_id.and_then(|id| actors.get(&id));
                let changes = entry.changes.as_deref().and_then(|text| serde_json::from_str::<Value>(text).ok()).unwrap_or(Value::Null);
                json!({
                    "id": entry.id,
                    "timestamp": format_datetime(&entry.timestamp),
                    "action": AuditAction::name(entry.action),
                    "actor": entry.actor_id,
                    "_actor": actor.map(user_summary),
                    "changes": changes,
                })
            })
            .collect(),
    )
}
