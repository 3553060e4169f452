-- A generation of what the project, task and job lists read: every statement that writes
-- one of their tables adds one, in its own transaction. A count taken together with the
-- generation (one snapshot) stays exact for as long as the generation is unchanged, so
-- the task service keeps counts between writes (cvat_listing::CountCache).
-- The generation is the sum over one row per database backend: a backend runs one
-- transaction at a time, so writers never wait for each other here (nor deadlock). Rows
-- of backends that are gone are folded into row 0 now and then, keeping the sum.
CREATE TABLE list_generations (
    backend int PRIMARY KEY,
    n bigint NOT NULL DEFAULT 0
);
INSERT INTO list_generations (backend) VALUES (0);

-- The function finds its table in the schema it was made in, whatever the search_path
-- of the writing session.
CREATE FUNCTION bump_list_generation() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO list_generations (backend, n) VALUES (pg_backend_pid(), 1)
        ON CONFLICT (backend) DO UPDATE SET n = list_generations.n + 1;
    RETURN NULL;
END;
$$;

DO $$
DECLARE
    listed text;
BEGIN
    FOREACH listed IN ARRAY ARRAY['projects', 'tasks', 'task_data', 'segments', 'jobs', 'users'] LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION bump_list_generation()', listed || '_list_generation', listed);
    END LOOP;
END;
$$;
