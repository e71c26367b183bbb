//! `Set-Cookie` values with the reference's attributes, in the order Django writes them
//! (attributes sorted by name: Domain, expires, HttpOnly, Max-Age, Path, SameSite, Secure).

use chrono::{Duration, Utc};

/// Attributes shared by the session and CSRF cookies.
#[derive(Clone, Debug, Default)]
pub struct CookieOptions {
    pub domain: Option<String>,
    pub secure: bool,
}

/// Formats a cookie that lives for `max_age` seconds.
pub fn set_cookie(name: &str, value: &str, max_age: u64, http_only: bool, options: &CookieOptions) -> String {
    let expires = Utc::now() + Duration::seconds(max_age as i64);
    let mut parts = vec![format!("{name}={value}")];
    if let Some(domain) = &options.domain {
        parts.push(format!("Domain={domain}"));
    }
    parts.push(format!("expires={}", expires.format("%a, %d %b %Y %H:%M:%S GMT")));
    if http_only {
        parts.push("HttpOnly".to_string());
    }
    parts.push(format!("Max-Age={max_age}"));
    parts.push("Path=/".to_string());
    parts.push("SameSite=Lax".to_string());
    if options.secure {
        parts.push("Secure".to_string());
    }
    parts.join("; ")
}

/// Formats a cookie that tells the browser to drop `name`.
pub fn delete_cookie(name: &str, options: &CookieOptions) -> String {
    let mut parts = vec![format!("{name}=\"\"")];
    if let Some(domain) = &options.domain {
        parts.push(format!("Domain={domain}"));
    }
    parts.push("expires=Thu, 01 Jan 1970 00:00:00 GMT".to_string());
    parts.push("Max-Age=0".to_string());
    parts.push("Path=/".to_string());
    parts.push("SameSite=Lax".to_string());
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cookie_attributes_in_reference_order() {
        let cookie = set_cookie("sessionid", "abc", 1_209_600, true, &CookieOptions::default());
        assert!(cookie.starts_with("sessionid=abc; expires="), "{cookie}");
        assert!(cookie.ends_with("GMT; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax"), "{cookie}");
    }

    #[test]
    fn domain_and_secure_when_configured() {
        let options = CookieOptions { domain: Some("example.edu".into()), secure: true };
        let cookie = set_cookie("csrftoken", "x", 10, false, &options);
        assert!(cookie.starts_with("csrftoken=x; Domain=example.edu; expires="), "{cookie}");
        assert!(cookie.ends_with("; Max-Age=10; Path=/; SameSite=Lax; Secure"), "{cookie}");
        assert!(!cookie.contains("HttpOnly"));
    }
}
