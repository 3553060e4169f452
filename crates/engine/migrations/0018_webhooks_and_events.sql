-- Webhooks of organizations and projects, and their deliveries: one row per event sent
-- to one webhook, queued -> sent (to the webhook pool) -> delivered | failed, retried
-- with back-off while the target answers 5xx, 408, 429 or not at all.
CREATE TABLE webhooks (
    id bigserial PRIMARY KEY,
    target_url text NOT NULL,
    description text NOT NULL DEFAULT '',
    type text NOT NULL CHECK (type IN ('organization', 'project')),
    content_type text NOT NULL DEFAULT 'application/json',
    secret text NOT NULL DEFAULT '',
    is_active boolean NOT NULL DEFAULT true,
    enable_ssl boolean NOT NULL DEFAULT true,
    events text[] NOT NULL,
    project_id bigint REFERENCES projects (id) ON DELETE CASCADE,
    organization_id bigint,
    owner_id bigint REFERENCES users (id) ON DELETE SET NULL,
    created_date timestamptz NOT NULL DEFAULT now(),
    updated_date timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_org_idx ON webhooks (organization_id) WHERE is_active;
CREATE INDEX webhooks_project_idx ON webhooks (project_id) WHERE is_active;

CREATE TABLE webhook_deliveries (
    id bigserial PRIMARY KEY,
    webhook_id bigint NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event text NOT NULL,
    state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'delivered', 'failed')),
    -- When a queued delivery is due, and when a sent one was handed to the pool.
    due timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz,
    attempt integer NOT NULL DEFAULT 0,
    status_code integer,
    request_duration integer,
    redelivery boolean NOT NULL DEFAULT false,
    changed_fields text NOT NULL DEFAULT '',
    request jsonb NOT NULL,
    response text,
    created_date timestamptz NOT NULL DEFAULT now(),
    updated_date timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, id DESC);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (due) WHERE state IN ('queued', 'sent');

-- Events: what clients send (`POST /api/events`) and what the server records of every
-- change, partitioned by month (partitions are made as months come; the default one
-- keeps what falls outside them).
CREATE TABLE events (
    scope text NOT NULL,
    obj_name text,
    obj_id bigint,
    obj_val text,
    source text,
    timestamp timestamptz NOT NULL,
    count integer,
    duration integer NOT NULL DEFAULT 0,
    project_id bigint,
    task_id bigint,
    job_id bigint,
    user_id bigint,
    user_name text,
    user_email text,
    org_id bigint,
    org_slug text,
    payload text
) PARTITION BY RANGE (timestamp);
CREATE TABLE events_default PARTITION OF events DEFAULT;
CREATE INDEX events_timestamp_idx ON events (timestamp);
