-- Users and every kind of credential. Secrets (session keys, API keys, access tokens,
-- reset tokens) are stored as SHA-256 hashes only.
CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    username      text NOT NULL UNIQUE,
    email         text NOT NULL DEFAULT '',
    first_name    text NOT NULL DEFAULT '',
    last_name     text NOT NULL DEFAULT '',
    password_hash text NOT NULL,
    groups        text[] NOT NULL DEFAULT '{user}',
    is_staff      boolean NOT NULL DEFAULT false,
    is_superuser  boolean NOT NULL DEFAULT false,
    is_active     boolean NOT NULL DEFAULT true,
    date_joined   timestamptz NOT NULL DEFAULT now(),
    last_login    timestamptz
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE email <> '';
CREATE INDEX users_first_name_idx ON users (first_name);
CREATE INDEX users_last_name_idx ON users (last_name);

CREATE TABLE sessions (
    key_hash   bytea PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- `Authorization: Token <key>`: the key the login answer carries.
CREATE TABLE api_keys (
    key_hash   bytea PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_user_idx ON api_keys (user_id);

CREATE TABLE access_tokens (
    id             bigserial PRIMARY KEY,
    user_id        bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    name           text NOT NULL,
    token_hash     bytea NOT NULL UNIQUE,
    read_only      boolean NOT NULL DEFAULT false,
    created_date   timestamptz NOT NULL DEFAULT now(),
    updated_date   timestamptz NOT NULL DEFAULT now(),
    expiry_date    timestamptz,
    last_used_date timestamptz
);
CREATE INDEX access_tokens_user_idx ON access_tokens (user_id, id);

CREATE TABLE password_resets (
    token_hash bytea PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

-- Tenancy. Organization and membership endpoints come with the core-resources issue;
-- the tables exist now because the organization context is resolved on every request.
CREATE TABLE organizations (
    id           bigserial PRIMARY KEY,
    slug         text NOT NULL UNIQUE,
    name         text NOT NULL DEFAULT '',
    owner_id     bigint REFERENCES users ON DELETE SET NULL,
    created_date timestamptz NOT NULL DEFAULT now(),
    updated_date timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
    id              bigserial PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users ON DELETE CASCADE,
    organization_id bigint NOT NULL REFERENCES organizations ON DELETE CASCADE,
    role            text NOT NULL CHECK (role IN ('owner', 'maintainer', 'supervisor', 'worker')),
    is_active       boolean NOT NULL DEFAULT false,
    joined_date     timestamptz,
    UNIQUE (user_id, organization_id)
);
CREATE INDEX memberships_org_idx ON memberships (organization_id);
