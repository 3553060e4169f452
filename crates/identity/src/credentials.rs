//! Logging in and out, registering, changing and resetting passwords, and turning the
//! credentials of a request into a [`Principal`].

use crate::cache::TTL_SECONDS;
use crate::secrets::{constant_time_eq, digest, random_hex, random_token};
use crate::users::{is_email_taken, is_unique_violation, user_from_row, valid_email, valid_username, USER_COLUMNS};
use crate::{db_error, password, Identity};
use base64::Engine;
use cvat_db::column;
use cvat_db::DbResultExt;
use cvat_error::{ApiError, ApiResult, ErrorKind, FieldErrors};
use cvat_proto::auth::{
    credentials::Kind, ChangePasswordRequest, Credentials, LoginRequest, LoginResponse, PasswordResetConfirm,
    Principal, RegisterRequest, SessionCredentials, User,
};
use tokio_postgres::Row;

const BAD_LOGIN: &str = "Unable to log in with provided credentials.";
const RESET_TTL_HOURS: i64 = 24;

pub(crate) fn principal(row: &Row, method: &str) -> ApiResult<Principal> {
    Ok(principal_of(user_from_row(row)?, method))
}

fn principal_of(user: User, method: &str) -> Principal {
    Principal {
        user_id: user.id,
        username: user.username.clone(),
        groups: user.groups.clone(),
        is_superuser: user.is_superuser,
        is_staff: user.is_staff,
        method: method.to_string(),
        user: Some(user),
        ..Default::default()
    }
}

fn invalid_token() -> ApiError {
    ApiError::unauthenticated("Invalid token.")
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// The user of `row` when it is active and `password` is theirs (the hash is checked
/// even without a row, so an unknown name takes as long as a wrong password).
async fn check_password(row: Option<tokio_postgres::Row>, password: &str) -> ApiResult<Option<User>> {
    let stored: Option<String> = row.as_ref().map(|r| column(r, "password_hash")).transpose()?;
    let matches = password::verify(password.to_string(), stored).await;
    match row {
        Some(row) if matches && column::<_, bool>(&row, "is_active")? => user_from_row(&row).map(Some),
        _ => Ok(None),
    }
}

impl Identity {
    /// Checks a username (or e-mail) and password; answers 400 like CVAT when they are wrong.
    #[tracing::instrument(skip_all)]
    pub async fn login(&self, request: &LoginRequest) -> ApiResult<LoginResponse> {
        let account = if request.username.is_empty() { &request.email } else { &request.username };
        if account.is_empty() {
            return Err(ApiError::new(
                ErrorKind::BadRequest,
                serde_json::json!({"non_field_errors": ["Must include \"username\" and \"password\"."]}),
            ));
        }
        let found = self.find_account(account).await?;
        // Failed logins count against the user a username or e-mail names (so both count
        // together), or the lowercased text when it names nobody.
        let counted = match &found {
            Some(row) => format!("user:{}", column::<_, i64>(row, "id")?),
            None => format!("name:{}", account.to_lowercase()),
        };
        self.throttle.check(&counted, &request.client_address).await?;
        let Some(user) = check_password(found, &request.password).await? else {
            self.throttle.record_failure(&counted, &request.client_address).await?;
            return Err(ApiError::new(ErrorKind::BadRequest, serde_json::json!({"non_field_errors": [BAD_LOGIN]})));
        };
        self.throttle.record_success(&counted, &request.client_address).await?;
        self.open_session(user.id).await
    }

    /// The user a username (or e-mail) names, with the password hash.
    async fn find_account(&self, account: &str) -> ApiResult<Option<tokio_postgres::Row>> {
        self.cached_row(
            &format!(
                "SELECT {USER_COLUMNS}, u.password_hash FROM users u \
                 WHERE u.username = $1 OR (u.email <> '' AND lower(u.email) = lower($1)) \
                 ORDER BY (u.username = $1) DESC LIMIT 1"
            ),
            &[&account],
        )
        .await
    }

    /// The active user whose username (or e-mail) and password match.
    async fn verify_password(&self, account: &str, password: &str) -> ApiResult<Option<User>> {
        check_password(self.find_account(account).await?, password).await
    }

    async fn open_session(&self, user_id: i64) -> ApiResult<LoginResponse> {
        let session_id = random_token(40);
        let csrf_token = random_token(32);
        let key = random_hex(40);
        let ttl = self.config.session_ttl_seconds;
        let mut client = self.client().await?;
        let tx = client.transaction().await.db()?;
        tx.execute(
            "INSERT INTO sessions (key_hash, user_id, csrf_token, expires_at) \
             VALUES ($1, $2, $3, now() + make_interval(secs => $4::float8))",
            &[&digest(&session_id), &user_id, &csrf_token, &(ttl as f64)],
        )
        .await
        .db()?;
        tx.execute("INSERT INTO api_keys (key_hash, user_id) VALUES ($1, $2)", &[&digest(&key), &user_id])
            .await
            .db()?;
        tx.execute("UPDATE users SET last_login = now() WHERE id = $1", &[&user_id]).await.db()?;
        tx.commit().await.db()?;
        Ok(LoginResponse { key, session_id, csrf_token, session_max_age_seconds: ttl })
    }

    /// Resolves request credentials. Sessions additionally need a matching CSRF token on
    /// unsafe methods.
    #[tracing::instrument(skip_all)]
    pub async fn authenticate(&self, credentials: &Credentials) -> ApiResult<Principal> {
        match &credentials.kind {
            None => Err(ApiError::unauthenticated("Authentication credentials were not provided.")),
            Some(Kind::TokenKey(key)) => self.by_api_key(key).await,
            Some(Kind::Bearer(token)) => self.by_access_token(token).await,
            Some(Kind::Session(session)) => self.by_session(session).await,
            Some(Kind::Signed(signed)) => self.by_signature(signed).await,
            Some(Kind::Basic(basic)) => {
                self.throttle.check(&basic.username, &credentials.client_address).await?;
                match self.verify_password(&basic.username, &basic.password).await? {
                    // verify_password already read the active user's row.
                    Some(user) => Ok(principal_of(user, "basic")),
                    None => {
                        self.throttle.record_failure(&basic.username, &credentials.client_address).await?;
                        Err(ApiError::unauthenticated("Invalid username/password."))
                    }
                }
            }
        }
    }

    async fn by_api_key(&self, key: &str) -> ApiResult<Principal> {
        let hash = digest(key);
        if let Some(found) = self.cache.get("token", &hash).await {
            return Ok(found);
        }
        let row = self
            .cached_row(
                &format!(
                    "SELECT {USER_COLUMNS} FROM api_keys k JOIN users u ON u.id = k.user_id \
                     WHERE k.key_hash = $1 AND u.is_active"
                ),
                &[&hash],
            )
            .await?;
        let found = row.map(|r| principal(&r, "token")).transpose()?.ok_or_else(invalid_token)?;
        self.cache.put("token", &hash, &found, TTL_SECONDS).await;
        Ok(found)
    }

    async fn by_access_token(&self, token: &str) -> ApiResult<Principal> {
        let hash = digest(token);
        if let Some(found) = self.cache.get("bearer", &hash).await {
            return Ok(found);
        }
        let row = self
            .cached_row(
                &format!(
                    "SELECT {USER_COLUMNS}, t.id AS token_id, t.read_only, \
                     (t.last_used_date IS NULL OR t.last_used_date < now() - interval '1 minute') AS stale, \
                     floor(extract(epoch FROM t.expiry_date - now()))::int8 AS seconds_left, \
                     floor(extract(epoch FROM t.expiry_date))::int8 AS expires_at \
                     FROM access_tokens t JOIN users u ON u.id = t.user_id \
                     WHERE t.token_hash = $1 AND u.is_active AND (t.expiry_date IS NULL OR t.expiry_date > now())"
                ),
                &[&hash],
            )
            .await?;
        let row = row.ok_or_else(invalid_token)?;
        let token_id: i64 = column(&row, "token_id")?;
        // Recording every use would put a write on every request; a minute's precision is enough.
        if column::<_, bool>(&row, "stale")? {
            self.client()
                .await?
                .execute("UPDATE access_tokens SET last_used_date = now() WHERE id = $1", &[&token_id])
                .await
                .db()?;
        }
        let mut found = principal(&row, "bearer")?;
        found.read_only = column(&row, "read_only")?;
        found.access_token_id = Some(token_id);
        found.credential_expires_at = column(&row, "expires_at")?;
        let seconds_left: Option<i64> = column(&row, "seconds_left")?;
        let ttl = seconds_left.map_or(TTL_SECONDS, |s| s.max(0) as u64);
        self.cache.put("bearer", &hash, &found, ttl).await;
        Ok(found)
    }

    async fn by_session(&self, session: &SessionCredentials) -> ApiResult<Principal> {
        let row = self
            .cached_row(
                &format!(
                    "SELECT {USER_COLUMNS}, s.csrf_token FROM sessions s JOIN users u ON u.id = s.user_id \
                     WHERE s.key_hash = $1 AND s.expires_at > now() AND u.is_active"
                ),
                &[&digest(&session.session_id)],
            )
            .await?;
        let row = row.ok_or_else(|| ApiError::unauthenticated("Invalid session."))?;
        if session.unsafe_method {
            let expected: String = column(&row, "csrf_token")?;
            if session.csrf_header.is_empty() {
                return Err(ApiError::detail(ErrorKind::Forbidden, "CSRF Failed: CSRF token missing."));
            }
            if !constant_time_eq(&session.csrf_header, &expected) || !constant_time_eq(&session.csrf_cookie, &expected)
            {
                return Err(ApiError::detail(ErrorKind::Forbidden, "CSRF Failed: CSRF token incorrect."));
            }
        }
        let mut found = principal(&row, "session")?;
        found.session_id = Some(session.session_id.clone());
        Ok(found)
    }

    /// Ends the session the request came with (other sessions stay).
    /// Ends the request's session and, as dj-rest-auth deletes the user's token on
    /// logout, every API key of the user; access tokens stay (they are revoked one by one).
    #[tracing::instrument(skip_all)]
    pub async fn logout(&self, principal: &Principal) -> ApiResult<()> {
        let client = self.client().await?;
        if let Some(session_id) = &principal.session_id {
            client.execute("DELETE FROM sessions WHERE key_hash = $1", &[&digest(session_id)]).await.db()?;
        }
        if principal.access_token_id.is_none() {
            client.execute("DELETE FROM api_keys WHERE user_id = $1", &[&principal.user_id]).await.db()?;
            self.cache.forget_user(principal.user_id).await;
        }
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn register(&self, request: &RegisterRequest) -> ApiResult<User> {
        let mut errors = FieldErrors::default();
        let length = request.username.chars().count();
        if !(5..=150).contains(&length) {
            errors.add("username", "Ensure this field has between 5 and 150 characters.");
        } else if !valid_username(&request.username) {
            errors.add(
                "username",
                "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.",
            );
        }
        if !request.email.is_empty() && !valid_email(&request.email) {
            errors.add("email", "Enter a valid email address.");
        }
        for (field, value) in [("first_name", &request.first_name), ("last_name", &request.last_name)] {
            if value.chars().count() > 150 {
                errors.add(field, "Ensure this field has no more than 150 characters.");
            }
        }
        errors.finish()?;
        password::validate_new(&request.password1, &request.password2, "password1", "password2", &request.username)?;
        let hash = password::hash(request.password1.clone()).await?;
        let client = self.client().await?;
        let row = client
            .query_one(
                &format!(
                    "INSERT INTO users AS u (username, email, first_name, last_name, password_hash, groups) \
                     VALUES ($1, $2, $3, $4, $5, '{{user}}') RETURNING {USER_COLUMNS}"
                ),
                &[&request.username, &request.email, &request.first_name, &request.last_name, &hash],
            )
            .await;
        match row {
            Ok(row) => user_from_row(&row),
            Err(err) if is_unique_violation(&err) => {
                let (field, message) = if is_email_taken(&err) {
                    ("email", "A user is already registered with this e-mail address.")
                } else {
                    ("username", "A user with that username already exists.")
                };
                Err(ApiError::field(field, message))
            }
            Err(err) => Err(db_error(err)),
        }
    }

    /// Changes the caller's password and ends their other sessions and API keys.
    #[tracing::instrument(skip_all)]
    pub async fn change_password(&self, request: &ChangePasswordRequest) -> ApiResult<()> {
        let principal = request.principal.as_ref().ok_or_else(ApiError::forbidden)?;
        crate::access_tokens::require_account_credentials(principal)?;
        if self.verify_password(&principal.username, &request.old_password).await?.is_none() {
            return Err(ApiError::field(
                "old_password",
                "Your old password was entered incorrectly. Please enter it again.",
            ));
        }
        password::validate_new(
            &request.new_password1,
            &request.new_password2,
            "new_password1",
            "new_password2",
            &principal.username,
        )?;
        self.set_password(principal.user_id, &request.new_password1, principal.session_id.as_deref(), None).await
    }

    /// Sets a password and ends the user's other sessions, API keys and reset links (a
    /// reset link dies with the password it was sent for, as Django's do). With
    /// `reset_token`, the change happens only if that link is still good.
    async fn set_password(
        &self,
        user_id: i64,
        new_password: &str,
        keep_session: Option<&str>,
        reset_token: Option<&str>,
    ) -> ApiResult<()> {
        let hash = password::hash(new_password.to_string()).await?;
        let keep = keep_session.map(digest).unwrap_or_default();
        let mut client = self.client().await?;
        let tx = client.transaction().await.db()?;
        if let Some(token) = reset_token {
            let claimed = tx
                .execute(
                    "DELETE FROM password_resets WHERE token_hash = $1 AND user_id = $2 AND expires_at > now()",
                    &[&digest(token), &user_id],
                )
                .await
                .db()?;
            if claimed == 0 {
                return Err(ApiError::field("token", "Invalid value"));
            }
        }
        tx.execute("DELETE FROM password_resets WHERE user_id = $1", &[&user_id]).await.db()?;
        tx.execute("UPDATE users SET password_hash = $2 WHERE id = $1", &[&user_id, &hash]).await.db()?;
        tx.execute("DELETE FROM sessions WHERE user_id = $1 AND key_hash <> $2", &[&user_id, &keep]).await.db()?;
        tx.execute("DELETE FROM api_keys WHERE user_id = $1", &[&user_id]).await.db()?;
        tx.commit().await.db()?;
        self.cache.forget_user(user_id).await;
        Ok(())
    }

    /// Ends every session and API key of a user (deactivation).
    pub(crate) async fn drop_credentials(&self, user_id: i64) -> ApiResult<()> {
        let client = self.client().await?;
        for sql in ["DELETE FROM sessions WHERE user_id = $1", "DELETE FROM api_keys WHERE user_id = $1"] {
            client.execute(sql, &[&user_id]).await.db()?;
        }
        Ok(())
    }

    /// Mails a reset link when the address belongs to an active user; answers the same
    /// either way so the endpoint does not reveal who has an account.
    #[tracing::instrument(skip_all)]
    pub async fn request_password_reset(&self, email: &str) -> ApiResult<()> {
        if !valid_email(email) {
            return Err(ApiError::field("email", "Enter a valid email address."));
        }
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT id, email FROM users WHERE lower(email) = lower($1) AND is_active", &[&email])
            .await
            .db()?;
        let Some(row) = row else { return Ok(()) };
        let user_id: i64 = column(&row, "id")?;
        let token = random_token(40);
        client
            .execute(
                "INSERT INTO password_resets (token_hash, user_id, expires_at) \
                 VALUES ($1, $2, now() + make_interval(hours => $3::int4))",
                &[&digest(&token), &user_id, &(RESET_TTL_HOURS as i32)],
            )
            .await
            .db()?;
        let body = format!(
            "To choose a new password, open /auth/password/reset/confirm?uid={}&token={token}\n\
             (or POST uid and token to /api/auth/password/reset/confirm). The link expires in {RESET_TTL_HOURS} hours.",
            b64(&user_id.to_string())
        );
        if let Err(err) = self.outbox.send(column(&row, "email")?, "Password reset", &body).await {
            tracing::error!(error = %err, "password reset mail could not be written");
            return Err(ApiError::internal());
        }
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    pub async fn confirm_password_reset(&self, request: &PasswordResetConfirm) -> ApiResult<()> {
        let user_id = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&request.uid)
            .ok()
            .and_then(|raw| String::from_utf8(raw).ok())
            .and_then(|text| text.parse::<i64>().ok())
            .ok_or_else(|| ApiError::field("uid", "Invalid value"))?;
        // Looked at, not used up: a refused new password leaves the link working.
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT u.username FROM password_resets r JOIN users u ON u.id = r.user_id \
                 WHERE r.token_hash = $1 AND r.user_id = $2 AND r.expires_at > now()",
                &[&digest(&request.token), &user_id],
            )
            .await
            .db()?;
        drop(client);
        let username: String = column(&row.ok_or_else(|| ApiError::field("token", "Invalid value"))?, 0)?;
        password::validate_new(
            &request.new_password1,
            &request.new_password2,
            "new_password1",
            "new_password2",
            &username,
        )?;
        self.set_password(user_id, &request.new_password1, None, Some(&request.token)).await
    }

    /// Creates the administrator if no user has that name yet (an existing one, whose
    /// password may have been changed since, is left alone). True when created.
    #[tracing::instrument(skip_all)]
    pub async fn ensure_admin(&self, username: &str, email: &str, password: &str) -> ApiResult<bool> {
        let hash = password::hash(password.to_string()).await?;
        let client = self.client().await?;
        let created = client
            .execute(
                "INSERT INTO users (username, email, password_hash, groups, is_staff, is_superuser) \
                 VALUES ($1, $2, $3, '{admin}', true, true) ON CONFLICT (username) DO NOTHING",
                &[&username, &email, &hash],
            )
            .await
            .db()?;
        Ok(created == 1)
    }
}
