-- Annotations of jobs. Each object (a tag, a shape with its skeleton elements, a track
-- with its keyframes and element tracks, an interval) is one row holding its JSON
-- document, with the columns that reads, deletes by id and label removals select by.
-- Tags, shapes, tracks, tracked shapes and intervals have separate id spaces, as in CVAT.
CREATE SEQUENCE tag_ids;
CREATE SEQUENCE shape_ids;
CREATE SEQUENCE track_ids;
CREATE SEQUENCE tracked_shape_ids;
CREATE SEQUENCE interval_ids;

CREATE TABLE annotations (
    job_id bigint NOT NULL,
    -- 0 tag, 1 shape, 2 track, 3 interval
    kind smallint NOT NULL,
    id bigint NOT NULL,
    label_id bigint NOT NULL,
    frame integer NOT NULL,
    document text NOT NULL,
    PRIMARY KEY (job_id, kind, id)
);
-- Large documents (a track of many keyframes) are kept out of line but not compressed:
-- compressing costs more time on every save and read than it saves in I/O here.
ALTER TABLE annotations ALTER COLUMN document SET STORAGE EXTERNAL;

-- Reserves `count` consecutive ids of a sequence and answers the first: one statement
-- for any number of new objects, where nextval() per object would answer a million rows.
-- The advisory lock serialises reservations of one sequence (nextval alone could
-- interleave with the setval).
CREATE FUNCTION reserve_ids(sequence regclass, count bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    first bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(sequence::oid::bigint);
    first := nextval(sequence);
    IF count > 1 THEN
        PERFORM setval(sequence, first + count - 1);
    END IF;
    RETURN first;
END $$;

-- No foreign keys: each would check every row of a 100k-object save. Objects of
-- deleted jobs (and so of deleted tasks and projects) and of deleted labels go with
-- them through these statement-level triggers instead.
CREATE FUNCTION drop_annotations_of_jobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM annotations WHERE job_id IN (SELECT id FROM gone);
    RETURN NULL;
END $$;
CREATE TRIGGER jobs_drop_annotations AFTER DELETE ON jobs
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION drop_annotations_of_jobs();

CREATE FUNCTION drop_annotations_of_labels() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM annotations a
    WHERE a.label_id IN (SELECT id FROM gone)
      AND a.job_id IN (
          SELECT j.id FROM jobs j JOIN tasks t ON t.id = j.task_id
          WHERE t.id IN (SELECT task_id FROM gone) OR t.project_id IN (SELECT project_id FROM gone));
    RETURN NULL;
END $$;
CREATE TRIGGER labels_drop_annotations AFTER DELETE ON labels
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION drop_annotations_of_labels();

-- What changed in a job's annotations and who changed it (`GET /api/jobs/{id}/commits`).
CREATE TABLE annotation_changes (
    id bigserial PRIMARY KEY,
    job_id bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    owner_id bigint,
    -- create, update or delete
    scope text NOT NULL,
    -- How many objects of each kind the change touched.
    counts jsonb NOT NULL,
    timestamp timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX annotation_changes_job_idx ON annotation_changes (job_id, id);
