-- Signed URLs (`POST /api/auth/signing`): a random signature per URL, kept as its
-- SHA-256, good for one user, one URL, until it expires.
CREATE TABLE url_signatures (
    signature_hash bytea PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    url text NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX url_signatures_expiry_idx ON url_signatures (expires_at);
