//! Session keys. The cookie carries a random key; the database stores only its HMAC-SHA256
//! under the secret key, so a leaked copy of the session table cannot be replayed.

use hmac::{Hmac, Mac};
use rand::distributions::Alphanumeric;
use rand::Rng;
use sha2::Sha256;

/// Generates a session cookie value: 32 lower-case letters and digits, like the reference's.
pub fn new_session_key() -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(32).map(char::from).collect::<String>().to_lowercase()
}

/// The digest stored for a session key.
pub fn session_digest(secret: &[u8], key: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(key.as_bytes());
    mac.finalize().into_bytes().iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_depends_on_secret_and_key() {
        let key = new_session_key();
        assert_eq!(key.len(), 32);
        assert_eq!(session_digest(b"a", &key), session_digest(b"a", &key));
        assert_ne!(session_digest(b"a", &key), session_digest(b"b", &key));
        assert_eq!(session_digest(b"a", &key).len(), 64);
    }
}
