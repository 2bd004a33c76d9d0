"""Raw DDL kept beside a table (triggers, special indexes) per dialect, for `create_all` and the
migrations alike, so tests' schemas and migrated ones hold the same objects."""

from dataclasses import dataclass

import sqlalchemy as sa


@dataclass(frozen=True)
class DialectDDL:
    """The statements that create and drop some objects on SQLite and on PostgreSQL."""

    sqlite_create: tuple[str, ...]
    sqlite_drop: tuple[str, ...]
    pg_create: tuple[str, ...]
    pg_drop: tuple[str, ...]

    def statements(self, dialect: str, *, drop: bool = False) -> tuple[str, ...]:
        """The DDL that creates (or drops) the objects on this dialect; none on another."""
        if dialect == "sqlite":
            return self.sqlite_drop if drop else self.sqlite_create
        if dialect == "postgresql":
            return self.pg_drop if drop else self.pg_create
        return ()

    def attach(self, table: sa.Table) -> None:
        """Have `create_all` / `drop_all` build and remove the objects with `table`."""
        for dialect in ("sqlite", "postgresql"):
            for ddl in self.statements(dialect):
                sa.event.listen(table, "after_create", _ddl(ddl, dialect))
            for ddl in self.statements(dialect, drop=True):
                sa.event.listen(table, "before_drop", _ddl(ddl, dialect))


def _ddl(statement: str, dialect: str) -> sa.DDL:
    return sa.DDL(statement).execute_if(dialect=dialect)  # type: ignore[no-untyped-call,unused-ignore]
