-- Export requests: the format asked for, and where the finished archive is kept (an
-- object key and the file name a download gets).
ALTER TABLE requests ADD COLUMN format text;
ALTER TABLE requests ADD COLUMN result_key text;
ALTER TABLE requests ADD COLUMN result_name text;
