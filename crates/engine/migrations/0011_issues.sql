-- Issues raised on a frame of a job, and the comments discussing them.
CREATE TABLE issues (
    id bigserial PRIMARY KEY,
    job_id bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    frame integer NOT NULL,
    position double precision[] NOT NULL,
    owner_id bigint REFERENCES users (id) ON DELETE SET NULL,
    assignee_id bigint REFERENCES users (id) ON DELETE SET NULL,
    resolved boolean NOT NULL DEFAULT false,
    created_date timestamptz NOT NULL DEFAULT now(),
    updated_date timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX issues_job_idx ON issues (job_id, id);
CREATE INDEX issues_owner_idx ON issues (owner_id);
CREATE INDEX issues_assignee_idx ON issues (assignee_id);

CREATE TABLE comments (
    id bigserial PRIMARY KEY,
    issue_id bigint NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
    owner_id bigint REFERENCES users (id) ON DELETE SET NULL,
    message text NOT NULL,
    created_date timestamptz NOT NULL DEFAULT now(),
    updated_date timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX comments_issue_idx ON comments (issue_id, id);
CREATE INDEX comments_owner_idx ON comments (owner_id);
