"""Alembic environment: the app's sync engine and the SQLModel metadata of crc.tables."""

from logging.config import fileConfig

from alembic import context
from sqlmodel import SQLModel

import crc.auth_tables  # registers the sign-in tables too
import crc.departure_tables  # registers the departure tables too
import crc.fund_tables  # and the funds
import crc.lifecycle_tables  # registers the lifecycle tables too
import crc.operation_tables  # registers the operation tables too
import crc.tables  # registers the tables on SQLModel.metadata
import crc.watchlist_tables  # noqa: F401 - and the watchlist tables
from crc.db import create_sync_engine
from crc.lesson_index import is_schema_object
from crc.settings import get_settings

config = context.config
if config.config_file_name:  # the alembic command line; `crc migrate` keeps its own logging
    fileConfig(config.config_file_name, disable_existing_loggers=False)
target_metadata = SQLModel.metadata


def _database() -> tuple[str, str | None]:
    """URL and schema: from the caller's config, ``-x url=… -x schema=…``, or the settings."""
    x_args = context.get_x_argument(as_dictionary=True)
    url = config.attributes.get("database_url") or x_args.get("url") or get_settings().database_url
    schema = config.attributes.get("schema") or x_args.get("schema")
    return url, schema


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it (``alembic upgrade head --sql``)."""
    url, _schema = _database()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on a live connection."""
    url, schema = _database()
    # The schema, if any, goes into the search_path, so tables and alembic_version land there.
    engine = create_sync_engine(url, schema=schema)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
                include_name=is_schema_object,  # the reports' full-text index is no model's
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
