"""Alembic migrations of the application database, runnable from code (``crc migrate``)."""

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent


def alembic_config(url: str, schema: str | None = None) -> Config:
    """An Alembic config for this package's scripts and the given database (and schema)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Percent signs in a URL (escaped passwords) would otherwise be read as interpolation.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["database_url"] = url
    config.attributes["schema"] = schema
    return config


def upgrade(url: str, schema: str | None = None, revision: str = "head") -> None:
    """Bring the database at `url` (PostgreSQL: in `schema`, if given) up to `revision`."""
    command.upgrade(alembic_config(url, schema), revision)


def downgrade(url: str, schema: str | None = None, revision: str = "base") -> None:
    """Take the database at `url` down to `revision` (``base`` drops every table)."""
    command.downgrade(alembic_config(url, schema), revision)
