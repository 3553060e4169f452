-- Resumable (TUS) uploads of task data: each received piece is a blob; the file is the
-- pieces in order. A finished upload joins `uploads` with its pieces.
CREATE TABLE tus_uploads (
    id text PRIMARY KEY,
    task_id bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    name text NOT NULL,
    length bigint NOT NULL,
    received bigint NOT NULL DEFAULT 0,
    parts text[] NOT NULL DEFAULT '{}',
    created_date timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tus_uploads_task_idx ON tus_uploads (task_id);
ALTER TABLE uploads ADD COLUMN parts text[] NOT NULL DEFAULT '{}';
