-- Cloud storages: buckets users attach for task data (and, later, exports).
-- `credentials` holds the key pair; it is never rendered.
CREATE TABLE cloud_storages (
    id bigserial PRIMARY KEY,
    provider_type text NOT NULL,
    resource text NOT NULL,
    display_name text NOT NULL,
    credentials_type text NOT NULL,
    credentials jsonb NOT NULL DEFAULT '{}',
    specific_attributes text NOT NULL DEFAULT '',
    description text NOT NULL DEFAULT '',
    manifests text[] NOT NULL DEFAULT '{}',
    owner_id bigint REFERENCES users (id) ON DELETE SET NULL,
    organization_id bigint,
    created_date timestamptz NOT NULL DEFAULT now(),
    updated_date timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cloud_storages_organization ON cloud_storages (organization_id, id);
CREATE INDEX cloud_storages_owner ON cloud_storages (owner_id, id);
