//! Request dispatch, in the reference's check order: host, CORS preflight, route, content
//! negotiation (406), authentication and CSRF (401/403), permission (401/403), method (405),
//! then the handler.

use futures::future::BoxFuture;
use warp::http::{Method, StatusCode};

use crate::auth::{authenticate, check_csrf, AuthMethod, Identity};
use crate::error::ApiError;
use crate::http::{add_security_headers, apply_cors, host_allowed, html_page, is_preflight, preflight_reply, Reply, Request};
use crate::state::AppState;

/// Who may reach a route at all; finer checks happen in handlers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Public,
    Authenticated,
    Staff,
}

/// Everything a handler needs.
pub struct Context<'a> {
    pub state: &'a AppState,
    pub request: &'a Request,
    pub identity: Identity,
    /// The `{id}` segment of a detail route.
    pub id: Option<String>,
}

impl Context<'_> {
    /// The authenticated user; routes with `Access::Authenticated` always have one.
    pub fn user(&self) -> Result<&keystone_storage::records::User, ApiError> {
        self.identity.user.as_ref().ok_or(ApiError::NotAuthenticated)
    }

    pub fn is_staff(&self) -> bool {
        self.identity.is_staff()
    }

    /// Who is changing records and from where, for audit entries.
    pub fn audit(&self) -> keystone_storage::audit::AuditContext {
        keystone_storage::audit::AuditContext {
            actor_id: self.identity.user.as_ref().map(|user| user.id),
            actor_email: self.identity.user.as_ref().and_then(|user| user.email.clone()),
            cid: Some(self.request.cid.clone()),
            remote_addr: self.request.client_address(),
            remote_port: self.request.remote.map(|address| i32::from(address.port())),
        }
    }

    /// The detail route's id: a malformed id is a 404 `Not found.`.
    pub fn record_id(&self) -> Result<i64, ApiError> {
        self.id.as_deref().and_then(|id| id.parse::<i64>().ok()).ok_or(ApiError::NotFoundPlain)
    }
}

pub type Handler = for<'a> fn(&'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>>;

/// A view-level permission check, run after authentication and before the method check, so a
/// denied caller gets 403 even for a method the route does not implement.
pub type Permission = for<'a> fn(&'a Context<'a>) -> BoxFuture<'a, Result<(), ApiError>>;

/// The permission of routes with no view-level rule beyond their [`Access`].
pub fn allow_all<'a>(_context: &'a Context<'a>) -> BoxFuture<'a, Result<(), ApiError>> {
    Box::pin(async { Ok(()) })
}

/// One API route.
pub struct Route {
    /// Path with a trailing slash; `{id}` matches one segment without `/` or `.`.
    pub path: &'static str,
    /// View name and description for `OPTIONS`.
    pub name: &'static str,
    pub description: &'static str,
    /// Methods the route implements, besides `HEAD` (implied by `GET`) and `OPTIONS`.
    pub methods: &'static [Method],
    pub access: Access,
    pub permission: Permission,
    pub handler: Handler,
}

impl Route {
    /// The `Allow` header: methods in the reference's order.
    pub fn allow_header(&self) -> String {
        let order = [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];
        let mut names: Vec<&str> = Vec::new();
        for method in order.iter() {
            if self.methods.contains(method) {
                names.push(method.as_str());
            }
        }
        if self.methods.contains(&Method::GET) {
            names.push("HEAD");
        }
        names.push("OPTIONS");
        names.join(", ")
    }

    fn implements(&self, method: &Method) -> bool {
        self.methods.contains(method) || (method == Method::HEAD && self.methods.contains(&Method::GET)) || method == Method::OPTIONS
    }

    fn matches(&self, path: &str) -> Option<Option<String>> {
        let mut id = None;
        let mut pattern = self.path.split('/');
        let mut actual = path.split('/');
        loop {
            match (pattern.next(), actual.next()) {
                (None, None) => return Some(id),
                (Some("{id}"), Some(segment)) if !segment.is_empty() && !segment.contains('.') => id = Some(segment.to_string()),
                (Some(expected), Some(segment)) if expected == segment => {}
                _ => return None,
            }
        }
    }
}

/// The answer to one request, with what the request log records about it.
pub struct Dispatched {
    pub reply: Reply,
    /// The authenticated user, if any.
    pub user_id: Option<i64>,
    /// False for CORS preflights, which the request log skips.
    pub logged: bool,
    /// The matched route's path template, for metrics; `unmatched` when none matched.
    pub route: &'static str,
}

/// Answers one request.
pub async fn dispatch(state: &AppState, request: &Request) -> Dispatched {
    let settings = state.settings();
    let mut user_id = None;
    let mut logged = true;
    let mut route_template = UNMATCHED;
    let mut reply = if !host_allowed(request.header("host"), &settings.security.allowed_hosts) {
        tracing::warn!(host = request.header("host").unwrap_or(""), cid = %request.cid, "rejected a request for a host not in SECURE_ALLOWED_HOSTS");
        Reply::html(StatusCode::BAD_REQUEST, html_page("Bad Request (400)", ""))
    } else if settings.security.ssl_redirect && !request.is_secure() {
        https_redirect(request)
    } else if is_preflight(request) {
        logged = false;
        preflight_reply(request, &settings.security.allowed_origins)
    } else {
        let (reply, user, template) = route(state, request).await;
        user_id = user;
        route_template = template;
        reply
    };
    apply_cors(request, &settings.security.allowed_origins, &mut reply);
    add_security_headers(&mut reply);
    if request.is_secure() {
        add_hsts(settings, &mut reply);
    }
    Dispatched { reply, user_id, logged, route: route_template }
}

/// `SECURE_SSL_REDIRECT`: a permanent redirect to the same URL over HTTPS.
fn https_redirect(request: &Request) -> Reply {
    let mut reply = Reply::empty(StatusCode::MOVED_PERMANENTLY);
    let host = request.header("host").unwrap_or("localhost");
    let query = if request.query.is_empty() { String::new() } else { format!("?{}", request.query) };
    reply.set_header("Location", &format!("https://{host}{}{query}", request.path));
    reply
}

/// `Strict-Transport-Security` from the HSTS settings, on HTTPS responses only.
fn add_hsts(settings: &keystone_config::Settings, reply: &mut Reply) {
    let security = &settings.security;
    if security.hsts_seconds == 0 {
        return;
    }
    let mut value = format!("max-age={}", security.hsts_seconds);
    if security.hsts_subdomains {
        value.push_str("; includeSubDomains");
    }
    if security.hsts_preload {
        value.push_str("; preload");
    }
    reply.set_header("Strict-Transport-Security", &value);
}

/// Route label of requests that match no route.
const UNMATCHED: &str = "unmatched";

async fn route(state: &AppState, request: &Request) -> (Reply, Option<i64>, &'static str) {
    if request.path == "/" {
        return (crate::api::root::root_page(request), None, "/");
    }
    if request.path == "/metrics/" || request.path == "/metrics" {
        return (metrics_page(state, request), None, "/metrics/");
    }
    let Some((route, id)) = find_route(&request.path) else {
        return (not_found_or_redirect(request), None, UNMATCHED);
    };
    let mut user_id = None;
    let mut reply = match serve(state, request, route, id, &mut user_id).await {
        Ok(reply) => reply,
        Err(error) => error.into_reply(),
    };
    reply.set_header("Allow", &route.allow_header());
    (reply, user_id, route.path)
}

/// `/metrics/`: every metric in the Prometheus text format, for GET and HEAD.
fn metrics_page(state: &AppState, request: &Request) -> Reply {
    if !matches!(request.method, Method::GET | Method::HEAD) {
        let mut reply = Reply::empty(StatusCode::METHOD_NOT_ALLOWED);
        reply.set_header("Allow", "GET, HEAD");
        return reply;
    }
    Reply::text(StatusCode::OK, "text/plain; version=0.0.4; charset=utf-8", crate::metrics::render(&state.db))
}

fn find_route(path: &str) -> Option<(&'static Route, Option<String>)> {
    crate::api::AREAS.iter().flat_map(|routes| routes.iter()).find_map(|route| route.matches(path).map(|id| (route, id)))
}

/// Unknown paths: a slash-less GET of a known route is redirected (301) to the slashed path;
/// anything else gets the HTML "Not Found" page.
fn not_found_or_redirect(request: &Request) -> Reply {
    let slashed = format!("{}/", request.path);
    if (request.method == Method::GET || request.method == Method::HEAD) && !request.path.ends_with('/') && find_route(&slashed).is_some() {
        let mut reply = Reply::empty(StatusCode::MOVED_PERMANENTLY);
        let location = if request.query.is_empty() { slashed } else { format!("{slashed}?{}", request.query) };
        reply.set_header("Location", &location);
        reply.set_header("Content-Type", "text/html; charset=utf-8");
        return reply;
    }
    Reply::html(StatusCode::NOT_FOUND, html_page("Not Found", "The requested resource was not found on this server."))
}

async fn serve(
    state: &AppState,
    request: &Request,
    route: &'static Route,
    id: Option<String>,
    user_id: &mut Option<i64>,
) -> Result<Reply, ApiError> {
    negotiate(request, route)?;
    let identity = authenticate(state, request).await?;
    *user_id = identity.user.as_ref().map(|user| user.id);
    enforce_csrf(state, request, &identity).await?;
    check_access(route.access, &identity)?;
    let context = Context { state, request, identity, id };
    (route.permission)(&context).await?;
    crate::throttle::check(state, request, &context.identity).await?;
    if !route.implements(&request.method) {
        return Err(ApiError::MethodNotAllowed(request.method.to_string()));
    }
    if request.method == Method::OPTIONS {
        return Ok(options_reply(route));
    }
    (route.handler)(&context).await
}

/// Content negotiation: routes render JSON, except the OpenAPI routes, which render their own
/// media types. `?format=` may only be `json`.
fn negotiate(request: &Request, route: &Route) -> Result<(), ApiError> {
    let rendered = crate::openapi::rendered_media_types(route.path).unwrap_or(&["application/json"]);
    for (key, value) in request.query_pairs() {
        if key == "format" && value != "json" {
            return Err(ApiError::NotFoundPlain);
        }
    }
    let Some(accept) = request.header("accept") else {
        return Ok(());
    };
    let acceptable = accept.split(',').any(|range| {
        let media = range.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        matches!(media.as_str(), "" | "*/*" | "application/*") || rendered.contains(&media.as_str())
    });
    if acceptable {
        Ok(())
    } else {
        Err(ApiError::NotAcceptable)
    }
}

async fn enforce_csrf(state: &AppState, request: &Request, identity: &Identity) -> Result<(), ApiError> {
    if !matches!(identity.method, AuthMethod::Session { .. }) {
        return Ok(());
    }
    if matches!(request.method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE) {
        return Ok(());
    }
    let form_token = if request.method == Method::POST
        && matches!(request.media_type().as_deref(), Some("application/x-www-form-urlencoded" | "multipart/form-data"))
    {
        request
            .parse_body()
            .await
            .ok()
            .and_then(|body| body.data.get("csrfmiddlewaretoken").and_then(|value| value.as_str()).map(str::to_string))
    } else {
        None
    };
    check_csrf(request, &state.settings().security.allowed_origins, form_token.as_deref()).map_err(|reason| {
        tracing::info!(cid = %request.cid, reason = %reason, "rejected a request that failed the CSRF check");
        ApiError::Csrf(reason)
    })
}

fn check_access(access: Access, identity: &Identity) -> Result<(), ApiError> {
    match (access, &identity.user) {
        (Access::Public, _) => Ok(()),
        (_, None) => Err(ApiError::NotAuthenticated),
        (Access::Staff, Some(user)) if !user.is_staff => Err(ApiError::PermissionDenied),
        _ => Ok(()),
    }
}

fn options_reply(route: &Route) -> Reply {
    let body = serde_json::json!({
        "name": route.name,
        "description": route.description,
        "renders": ["application/json"],
        "parses": ["application/json", "application/x-www-form-urlencoded", "multipart/form-data"],
    });
    Reply::json(StatusCode::OK, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok<'a>(_: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
        Box::pin(async { Ok(Reply::empty(StatusCode::OK)) })
    }

    #[test]
    fn detail_pattern_matches_one_segment() {
        let route = Route {
            path: "/users/users/{id}/",
            name: "",
            description: "",
            methods: &[Method::GET],
            access: Access::Public,
            permission: allow_all,
            handler: ok,
        };
        assert_eq!(route.matches("/users/users/12/"), Some(Some("12".to_string())));
        assert_eq!(route.matches("/users/users/abc/"), Some(Some("abc".to_string())));
        assert_eq!(route.matches("/users/users/1.json/"), None);
        assert_eq!(route.matches("/users/users/"), None);
        assert_eq!(route.matches("/users/users/1/x/"), None);
    }

    #[test]
    fn allow_header_follows_reference_order() {
        let route = Route {
            path: "/",
            name: "",
            description: "",
            methods: &[Method::DELETE, Method::GET, Method::PATCH, Method::PUT],
            access: Access::Public,
            permission: allow_all,
            handler: ok,
        };
        assert_eq!(route.allow_header(), "GET, PUT, PATCH, DELETE, HEAD, OPTIONS");
    }
}
