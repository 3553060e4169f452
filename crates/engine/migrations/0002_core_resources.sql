-- Projects, tasks, segments, jobs and labels.
--
-- `users` is this service's copy of the basic records of the users it refers to
-- (owners, assignees), so lists can filter, search and sort by username without
-- reading the auth schema. Rows are written when a user becomes an owner or assignee.
CREATE TABLE users (
    id bigint PRIMARY KEY,
    username text NOT NULL,
    first_name text NOT NULL DEFAULT '',
    last_name text NOT NULL DEFAULT ''
);

-- Source/target storages are small values of their project or task
-- (`{"id", "location", "cloud_storage_id"}`); their ids come from this sequence.
CREATE SEQUENCE storage_ids;

CREATE TABLE projects (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    owner_id bigint REFERENCES users (id) ON DELETE SET NULL,
    assignee_id bigint REFERENCES users (id) ON DELETE SET NULL,
    assignee_updated_date timestamptz,
    bug_tracker text NOT NULL DEFAULT '',
    status text NOT NULL DEFAULT 'annotation',
    organization_id bigint,
    source_storage jsonb,
    target_storage jsonb,
    created_date timestamptz NOT NULL DEFAULT now(),
    updated_date timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projects_org_idx ON projects (organization_id, id);
CREATE INDEX projects_owner_idx ON projects (owner_id);
CREATE INDEX projects_assignee_idx ON projects (assignee_id);
CREATE INDEX projects_name_idx ON projects (name);

CREATE TABLE tasks (
    id bigserial PRIMARY KEY,
    project_id bigint REFERENCES projects (id) ON DELETE CASCADE,
    name text NOT NULL,
    owner_id bigint REFERENCES users (id) ON DELETE SET NULL,
    assignee_id bigint REFERENCES users (id) ON DELETE SET NULL,
    assignee_updated_date timestamptz,
    bug_tracker text NOT NULL DEFAULT '',
    subset text NOT NULL DEFAULT '',
    status text NOT NULL DEFAULT 'annotation',
    mode text NOT NULL DEFAULT '',
    dimension text NOT NULL DEFAULT '2d',
    validation_mode text,
    segment_size integer NOT NULL DEFAULT 0,
    overlap integer,
    consensus_replicas integer NOT NULL DEFAULT 0,
    organization_id bigint,
    source_storage jsonb,
    target_storage jsonb,
    -- Filled when media is attached (the media-processing issue).
    size integer NOT NULL DEFAULT 0,
    created_date timestamptz NOT NULL DEFAULT now(),
    updated_date timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_org_idx ON tasks (organization_id, id);
CREATE INDEX tasks_project_idx ON tasks (project_id, id);
CREATE INDEX tasks_owner_idx ON tasks (owner_id);
CREATE INDEX tasks_assignee_idx ON tasks (assignee_id);
CREATE INDEX tasks_name_idx ON tasks (name);
CREATE INDEX tasks_status_idx ON tasks (status, id);
CREATE INDEX tasks_updated_idx ON tasks (updated_date);

CREATE TABLE segments (
    id bigserial PRIMARY KEY,
    task_id bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    start_frame integer NOT NULL,
    stop_frame integer NOT NULL,
    type text NOT NULL DEFAULT 'range'
);
CREATE INDEX segments_task_idx ON segments (task_id);

CREATE TABLE jobs (
    id bigserial PRIMARY KEY,
    segment_id bigint NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    -- The segment's task, kept here so job lists and permission filters need no join.
    task_id bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    assignee_id bigint REFERENCES users (id) ON DELETE SET NULL,
    assignee_updated_date timestamptz,
    stage text NOT NULL DEFAULT 'annotation',
    state text NOT NULL DEFAULT 'new',
    status text NOT NULL DEFAULT 'annotation',
    type text NOT NULL DEFAULT 'annotation',
    parent_job_id bigint REFERENCES jobs (id) ON DELETE CASCADE,
    created_date timestamptz NOT NULL DEFAULT now(),
    updated_date timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_task_idx ON jobs (task_id, id);
CREATE INDEX jobs_assignee_idx ON jobs (assignee_id);

CREATE TABLE labels (
    id bigserial PRIMARY KEY,
    project_id bigint REFERENCES projects (id) ON DELETE CASCADE,
    task_id bigint REFERENCES tasks (id) ON DELETE CASCADE,
    parent_id bigint REFERENCES labels (id) ON DELETE CASCADE,
    name text NOT NULL,
    color text NOT NULL DEFAULT '',
    type text NOT NULL DEFAULT 'any',
    svg text NOT NULL DEFAULT '',
    CHECK ((project_id IS NULL) <> (task_id IS NULL))
);
-- Names are unique among the top-level labels of one owner and among one parent's sublabels.
CREATE UNIQUE INDEX labels_project_name_idx ON labels (project_id, name) WHERE parent_id IS NULL AND project_id IS NOT NULL;
CREATE UNIQUE INDEX labels_task_name_idx ON labels (task_id, name) WHERE parent_id IS NULL AND task_id IS NOT NULL;
CREATE UNIQUE INDEX labels_parent_name_idx ON labels (parent_id, name) WHERE parent_id IS NOT NULL;
CREATE INDEX labels_task_idx ON labels (task_id);
CREATE INDEX labels_project_idx ON labels (project_id);

CREATE TABLE attributes (
    id bigserial PRIMARY KEY,
    label_id bigint NOT NULL REFERENCES labels (id) ON DELETE CASCADE,
    name text NOT NULL,
    mutable boolean NOT NULL DEFAULT false,
    input_type text NOT NULL,
    default_value text NOT NULL DEFAULT '',
    "values" text[] NOT NULL DEFAULT '{}',
    UNIQUE (label_id, name)
);
