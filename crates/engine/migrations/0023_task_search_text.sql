-- The task list's `search` looks for each term in ten fields, seven of them the task's
-- own. Those seven are kept lower-cased in one column, separated by a newline (a term
-- never holds whitespace, so it cannot match across two fields): one LIKE per row instead
-- of seven ILIKEs with casts, and no join to evaluate them. PostgreSQL's ILIKE in a
-- multibyte database is LIKE over lower() of both sides, so `lower(term)` matches here
-- exactly where it did in a field. The project's name and the users' names are looked up
-- in their own tables when searched (they change there).
ALTER TABLE tasks ADD COLUMN search_text text GENERATED ALWAYS AS (lower(
    name || E'\n' || status || E'\n' || subset || E'\n' || mode || E'\n' || dimension || E'\n' ||
    bug_tracker || E'\n' || coalesce(validation_mode, ''))) STORED;
