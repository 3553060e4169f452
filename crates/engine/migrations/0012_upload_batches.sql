-- A one-request upload keeps its files apart from every other request's (`batch`, its
-- files stored under their own keys, named in `parts`), so two requests racing for one
-- task never mix files: each is started from its own. Protocol uploads (Upload-Start /
-- Upload-Multiple / Upload-Finish, TUS) keep the empty batch.
ALTER TABLE uploads ADD COLUMN batch text NOT NULL DEFAULT '';
ALTER TABLE uploads DROP CONSTRAINT uploads_pkey;
ALTER TABLE uploads ADD PRIMARY KEY (task_id, batch, name);
