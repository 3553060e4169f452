-- Video tasks keep CVAT's chunk types: H.264 MP4 chunks (originals always, compressed
-- unless `use_zip_chunks`), encoded by the media workers from the task's frames when first
-- asked for or ahead of that. A chunk's row says how it is encoded (`ChunkEncoding` of
-- proto/task.proto by name).
ALTER TABLE chunk_builds ADD COLUMN encoding text NOT NULL DEFAULT 'JPEG_ZIP';
