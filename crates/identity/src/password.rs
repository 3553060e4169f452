//! Password hashing (argon2id) and the password rules applied on register, change and reset.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use cvat_error::{ApiError, FieldErrors};
use std::sync::OnceLock;

/// Hashes off the async threads: argon2 is deliberately slow.
pub(crate) async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(|_| ApiError::internal())?
    .map_err(|err| {
        tracing::error!(error = %err, "password hashing failed");
        ApiError::internal()
    })
}

/// Verifies `password` against `stored`; with no stored hash (unknown user) a dummy hash is
/// checked so the answer takes as long either way.
pub(crate) async fn verify(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let stored = stored.unwrap_or_else(|| dummy_hash().to_string());
        let matches = PasswordHash::new(&stored)
            .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false);
        matches && !stored.is_empty()
    })
    .await
    .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default().hash_password(b"not a password", &salt).map(|h| h.to_string()).unwrap_or_default()
    })
}

const COMMON: &[&str] =
    &["password", "password1", "12345678", "123456789", "qwertyui", "qwerty123", "iloveyou", "admin123", "letmein1"];

/// Checks a new password and its confirmation, reporting under the given field names.
pub(crate) fn validate_new(
    first: &str,
    second: &str,
    first_field: &str,
    second_field: &str,
    username: &str,
) -> Result<(), ApiError> {
    let mut errors = FieldErrors::default();
    if first != second {
        errors.add(second_field, "The two password fields didn't match.");
    }
    if first.chars().count() < 8 {
        errors.add(first_field, "This password is too short. It must contain at least 8 characters.");
    }
    if first.len() > 256 {
        errors.add(first_field, "Ensure this field has no more than 256 characters.");
    }
    if !first.is_empty() && first.chars().all(|c| c.is_ascii_digit()) {
        errors.add(first_field, "This password is entirely numeric.");
    }
    if COMMON.contains(&first.to_lowercase().as_str()) {
        errors.add(first_field, "This password is too common.");
    }
    if !username.is_empty() && first.to_lowercase().contains(&username.to_lowercase()) {
        errors.add(first_field, "The password is too similar to the username.");
    }
    errors.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_and_verify() {
        let stored = hash("correct horse".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse".into(), Some(stored.clone())).await);
        assert!(!verify("wrong horse".into(), Some(stored)).await);
        assert!(!verify("anything".into(), None).await);
    }

    #[test]
    fn rules() {
        assert!(validate_new("Str0ng-pass", "Str0ng-pass", "p1", "p2", "alice").is_ok());
        let err = validate_new("short", "other", "p1", "p2", "alice").unwrap_err();
        assert!(err.body.get("p1").is_some() && err.body.get("p2").is_some());
        assert!(validate_new("123456789012", "123456789012", "p1", "p2", "bob").is_err());
        assert!(validate_new("alice-secret", "alice-secret", "p1", "p2", "alice").is_err());
    }
}
