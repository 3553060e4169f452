-- A backup being uploaded for a restore has no task yet: it is its uploader's.
ALTER TABLE tus_uploads ALTER COLUMN task_id DROP NOT NULL;
ALTER TABLE tus_uploads ADD COLUMN owner_id bigint;
-- What a finished request made (a restored task's id).
ALTER TABLE requests ADD COLUMN result_id bigint;
