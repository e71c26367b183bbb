//! HTTP plumbing shared by every route: requests, replies, cookies, CORS and response headers.

mod cookies;
mod cors;
mod headers;
mod reply;
mod request;

pub use cookies::{delete_cookie, set_cookie, CookieOptions};
pub use cors::{apply_cors, is_preflight, preflight_reply};
pub use headers::{add_security_headers, host_allowed};
pub use reply::{html_page, Reply};
pub use request::{python_type_name, Body, Request, UploadedFile};
