-- Annotation guides (markdown) of projects and tasks, one each at most, and the files
-- (images, PDFs) uploaded for them; a file's bytes are in the object store under `key`.
CREATE TABLE guides (
    id bigserial PRIMARY KEY,
    project_id bigint UNIQUE REFERENCES projects (id) ON DELETE CASCADE,
    task_id bigint UNIQUE REFERENCES tasks (id) ON DELETE CASCADE,
    markdown text NOT NULL DEFAULT '',
    created_date timestamptz NOT NULL DEFAULT now(),
    updated_date timestamptz NOT NULL DEFAULT now(),
    CHECK ((project_id IS NULL) <> (task_id IS NULL))
);

CREATE TABLE guide_assets (
    uuid text PRIMARY KEY,
    guide_id bigint NOT NULL REFERENCES guides (id) ON DELETE CASCADE,
    filename text NOT NULL,
    content_type text NOT NULL,
    size bigint NOT NULL,
    key text NOT NULL,
    owner_id bigint REFERENCES users (id) ON DELETE SET NULL,
    created_date timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX guide_assets_guide_idx ON guide_assets (guide_id);
