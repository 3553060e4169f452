-- Compressed chunks built on first request (CVAT's "data on the fly"): the task keeps
-- only its original chunks when its data is processed; each compressed chunk is built by
-- a media worker when it is first asked for, or ahead of that in the background.
ALTER TABLE task_data ADD COLUMN lazy_chunks boolean NOT NULL DEFAULT false;

-- One row per compressed chunk of a lazy task that was asked for or queued ahead: its
-- frames, who builds it (a claim lapses after a while, so a worker that died is
-- replaced) and the outcome. `builds` counts claims taken (a chunk is built once).
CREATE TABLE chunk_builds (
    task_id bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    key text NOT NULL,
    first_frame integer NOT NULL,
    last_frame integer NOT NULL,
    task_chunk boolean NOT NULL,
    claimed_by text,
    claimed_at timestamptz,
    builds integer NOT NULL DEFAULT 0,
    built boolean NOT NULL DEFAULT false,
    error text,
    PRIMARY KEY (task_id, key)
);
