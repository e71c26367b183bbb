//! List descriptions of the users app: what `/users/users/`, `/users/teams/` and
//! `/users/memberships/` filter, search and order by.
//!
//! The password hash is deliberately not filterable: the reference server allowed
//! `password__startswith=...`, which let any signed-in user probe hashes.

use crate::query::{Field, FieldKind, OrderKey, Resource, SearchField};

/// Membership role codes.
pub const ROLE_CODES: &[&str] = &["OW", "AD", "MB"];

static USER_FIELDS: [Field; 13] = [
    Field::new("id", "u.id", FieldKind::Integer),
    Field::new("last_login", "u.last_login", FieldKind::DateTime),
    Field::new("is_superuser", "u.is_superuser", FieldKind::Boolean),
    Field::new("username", "u.username", FieldKind::Text),
    Field::new("first_name", "u.first_name", FieldKind::Text),
    Field::new("last_name", "u.last_name", FieldKind::Text),
    Field::new("email", "u.email", FieldKind::Text),
    Field::new("department", "u.department", FieldKind::Text),
    Field::new("role", "u.role", FieldKind::Text),
    Field::new("is_active", "u.is_active", FieldKind::Boolean),
    Field::new("is_staff", "u.is_staff", FieldKind::Boolean),
    Field::new("is_ldap_user", "u.is_ldap_user", FieldKind::Boolean),
    Field::new("date_joined", "u.date_joined", FieldKind::DateTime),
];

static USER_SEARCH: [SearchField; 6] = [
    SearchField::Column("u.username"),
    SearchField::Column("u.first_name"),
    SearchField::Column("u.last_name"),
    SearchField::Column("u.email"),
    SearchField::Column("u.department"),
    SearchField::Column("u.role"),
];

static USER_ORDER: [OrderKey; 13] = [
    OrderKey::new("id", "u.id"),
    OrderKey::new("is_superuser", "u.is_superuser"),
    OrderKey::text("username", "u.username"),
    OrderKey::text("first_name", "u.first_name"),
    OrderKey::text("last_name", "u.last_name"),
    OrderKey::text("email", "u.email"),
    OrderKey::text("department", "u.department"),
    OrderKey::text("role", "u.role"),
    OrderKey::new("is_active", "u.is_active"),
    OrderKey::new("is_staff", "u.is_staff"),
    OrderKey::new("is_ldap_user", "u.is_ldap_user"),
    OrderKey::new("date_joined", "u.date_joined"),
    OrderKey::new("last_login", "u.last_login"),
];

/// `/users/users/`.
pub static USERS: Resource = Resource {
    from: "users_user u",
    id_column: "u.id",
    fields: &USER_FIELDS,
    search_fields: &USER_SEARCH,
    order_keys: &USER_ORDER,
    default_order: &["id"],
};

static TEAM_FIELDS: [Field; 4] = [
    Field::new("id", "t.id", FieldKind::Integer),
    Field::new("name", "t.name", FieldKind::Text),
    Field::new("slug", "t.slug", FieldKind::Text),
    Field::new("is_active", "t.is_active", FieldKind::Boolean),
];

static TEAM_SEARCH: [SearchField; 1] = [SearchField::Column("t.name")];

static TEAM_ORDER: [OrderKey; 4] = [
    OrderKey::new("id", "t.id"),
    OrderKey::text("slug", "t.slug"),
    OrderKey::new("is_active", "t.is_active"),
    OrderKey::text("name", "t.name"),
];

/// `/users/teams/`.
pub static TEAMS: Resource = Resource {
    from: "users_team t",
    id_column: "t.id",
    fields: &TEAM_FIELDS,
    search_fields: &TEAM_SEARCH,
    order_keys: &TEAM_ORDER,
    default_order: &["id"],
};

static MEMBERSHIP_FIELDS: [Field; 4] = [
    Field::new("id", "m.id", FieldKind::Integer),
    Field::new("role", "m.role", FieldKind::Choice(ROLE_CODES)),
    Field::new("user", "m.user_id", FieldKind::ForeignKey { table: "users_user" }),
    Field::new("team", "m.team_id", FieldKind::ForeignKey { table: "users_team" }),
];

static MEMBERSHIP_SEARCH: [SearchField; 4] = [
    SearchField::Column("(SELECT name FROM users_team WHERE users_team.id = m.team_id)"),
    SearchField::Column("(SELECT username FROM users_user WHERE users_user.id = m.user_id)"),
    SearchField::Column("(SELECT first_name FROM users_user WHERE users_user.id = m.user_id)"),
    SearchField::Column("(SELECT last_name FROM users_user WHERE users_user.id = m.user_id)"),
];

static MEMBERSHIP_ORDER: [OrderKey; 4] =
    [OrderKey::new("id", "m.id"), OrderKey::text("role", "m.role"), OrderKey::new("user", "m.user_id"), OrderKey::new("team", "m.team_id")];

/// `/users/memberships/`.
pub static MEMBERSHIPS: Resource = Resource {
    from: "users_membership m",
    id_column: "m.id",
    fields: &MEMBERSHIP_FIELDS,
    search_fields: &MEMBERSHIP_SEARCH,
    order_keys: &MEMBERSHIP_ORDER,
    default_order: &["id"],
};
