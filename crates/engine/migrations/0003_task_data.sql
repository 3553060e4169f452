-- Task data (media attached to a task), its frames, the files uploaded for it, and the
-- background requests that process it.
CREATE TABLE task_data (
    task_id bigint PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
    image_quality integer NOT NULL,
    chunk_size integer NOT NULL,
    start_frame integer NOT NULL DEFAULT 0,
    stop_frame integer NOT NULL,
    frame_step integer NOT NULL DEFAULT 1,
    sorting_method text NOT NULL DEFAULT 'lexicographical',
    storage_method text NOT NULL DEFAULT 'cache',
    storage text NOT NULL DEFAULT 'local',
    use_zip_chunks boolean NOT NULL DEFAULT true,
    use_cache boolean NOT NULL DEFAULT true,
    compressed_chunk_type text NOT NULL,
    original_chunk_type text NOT NULL,
    deleted_frames integer[] NOT NULL DEFAULT '{}',
    chunks_updated_date timestamptz NOT NULL DEFAULT now()
);

-- One row per task frame (relative number), in frame order.
CREATE TABLE frames (
    task_id bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    number integer NOT NULL,
    name text NOT NULL,
    width integer NOT NULL,
    height integer NOT NULL,
    PRIMARY KEY (task_id, number)
);

-- Files received since the last Upload-Start, by base name.
CREATE TABLE uploads (
    task_id bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    name text NOT NULL,
    size bigint NOT NULL,
    received_date timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (task_id, name)
);

CREATE TABLE requests (
    id text PRIMARY KEY,
    type text NOT NULL,
    target text NOT NULL,
    project_id bigint,
    task_id bigint,
    job_id bigint,
    owner_id bigint NOT NULL,
    organization_id bigint,
    status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'started', 'finished', 'failed')),
    message text NOT NULL DEFAULT '',
    progress real,
    params jsonb NOT NULL DEFAULT '{}',
    created_date timestamptz NOT NULL DEFAULT now(),
    started_date timestamptz,
    finished_date timestamptz
);
CREATE INDEX requests_owner_idx ON requests (owner_id, created_date DESC);
