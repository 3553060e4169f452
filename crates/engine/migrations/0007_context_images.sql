-- How many context images (related_images) each frame has.
ALTER TABLE frames ADD COLUMN related_files integer NOT NULL DEFAULT 0;
