//! Signed URLs (`POST /api/auth/signing`): a URL of this server that works without other
//! credentials, for the user who asked, for [`MAX_AGE_SECONDS`] (CVAT's `Signer.MAX_AGE`),
//! and only for reading (a signed request that would change something is refused as a
//! read-only token's is). The signature is random and stored as its SHA-256 with the
//! URL it is for, so it cannot be made for another URL or guessed.

use crate::secrets::{digest, random_token};
use crate::users::USER_COLUMNS;
use crate::Identity;
use cvat_db::DbResultExt;
use cvat_error::{ApiError, ApiResult};
use cvat_proto::auth::{Principal, SignedUrl};

pub const MAX_AGE_SECONDS: i64 = 30;

impl Identity {
    /// Signs `url` for the caller.
    #[tracing::instrument(skip_all)]
    pub async fn sign_url(&self, principal: &Principal, url: &str) -> ApiResult<SignedUrl> {
        if url.is_empty() {
            return Err(ApiError::bad_request("Please provide `url` parameter"));
        }
        let sign = random_token(40);
        let client = self.client().await?;
        // Signatures past their time go as new ones come.
        client.execute("DELETE FROM url_signatures WHERE expires_at < now()", &[]).await.db()?;
        client
            .execute(
                "INSERT INTO url_signatures (signature_hash, user_id, url, expires_at) \
                 VALUES ($1, $2, $3, now() + $4 * interval '1 second')",
                &[&digest(&sign), &principal.user_id, &url, &(MAX_AGE_SECONDS as f64)],
            )
            .await
            .db()?;
        Ok(SignedUrl { url: url.to_string(), sign })
    }

    /// The user a signed URL stands for: read-only, for that URL, until it expires.
    pub(crate) async fn by_signature(&self, signed: &SignedUrl) -> ApiResult<Principal> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {USER_COLUMNS}, s.url AS signed_url, s.expires_at > now() AS fresh \
                     FROM url_signatures s JOIN users u ON u.id = s.user_id \
                     WHERE s.signature_hash = $1 AND u.is_active"
                ),
                &[&digest(&signed.sign)],
            )
            .await
            .db()?;
        let Some(row) = row else { return Err(ApiError::unauthenticated("Invalid signature.")) };
        let (url, fresh): (String, bool) = (cvat_db::column(&row, "signed_url")?, cvat_db::column(&row, "fresh")?);
        if url != signed.url {
            return Err(ApiError::unauthenticated("Invalid signature."));
        }
        if !fresh {
            return Err(ApiError::unauthenticated("This URL has expired."));
        }
        let mut principal = crate::credentials::principal(&row, "signature")?;
        principal.read_only = true;
        Ok(principal)
    }
}
