//! The parts of the document about each route beyond the router's own fields: its tag, the list
//! description behind its query parameters, and the schemas of its bodies.
//!
//! The tags are the reference server's, because client generators group operations by tag.

use keystone_storage::allocations::resources::{ALLOCATIONS, CLUSTERS, REQUESTS, REVIEWS};
use keystone_storage::attachments::ATTACHMENTS;
use keystone_storage::comments::COMMENTS;
use keystone_storage::logs::resources::{AUDIT_LOGS, FEED, REQUEST_LOGS, TASK_RESULTS};
use keystone_storage::query::Resource;
use keystone_storage::research::resources::{GRANTS, PUBLICATIONS};
use keystone_storage::resources::{MEMBERSHIPS, TEAMS, USERS};

/// The body of a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Content {
    /// JSON described by the component schema of this name.
    Schema(&'static str),
    /// Text of this media type.
    Text(&'static str),
    /// A stored file, with the media type guessed from its name.
    File,
    /// No body.
    Empty,
}

/// The schemas of one route's operations.
///
/// `GET` returns `output`, wrapped in the paginated envelope when `list` is set. `POST` takes
/// `create` and returns `output`: with 201 on a list route, else with 200. `PUT` takes `update`,
/// `PATCH` takes its `Patched` form (`TeamUpdateRequest` → `PatchedTeamUpdateRequest`), and both
/// return `updated`, or `output` when that is `None`. `DELETE` returns 204 with no body.
#[derive(Debug)]
pub struct RouteSchemas {
    pub path: &'static str,
    pub tag: &'static str,
    /// The list description whose fields become the query parameters of `GET`.
    pub list: Option<&'static Resource>,
    pub output: Content,
    pub create: Option<&'static str>,
    pub update: Option<&'static str>,
    pub updated: Option<&'static str>,
    /// Statuses a successful `GET` may have besides 200, with their descriptions.
    pub other_statuses: &'static [(&'static str, &'static str)],
    /// Whether `POST` and `PUT` carry a file, so that only `multipart/form-data` bodies work.
    pub upload: bool,
}

const NOTHING: RouteSchemas = RouteSchemas {
    path: "",
    tag: "",
    list: None,
    output: Content::Empty,
    create: None,
    update: None,
    updated: None,
    other_statuses: &[],
    upload: false,
};

/// Describes a paginated list of `output` records that `POST` adds to with a `create` body.
const fn collection(
    path: &'static str,
    tag: &'static str,
    list: &'static Resource,
    output: &'static str,
    create: &'static str,
) -> RouteSchemas {
    RouteSchemas { path, tag, list: Some(list), output: Content::Schema(output), create: Some(create), ..NOTHING }
}

/// Describes a paginated, read-only list of `output` records.
const fn read_only_list(path: &'static str, tag: &'static str, list: &'static Resource, output: &'static str) -> RouteSchemas {
    RouteSchemas { path, tag, list: Some(list), output: Content::Schema(output), ..NOTHING }
}

/// Describes one `output` record that `PUT` and `PATCH` change with an `update` body.
const fn instance(path: &'static str, tag: &'static str, output: &'static str, update: &'static str) -> RouteSchemas {
    RouteSchemas { path, tag, output: Content::Schema(output), update: Some(update), ..NOTHING }
}

/// Describes a read-only JSON object with the component schema `output`.
const fn read_only_object(path: &'static str, tag: &'static str, output: &'static str) -> RouteSchemas {
    RouteSchemas { path, tag, output: Content::Schema(output), ..NOTHING }
}

const VERSION: &str = "Version";
const CONFIGURATION: &str = "Utils - Configuration";
const AUTHENTICATION: &str = "Authentication";
const ACCOUNTS: &str = "Users - Accounts";
const TEAMS_TAG: &str = "Users - Teams";
const MEMBERSHIP: &str = "Users - Team Membership";
const HEALTH: &str = "Admin - Health Checks";
const CLUSTERS_TAG: &str = "Allocations - Clusters";
const REQUESTS_TAG: &str = "Allocations - Requests";
const REVIEWS_TAG: &str = "Allocations - Reviews";
const ALLOCATED: &str = "Allocations - Allocated Resources";
const COMMENTS_TAG: &str = "Allocations - Request Comments";
const ATTACHMENTS_TAG: &str = "Allocations - Request Attachments";
const GRANTS_TAG: &str = "Research - Grants";
const PUBLICATIONS_TAG: &str = "Research - Publications";
const LOGGING: &str = "Admin - Logging";
const FEED_TAG: &str = "Logging - Feed";

/// Schemas of every documented route, keyed by route path.
pub static ROUTE_SCHEMAS: &[RouteSchemas] = &[
    RouteSchemas { path: "/version/", tag: VERSION, output: Content::Text("text/plain"), ..NOTHING },
    read_only_object("/config/", CONFIGURATION, "Config"),
    RouteSchemas {
        path: "/authentication/login/",
        tag: AUTHENTICATION,
        output: Content::Schema("RestrictedUser"),
        create: Some("LoginRequest"),
        ..NOTHING
    },
    RouteSchemas { path: "/authentication/logout/", tag: AUTHENTICATION, ..NOTHING },
    read_only_object("/authentication/whoami/", AUTHENTICATION, "RestrictedUser"),
    collection("/users/users/", ACCOUNTS, &USERS, "RestrictedUser", "PrivilegedUserRequest"),
    instance("/users/users/{id}/", ACCOUNTS, "RestrictedUser", "PrivilegedUserRequest"),
    collection("/users/teams/", TEAMS_TAG, &TEAMS, "Team", "TeamRequest"),
    RouteSchemas { updated: Some("TeamUpdate"), ..instance("/users/teams/{id}/", TEAMS_TAG, "Team", "TeamUpdateRequest") },
    collection("/users/memberships/", MEMBERSHIP, &MEMBERSHIPS, "Membership", "MembershipRequest"),
    instance("/users/memberships/{id}/", MEMBERSHIP, "Membership", "MembershipRequest"),
    read_only_object("/users/membership-choices/role/", MEMBERSHIP, "MembershipRoleChoices"),
    RouteSchemas { path: "/health/", tag: HEALTH, other_statuses: &[("500", "A health check failed.")], ..NOTHING },
    read_only_object("/health/json/", HEALTH, "HealthCheckResults"),
    RouteSchemas { path: "/health/prom/", tag: HEALTH, output: Content::Text("text/plain"), ..NOTHING },
    collection("/allocations/clusters/", CLUSTERS_TAG, &CLUSTERS, "Cluster", "ClusterRequest"),
    instance("/allocations/clusters/{id}/", CLUSTERS_TAG, "Cluster", "ClusterRequest"),
    read_only_object("/allocations/cluster-choices/access-mode/", CLUSTERS_TAG, "ClusterAccessModeChoices"),
    collection("/allocations/requests/", REQUESTS_TAG, &REQUESTS, "AllocationRequest", "AllocationRequestRequest"),
    instance("/allocations/requests/{id}/", REQUESTS_TAG, "AllocationRequest", "AllocationRequestRequest"),
    read_only_object("/allocations/request-choices/status/", REQUESTS_TAG, "AllocationRequestStatusChoices"),
    collection("/allocations/reviews/", REVIEWS_TAG, &REVIEWS, "AllocationReview", "AllocationReviewRequest"),
    instance("/allocations/reviews/{id}/", REVIEWS_TAG, "AllocationReview", "AllocationReviewRequest"),
    read_only_object("/allocations/review-choices/status/", REVIEWS_TAG, "AllocationReviewStatusChoices"),
    collection("/allocations/allocations/", ALLOCATED, &ALLOCATIONS, "ResourceAllocation", "ResourceAllocationRequest"),
    instance("/allocations/allocations/{id}/", ALLOCATED, "ResourceAllocation", "ResourceAllocationRequest"),
    collection("/allocations/comments/", COMMENTS_TAG, &COMMENTS, "Comment", "CommentRequest"),
    instance("/allocations/comments/{id}/", COMMENTS_TAG, "Comment", "CommentRequest"),
    RouteSchemas {
        upload: true,
        ..collection("/allocations/attachments/", ATTACHMENTS_TAG, &ATTACHMENTS, "Attachment", "AttachmentRequest")
    },
    RouteSchemas { upload: true, ..instance("/allocations/attachments/{id}/", ATTACHMENTS_TAG, "Attachment", "AttachmentRequest") },
    RouteSchemas { path: "/allocations/attachments/{id}/download/", tag: ATTACHMENTS_TAG, output: Content::File, ..NOTHING },
    collection("/research/grants/", GRANTS_TAG, &GRANTS, "Grant", "GrantRequest"),
    instance("/research/grants/{id}/", GRANTS_TAG, "Grant", "GrantRequest"),
    collection("/research/publications/", PUBLICATIONS_TAG, &PUBLICATIONS, "Publication", "PublicationRequest"),
    instance("/research/publications/{id}/", PUBLICATIONS_TAG, "Publication", "PublicationRequest"),
    read_only_list("/logs/requests/", LOGGING, &REQUEST_LOGS, "RequestLog"),
    read_only_object("/logs/requests/{id}/", LOGGING, "RequestLog"),
    read_only_list("/logs/audit/", LOGGING, &AUDIT_LOGS, "AuditLog"),
    read_only_object("/logs/audit/{id}/", LOGGING, "AuditLog"),
    read_only_list("/logs/tasks/", LOGGING, &TASK_RESULTS, "TaskResult"),
    read_only_object("/logs/tasks/{id}/", LOGGING, "TaskResult"),
    read_only_list("/logs/feed/", FEED_TAG, &FEED, "FeedEntry"),
];

/// Finds the schemas of the route with this path.
pub fn schemas_of(path: &str) -> Option<&'static RouteSchemas> {
    ROUTE_SCHEMAS.iter().find(|entry| entry.path == path)
}
