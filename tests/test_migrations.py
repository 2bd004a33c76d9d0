"""The Alembic migrations build exactly the schema of crc.tables, and tear it down again."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import crc.lifecycle_tables  # registers the lifecycle tables on SQLModel.metadata
import crc.tables  # noqa: F401 - registers the tables on SQLModel.metadata
from crc.db import create_sync_engine
from migrations import alembic_config, downgrade, upgrade

Database = tuple[str, str | None]


def _head(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def _current(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_upgrade_head_creates_the_model_schema(database_url: Database) -> None:
    url, schema = database_url
    upgrade(url, schema)
    engine = create_sync_engine(url, schema=schema)
    try:
        assert _current(engine) == _head(url)
        assert _tables(engine) == set(SQLModel.metadata.tables) | {"alembic_version"}
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, SQLModel.metadata) == []
    finally:
        engine.dispose()


def test_upgrade_twice_changes_nothing(database_url: Database) -> None:
    url, schema = database_url
    upgrade(url, schema)
    upgrade(url, schema)
    engine = create_sync_engine(url, schema=schema)
    try:
        assert _current(engine) == _head(url)
    finally:
        engine.dispose()


def test_downgrade_base_drops_every_table(database_url: Database) -> None:
    url, schema = database_url
    upgrade(url, schema)
    downgrade(url, schema)
    engine = create_sync_engine(url, schema=schema)
    try:
        assert _current(engine) is None
        assert _tables(engine) == {"alembic_version"}
    finally:
        engine.dispose()


def test_one_linear_history() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
    assert [rev.revision for rev in script.walk_revisions()][-1] == "0001"
