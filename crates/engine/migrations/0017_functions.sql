-- Native functions (`/api/functions`) served by remote agents, and the requests sent to
-- them. A request is queued, then held by one agent until its lease ends (an agent
-- that stops reporting loses it to the queue), then finished or failed.
CREATE TABLE functions (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    kind text NOT NULL,
    visibility text NOT NULL,
    description text NOT NULL DEFAULT '',
    -- The kind's fields (labels_v2, min_pos_points, …) as a FunctionSpec.
    spec jsonb NOT NULL,
    owner_id bigint REFERENCES users (id) ON DELETE SET NULL,
    organization_id bigint,
    created_date timestamptz NOT NULL DEFAULT now(),
    updated_date timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX functions_owner_idx ON functions (owner_id);
CREATE INDEX functions_org_idx ON functions (organization_id);

CREATE TABLE function_requests (
    id text PRIMARY KEY,
    function_id bigint NOT NULL REFERENCES functions (id) ON DELETE CASCADE,
    -- batch (annotate a task) or interactive (one frame, answered to a waiting caller).
    category text NOT NULL,
    -- What the agent is given (`ar_params`).
    params jsonb NOT NULL,
    task_id bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    job_id bigint REFERENCES jobs (id) ON DELETE CASCADE,
    owner_id bigint REFERENCES users (id) ON DELETE SET NULL,
    cleanup boolean NOT NULL DEFAULT false,
    threshold double precision,
    status text NOT NULL DEFAULT 'queued',
    agent_id text,
    lease_until timestamptz,
    progress real NOT NULL DEFAULT 0,
    exc_info text,
    -- An interactive request's answer, until its caller takes it.
    result jsonb,
    enqueued timestamptz NOT NULL DEFAULT now(),
    started timestamptz,
    ended timestamptz
);
CREATE INDEX function_requests_queue_idx ON function_requests (function_id, category, enqueued)
    WHERE status IN ('queued', 'started');
CREATE INDEX function_requests_task_idx ON function_requests (task_id);
