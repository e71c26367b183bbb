//! The component schemas: one function per schema, written from the JSON that the handlers
//! render (`crate::json` and the modules under `crate::api`) and the fields their forms read.
//!
//! Record schemas list their properties in the order the API renders them. Request schemas
//! (`…Request`) list the fields that a create or a full update reads, and mark those a create
//! requires. `Patched…Request` is the same schema with nothing required, for `PATCH`. The
//! paginated list envelopes are built from the route table by [`paginated`].

use keystone_storage::allocations::records::{ACCESS_MODES, REQUEST_STATUSES, REVIEW_STATUSES};
use keystone_storage::allocations::resources::{ACCESS_MODE_CODES, REQUEST_STATUS_CODES, REVIEW_STATUS_CODES};
use keystone_storage::audit::AuditAction;
use keystone_storage::logs::resources::FEED_RECORD_TYPES;
use keystone_storage::resources::ROLE_CODES;
use keystone_storage::teams::ROLES;
use serde_json::{json, Value};

use super::types::{
    boolean, choices, count, date, date_time, decimal, described, email, file, ids, integer, nested, nested_list, nullable, object, one_of,
    partial, read_only, record, reference, required_text, string, text, write_only,
};

/// A component schema: its name and the function that builds it.
pub type Component = (&'static str, fn() -> Value);

/// Every component schema except the paginated envelopes, by name.
pub const COMPONENTS: &[Component] = &[
    ("UserSummary", user_summary),
    ("TeamSummary", team_summary),
    ("ClusterSummary", cluster_summary),
    ("AllocationRequestSummary", allocation_request_summary),
    ("AuditLogSummary", audit_log_summary),
    ("LoginRequest", login_request),
    ("RestrictedUser", restricted_user),
    ("TeamRole", team_role),
    ("PrivilegedUserRequest", privileged_user_request),
    ("PatchedPrivilegedUserRequest", patched_privileged_user_request),
    ("Team", team),
    ("TeamUpdate", team_update),
    ("UserRole", user_role),
    ("TeamRequest", team_request),
    ("TeamUpdateRequest", team_update_request),
    ("PatchedTeamUpdateRequest", patched_team_update_request),
    ("Membership", membership),
    ("MembershipRequest", membership_request),
    ("PatchedMembershipRequest", patched_membership_request),
    ("MembershipRoleChoices", membership_role_choices),
    ("Cluster", cluster),
    ("ClusterRequest", cluster_request),
    ("PatchedClusterRequest", patched_cluster_request),
    ("ClusterAccessModeChoices", cluster_access_mode_choices),
    ("AllocationRequest", allocation_request),
    ("AllocationRequestRequest", allocation_request_request),
    ("PatchedAllocationRequestRequest", patched_allocation_request_request),
    ("AllocationRequestStatusChoices", allocation_request_status_choices),
    ("PublicationSummary", publication_summary),
    ("GrantSummary", grant_summary),
    ("ResourceAllocationSummary", resource_allocation_summary),
    ("AttachmentSummary", attachment_summary),
    ("CommentSummary", comment_summary),
    ("AllocationReview", allocation_review),
    ("AllocationReviewRequest", allocation_review_request),
    ("PatchedAllocationReviewRequest", patched_allocation_review_request),
    ("AllocationReviewStatusChoices", allocation_review_status_choices),
    ("ResourceAllocation", resource_allocation),
    ("ResourceAllocationRequest", resource_allocation_request),
    ("PatchedResourceAllocationRequest", patched_resource_allocation_request),
    ("Attachment", attachment),
    ("AttachmentRequest", attachment_request),
    ("PatchedAttachmentRequest", patched_attachment_request),
    ("Comment", comment),
    ("CommentRequest", comment_request),
    ("PatchedCommentRequest", patched_comment_request),
    ("Grant", grant),
    ("GrantRequest", grant_request),
    ("PatchedGrantRequest", patched_grant_request),
    ("Publication", publication),
    ("PublicationRequest", publication_request),
    ("PatchedPublicationRequest", patched_publication_request),
    ("AuditLog", audit_log),
    ("RequestLog", request_log),
    ("TaskResult", task_result),
    ("FeedEntry", feed_entry),
    ("Config", config),
    ("HealthCheckResults", health_check_results),
];

/// Returns the name of the paginated envelope of `item` records, such as `PaginatedTeamList`.
pub fn paginated_name(item: &str) -> String {
    format!("Paginated{item}List")
}

/// Describes the envelope of one page of a list: `{count, next, previous, results}`.
pub fn paginated(item: &str) -> Value {
    record(&[
        ("count", described(integer(), "Number of records that match the query, over all pages.")),
        ("next", described(nullable(json!({"type": "string", "format": "uri"})), "URL of the next page, or null on the last page.")),
        (
            "previous",
            described(nullable(json!({"type": "string", "format": "uri"})), "URL of the previous page, or null on the first page."),
        ),
        ("results", json!({"type": "array", "items": reference(item)})),
    ])
}

fn id() -> Value {
    read_only(integer())
}

/// Describes the audit entries of a record, newest first.
fn history() -> Value {
    nested_list("AuditLogSummary")
}

fn username() -> Value {
    json!({"type": "string", "maxLength": 150, "pattern": "^[\\w.@+-]+$"})
}

fn user_summary() -> Value {
    record(&[
        ("id", id()),
        ("username", username()),
        ("first_name", nullable(text(150))),
        ("last_name", nullable(text(150))),
        ("display_name", described(read_only(string()), "`<first> <last>` when both are set, else the first name, else the username.")),
        (
            "abbreviation",
            described(read_only(string()), "Initials of the names, or the first two characters of the username, in upper case."),
        ),
        ("email", nullable(email(254))),
        ("department", nullable(text(1000))),
        ("role", nullable(text(1000))),
    ])
}

fn team_summary() -> Value {
    record(&[("id", id()), ("slug", slug()), ("name", text(255)), ("is_active", boolean())])
}

fn slug() -> Value {
    json!({"type": "string", "maxLength": 255, "pattern": "^[-a-zA-Z0-9_]+$"})
}

fn cluster_summary() -> Value {
    record(&[("id", id()), ("name", text(50)), ("enabled", boolean())])
}

fn allocation_request_summary() -> Value {
    record(&[
        ("id", id()),
        ("title", text(250)),
        ("status", one_of(REQUEST_STATUS_CODES)),
        ("active", nullable(date())),
        ("expire", nullable(date())),
    ])
}

fn audit_action() -> Value {
    let names: Vec<&str> = (0..=3).map(AuditAction::name).collect();
    read_only(one_of(&names))
}

/// Describes changed fields as `{field: [old, new]}` with the values as text, or null.
fn audit_changes() -> Value {
    described(
        nullable(json!({"type": "object", "additionalProperties": {"type": "array", "items": string()}})),
        "Changed fields as `{field: [old, new]}`, values as text.",
    )
}

fn audit_log_summary() -> Value {
    record(&[
        ("id", id()),
        ("timestamp", date_time()),
        ("action", audit_action()),
        ("actor", nullable(integer())),
        ("_actor", nullable(nested("UserSummary"))),
        ("changes", audit_changes()),
    ])
}

fn login_request() -> Value {
    object(
        &[
            ("username", write_only(described(json!({"type": "string", "minLength": 1}), "Leading and trailing whitespace is ignored."))),
            ("password", write_only(json!({"type": "string", "minLength": 1}))),
        ],
        &["username", "password"],
    )
}

/// Describes a user as every reader sees it. The password hash is never rendered.
fn restricted_user() -> Value {
    record(&[
        ("id", id()),
        ("display_name", read_only(string())),
        ("abbreviation", read_only(string())),
        ("_membership", nested_list("TeamRole")),
        ("_history", history()),
        ("is_superuser", boolean()),
        ("username", username()),
        ("first_name", nullable(text(150))),
        ("last_name", nullable(text(150))),
        ("email", nullable(email(254))),
        ("department", nullable(text(1000))),
        ("role", nullable(text(1000))),
        ("is_active", boolean()),
        ("is_staff", boolean()),
        ("is_ldap_user", boolean()),
        ("date_joined", read_only(date_time())),
        ("last_login", read_only(nullable(date_time()))),
        ("groups", ids()),
        ("user_permissions", ids()),
    ])
}

/// Describes one of a user's memberships, with its team.
fn team_role() -> Value {
    record(&[("id", id()), ("team", integer()), ("role", one_of(ROLE_CODES)), ("_team", nested("TeamSummary"))])
}

/// The note on staff-only fields of a user body, which non-staff bodies may carry but do not set.
const STAFF_ONLY: &str = "Set by staff only: non-staff values are ignored.";

fn privileged_user_request() -> Value {
    object(
        &[
            ("is_superuser", described(boolean(), STAFF_ONLY)),
            ("username", json!({"type": "string", "minLength": 1, "maxLength": 150, "pattern": "^[\\w.@+-]+$"})),
            (
                "password",
                write_only(described(
                    json!({"type": "string", "minLength": 1, "maxLength": 128}),
                    "At least 8 characters, not entirely numeric and not a common password. Changing it ends the user's sessions.",
                )),
            ),
            ("first_name", nullable(text(150))),
            ("last_name", nullable(text(150))),
            ("email", nullable(email(254))),
            ("department", nullable(text(1000))),
            ("role", nullable(text(1000))),
            ("is_active", described(boolean(), STAFF_ONLY)),
            ("is_staff", described(boolean(), STAFF_ONLY)),
            ("is_ldap_user", described(boolean(), STAFF_ONLY)),
            ("groups", described(ids(), STAFF_ONLY)),
            ("user_permissions", described(ids(), STAFF_ONLY)),
        ],
        &["username", "password"],
    )
}

fn patched_privileged_user_request() -> Value {
    partial(privileged_user_request())
}

fn team_properties(name: Value) -> Vec<(&'static str, Value)> {
    vec![
        ("id", id()),
        ("slug", described(read_only(slug()), "Derived from the name.")),
        ("is_active", boolean()),
        ("_membership", nested_list("UserRole")),
        ("_history", history()),
        ("name", name),
        ("users", read_only(ids())),
    ]
}

fn team() -> Value {
    record(&team_properties(text(255)))
}

/// Describes a team as updates return it, where `name` cannot change after creation.
fn team_update() -> Value {
    record(&team_properties(read_only(text(255))))
}

/// Describes one of a team's memberships, with its user.
fn user_role() -> Value {
    record(&[("id", id()), ("user", integer()), ("role", one_of(ROLE_CODES)), ("_user", nullable(nested("UserSummary")))])
}

fn team_request() -> Value {
    object(
        &[
            ("is_active", described(json!({"type": "boolean", "default": true}), "Only staff may create an inactive team.")),
            ("name", required_text(255)),
        ],
        &["name"],
    )
}

/// Describes the body of a team update: only `is_active` can change. A `PUT` without it sets `true`.
fn team_update_request() -> Value {
    object(&[("is_active", json!({"type": "boolean", "default": true}))], &[])
}

fn patched_team_update_request() -> Value {
    partial(team_update_request())
}

fn membership() -> Value {
    record(&[
        ("id", id()),
        ("_user", nullable(nested("UserSummary"))),
        ("_team", nested("TeamSummary")),
        ("_history", history()),
        ("role", one_of(ROLE_CODES)),
        ("user", integer()),
        ("team", integer()),
    ])
}

fn membership_request() -> Value {
    object(&[("role", one_of(ROLE_CODES)), ("user", integer()), ("team", integer())], &["role", "user", "team"])
}

fn patched_membership_request() -> Value {
    partial(membership_request())
}

fn membership_role_choices() -> Value {
    choices(&ROLES)
}

fn cluster() -> Value {
    record(&[
        ("id", id()),
        ("_access_teams", nested_list("TeamSummary")),
        ("_history", history()),
        ("name", text(50)),
        ("description", nullable(text(150))),
        ("enabled", boolean()),
        ("access_mode", one_of(ACCESS_MODE_CODES)),
        ("access_teams", ids()),
    ])
}

fn cluster_request() -> Value {
    object(
        &[
            ("name", required_text(50)),
            ("description", nullable(text(150))),
            ("enabled", json!({"type": "boolean", "default": true})),
            (
                "access_mode",
                described(
                    one_of(ACCESS_MODE_CODES),
                    "`WL` admits only `access_teams`, `BL` admits all teams but those, `OP` admits every team. Defaults to `OP`.",
                ),
            ),
            ("access_teams", ids()),
        ],
        &["name"],
    )
}

fn patched_cluster_request() -> Value {
    partial(cluster_request())
}

fn cluster_access_mode_choices() -> Value {
    choices(&ACCESS_MODES)
}

fn allocation_request() -> Value {
    record(&[
        ("id", id()),
        ("_submitter", nested("UserSummary")),
        ("_team", nested("TeamSummary")),
        ("_assignees", nested_list("UserSummary")),
        ("_publications", nested_list("PublicationSummary")),
        ("_grants", nested_list("GrantSummary")),
        ("_history", history()),
        ("_allocations", nested_list("ResourceAllocationSummary")),
        ("_attachments", nested_list("AttachmentSummary")),
        ("_comments", described(nested_list("CommentSummary"), "Private comments are listed for staff only.")),
        ("title", text(250)),
        ("description", text(20_000)),
        ("submitted", read_only(date_time())),
        ("active", nullable(date())),
        ("expire", nullable(date())),
        ("status", one_of(REQUEST_STATUS_CODES)),
        ("submitter", integer()),
        ("team", integer()),
        ("assignees", ids()),
        ("publications", ids()),
        ("grants", ids()),
    ])
}

fn allocation_request_request() -> Value {
    object(
        &[
            ("title", required_text(250)),
            ("description", required_text(20_000)),
            ("active", nullable(date())),
            ("expire", nullable(date())),
            ("status", described(one_of(REQUEST_STATUS_CODES), "Defaults to `PD`.")),
            ("submitter", integer()),
            ("team", integer()),
            ("assignees", ids()),
            ("publications", ids()),
            ("grants", ids()),
        ],
        &["title", "description", "submitter", "team"],
    )
}

fn patched_allocation_request_request() -> Value {
    partial(allocation_request_request())
}

fn allocation_request_status_choices() -> Value {
    choices(&REQUEST_STATUSES)
}

fn publication_properties() -> Vec<(&'static str, Value)> {
    vec![
        ("title", text(250)),
        ("abstract", nullable(string())),
        ("published", nullable(date())),
        ("submitted", nullable(date())),
        ("journal", nullable(text(100))),
        ("doi", nullable(text(50))),
        ("volume", nullable(text(20))),
        ("issue", nullable(text(20))),
    ]
}

fn publication_summary() -> Value {
    let mut properties = vec![("id", id())];
    properties.extend(publication_properties());
    properties.push(("team", read_only(integer())));
    record(&properties)
}

fn grant_properties() -> Vec<(&'static str, Value)> {
    vec![
        ("title", text(250)),
        ("agency", text(100)),
        ("pi", nullable(text(100))),
        ("amount", decimal(12)),
        ("grant_number", nullable(text(250))),
        ("start_date", date()),
        ("end_date", nullable(date())),
        ("description", nullable(string())),
    ]
}

fn grant_summary() -> Value {
    let mut properties = vec![("id", id())];
    properties.extend(grant_properties());
    properties.push(("team", read_only(integer())));
    record(&properties)
}

fn resource_allocation_summary() -> Value {
    record(&[
        ("id", id()),
        ("cluster", integer()),
        ("requested", count()),
        ("awarded", nullable(count())),
        ("final", nullable(count())),
        ("_cluster", nested("ClusterSummary")),
    ])
}

fn attachment_summary() -> Value {
    record(&[("file", attachment_path()), ("name", string())])
}

fn attachment_path() -> Value {
    described(read_only(string()), "Path of the stored file, relative to the upload folder, such as `allocations/report.pdf`.")
}

fn comment_summary() -> Value {
    record(&[
        ("id", id()),
        ("user", integer()),
        ("content", text(2000)),
        ("created", read_only(date_time())),
        ("private", boolean()),
        ("_user", nullable(nested("UserSummary"))),
    ])
}

fn allocation_review() -> Value {
    record(&[
        ("id", id()),
        ("_request", nested("AllocationRequestSummary")),
        ("_reviewer", nullable(nested("UserSummary"))),
        ("_history", history()),
        ("status", one_of(REVIEW_STATUS_CODES)),
        ("submitted", read_only(date_time())),
        ("request", integer()),
        ("reviewer", integer()),
    ])
}

fn allocation_review_request() -> Value {
    object(
        &[
            ("status", one_of(REVIEW_STATUS_CODES)),
            ("request", integer()),
            ("reviewer", described(integer(), "Defaults to the caller on create, and must be the caller when given.")),
        ],
        &["status", "request"],
    )
}

fn patched_allocation_review_request() -> Value {
    partial(allocation_review_request())
}

fn allocation_review_status_choices() -> Value {
    choices(&REVIEW_STATUSES)
}

fn resource_allocation() -> Value {
    record(&[
        ("id", id()),
        ("_cluster", nested("ClusterSummary")),
        ("_request", nested("AllocationRequestSummary")),
        ("_history", history()),
        ("requested", count()),
        ("awarded", nullable(count())),
        ("final", nullable(count())),
        ("cluster", integer()),
        ("request", integer()),
    ])
}

fn resource_allocation_request() -> Value {
    object(
        &[
            ("requested", count()),
            ("awarded", nullable(count())),
            ("final", nullable(count())),
            ("cluster", integer()),
            ("request", integer()),
        ],
        &["requested", "cluster", "request"],
    )
}

fn patched_resource_allocation_request() -> Value {
    partial(resource_allocation_request())
}

fn attachment() -> Value {
    record(&[
        ("id", id()),
        ("file", attachment_path()),
        ("name", text(250)),
        ("_request", nullable(nested("AllocationRequestSummary"))),
        ("_history", history()),
        ("uploaded", read_only(date_time())),
        ("request", integer()),
    ])
}

fn attachment_request() -> Value {
    object(
        &[
            (
                "file",
                described(file(), "At most `CONFIG_UPLOAD_SIZE` bytes, of a type listed by `/config/` and guessed from the file name."),
            ),
            ("name", described(required_text(250), "Defaults to the uploaded file's name.")),
            ("request", integer()),
        ],
        &["file", "request"],
    )
}

fn patched_attachment_request() -> Value {
    partial(attachment_request())
}

fn comment() -> Value {
    record(&[
        ("id", id()),
        ("user", integer()),
        ("_user", nullable(nested("UserSummary"))),
        ("_request", nullable(nested("AllocationRequestSummary"))),
        ("_history", history()),
        ("content", text(2000)),
        ("created", read_only(date_time())),
        ("private", boolean()),
        ("request", integer()),
    ])
}

fn comment_request() -> Value {
    object(
        &[
            ("user", described(integer(), "Defaults to the caller when a create or a full update leaves it out.")),
            ("content", required_text(2000)),
            ("private", described(json!({"type": "boolean", "default": false}), "Only staff may write private comments.")),
            ("request", integer()),
        ],
        &["content", "request"],
    )
}

fn patched_comment_request() -> Value {
    partial(comment_request())
}

fn grant() -> Value {
    let mut properties = vec![("id", id()), ("_team", nullable(nested("TeamSummary"))), ("_history", history())];
    properties.extend(grant_properties());
    properties.push(("team", integer()));
    record(&properties)
}

fn grant_request() -> Value {
    object(
        &[
            ("title", required_text(250)),
            ("agency", required_text(100)),
            ("pi", nullable(text(100))),
            ("amount", described(decimal(12), "A number or a decimal string, with at most 2 decimal places.")),
            ("grant_number", nullable(text(250))),
            ("start_date", date()),
            ("end_date", nullable(date())),
            ("description", nullable(string())),
            ("team", integer()),
        ],
        &["title", "agency", "amount", "start_date", "team"],
    )
}

fn patched_grant_request() -> Value {
    partial(grant_request())
}

fn publication() -> Value {
    let mut properties = vec![("id", id()), ("_team", nullable(nested("TeamSummary"))), ("_history", history())];
    properties.extend(publication_properties());
    properties.push(("team", integer()));
    record(&properties)
}

fn publication_request() -> Value {
    let mut properties = vec![("title", required_text(250))];
    properties.extend(publication_properties().into_iter().filter(|(name, _)| *name != "title"));
    properties.push(("team", integer()));
    object(&properties, &["title", "team"])
}

fn patched_publication_request() -> Value {
    partial(publication_request())
}

fn audit_log() -> Value {
    record(&[
        ("id", id()),
        ("record_name", described(read_only(string()), "`<app> | <model>`, such as `users | User`.")),
        ("record_id", nullable(integer())),
        ("action", audit_action()),
        ("changes", audit_changes()),
        ("cid", nullable(text(255))),
        ("remote_addr", nullable(string())),
        ("remote_port", nullable(count())),
        ("timestamp", date_time()),
        ("actor", nullable(integer())),
        ("_actor", nullable(nested("UserSummary"))),
    ])
}

fn request_log() -> Value {
    record(&[
        ("id", id()),
        ("_user", nullable(nested("UserSummary"))),
        ("method", text(10)),
        ("endpoint", described(text(2048), "Path with its query string.")),
        ("response_code", integer()),
        ("remote_address", nullable(text(40))),
        ("timestamp", read_only(date_time())),
        ("cid", nullable(text(36))),
        ("user", nullable(integer())),
    ])
}

fn task_result() -> Value {
    record(&[
        ("id", id()),
        ("task_id", text(255)),
        ("periodic_task_name", nullable(text(255))),
        ("task_name", nullable(text(255))),
        ("task_args", nullable(string())),
        ("task_kwargs", nullable(string())),
        ("status", text(50)),
        ("worker", nullable(text(100))),
        ("content_type", text(128)),
        ("content_encoding", text(64)),
        ("result", read_only(nullable(string()))),
        ("date_created", read_only(date_time())),
        ("date_started", nullable(date_time())),
        ("date_done", read_only(date_time())),
        ("traceback", nullable(string())),
        ("meta", read_only(nullable(string()))),
    ])
}

fn feed_entry() -> Value {
    record(&[
        ("id", described(string(), "The record type's initial and the record's id, such as `r12`.")),
        ("_user", nullable(nested("UserSummary"))),
        ("record_id", integer()),
        ("record_type", one_of(FEED_RECORD_TYPES)),
        ("timestamp", date_time()),
        ("summary", nullable(string())),
        ("cid", nullable(string())),
        ("status", described(nullable(string()), "The response code of a request, the state of a task, null for an audit entry.")),
        ("user", nullable(integer())),
    ])
}

fn config() -> Value {
    record(&[
        ("version", string()),
        ("max_upload_size", described(integer(), "Largest attachment, in bytes.")),
        ("max_upload_count", described(integer(), "Most attachments one allocation request may have.")),
        ("allowed_file_types", described(json!({"type": "array", "items": string()}), "MIME types accepted for attachments.")),
        ("session_age", described(integer(), "Lifetime of a session, in seconds.")),
    ])
}

/// Describes the body of `/health/json/`.
fn health_check_results() -> Value {
    let check = record(&[
        ("check", string()),
        ("healthy", boolean()),
        ("error", nullable(string())),
        ("time_taken", described(json!({"type": "number"}), "Seconds the check took.")),
    ]);
    record(&[("data", json!({"type": "array", "items": check}))])
}

/// Returns every component schema, paginated envelopes excluded.
pub fn all() -> impl Iterator<Item = (&'static str, Value)> {
    COMPONENTS.iter().map(|(name, build)| (*name, build()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<&str> = COMPONENTS.iter().map(|(name, _)| *name).collect();
        names.sort_unstable();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count);
    }

    #[test]
    fn patched_schemas_match_their_request() {
        for (name, build) in COMPONENTS {
            let Some(base) = name.strip_prefix("Patched") else { continue };
            let (_, full) = COMPONENTS.iter().find(|(other, _)| *other == base).unwrap_or_else(|| panic!("{name} has no {base}"));
            assert_eq!(build()["properties"], full()["properties"], "{name}");
            assert!(build().get("required").is_none(), "{name}");
        }
    }

    #[test]
    fn choices_follow_storage_labels() {
        assert_eq!(membership_role_choices()["properties"]["OW"]["enum"], json!(["Owner"]));
        assert_eq!(allocation_request_status_choices()["required"], json!(["PD", "AP", "DC", "CR"]));
    }
}
