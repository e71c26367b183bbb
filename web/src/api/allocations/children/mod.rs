//! Records attached to allocation requests: comments and attachments.
//!
//! Both belong to the team of their request. Staff see and change all of them, and non-staff
//! see those of their teams' requests. A non-staff create needs a body `request` that names a
//! request of a team the caller belongs to: any role for comments, owner or admin for
//! attachments. Anything else, including a missing or malformed `request`, is 403.

pub mod attachments;
pub mod comments;

use serde_json::Value;

use crate::api::{DETAIL, LIST, READ};
use crate::error::ApiError;
use crate::router::{allow_all, Access, Context, Route};

/// Routes for comments and attachments.
pub static ROUTES: &[Route] = &[
    Route {
        path: "/allocations/comments/",
        name: "Comment List",
        description:
            "List comments on the allocation requests of the caller's teams (private comments for staff only), or comment on a request.",
        methods: LIST,
        access: Access::Authenticated,
        permission: comments::create_permission,
        handler: comments::list,
    },
    Route {
        path: "/allocations/comments/{id}/",
        name: "Comment Instance",
        description: "Read, update or delete a comment. Team members may change public comments; private comments are for staff only.",
        methods: DETAIL,
        access: Access::Authenticated,
        permission: allow_all,
        handler: comments::detail,
    },
    Route {
        path: "/allocations/attachments/",
        name: "Attachment List",
        description: "List files attached to the allocation requests of the caller's teams, or upload a file (multipart field `file`).",
        methods: LIST,
        access: Access::Authenticated,
        permission: attachments::create_permission,
        handler: attachments::list,
    },
    Route {
        path: "/allocations/attachments/{id}/",
        name: "Attachment Instance",
        description: "Read an attachment; staff may also replace or delete it.",
        methods: DETAIL,
        access: Access::Authenticated,
        permission: allow_all,
        handler: attachments::detail,
    },
    Route {
        path: "/allocations/attachments/{id}/download/",
        name: "Attachment Download",
        description: "Return the attached file's content.",
        methods: READ,
        access: Access::Authenticated,
        permission: allow_all,
        handler: attachments::download,
    },
];

/// Returns the caller's role in the team of the request that a create body names, for the
/// view-level create rules. Returns `None` when the body cannot be read, is not an object,
/// names no existing request, or the caller has no role in its team.
async fn role_for_body_request(context: &Context<'_>) -> Result<Option<String>, ApiError> {
    let Ok(body) = context.request.parse_body().await else {
        return Ok(None);
    };
    let Some(request_id) = body.data.get("request").and_then(primary_key_of) else {
        return Ok(None);
    };
    let db = &context.state.db;
    let Some(request) = db.parent_request(request_id).await? else {
        return Ok(None);
    };
    Ok(db.role_in_team(context.user()?.id, request.team_id).await?)
}

/// Checks whether the caller has any role in the team.
async fn is_member(context: &Context<'_>, team_id: i64) -> Result<bool, ApiError> {
    Ok(context.state.db.role_in_team(context.user()?.id, team_id).await?.is_some())
}

/// Reads a primary key as the reference accepts it in a body: an integer, an integral float, or a
/// string holding an integer. Booleans are not keys.
fn primary_key_of(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => match (number.as_i64(), number.as_f64()) {
            (Some(id), _) => Some(id),
            (None, Some(float)) if float.fract() == 0.0 && float.abs() < 9.0e15 => Some(float as i64),
            _ => None,
        },
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}
