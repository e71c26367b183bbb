//! Sign-in: `/authentication/login/`, `/authentication/logout/` and `/authentication/whoami/`.

use chrono::Duration;
use futures::future::BoxFuture;
use keystone_storage::password::verify_password;
use keystone_storage::records::User;
use serde_json::{Map, Value};
use warp::http::StatusCode;

use crate::api::loaders::user_context;
use crate::auth::{new_csrf_secret, new_session_key, session_digest, AuthMethod};
use crate::error::ApiError;
use crate::http::{delete_cookie, set_cookie, Reply};
use crate::json::user_json;
use crate::router::Context;

/// Lifetime of the `csrftoken` cookie: one year, as in the reference.
const CSRF_COOKIE_AGE: u64 = 31_449_600;

/// A hash of a random password, checked when the username is unknown so that a failed
/// sign-in takes as long whether or not the user exists.
const TIMING_DUMMY_HASH: &str = "pbkdf2_sha256$1000000$timingdummysalt000000$h4AK3vZyH3lFDMy4wO1XZ8n1vR9m3dC1hS0G2JkQxkU=";

pub fn login<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let body = context.request.parse_body().await?;
        let fields = body.object()?;
        let (username, password) = credentials(fields)?;

        let Some(user) = check_credentials(context, &username, &password).await? else {
            tracing::info!(username = %username, cid = %context.request.cid, "sign-in failed");
            return Err(ApiError::field("non_field_errors", "Invalid username or password."));
        };

        let state = context.state;
        if let AuthMethod::Session { key_digest } = &context.identity.method {
            state.db.delete_session(key_digest).await?;
        }
        let now = keystone_storage::now();
        let session_age = state.settings().security.session_age;
        let session_key = new_session_key();
        let expires = now + Duration::seconds(session_age as i64);
        state.db.create_session(&session_digest(state.secret_key(), &session_key), user.id, now, expires).await?;
        state.db.record_login(user.id, now).await?;
        let user = User { last_login: Some(now), ..user };
        tracing::info!(user_id = user.id, cid = %context.request.cid, "user signed in");

        let nested = user_context(&state.db, std::slice::from_ref(&user)).await?;
        let mut reply = Reply::json(StatusCode::OK, &user_json(&user, &nested));
        let options = state.cookie_options();
        reply.append_header("Set-Cookie", &set_cookie("csrftoken", &new_csrf_secret(), CSRF_COOKIE_AGE, false, &options));
        reply.append_header("Set-Cookie", &set_cookie("sessionid", &session_key, session_age, true, &options));
        Ok(reply)
    })
}

pub fn logout<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let mut reply = Reply::empty(StatusCode::OK);
        if let AuthMethod::Session { key_digest } = &context.identity.method {
            context.state.db.delete_session(key_digest).await?;
        }
        if context.request.cookie("sessionid").is_some() {
            reply.append_header("Set-Cookie", &delete_cookie("sessionid", &context.state.cookie_options()));
        }
        tracing::info!(user_id = context.user()?.id, cid = %context.request.cid, "user signed out");
        Ok(reply)
    })
}

pub fn whoami<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let user = context.user()?;
        let nested = user_context(&context.state.db, std::slice::from_ref(user)).await?;
        Ok(Reply::json(StatusCode::OK, &user_json(user, &nested)))
    })
}

/// Reads `username` (whitespace-trimmed) and `password` (kept as sent), collecting the
/// reference's field errors for both.
fn credentials(fields: &Map<String, Value>) -> Result<(String, String), ApiError> {
    let mut errors = Map::new();
    let username = string_field(fields, "username", true, &mut errors);
    let password = string_field(fields, "password", false, &mut errors);
    match (username, password) {
        (Some(username), Some(password)) if errors.is_empty() => Ok((username, password)),
        _ => Err(ApiError::Validation(errors)),
    }
}

fn string_field(fields: &Map<String, Value>, name: &str, trim: bool, errors: &mut Map<String, Value>) -> Option<String> {
    let message = match fields.get(name) {
        None => "This field is required.",
        Some(Value::Null) => "This field may not be null.",
        Some(Value::String(text)) => {
            let value = if trim { text.trim().to_string() } else { text.clone() };
            if value.is_empty() {
                "This field may not be blank."
            } else if value.contains('\0') {
                // The reference's CharField rejects NUL, and PostgreSQL cannot store it in text.
                "Null characters are not allowed."
            } else {
                return Some(value);
            }
        }
        Some(Value::Number(number)) => return Some(number.to_string()),
        Some(_) => "Not a valid string.",
    };
    errors.insert(name.to_string(), Value::Array(vec![Value::String(message.to_string())]));
    None
}

/// Returns the active user whose password matches, or `None`.
async fn check_credentials(context: &Context<'_>, username: &str, password: &str) -> Result<Option<User>, ApiError> {
    let user = context.state.db.user_by_username(username).await?;
    let encoded = user.as_ref().map(|user| user.password.clone()).unwrap_or_else(|| TIMING_DUMMY_HASH.to_string());
    let password = password.to_string();
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &encoded))
        .await
        .map_err(|error| ApiError::Internal(format!("password check task failed: {error}")))?;
    Ok(user.filter(|user| matches && user.is_active))
}
