//! Who is making a request: token first, then the session cookie, else anonymous.

use keystone_storage::records::User;
use keystone_storage::TokenOwner;

use crate::auth::session_digest;
use crate::error::ApiError;
use crate::http::Request;
use crate::state::AppState;

/// How the caller authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    Anonymous,
    Token,
    /// Session cookie; carries the stored digest so logout can delete it.
    Session {
        key_digest: String,
    },
}

/// The authenticated caller, if any.
#[derive(Clone, Debug)]
pub struct Identity {
    pub user: Option<User>,
    pub method: AuthMethod,
}

impl Identity {
    pub fn anonymous() -> Self {
        Identity { user: None, method: AuthMethod::Anonymous }
    }

    pub fn is_staff(&self) -> bool {
        self.user.as_ref().is_some_and(|user| user.is_staff)
    }
}

/// Authenticates a request. A malformed or unknown token is a 401 even on public routes, as in
/// the reference; a missing, expired or unknown session cookie means anonymous.
pub async fn authenticate(state: &AppState, request: &Request) -> Result<Identity, ApiError> {
    if let Some(user) = token_user(state, request).await? {
        return Ok(Identity { user: Some(user), method: AuthMethod::Token });
    }
    let Some(key) = request.cookie("sessionid").filter(|key| !key.is_empty()) else {
        return Ok(Identity::anonymous());
    };
    let key_digest = session_digest(state.secret_key(), &key);
    match state.db.session_user(&key_digest, keystone_storage::now()).await? {
        Some(user) => Ok(Identity { user: Some(user), method: AuthMethod::Session { key_digest } }),
        None => Ok(Identity::anonymous()),
    }
}

async fn token_user(state: &AppState, request: &Request) -> Result<Option<User>, ApiError> {
    let Some(raw) = request.headers.get("authorization") else {
        return Ok(None);
    };
    let bytes = raw.as_bytes();
    let mut parts = bytes.split(|byte| byte.is_ascii_whitespace()).filter(|part| !part.is_empty());
    let Some(keyword) = parts.next() else {
        return Ok(None);
    };
    if !keyword.eq_ignore_ascii_case(b"token") {
        return Ok(None);
    }
    let rest: Vec<&[u8]> = parts.collect();
    let key = match rest.as_slice() {
        [] => return Err(ApiError::AuthenticationFailed("Invalid token header. No credentials provided.".into())),
        [key] => *key,
        _ => return Err(ApiError::AuthenticationFailed("Invalid token header. Token string should not contain spaces.".into())),
    };
    let Ok(key) = std::str::from_utf8(key) else {
        return Err(ApiError::AuthenticationFailed("Invalid token header. Token string should not contain invalid characters.".into()));
    };
    match state.db.token_owner(key).await? {
        TokenOwner::Active(user) => Ok(Some(*user)),
        TokenOwner::Inactive => Err(ApiError::AuthenticationFailed("User inactive or deleted.".into())),
        TokenOwner::Unknown => Err(ApiError::AuthenticationFailed("Invalid token.".into())),
    }
}
