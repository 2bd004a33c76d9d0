"""The Alembic migrations build exactly the schema of crc.tables, and tear it down again."""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import Session, SQLModel, select

import crc.auth_tables
import crc.departure_tables  # registers the departure tables too
import crc.fund_tables
import crc.lifecycle_tables  # registers the lifecycle tables on SQLModel.metadata
import crc.operation_tables  # and the operation tables
import crc.watchlist_tables  # noqa: F401 - and the watchlist tables
from crc.db import create_sync_engine
from crc.lesson_index import FTS_TABLE, PG_INDEX, is_schema_object
from crc.tables import Deployment, TaskClaim, User
from migrations import alembic_config, downgrade, upgrade

Database = tuple[str, str | None]


def _head(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def _current(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _tables(engine: sa.Engine) -> set[str]:
    """The tables, less the SQLite full-text index's (crc.lesson_index; no model describes them)."""
    return {t for t in sa.inspect(engine).get_table_names() if is_schema_object(t, "table")}


def _report_index(engine: sa.Engine) -> list[str]:
    """The after-action reports' full-text index as the database has it: its table or index."""
    inspector = sa.inspect(engine)
    if engine.dialect.name == "sqlite":
        return [t for t in inspector.get_table_names() if t == FTS_TABLE]
    return [i["name"] or "" for i in inspector.get_indexes("task") if i["name"] == PG_INDEX]


def test_upgrade_head_creates_the_model_schema(database_url: Database) -> None:
    url, schema = database_url
    upgrade(url, schema)
    engine = create_sync_engine(url, schema=schema)
    try:
        assert _current(engine) == _head(url)
        assert _tables(engine) == set(SQLModel.metadata.tables) | {"alembic_version"}
        assert _report_index(engine) == [FTS_TABLE if engine.dialect.name == "sqlite" else PG_INDEX]
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_name": is_schema_object}
            )
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
        assert set(sa.inspect(engine).get_table_names()) == {"alembic_version"}
    finally:
        engine.dispose()


def test_one_linear_history() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
    assert [rev.revision for rev in script.walk_revisions()][-1] == "0001"


def test_scopes_and_claim_terms_keep_the_data_there_is(database_url: Database) -> None:
    """0005 and 0006 on a database in use: nothing unscoped, nothing unknown, nothing blocked."""
    # Users keep every role unscoped, each deployment gets its member's agency, and claims made
    # before they had a term lapse at once.
    url, schema = database_url
    upgrade(url, schema, "0004")
    engine = create_sync_engine(url, schema=schema)
    claimed_at = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)
    try:
        with engine.begin() as conn:
            for statement in (
                "INSERT INTO member (id, name, email, agency, component, sectors, languages, "
                "clearance_level, annual_salary_usd) "
                "VALUES (1, 'Omar Farouk', '', 'USAID', 'standby', '[]', '[]', 'secret', 0)",
                "INSERT INTO post (code, country, city, threat_level, clearance_required, per_diem_usd, "
                "danger_pay_pct, post_differential_pct, visa_required, clearance_lead_days) "
                "VALUES ('JUB', 'South Sudan', 'Juba', 'high', 'secret', 330, 25, 35, true, 10)",
                "INSERT INTO deployment (id, workflow_id, member_id, post_code, sector, role_title, "
                "start_date, end_date, duration_days, justification, stage, status, requested_by, "
                "revision, created_at, updated_at) VALUES ('d1', 'deployment-d1', 1, 'JUB', "
                "'rule_of_law', 'Adviser', '2027-01-04', '2027-03-04', 60, 'Needed', 'APPROVAL', '', "
                "'requester', 1, :at, :at)",
                "INSERT INTO task (id, deployment_id, kind, stage, role, title, outcomes, status, "
                "escalated, created_at) VALUES ('t1', 'd1', 'approval', 'APPROVAL', 'planning', "
                "'Operational fit', '[]', 'open', false, :at)",
                "INSERT INTO taskclaim (task_id, username, claimed_at) VALUES ('t1', 'planning', :at)",
                'INSERT INTO "user" (username, full_name, password_hash, roles, is_active, created_at) '
                "VALUES ('planning', '', 'x', '[\"planning\"]', true, :at)",
            ):
                conn.execute(sa.text(statement), {"at": claimed_at})
        upgrade(url, schema)
        with Session(engine) as session:
            users = [(u.username, u.roles, u.scopes) for u in session.exec(select(User))]
            agencies = [d.member_agency for d in session.exec(select(Deployment))]
            claims = [(c.username, c.claimed_at, c.expires_at) for c in session.exec(select(TaskClaim))]
        assert users == [("planning", ["planning"], {})]
        assert agencies == ["USAID"]
        assert claims == [("planning", claimed_at, claimed_at)]
    finally:
        engine.dispose()


def test_certificate_key_keeps_each_members_latest_valid_certificate(database_url: Database) -> None:
    """0010 on a database holding duplicates: one certificate per member and course is left."""
    url, schema = database_url
    upgrade(url, schema, "0008")
    engine = create_sync_engine(url, schema=schema)
    try:
        with engine.begin() as conn:
            for statement in (
                "INSERT INTO member (id, name, email, agency, component, sectors, languages, "
                "clearance_level, annual_salary_usd) "
                "VALUES (1, 'Omar Farouk', '', 'USAID', 'standby', '[]', '[]', 'secret', 0)",
                "INSERT INTO course (code, title, days) VALUES ('FACT', 'FACT', 5)",
                "INSERT INTO course (code, title, days) VALUES ('ORIENT', 'Orientation', 2)",
                "INSERT INTO certificate (id, member_id, course_code, issued_on, expires_on) VALUES "
                "(1, 1, 'FACT', '2020-01-10', '2026-01-10'), (2, 1, 'FACT', '2025-03-01', '2031-03-01'), "
                "(3, 1, 'FACT', '2024-05-01', '2030-05-01'), (4, 1, 'ORIENT', '2025-01-01', '2027-01-01'), "
                "(5, 1, 'ORIENT', '2019-01-01', NULL)",
            ):
                conn.execute(sa.text(statement))
        upgrade(url, schema)
        with engine.connect() as conn:
            kept = conn.execute(sa.text("SELECT id, course_code FROM certificate ORDER BY id")).all()
        assert [tuple(row) for row in kept] == [(2, "FACT"), (5, "ORIENT")]
    finally:
        engine.dispose()
