//! List descriptions of `/logs/requests/`, `/logs/audit/`, `/logs/tasks/` and `/logs/feed/`.

use crate::query::{Field, FieldKind, OrderKey, Resource, SearchField};

/// Feed `record_type` values.
pub const FEED_RECORD_TYPES: &[&str] = &["request", "task", "audit"];

static REQUEST_FIELDS: [Field; 8] = [
    Field::new("id", "r.id", FieldKind::Integer),
    Field::new("method", "r.method", FieldKind::Text),
    Field::new("endpoint", "r.endpoint", FieldKind::Text),
    Field::new("response_code", "r.response_code", FieldKind::Integer),
    Field::new("remote_address", "r.remote_address", FieldKind::Text),
    Field::new("timestamp", "r.timestamp", FieldKind::DateTime),
    Field::new("cid", "r.cid", FieldKind::Text),
    Field::new("user", "r.user_id", FieldKind::ForeignKey { table: "users_user" }),
];

static REQUEST_SEARCH: [SearchField; 8] = [
    SearchField::Column("r.endpoint"),
    SearchField::Column("r.method"),
    SearchField::Column("CAST(r.response_code AS TEXT)"),
    SearchField::Column("r.remote_address"),
    SearchField::Column("r.cid"),
    SearchField::Column("(SELECT username FROM users_user WHERE users_user.id = r.user_id)"),
    SearchField::Column("(SELECT first_name FROM users_user WHERE users_user.id = r.user_id)"),
    SearchField::Column("(SELECT last_name FROM users_user WHERE users_user.id = r.user_id)"),
];

static REQUEST_ORDER: [OrderKey; 8] = [
    OrderKey::new("id", "r.id"),
    OrderKey::text("method", "r.method"),
    OrderKey::text("endpoint", "r.endpoint"),
    OrderKey::new("response_code", "r.response_code"),
    OrderKey::text("remote_address", "r.remote_address"),
    OrderKey::new("timestamp", "r.timestamp"),
    OrderKey::text("cid", "r.cid"),
    OrderKey::new("user", "r.user_id"),
];

/// `/logs/requests/`.
pub static REQUEST_LOGS: Resource = Resource {
    from: "logging_requestlog r",
    id_column: "r.id",
    fields: &REQUEST_FIELDS,
    search_fields: &REQUEST_SEARCH,
    order_keys: &REQUEST_ORDER,
    default_order: &["id"],
};

static AUDIT_FIELDS: [Field; 13] = [
    Field::new("id", "a.id", FieldKind::Integer),
    Field::new("content_type", "a.content_type_id", FieldKind::ForeignKey { table: "django_content_type" }),
    Field::new("object_pk", "a.object_pk", FieldKind::Text),
    Field::new("object_id", "a.object_id", FieldKind::Integer),
    Field::new("object_repr", "a.object_repr", FieldKind::Text),
    Field::new("action", "a.action", FieldKind::Integer),
    Field::new("changes_text", "a.changes_text", FieldKind::Text),
    Field::new("cid", "a.cid", FieldKind::Text),
    Field::new("remote_addr", "a.remote_addr", FieldKind::Text),
    Field::new("remote_port", "a.remote_port", FieldKind::Integer),
    Field::new("timestamp", "a.timestamp", FieldKind::DateTime),
    Field::new("actor_email", "a.actor_email", FieldKind::Text),
    Field::new("actor", "a.actor_id", FieldKind::ForeignKey { table: "users_user" }),
];

static AUDIT_SEARCH: [SearchField; 5] = [
    SearchField::Column("a.object_repr"),
    SearchField::Column("a.cid"),
    SearchField::Column("(SELECT username FROM users_user WHERE users_user.id = a.actor_id)"),
    SearchField::Column("(SELECT first_name FROM users_user WHERE users_user.id = a.actor_id)"),
    SearchField::Column("(SELECT last_name FROM users_user WHERE users_user.id = a.actor_id)"),
];

static AUDIT_ORDER: [OrderKey; 9] = [
    OrderKey::new("id", "a.id"),
    OrderKey::new("object_pk", "a.object_id"),
    OrderKey::new("action", "a.action"),
    OrderKey::new("changes", "a.changes"),
    OrderKey::text("cid", "a.cid"),
    OrderKey::text("remote_addr", "a.remote_addr"),
    OrderKey::new("remote_port", "a.remote_port"),
    OrderKey::new("timestamp", "a.timestamp"),
    OrderKey::new("actor", "a.actor_id"),
];

/// `/logs/audit/`, newest first by default.
pub static AUDIT_LOGS: Resource = Resource {
    from: "auditlog_logentry a",
    id_column: "a.id",
    fields: &AUDIT_FIELDS,
    search_fields: &AUDIT_SEARCH,
    order_keys: &AUDIT_ORDER,
    default_order: &["-timestamp"],
};

static TASK_FIELDS: [Field; 16] = [
    Field::new("id", "k.id", FieldKind::Integer),
    Field::new("task_id", "k.task_id", FieldKind::Text),
    Field::new("periodic_task_name", "k.periodic_task_name", FieldKind::Text),
    Field::new("task_name", "k.task_name", FieldKind::Text),
    Field::new("task_args", "k.task_args", FieldKind::Text),
    Field::new("task_kwargs", "k.task_kwargs", FieldKind::Text),
    Field::new("status", "k.status", FieldKind::Text),
    Field::new("worker", "k.worker", FieldKind::Text),
    Field::new("content_type", "k.content_type", FieldKind::Text),
    Field::new("content_encoding", "k.content_encoding", FieldKind::Text),
    Field::new("result", "k.result", FieldKind::Text),
    Field::new("date_created", "k.date_created", FieldKind::DateTime),
    Field::new("date_started", "k.date_started", FieldKind::DateTime),
    Field::new("date_done", "k.date_done", FieldKind::DateTime),
    Field::new("traceback", "k.traceback", FieldKind::Text),
    Field::new("meta", "k.meta", FieldKind::Text),
];

static TASK_SEARCH: [SearchField; 6] = [
    SearchField::Column("k.periodic_task_name"),
    SearchField::Column("k.task_name"),
    SearchField::Column("k.status"),
    SearchField::Column("k.worker"),
    SearchField::Column("k.result"),
    SearchField::Column("k.traceback"),
];

static TASK_ORDER: [OrderKey; 9] = [
    OrderKey::new("id", "k.id"),
    OrderKey::text("task_id", "k.task_id"),
    OrderKey::text("periodic_task_name", "k.periodic_task_name"),
    OrderKey::text("task_name", "k.task_name"),
    OrderKey::text("status", "k.status"),
    OrderKey::text("worker", "k.worker"),
    OrderKey::new("date_created", "k.date_created"),
    OrderKey::new("date_started", "k.date_started"),
    OrderKey::new("date_done", "k.date_done"),
];

/// `/logs/tasks/`, most recently finished first by default.
pub static TASK_RESULTS: Resource = Resource {
    from: "django_celery_results_taskresult k",
    id_column: "k.id",
    fields: &TASK_FIELDS,
    search_fields: &TASK_SEARCH,
    order_keys: &TASK_ORDER,
    default_order: &["-date_done"],
};

/// The feed as a derived table `f`: requests, tasks and audit entries in one shape.
pub const FEED_FROM: &str = "(\
    SELECT 'r' || CAST(id AS TEXT) AS id, id AS record_id, 'request' AS record_type, timestamp, \
           CAST(endpoint AS TEXT) AS summary, user_id, CAST(cid AS TEXT) AS cid, CAST(response_code AS TEXT) AS status \
    FROM logging_requestlog \
    UNION ALL \
    SELECT 't' || CAST(id AS TEXT), id, 'task', date_created, CAST(task_name AS TEXT), CAST(NULL AS BIGINT), CAST(NULL AS TEXT), CAST(status AS TEXT) \
    FROM django_celery_results_taskresult \
    UNION ALL \
    SELECT 'a' || CAST(id AS TEXT), id, 'audit', timestamp, object_repr, actor_id, CAST(cid AS TEXT), CAST(NULL AS TEXT) \
    FROM auditlog_logentry\
) f";

static FEED_FIELDS: [Field; 8] = [
    Field::new("id", "f.id", FieldKind::Text),
    Field::new("record_id", "f.record_id", FieldKind::Integer),
    Field::new("record_type", "f.record_type", FieldKind::Choice(FEED_RECORD_TYPES)),
    Field::new("timestamp", "f.timestamp", FieldKind::DateTime),
    Field::new("summary", "f.summary", FieldKind::Text),
    Field::new("user", "f.user_id", FieldKind::ForeignKey { table: "users_user" }),
    Field::new("cid", "f.cid", FieldKind::Text),
    Field::new("status", "f.status", FieldKind::Text),
];

static FEED_SEARCH: [SearchField; 6] = [
    SearchField::Column("f.status"),
    SearchField::Column("f.summary"),
    SearchField::Column("f.cid"),
    SearchField::Column("(SELECT username FROM users_user WHERE users_user.id = f.user_id)"),
    SearchField::Column("(SELECT first_name FROM users_user WHERE users_user.id = f.user_id)"),
    SearchField::Column("(SELECT last_name FROM users_user WHERE users_user.id = f.user_id)"),
];

static FEED_ORDER: [OrderKey; 8] = [
    OrderKey::text("id", "f.id"),
    OrderKey::new("record_id", "f.record_id"),
    OrderKey::text("record_type", "f.record_type"),
    OrderKey::new("timestamp", "f.timestamp"),
    OrderKey::text("summary", "f.summary"),
    OrderKey::new("user", "f.user_id"),
    OrderKey::text("cid", "f.cid"),
    OrderKey::text("status", "f.status"),
];

/// `/logs/feed/`, newest first by default.
pub static FEED: Resource = Resource {
    from: FEED_FROM,
    id_column: "f.id",
    fields: &FEED_FIELDS,
    search_fields: &FEED_SEARCH,
    order_keys: &FEED_ORDER,
    default_order: &["-timestamp"],
};
