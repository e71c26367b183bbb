//! `/users/users/` and `/users/users/{id}/`.
//!
//! Everyone signed in may read active users; staff also see inactive ones. Only staff create
//! users. A user may change or delete their own record, staff any record. Non-staff writers
//! cannot touch `is_active`, `is_staff`, `is_ldap_user`, `is_superuser`, `groups` or
//! `user_permissions`.

use futures::future::BoxFuture;
use keystone_storage::password::{hash_password, validate_password};
use keystone_storage::records::User;
use keystone_storage::resources::USERS;
use keystone_storage::{NewUser, StorageError, UserChanges};
use serde_json::Value;
use warp::http::{Method, StatusCode};

use crate::api::fields::{does_not_exist, is_valid_username, Form, Mode, TextRules};
use crate::api::listing::{compile, envelope, in_page_order, is_visible, page_ids, Scope};
use crate::api::loaders::user_context;
use crate::error::ApiError;
use crate::http::Reply;
use crate::json::user_json;
use crate::router::Context;

const MODEL: &str = "User";

/// View-level rule of the list route: only staff may create users.
pub fn list_permission<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<(), ApiError>> {
    Box::pin(async move {
        if context.request.method == Method::POST && !context.is_staff() {
            return Err(ApiError::PermissionDenied);
        }
        Ok(())
    })
}

pub fn list<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        match context.request.method {
            Method::POST => create(context).await,
            _ => list_users(context).await,
        }
    })
}

pub fn detail<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let user = find(context).await?;
        match context.request.method {
            Method::GET | Method::HEAD => render_one(context, &user, StatusCode::OK).await,
            Method::PUT => update(context, user, Mode::Full).await,
            Method::PATCH => update(context, user, Mode::Partial).await,
            Method::DELETE => destroy(context, user).await,
            _ => Err(ApiError::MethodNotAllowed(context.request.method.to_string())),
        }
    })
}

/// Non-staff see active users only.
fn scope(context: &Context<'_>) -> Option<Scope<'static>> {
    if context.is_staff() {
        None
    } else {
        Some(Box::new(|_params| "u.is_active".to_string()))
    }
}

async fn list_users(context: &Context<'_>) -> Result<Reply, ApiError> {
    let query = compile(context, &USERS, scope(context)).await?;
    let (count, ids) = page_ids(context, &USERS, &query).await?;
    let users = in_page_order(&ids, context.state.db.users_by_ids(&ids).await?, |user| user.id);
    let nested = user_context(&context.state.db, &users).await?;
    let results = users.iter().map(|user| user_json(user, &nested)).collect();
    Ok(envelope(context, query.pagination, count, results))
}

/// Looks up the detail route's user inside the caller's scope and the query filters.
async fn find(context: &Context<'_>) -> Result<User, ApiError> {
    let id = context.record_id()?;
    if !is_visible(context, &USERS, scope(context), id).await? {
        return Err(ApiError::NotFound(MODEL));
    }
    context.state.db.user_by_id(id).await?.ok_or(ApiError::NotFound(MODEL))
}

async fn render_one(context: &Context<'_>, user: &User, status: StatusCode) -> Result<Reply, ApiError> {
    let nested = user_context(&context.state.db, std::slice::from_ref(user)).await?;
    Ok(Reply::json(status, &user_json(user, &nested)))
}

/// Fields read from a user body, before hashing the password.
struct UserInput {
    changes: UserChanges,
    raw_password: Option<String>,
}

async fn create(context: &Context<'_>) -> Result<Reply, ApiError> {
    let body = context.request.parse_body().await?;
    let input = read_input(context, body.object()?, Mode::Full, true, None).await?;
    let password = input.raw_password.clone().unwrap_or_default();
    let encoded = hash(password).await?;
    let changes = input.changes;
    let new = NewUser {
        username: changes.username.clone().unwrap_or_default(),
        password: encoded,
        first_name: changes.first_name.clone().flatten(),
        last_name: changes.last_name.clone().flatten(),
        email: changes.email.clone().flatten(),
        department: changes.department.clone().flatten(),
        role: changes.role.clone().flatten(),
        is_active: changes.is_active.unwrap_or(true),
        is_staff: changes.is_staff.unwrap_or(false),
        is_superuser: changes.is_superuser.unwrap_or(false),
        is_ldap_user: changes.is_ldap_user.unwrap_or(false),
        groups: changes.groups.clone().unwrap_or_default(),
        user_permissions: changes.user_permissions.clone().unwrap_or_default(),
    };
    let user = context.state.db.create_user(&new, &context.audit()).await.map_err(username_conflict)?;
    tracing::info!(user_id = user.id, actor = ?context.identity.user.as_ref().map(|u| u.id), cid = %context.request.cid, "created a user");
    render_one(context, &user, StatusCode::CREATED).await
}

async fn update(context: &Context<'_>, current: User, mode: Mode) -> Result<Reply, ApiError> {
    let caller = context.user()?;
    if !context.is_staff() && caller.id != current.id {
        return Err(ApiError::PermissionDenied);
    }
    let body = context.request.parse_body().await?;
    let input = read_input(context, body.object()?, mode, context.is_staff(), Some(current.id)).await?;
    let mut changes = input.changes;
    if let Some(password) = input.raw_password {
        changes.password = Some(hash(password).await?);
    }
    let user = context.state.db.update_user(&current, &changes, &context.audit()).await.map_err(username_conflict)?;
    if changes.password.is_some() {
        tracing::info!(user_id = user.id, cid = %context.request.cid, "password changed; the user's sessions were ended");
    }
    render_one(context, &user, StatusCode::OK).await
}

async fn destroy(context: &Context<'_>, user: User) -> Result<Reply, ApiError> {
    let caller = context.user()?;
    if !context.is_staff() && caller.id != user.id {
        return Err(ApiError::PermissionDenied);
    }
    match context.state.db.delete_user(&user, &context.audit()).await {
        Ok(()) => {
            tracing::info!(user_id = user.id, cid = %context.request.cid, "deleted a user");
            Ok(Reply::empty(StatusCode::NO_CONTENT))
        }
        Err(StorageError::Conflict(_)) => Err(ApiError::Conflict(
            "This user cannot be deleted because other records (allocation requests, reviews or comments) refer to it.".to_string(),
        )),
        Err(error) => Err(error.into()),
    }
}

/// Reads and validates a user body. `privileged` (staff) may set every flag; `existing` is the
/// id of the record being updated, for the uniqueness check.
async fn read_input(
    context: &Context<'_>,
    data: &serde_json::Map<String, Value>,
    mode: Mode,
    privileged: bool,
    existing: Option<i64>,
) -> Result<UserInput, ApiError> {
    let db = &context.state.db;
    let is_json = context.request.media_type().as_deref() == Some("application/json");
    let mut form = Form::new(data, mode).json_body(is_json);
    let mut changes = UserChanges::default();

    let username = form.required_text("username", TextRules::required(150));
    if let Some(name) = &username {
        if !is_valid_username(name) {
            form.error("username", "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.");
        } else if let Some(other) = db.user_by_username(name).await? {
            if Some(other.id) != existing {
                form.error("username", "user with this username already exists.");
            }
        }
    }
    changes.username = username;

    let raw_password = form.required_text("password", TextRules { trim: false, ..TextRules::required(128) });
    changes.first_name = form.text("first_name", TextRules::optional(150));
    changes.last_name = form.text("last_name", TextRules::optional(150));
    changes.email = form.email("email", 254);
    changes.department = form.text("department", TextRules::optional(1000));
    changes.role = form.text("role", TextRules::optional(1000));

    if privileged {
        changes.is_superuser = form.boolean("is_superuser", false);
        changes.is_active = form.boolean("is_active", false);
        changes.is_staff = form.boolean("is_staff", false);
        changes.is_ldap_user = form.boolean("is_ldap_user", false);
        changes.groups = form.primary_keys("groups");
        changes.user_permissions = form.primary_keys("user_permissions");
        check_exist(context, &mut form, "groups", "auth_group", changes.groups.as_deref()).await?;
        check_exist(context, &mut form, "user_permissions", "auth_permission", changes.user_permissions.as_deref()).await?;
    }

    if form.has_errors() {
        return form.finish().map(|()| UserInput { changes, raw_password });
    }
    if let Some(password) = &raw_password {
        let problems = validate_password(password);
        for problem in problems {
            form.error("non_field_errors", problem);
        }
    }
    form.finish()?;
    Ok(UserInput { changes, raw_password })
}

async fn check_exist(
    context: &Context<'_>,
    form: &mut Form<'_>,
    field: &str,
    table: &'static str,
    ids: Option<&[i64]>,
) -> Result<(), ApiError> {
    let Some(ids) = ids else {
        return Ok(());
    };
    let found = context.state.db.existing_ids(table, ids).await?;
    if let Some(missing) = ids.iter().find(|id| !found.contains(id)) {
        form.error(field, does_not_exist(*missing));
    }
    Ok(())
}

async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|error| ApiError::Internal(format!("password hashing task failed: {error}")))
}

/// A username taken by a concurrent request surfaces as a constraint violation.
fn username_conflict(error: StorageError) -> ApiError {
    match error {
        StorageError::Conflict(_) => ApiError::field("username", "user with this username already exists."),
        other => other.into(),
    }
}
