"""The plans of the read paths at scale: the inbox, the task API, the deployments list, the dashboard.

Builds 50,000 deployments and 10,000 open tasks (plus completed ones) on PostgreSQL (a database
of its own, dropped after) and on SQLite, runs the pages' own service functions while recording
every statement they send, and prints each statement's plan: EXPLAIN (ANALYZE) on PostgreSQL,
EXPLAIN QUERY PLAN on SQLite. It also prints each read's median time, to compare before and after
a change (the bench suite measures the pages themselves):

    .venv/bin/python bench/explain.py [--rows 50000] [--tasks 10000] [--db postgresql|sqlite|both]
        [--out bench/plans]
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.deployments_list import deployment_batches
from crc.db import create_engine, create_sync_engine, session_factory
from crc.roles import Role
from crc.stages import Stage
from crc.tables import Certificate, Course, Deployment, Member, Post, Task, TaskClaim, User
from migrations import upgrade
from web.services.dashboard import load_dashboard
from web.services.deployment_list import ListFilters, page_of_deployments
from web.services.inbox import InboxFilters, load_inbox
from web.services.tasks import count_open_tasks, page_of_open_tasks

POSTGRES = os.environ.get("CRC_BENCH_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
OFFICES = [Role.PLANNING, Role.RESOURCE_MANAGEMENT, Role.CHIEF_OF_MISSION, Role.SECURITY, Role.MEDICAL]
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _fill(url: str, rows: int, open_tasks: int) -> None:
    """Posts, 500 members with certificates, `rows` deployments, `open_tasks` open tasks spread
    over five offices (and three times as many completed), and a few claims."""
    engine = create_sync_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.insert(Post), [_post(i) for i in range(20)])
        conn.execute(sa.insert(Member), [_member(i) for i in range(500)])
        conn.execute(
            sa.insert(Course),
            [{"code": "FACT", "title": "Foreign Affairs Counter Threat", "days": 5, "validity_months": 72}],
        )
        conn.execute(
            sa.insert(Certificate),
            [
                {
                    "member_id": 1 + i,
                    "course_code": "FACT",
                    "issued_on": date(2021, 1, 1),
                    "expires_on": date(2026, 6, 1) + timedelta(days=i),
                }
                for i in range(500)
            ],
        )
        ids: list[str] = []
        for batch in deployment_batches(rows):
            conn.execute(sa.insert(Deployment), batch)
            ids += [row["id"] for row in batch]
        tasks = [_task(ids[(i * 7) % rows], i, "open") for i in range(open_tasks)]
        tasks += [_task(ids[(i * 11) % rows], i, "completed") for i in range(3 * open_tasks)]
        for first in range(0, len(tasks), 5000):
            conn.execute(sa.insert(Task), tasks[first : first + 5000])
        planning = [t["id"] for t in tasks if t["role"] == Role.PLANNING and t["status"] == "open"]
        conn.execute(
            sa.insert(TaskClaim),
            [
                {
                    "task_id": task_id,
                    "username": "planning2",
                    "claimed_at": NOW,
                    "expires_at": NOW + timedelta(days=2),
                }
                for task_id in planning[:200]
            ],
        )
    engine.dispose()


def _post(i: int) -> dict[str, Any]:
    return {
        "code": f"P{i:02d}",
        "country": f"Country {i}",
        "city": "",
        "threat_level": "medium",
        "clearance_required": "secret",
        "per_diem_usd": 200,
        "danger_pay_pct": 0,
        "post_differential_pct": 0,
        "visa_required": False,
        "clearance_lead_days": 10,
    }


def _member(i: int) -> dict[str, Any]:
    return {
        "name": f"Member {i}",
        "email": "",
        "agency": "State",
        "component": "active" if i % 2 else "standby",
        "sectors": ["rule_of_law"],
        "languages": ["en"],
        "clearance_level": "secret",
        "annual_salary_usd": 100000,
    }


def _task(deployment_id: str, i: int, status: str) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "deployment_id": deployment_id,
        "kind": "approval",
        "stage": Stage.APPROVAL.value,
        "role": OFFICES[i % len(OFFICES)].value,
        "title": "Operational fit",
        "outcomes": ["approve", "reject", "request_changes"],
        "status": status,
        "escalated": False,
        # A tenth overdue, the rest due over the next weeks.
        "due_at": NOW + timedelta(hours=(i % 500) - 50),
        "created_at": NOW - timedelta(days=3, minutes=i),
    }


def _users() -> dict[str, User]:
    return {
        "planning": User(username="planning", password_hash="", roles=[Role.PLANNING.value]),
        "operations": User(username="operations", password_hash="", roles=[Role.OPERATIONS.value]),
    }


def _reads() -> dict[str, Callable[[Any], Awaitable[Any]]]:
    users = _users()
    planner = users["planning"]

    async def inbox(session: Any) -> Any:
        return await load_inbox(session, user=planner, filters=InboxFilters(), now=NOW)

    async def inbox_unclaimed(session: Any) -> Any:
        return await load_inbox(
            session, user=planner, filters=InboxFilters(view="unclaimed", sort="age"), now=NOW
        )

    async def nav_count(session: Any) -> Any:
        return await count_open_tasks(session, user=planner)

    async def task_api(session: Any) -> Any:
        return await page_of_open_tasks(session, user=planner, now=NOW)

    async def deployments(session: Any) -> Any:
        return await page_of_deployments(session, users["operations"], ListFilters())

    async def deployments_in_stage(session: Any) -> Any:
        return await page_of_deployments(session, users["operations"], ListFilters(stage=Stage.DEPLOYED))

    async def dashboard(session: Any) -> Any:
        return await load_dashboard(session, user=users["operations"], now=NOW, today=NOW.date())

    return {
        "inbox (planning, 2,000 open tasks)": inbox,
        "inbox, unclaimed view, oldest first": inbox_unclaimed,
        "inbox count in the navigation": nav_count,
        "GET /api/v1/tasks (first page and total)": task_api,
        "deployments list, first page": deployments,
        "deployments list, one stage": deployments_in_stage,
        "dashboard (operations)": dashboard,
    }


async def _record(url: str) -> list[tuple[str, list[tuple[str, Any]], float]]:
    """Each read's statements (with their parameters) and its median time over 10 runs."""
    engine = create_engine(url)
    sessions = session_factory(engine)
    found: list[tuple[str, list[tuple[str, Any]], float]] = []
    for name, read in _reads().items():
        sent: list[tuple[str, Any]] = []

        def keep(
            _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
        ) -> None:
            sent.append((statement, parameters))  # noqa: B023 (the list of this read)

        sa.event.listen(engine.sync_engine, "before_cursor_execute", keep)
        async with sessions() as session:
            await read(session)
        sa.event.remove(engine.sync_engine, "before_cursor_execute", keep)
        times = []
        for _ in range(10):
            began = time.perf_counter()
            async with sessions() as session:
                await read(session)
            times.append((time.perf_counter() - began) * 1000)
        found.append((name, sent, statistics.median(times)))
    await engine.dispose()
    return found


def _explain(url: str, recorded: list[tuple[str, list[tuple[str, Any]], float]]) -> str:
    engine = create_sync_engine(url)
    postgres = engine.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " if postgres else "EXPLAIN QUERY PLAN "
    out: list[str] = []
    with engine.connect() as conn:
        for name, sent, _ms in recorded:
            out.append(f"=== {name}: {len(sent)} statements")
            for statement, parameters in sent:
                if not statement.lstrip().upper().startswith("SELECT"):
                    continue
                out.append("--- " + " ".join(statement.split())[:600])
                rows = conn.exec_driver_sql(prefix + statement, parameters).all()
                if postgres:
                    out += [f"    {r[0]}" for r in rows]
                else:
                    out += [f"    {'  ' * (2 if r[1] else 0)}{r[-1]}" for r in rows]
            out.append("")
    engine.dispose()
    return "\n".join(out)


def _run(url: str, rows: int, tasks: int) -> str:
    upgrade(url)
    began = time.perf_counter()
    _fill(url, rows, tasks)
    engine = create_sync_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # Fresh statistics and visibility map, as autovacuum keeps them on a database in use.
            # (SQLite keeps no statistics unless ANALYZE is run, and the app never runs it.)
            conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    took = time.perf_counter() - began
    header = f"# {rows} deployments, {tasks} open tasks (+{3 * tasks} completed), filled in {took:.0f} s\n"
    recorded = asyncio.run(_record(url))
    # The times go to the terminal only: they depend on the machine and its load, the plans do not.
    for name, _sent, ms in recorded:
        print(f"{engine.dialect.name}: {name}: median {ms:.1f} ms", file=sys.stderr)
    return header + _explain(url, recorded)


def _postgres(rows: int, tasks: int) -> str:
    name = f"crc_explain_{os.getpid()}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        return _run(POSTGRES.rsplit("/", 1)[0] + f"/{name}", rows, tasks)
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _sqlite(rows: int, tasks: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        return _run(f"sqlite:///{Path(tmp) / 'explain.db'}", rows, tasks)


def main() -> None:
    """Build the data, print the plans, and keep them under --out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--db", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--out", type=Path, default=None, help="write postgresql.txt / sqlite.txt here")
    args = parser.parse_args()
    for db, build in (("postgresql", _postgres), ("sqlite", _sqlite)):
        if args.db not in (db, "both"):
            continue
        text = build(args.rows, args.tasks)
        print(text)
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / f"{db}.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
