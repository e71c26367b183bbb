//! Rows as repositories return them.

use chrono::{DateTime, Utc};

/// A row of `users_user`.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub password: String,
    pub last_login: Option<DateTime<Utc>>,
    pub is_superuser: bool,
    pub username: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub department: Option<String>,
    pub role: Option<String>,
    pub is_active: bool,
    pub is_staff: bool,
    pub is_ldap_user: bool,
    pub date_joined: DateTime<Utc>,
}

/// Columns of `users_user`, in table order, for `SELECT` lists.
pub const USER_COLUMNS: &str = "id, password, last_login, is_superuser, username, first_name, last_name, email, \
     department, role, is_active, is_staff, is_ldap_user, date_joined";

impl User {
    /// `"<first> <last>"` when both are set, else the first name, else the username.
    pub fn display_name(&self) -> String {
        match (non_empty(&self.first_name), non_empty(&self.last_name)) {
            (Some(first), Some(last)) => format!("{first} {last}"),
            (Some(first), None) => first.to_string(),
            _ => self.username.clone(),
        }
    }

    /// Upper-case initials: first and last name, else the first name's initial, else the first
    /// two characters of the username.
    pub fn abbreviation(&self) -> String {
        let initial = |name: &str| name.chars().next().map(String::from).unwrap_or_default();
        let letters = match (non_empty(&self.first_name), non_empty(&self.last_name)) {
            (Some(first), Some(last)) => initial(first) + &initial(last),
            (Some(first), None) => initial(first),
            _ => self.username.chars().take(2).collect(),
        };
        letters.to_uppercase()
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|text| !text.is_empty())
}

/// A row of `users_team`.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Team {
    pub id: i64,
    pub name: String,
    pub slug: String,
    pub is_active: bool,
}

/// A row of `users_membership`.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Membership {
    pub id: i64,
    pub role: String,
    pub user_id: i64,
    pub team_id: i64,
}

/// A membership joined with its team, as nested in a user's representation.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MembershipWithTeam {
    pub id: i64,
    pub role: String,
    pub user_id: i64,
    pub team_id: i64,
    pub team_slug: String,
    pub team_name: String,
    pub team_is_active: bool,
}

/// A row of `auditlog_logentry` with the acting user's summary columns.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub content_type_id: i64,
    pub object_id: Option<i64>,
    pub action: i16,
    pub changes: Option<String>,
    pub cid: Option<String>,
    pub remote_addr: Option<String>,
    pub remote_port: Option<i32>,
    pub timestamp: DateTime<Utc>,
    pub actor_id: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(first: Option<&str>, last: Option<&str>, username: &str) -> User {
        User {
            id: 1,
            password: String::new(),
            last_login: None,
            is_superuser: false,
            username: username.to_string(),
            first_name: first.map(str::to_string),
            last_name: last.map(str::to_string),
            email: None,
            department: None,
            role: None,
            is_active: true,
            is_staff: false,
            is_ldap_user: false,
            date_joined: Utc::now(),
        }
    }

    #[test]
    fn display_name_and_abbreviation() {
        let both = user(Some("Ada"), Some("Lovelace"), "ada");
        assert_eq!(both.display_name(), "Ada Lovelace");
        assert_eq!(both.abbreviation(), "AL");
        let first_only = user(Some("ada"), None, "ada");
        assert_eq!(first_only.display_name(), "ada");
        assert_eq!(first_only.abbreviation(), "A");
        let last_only = user(None, Some("Last"), "user1");
        assert_eq!(last_only.display_name(), "user1");
        assert_eq!(last_only.abbreviation(), "US");
        let blank = user(Some(""), Some(""), "x");
        assert_eq!(blank.abbreviation(), "X");
    }
}
