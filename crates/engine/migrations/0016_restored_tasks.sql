-- The tasks a backup restore made, by their place in the backup (0 for a task backup,
-- n for a project backup's task_<n>/): each is made once however often a worker retries,
-- and a failed restore removes them all.
CREATE TABLE restored_tasks (
    request_id text NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
    slot integer NOT NULL,
    task_id bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    PRIMARY KEY (request_id, slot)
);
CREATE INDEX restored_tasks_task_idx ON restored_tasks (task_id);
