-- The last piece received by a resumable upload (abandoned ones are swept).
ALTER TABLE tus_uploads ADD COLUMN updated_date timestamptz NOT NULL DEFAULT now();
CREATE INDEX uploads_received_idx ON uploads (received_date);
CREATE INDEX tus_uploads_updated_idx ON tus_uploads (updated_date);
