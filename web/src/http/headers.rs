//! Headers every response carries, and the `Host` check.

use crate::http::Reply;

/// Adds the reference's security headers and `Vary`.
pub fn add_security_headers(reply: &mut Reply) {
    reply.set_header("X-Frame-Options", "DENY");
    reply.set_header("X-Content-Type-Options", "nosniff");
    reply.set_header("Referrer-Policy", "same-origin");
    reply.set_header("Cross-Origin-Opener-Policy", "same-origin");
    reply.set_header("Vary", "Cookie, origin");
}

/// Checks a `Host` header (port ignored) against `SECURE_ALLOWED_HOSTS`, whose entries may be
/// `*`, an exact name, or `.example.edu` for the domain and its subdomains.
pub fn host_allowed(host: Option<&str>, allowed: &[String]) -> bool {
    let Some(host) = host else {
        return false;
    };
    let name = strip_port(host).to_ascii_lowercase();
    let name = name.trim_end_matches('.');
    if name.is_empty() {
        return false;
    }
    allowed.iter().any(|pattern| {
        let pattern = pattern.to_ascii_lowercase();
        if pattern == "*" {
            true
        } else if let Some(domain) = pattern.strip_prefix('.') {
            name == domain || name.ends_with(&pattern)
        } else {
            name == pattern
        }
    })
}

fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        // IPv6 literal: keep the brackets' content.
        return rest.split(']').next().unwrap_or("");
    }
    host.rsplit_once(':').map(|(name, _)| name).unwrap_or(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_match_exact_wildcard_and_domain() {
        let allowed = vec!["localhost".to_string(), "127.0.0.1".to_string(), ".example.edu".to_string()];
        assert!(host_allowed(Some("localhost:8000"), &allowed));
        assert!(host_allowed(Some("127.0.0.1"), &allowed));
        assert!(host_allowed(Some("api.example.edu"), &allowed));
        assert!(host_allowed(Some("example.edu"), &allowed));
        assert!(!host_allowed(Some("evil.com"), &allowed));
        assert!(!host_allowed(Some("badexample.edu"), &allowed));
        assert!(!host_allowed(None, &allowed));
        assert!(host_allowed(Some("anything"), &["*".to_string()]));
    }
}
