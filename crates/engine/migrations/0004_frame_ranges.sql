-- Where each frame's bytes are inside its chunk archives, so one frame is read from
-- storage without its whole chunk. Zero lengths (frames written before) mean "unknown".
ALTER TABLE frames ADD COLUMN original_extension text NOT NULL DEFAULT '';
ALTER TABLE frames ADD COLUMN original_offset bigint NOT NULL DEFAULT 0;
ALTER TABLE frames ADD COLUMN original_length bigint NOT NULL DEFAULT 0;
ALTER TABLE frames ADD COLUMN compressed_offset bigint NOT NULL DEFAULT 0;
ALTER TABLE frames ADD COLUMN compressed_length bigint NOT NULL DEFAULT 0;
