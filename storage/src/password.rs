//! Django-compatible password hashes and the reference's password rules.
//!
//! Hashes use Django's `pbkdf2_sha256$<iterations>$<salt>$<base64 digest>` format, so a hash
//! copied from a reference database verifies here and the other way round.

use std::collections::HashSet;
use std::io::Read;
use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::distributions::Alphanumeric;
use rand::Rng;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// PBKDF2 rounds for new hashes: Django 5.2's default.
pub const ITERATIONS: u32 = 1_000_000;

const ALGORITHM: &str = "pbkdf2_sha256";
const SALT_LENGTH: usize = 22;
const DIGEST_LENGTH: usize = 32;

/// Hashes a password with a fresh random salt. This is CPU-heavy (about a second unoptimised):
/// call it from a blocking task.
pub fn hash_password(password: &str) -> String {
    let salt: String = rand::thread_rng().sample_iter(&Alphanumeric).take(SALT_LENGTH).map(char::from).collect();
    hash_with(password, &salt, ITERATIONS)
}

fn hash_with(password: &str, salt: &str, iterations: u32) -> String {
    let mut digest = [0u8; DIGEST_LENGTH];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt.as_bytes(), iterations, &mut digest);
    format!("{ALGORITHM}${iterations}${salt}${}", STANDARD.encode(digest))
}

/// Checks a password against a stored hash. Unusable (`!…`) and unknown formats never match.
pub fn verify_password(password: &str, encoded: &str) -> bool {
    let mut parts = encoded.splitn(4, '$');
    let (Some(algorithm), Some(iterations), Some(salt), Some(expected)) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    if algorithm != ALGORITHM {
        return false;
    }
    let Ok(iterations) = iterations.parse::<u32>() else {
        return false;
    };
    if iterations == 0 {
        return false;
    }
    let Ok(expected) = STANDARD.decode(expected) else {
        return false;
    };
    let mut digest = vec![0u8; expected.len().max(1)];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt.as_bytes(), iterations, &mut digest);
    digest.ct_eq(&expected).into()
}

/// A hash that matches no password, for accounts that must not sign in with one (LDAP users)
/// and for timing-safe checks of unknown usernames.
pub fn unusable_password() -> String {
    let suffix: String = rand::thread_rng().sample_iter(&Alphanumeric).take(40).map(char::from).collect();
    format!("!{suffix}")
}

/// Runs the reference's password validators (minimum length 8, not a common password, not
/// entirely numeric) and returns every failure message, in the reference's order.
pub fn validate_password(password: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if password.chars().count() < 8 {
        errors.push("This password is too short. It must contain at least 8 characters.".to_string());
    }
    if common_passwords().contains(password.trim().to_lowercase().as_str()) {
        errors.push("This password is too common.".to_string());
    }
    if !password.is_empty() && password.chars().all(|c| c.is_numeric()) {
        errors.push("This password is entirely numeric.".to_string());
    }
    errors
}

/// The common-password list that ships with Django 5.2 (BSD-3-Clause, see
/// `data/common-passwords.LICENSE`), decompressed once.
fn common_passwords() -> &'static HashSet<String> {
    static LIST: OnceLock<HashSet<String>> = OnceLock::new();
    LIST.get_or_init(|| {
        let compressed: &[u8] = include_bytes!("../data/common-passwords.txt.gz");
        let mut text = String::new();
        flate2::read::GzDecoder::new(compressed).read_to_string(&mut text).expect("the embedded common-password list is valid gzip text");
        text.lines().map(|line| line.trim().to_string()).filter(|line| !line.is_empty()).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Computed independently with Python's hashlib.pbkdf2_hmac("sha256", b"correct horse",
    // b"rWq3lAqHJzYnKF8nZ3bRyt", 1000000), the same derivation Django uses.
    const KNOWN_HASH: &str = include_str!("../tests/fixtures/known_hash.txt");

    #[test]
    fn known_django_hash_verifies() {
        let hash = KNOWN_HASH.trim();
        assert!(hash.starts_with("pbkdf2_sha256$1000000$"));
        assert!(verify_password("correct horse", hash));
        assert!(!verify_password("correct horse ", hash));
        assert!(!verify_password("Correct horse", hash));
    }

    #[test]
    fn new_hash_round_trips() {
        let hash = hash_password("s3cret-pass");
        assert!(hash.starts_with("pbkdf2_sha256$1000000$"));
        assert_eq!(hash.split('$').nth(2).unwrap().len(), SALT_LENGTH);
        assert!(verify_password("s3cret-pass", &hash));
        assert!(!verify_password("s3cret-pas", &hash));
    }

    #[test]
    fn malformed_hashes_never_match() {
        for encoded in
            ["", "!unusable", "md5$1$x$y", "pbkdf2_sha256$abc$salt$AAAA", "pbkdf2_sha256$0$salt$AAAA", "pbkdf2_sha256$10$salt$***"]
        {
            assert!(!verify_password("anything", encoded), "{encoded}");
        }
        assert!(!verify_password("", &unusable_password()));
    }

    #[test]
    fn validators_report_every_failure() {
        assert_eq!(
            validate_password("123"),
            vec![
                "This password is too short. It must contain at least 8 characters.",
                "This password is too common.",
                "This password is entirely numeric.",
            ]
        );
        assert_eq!(validate_password("Password"), vec!["This password is too common."]);
        assert!(validate_password("quiet-lantern-47").is_empty());
        assert_eq!(validate_password("58293017462"), vec!["This password is entirely numeric."]);
    }
}
