//! CSRF protection for unsafe requests authenticated by the session cookie, with the
//! reference's (Django's) token format and failure reasons.
//!
//! The `csrftoken` cookie holds a 32-character secret. A client echoes it in `X-CSRFToken`
//! (or the form field `csrfmiddlewaretoken`), either as is or in Django's 64-character masked
//! form. An `Origin` header, when present, must be the request's own origin or a trusted one.

use rand::distributions::Alphanumeric;
use rand::Rng;
use subtle::ConstantTimeEq;

use crate::http::Request;

const SECRET_LENGTH: usize = 32;
const MASKED_LENGTH: usize = 64;
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const HEADER_SOURCE: &str = "the 'X-Csrftoken' HTTP header";

/// Generates a new CSRF secret for the `csrftoken` cookie.
pub fn new_csrf_secret() -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(SECRET_LENGTH).map(char::from).collect()
}

/// Checks an unsafe session request. `form_token` is the `csrfmiddlewaretoken` field of a
/// form-encoded POST body, if any. Returns the failure reason on rejection.
pub fn check_csrf(request: &Request, trusted_origins: &[String], form_token: Option<&str>) -> Result<(), String> {
    if let Some(origin) = request.header("origin") {
        let own = request.own_origin();
        if origin != own && !trusted_origins.iter().any(|trusted| trusted == origin) {
            return Err(format!("Origin checking failed - {origin} does not match any trusted origins."));
        }
    }

    let secret = match request.cookie("csrftoken") {
        None => return Err("CSRF cookie not set.".to_string()),
        Some(cookie) => match secret_of(&cookie) {
            Ok(secret) => secret,
            Err(reason) => return Err(format!("CSRF cookie {reason}.")),
        },
    };

    let (token, source) = match form_token.filter(|token| !token.is_empty()) {
        Some(token) => (token.to_string(), "POST"),
        // Header bytes are read as Latin-1, as the reference (WSGI) does, so each byte is one
        // character and a non-ASCII byte fails the alphabet check, not the length check.
        None => match request.headers.get("x-csrftoken") {
            Some(value) => (value.as_bytes().iter().map(|&byte| char::from(byte)).collect(), HEADER_SOURCE),
            None => return Err("CSRF token missing.".to_string()),
        },
    };
    let candidate = secret_of(&token).map_err(|reason| format!("CSRF token from {source} {reason}."))?;
    if bool::from(candidate.as_bytes().ct_eq(secret.as_bytes())) {
        Ok(())
    } else {
        Err(format!("CSRF token from {source} incorrect."))
    }
}

/// Validates a token's format and returns its secret, unmasking a 64-character token. Length
/// counts characters, not bytes, as the reference does.
fn secret_of(token: &str) -> Result<String, &'static str> {
    let length = token.chars().count();
    if length != SECRET_LENGTH && length != MASKED_LENGTH {
        return Err("has incorrect length");
    }
    if !token.bytes().all(|byte| ALPHABET.contains(&byte)) {
        return Err("has invalid characters");
    }
    if token.len() == SECRET_LENGTH {
        return Ok(token.to_string());
    }
    let (mask, cipher) = token.split_at(SECRET_LENGTH);
    let position = |byte: u8| ALPHABET.iter().position(|&candidate| candidate == byte).unwrap_or(0);
    Ok(cipher
        .bytes()
        .zip(mask.bytes())
        .map(|(c, m)| {
            let index = (position(c) + ALPHABET.len() - position(m)) % ALPHABET.len();
            ALPHABET[index] as char
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(secret: &str, mask: &str) -> String {
        let position = |byte: u8| ALPHABET.iter().position(|&candidate| candidate == byte).unwrap();
        let cipher: String =
            secret.bytes().zip(mask.bytes()).map(|(s, m)| ALPHABET[(position(s) + position(m)) % ALPHABET.len()] as char).collect();
        format!("{mask}{cipher}")
    }

    #[test]
    fn masked_token_unmasks_to_secret() {
        let secret = new_csrf_secret();
        let masking = new_csrf_secret();
        assert_eq!(secret_of(&mask(&secret, &masking)).unwrap(), secret);
        assert_eq!(secret_of(&secret).unwrap(), secret);
    }

    #[test]
    fn malformed_tokens_have_reasons() {
        assert_eq!(secret_of("short"), Err("has incorrect length"));
        assert_eq!(secret_of(&"!".repeat(32)), Err("has invalid characters"));
        assert_eq!(secret_of(&"\u{e9}".repeat(16)), Err("has incorrect length"));
        assert_eq!(secret_of(&"\u{e9}".repeat(32)), Err("has invalid characters"));
    }
}
