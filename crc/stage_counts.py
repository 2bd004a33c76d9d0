"""How many deployments stand at each stage, by post: a summary row per (stage, post) kept by
the database itself, so the dashboard reads a few dozen rows instead of counting 50,000.

Triggers on `deployment` keep it, in the transaction of the write that inserts, deletes, or moves
a deployment to another stage or post: the read-model activity, the request's insert and its
undo, the seed, a test's or the bench's rows. No code path can forget to, and a count is never
ahead of or behind the rows a reader sees.

- Exact under concurrency: a change is `n = n + 1` on the row (PostgreSQL locks it until
  commit; SQLite has one writer), and a missing row is made by an upsert on the primary key, so
  two first writers cannot both insert it. Rows at 0 stay, rather than race a delete.
- PostgreSQL: one trigger function; a move touches its two rows in key order, so two moves the
  opposite ways cannot deadlock each other. TRUNCATE empties the counts too.
- SQLite: three triggers (3.24+ for the upsert).

The migration creates the same objects as `create_all` does through `attach` (tests build their
databases with `create_all`), and fills the counts for the rows already there.
"""

from sqlmodel import Field, SQLModel

from crc.dialect_ddl import DialectDDL


class StageCount(SQLModel, table=True):
    """How many deployments stand at `stage` for `post_code` (kept by triggers on deployment)."""

    stage: str = Field(primary_key=True, max_length=16)  # crc.stages.Stage
    post_code: str = Field(primary_key=True, max_length=16)
    n: int = 0


# Written out in full (no formatting): these are DDL constants, never built from input.
_SQLITE_ADD_NEW = (
    "INSERT INTO stagecount (stage, post_code, n) VALUES (new.stage, new.post_code, 1) "
    "ON CONFLICT (stage, post_code) DO UPDATE SET n = n + 1;"
)
_SQLITE_TAKE_OLD = "UPDATE stagecount SET n = n - 1 WHERE stage = old.stage AND post_code = old.post_code;"
SQLITE_CREATE = (
    f"CREATE TRIGGER IF NOT EXISTS stagecount_insert AFTER INSERT ON deployment BEGIN {_SQLITE_ADD_NEW} END",
    "CREATE TRIGGER IF NOT EXISTS stagecount_update AFTER UPDATE OF stage, post_code ON deployment "
    "WHEN old.stage IS NOT new.stage OR old.post_code IS NOT new.post_code "
    f"BEGIN {_SQLITE_TAKE_OLD} {_SQLITE_ADD_NEW} END",
    f"CREATE TRIGGER IF NOT EXISTS stagecount_delete AFTER DELETE ON deployment BEGIN {_SQLITE_TAKE_OLD} END",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS stagecount_delete",
    "DROP TRIGGER IF EXISTS stagecount_update",
    "DROP TRIGGER IF EXISTS stagecount_insert",
)
PG_CREATE = (
    """CREATE OR REPLACE FUNCTION stagecount_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.stage = NEW.stage AND OLD.post_code = NEW.post_code THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND (OLD.stage, OLD.post_code) < (NEW.stage, NEW.post_code)) THEN
        UPDATE stagecount SET n = n - 1 WHERE stage = OLD.stage AND post_code = OLD.post_code;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO stagecount (stage, post_code, n) VALUES (NEW.stage, NEW.post_code, 1)
        ON CONFLICT (stage, post_code) DO UPDATE SET n = stagecount.n + 1;
    END IF;
    IF TG_OP = 'UPDATE' AND (OLD.stage, OLD.post_code) > (NEW.stage, NEW.post_code) THEN
        UPDATE stagecount SET n = n - 1 WHERE stage = OLD.stage AND post_code = OLD.post_code;
    END IF;
    RETURN NULL;
END
$$""",
    """CREATE OR REPLACE FUNCTION stagecount_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM stagecount;
    RETURN NULL;
END
$$""",
    "CREATE OR REPLACE TRIGGER stagecount_keep AFTER INSERT OR DELETE OR UPDATE OF stage, post_code "
    "ON deployment FOR EACH ROW EXECUTE FUNCTION stagecount_keep()",
    "CREATE OR REPLACE TRIGGER stagecount_clear AFTER TRUNCATE ON deployment "
    "FOR EACH STATEMENT EXECUTE FUNCTION stagecount_clear()",
)
PG_DROP = (
    "DROP TRIGGER IF EXISTS stagecount_clear ON deployment",
    "DROP TRIGGER IF EXISTS stagecount_keep ON deployment",
    "DROP FUNCTION IF EXISTS stagecount_clear()",
    "DROP FUNCTION IF EXISTS stagecount_keep()",
)
# The counts of the rows already there (the migration; a new table is empty).
FILL = (
    "INSERT INTO stagecount (stage, post_code, n) "
    "SELECT stage, post_code, count(*) FROM deployment GROUP BY stage, post_code"
)


_DDL = DialectDDL(SQLITE_CREATE, SQLITE_DROP, PG_CREATE, PG_DROP)
statements = _DDL.statements
attach = _DDL.attach  # create_all / drop_all build and remove them with the table
