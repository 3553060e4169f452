-- The cloud storage a task's data came from (TaskRead `data_cloud_storage_id`); the
-- storage may be deleted later, the task keeps its frames.
ALTER TABLE task_data ADD COLUMN cloud_storage_id bigint;
