-- Resumable uploads are either a task's data or an annotation file to import; the two
-- are checked and consumed differently.
ALTER TABLE tus_uploads ADD COLUMN purpose text NOT NULL DEFAULT 'data';
