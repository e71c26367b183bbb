//! List descriptions of the allocations app: what `/allocations/clusters/`,
//! `/allocations/requests/`, `/allocations/reviews/` and `/allocations/allocations/` filter,
//! search and order by.
//!
//! Each `FROM` clause joins the parent rows that searches and role scopes need. Every join
//! follows a non-null foreign key, so it yields exactly one row per listed row.

use crate::query::{Field, FieldKind, OrderKey, Resource, SearchField};

/// Cluster access mode codes.
pub const ACCESS_MODE_CODES: &[&str] = &["WL", "BL", "OP"];
/// Allocation request status codes.
pub const REQUEST_STATUS_CODES: &[&str] = &["PD", "AP", "DC", "CR"];
/// Review status codes.
pub const REVIEW_STATUS_CODES: &[&str] = &["AP", "DC", "CR"];

/// The `FROM` clause of cluster lists (alias `c`).
pub const CLUSTER_FROM: &str = "allocations_cluster c";

static CLUSTER_FIELDS: [Field; 5] = [
    Field::new("id", "c.id", FieldKind::Integer),
    Field::new("name", "c.name", FieldKind::Text),
    Field::new("description", "c.description", FieldKind::Text),
    Field::new("enabled", "c.enabled", FieldKind::Boolean),
    Field::new("access_mode", "c.access_mode", FieldKind::Choice(ACCESS_MODE_CODES)),
];

static CLUSTER_SEARCH: [SearchField; 2] = [SearchField::Column("c.name"), SearchField::Column("c.description")];

static CLUSTER_ORDER: [OrderKey; 5] = [
    OrderKey::new("id", "c.id"),
    OrderKey::text("name", "c.name"),
    OrderKey::text("description", "c.description"),
    OrderKey::new("enabled", "c.enabled"),
    OrderKey::text("access_mode", "c.access_mode"),
];

/// `/allocations/clusters/`.
pub static CLUSTERS: Resource = Resource {
    from: CLUSTER_FROM,
    id_column: "c.id",
    fields: &CLUSTER_FIELDS,
    search_fields: &CLUSTER_SEARCH,
    order_keys: &CLUSTER_ORDER,
    default_order: &["id"],
};

/// The `FROM` clause of request lists: the request (`r`), its team (`rt`) and its submitter
/// (`ru`).
pub const REQUEST_FROM: &str =
    "allocations_allocationrequest r JOIN users_team rt ON rt.id = r.team_id JOIN users_user ru ON ru.id = r.submitter_id";

static REQUEST_FIELDS: [Field; 9] = [
    Field::new("id", "r.id", FieldKind::Integer),
    Field::new("title", "r.title", FieldKind::Text),
    Field::new("description", "r.description", FieldKind::Text),
    Field::new("submitted", "r.submitted", FieldKind::DateTime),
    Field::new("active", "r.active", FieldKind::Date),
    Field::new("expire", "r.expire", FieldKind::Date),
    Field::new("status", "r.status", FieldKind::Choice(REQUEST_STATUS_CODES)),
    Field::new("submitter", "r.submitter_id", FieldKind::ForeignKey { table: "users_user" }),
    Field::new("team", "r.team_id", FieldKind::ForeignKey { table: "users_team" }),
];

static REQUEST_SEARCH: [SearchField; 6] = [
    SearchField::Column("r.title"),
    SearchField::Column("r.description"),
    SearchField::Column("rt.name"),
    SearchField::Column("ru.username"),
    SearchField::Column("ru.first_name"),
    SearchField::Column("ru.last_name"),
];

static REQUEST_ORDER: [OrderKey; 9] = [
    OrderKey::new("id", "r.id"),
    OrderKey::text("title", "r.title"),
    OrderKey::text("description", "r.description"),
    OrderKey::new("submitted", "r.submitted"),
    OrderKey::new("active", "r.active"),
    OrderKey::new("expire", "r.expire"),
    OrderKey::text("status", "r.status"),
    OrderKey::new("submitter", "r.submitter_id"),
    OrderKey::new("team", "r.team_id"),
];

/// `/allocations/requests/`.
pub static REQUESTS: Resource = Resource {
    from: REQUEST_FROM,
    id_column: "r.id",
    fields: &REQUEST_FIELDS,
    search_fields: &REQUEST_SEARCH,
    order_keys: &REQUEST_ORDER,
    default_order: &["id"],
};

/// The `FROM` clause of review lists: the review (`v`), its request (`vr`) and the request's
/// team (`vt`).
pub const REVIEW_FROM: &str = "allocations_allocationreview v JOIN allocations_allocationrequest vr ON vr.id = v.request_id \
     JOIN users_team vt ON vt.id = vr.team_id";

static REVIEW_FIELDS: [Field; 5] = [
    Field::new("id", "v.id", FieldKind::Integer),
    Field::new("status", "v.status", FieldKind::Choice(REVIEW_STATUS_CODES)),
    Field::new("submitted", "v.submitted", FieldKind::DateTime),
    Field::new("request", "v.request_id", FieldKind::ForeignKey { table: "allocations_allocationrequest" }),
    Field::new("reviewer", "v.reviewer_id", FieldKind::ForeignKey { table: "users_user" }),
];

/// The reference also lists `public_comments` and `private_comments`, which are not fields of
/// a review, so any search there fails with a server error. Only the valid fields are kept.
static REVIEW_SEARCH: [SearchField; 2] = [SearchField::Column("vt.name"), SearchField::Column("vr.title")];

static REVIEW_ORDER: [OrderKey; 5] = [
    OrderKey::new("id", "v.id"),
    OrderKey::text("status", "v.status"),
    OrderKey::new("submitted", "v.submitted"),
    OrderKey::new("request", "v.request_id"),
    OrderKey::new("reviewer", "v.reviewer_id"),
];

/// `/allocations/reviews/`.
pub static REVIEWS: Resource = Resource {
    from: REVIEW_FROM,
    id_column: "v.id",
    fields: &REVIEW_FIELDS,
    search_fields: &REVIEW_SEARCH,
    order_keys: &REVIEW_ORDER,
    default_order: &["id"],
};

/// The `FROM` clause of resource allocation lists: the allocation (`a`), its cluster (`ac`),
/// its request (`ar`) and the request's team (`atm`).
pub const ALLOCATION_FROM: &str = "allocations_resourceallocation a JOIN allocations_cluster ac ON ac.id = a.cluster_id \
     JOIN allocations_allocationrequest ar ON ar.id = a.request_id JOIN users_team atm ON atm.id = ar.team_id";

static ALLOCATION_FIELDS: [Field; 6] = [
    Field::new("id", "a.id", FieldKind::Integer),
    Field::new("requested", "a.requested", FieldKind::Integer),
    Field::new("awarded", "a.awarded", FieldKind::Integer),
    Field::new("final", "a.final", FieldKind::Integer),
    Field::new("cluster", "a.cluster_id", FieldKind::ForeignKey { table: "allocations_cluster" }),
    Field::new("request", "a.request_id", FieldKind::ForeignKey { table: "allocations_allocationrequest" }),
];

static ALLOCATION_SEARCH: [SearchField; 3] =
    [SearchField::Column("atm.name"), SearchField::Column("ar.title"), SearchField::Column("ac.name")];

static ALLOCATION_ORDER: [OrderKey; 6] = [
    OrderKey::new("id", "a.id"),
    OrderKey::new("requested", "a.requested"),
    OrderKey::new("awarded", "a.awarded"),
    OrderKey::new("final", "a.final"),
    OrderKey::new("cluster", "a.cluster_id"),
    OrderKey::new("request", "a.request_id"),
];

/// `/allocations/allocations/`.
pub static ALLOCATIONS: Resource = Resource {
    from: ALLOCATION_FROM,
    id_column: "a.id",
    fields: &ALLOCATION_FIELDS,
    search_fields: &ALLOCATION_SEARCH,
    order_keys: &ALLOCATION_ORDER,
    default_order: &["id"],
};
