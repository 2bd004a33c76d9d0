"""The full-text index of after-action reports: SQLite FTS5 or a PostgreSQL GIN index.

The reports stay in `task.data["report"]`; the index is kept by the database itself, so every
writer of a completed report (the read-model activity, a decision on the member's behalf, the
seed, a test's rows) indexes it in its own transaction, and no code path can forget to.

- PostgreSQL: a GIN index over the report's `tsvector` (an expression index), which PostgreSQL
  fills for the existing rows when it is created and keeps current on every write.
- SQLite: an FTS5 table (Porter stemming) filled by triggers on `task` when a report is
  completed (or written completed), emptied when its task row goes.

The migration creates the same objects as `create_all` does through `attach` (tests build their
databases with `create_all`), and SQLite's is filled there for the reports already written.
"""

from crc.dialect_ddl import DialectDDL

REPORT_KIND = "after_action_report"  # crc.tasks.TaskKind.AFTER_ACTION_REPORT (crc.tasks imports more)
FTS_TABLE = "lesson_fts"  # FTS5 adds lesson_fts_data, _idx, _content, _docsize and _config
PG_INDEX = "ix_task_report_search"

# Where the query must say exactly the same thing for PostgreSQL to use the index.
PG_REPORT_VECTOR = "to_tsvector('english'::regconfig, coalesce(task.data ->> 'report', ''))"

# Written out in full (no formatting): these are DDL constants, never built from input.
SQLITE_CREATE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS lesson_fts "
    "USING fts5(report, task_id UNINDEXED, tokenize = 'porter unicode61')",
    "CREATE TRIGGER IF NOT EXISTS lesson_fts_completed AFTER UPDATE OF status ON task "
    "WHEN new.kind = 'after_action_report' AND new.status = 'completed' AND old.status <> 'completed' "
    "BEGIN INSERT INTO lesson_fts (report, task_id) "
    "VALUES (coalesce(json_extract(new.data, '$.report'), ''), new.id); END",
    "CREATE TRIGGER IF NOT EXISTS lesson_fts_written AFTER INSERT ON task "
    "WHEN new.kind = 'after_action_report' AND new.status = 'completed' "
    "BEGIN INSERT INTO lesson_fts (report, task_id) "
    "VALUES (coalesce(json_extract(new.data, '$.report'), ''), new.id); END",
    "CREATE TRIGGER IF NOT EXISTS lesson_fts_gone AFTER DELETE ON task "
    "WHEN old.kind = 'after_action_report' BEGIN DELETE FROM lesson_fts WHERE task_id = old.id; END",
)
SQLITE_FILL = (
    "INSERT INTO lesson_fts (report, task_id) "
    "SELECT coalesce(json_extract(data, '$.report'), ''), id FROM task "
    "WHERE kind = 'after_action_report' AND status = 'completed'"
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS lesson_fts_gone",
    "DROP TRIGGER IF EXISTS lesson_fts_written",
    "DROP TRIGGER IF EXISTS lesson_fts_completed",
    "DROP TABLE IF EXISTS lesson_fts",
)
PG_CREATE = (
    "CREATE INDEX IF NOT EXISTS ix_task_report_search ON task "
    "USING gin (to_tsvector('english'::regconfig, coalesce(task.data ->> 'report', ''))) "
    "WHERE kind = 'after_action_report' AND status = 'completed'",
)
PG_DROP = ("DROP INDEX IF EXISTS ix_task_report_search",)


_DDL = DialectDDL(SQLITE_CREATE, SQLITE_DROP, PG_CREATE, PG_DROP)
statements = _DDL.statements
attach = _DDL.attach  # create_all / drop_all build and remove them with the table


def is_schema_object(name: str | None, type_: str, _parents: object = None) -> bool:
    """False for the index's own objects, which the models do not describe (Alembic's compare)."""
    if name is None:
        return True
    if type_ == "table":
        return not name.startswith(FTS_TABLE)
    if type_ == "index":
        return name != PG_INDEX
    return True
