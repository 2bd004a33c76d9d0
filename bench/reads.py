"""The read paths at scale (inbox, dashboard, task API, deployments list first and deep page)
beside /healthz of the same app, on SQLite and on PostgreSQL, with data the bench generates."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import psycopg
import sqlalchemy as sa
from psycopg import sql
from sqlmodel import col

from bench.deployments_list import _fill
from bench.report import Figure, at_most
from bench.stats import Samples, timed_ms
from crc.db import create_engine, create_sync_engine
from crc.stages import Stage
from crc.tables import Deployment, Task
from migrations import upgrade
from tests import factories
from tests.fault_stack import FaultStack
from tests.web_helpers import PASSWORD, csrf_of, role_users
from web.services.deployment_list import PER_PAGE, Cursor

POSTGRES_URL = os.environ.get(
    "CRC_BENCH_POSTGRES_URL", os.environ.get("CRC_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
)
APPROVERS = ("planning", "resource_management", "chief_of_mission")
# (key, name, who, path or None for the deep page)
PAGES = (
    ("inbox", "/inbox page", "planning", "/inbox"),
    ("dashboard", "Dashboard /", "planning", "/"),
    ("tasks_api", "GET /api/v1/tasks", "planning", "/api/v1/tasks"),
    ("list_first", "Deployments list, first page", "operations", "/deployments"),
    ("list_deep", "Deployments list, keyset-deep page", "operations", None),
)
TARGET = 3.0


def _add_tasks(url: str, open_tasks: int) -> None:
    """Three open approvals (one per office) on each of the oldest deployments, now at APPROVAL."""
    engine = create_sync_engine(url)
    per = len(APPROVERS)
    waiting = -(-open_tasks // per)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        oldest = conn.execute(
            sa.select(col(Deployment.id)).order_by(col(Deployment.created_at)).limit(waiting)
        ).scalars()
        ids = list(oldest)
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            conn.execute(
                sa.update(Deployment).where(col(Deployment.id).in_(chunk)).values(stage=Stage.APPROVAL.value)
            )
        rows: list[dict[str, Any]] = []
        for i, deployment_id in enumerate(ids):
            for role in APPROVERS:
                if len(rows) >= open_tasks:
                    break
                rows.append(
                    {
                        "id": str(uuid.uuid4()),
                        "deployment_id": deployment_id,
                        "kind": "approval",
                        "stage": Stage.APPROVAL.value,
                        "role": role,
                        "title": "Operational fit",
                        "outcomes": ["approve", "reject", "request_changes"],
                        "status": "open",
                        "escalated": False,
                        "due_at": now + timedelta(days=1 + i % 10),
                        "created_at": now - timedelta(minutes=i),
                    }
                )
        for start in range(0, len(rows), 5000):
            conn.execute(sa.insert(Task), rows[start : start + 5000])
    engine.dispose()


def _as_in_use(url: str) -> None:
    """On PostgreSQL, fresh statistics and visibility map, as autovacuum keeps them on a database
    in use (bench/explain.py does the same): a freshly bulk-loaded table has none, so the planner
    guesses one row everywhere and index-only scans read the heap. The test server runs with
    autovacuum off, so nothing would make them."""
    engine = create_sync_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


async def build(url: str, deployments: int, open_tasks: int) -> str:
    """Migrate, fill, add the users; the keyset cursor of a page near the end of the list."""
    upgrade(url)
    _fill(url, deployments)
    _add_tasks(url, open_tasks)
    _as_in_use(url)
    engine = create_engine(url)
    try:
        await factories.add(engine, *role_users().values())
        depth = max(0, deployments - 2 * PER_PAGE)
        async with engine.connect() as conn:
            anchor = (
                await conn.execute(
                    sa.select(col(Deployment.created_at), col(Deployment.id))
                    .order_by(col(Deployment.created_at).desc(), col(Deployment.id).desc())
                    .offset(depth)
                    .limit(1)
                )
            ).one()
    finally:
        await engine.dispose()
    created_at = anchor[0] if anchor[0].tzinfo else anchor[0].replace(tzinfo=UTC)
    return Cursor(created_at, anchor[1]).encode()


@contextmanager
def postgres_database() -> Iterator[str]:
    """A database of the bench's own on the PostgreSQL server, dropped afterwards."""
    name = f"crc_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield str(sa.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False))
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def postgres_problem() -> str | None:
    """Why the PostgreSQL server cannot be used, or None."""
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return None
    except psycopg.OperationalError as exc:
        return str(exc).strip().splitlines()[0]


async def _page_session(http: httpx.AsyncClient, username: str) -> None:
    page = await http.get("/login")
    response = await http.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    )
    assert response.status_code == 303, f"sign-in of {username}: {response.status_code}"


async def measure(base_url: str, deep_cursor: str, pairs: int) -> dict[str, dict[str, Any]]:
    """Each page beside /healthz, interleaved pair by pair; summaries in ms and sizes in KB."""
    results: dict[str, dict[str, Any]] = {}
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=120) as planning,
        httpx.AsyncClient(base_url=base_url, timeout=120) as operations,
        httpx.AsyncClient(base_url=base_url, timeout=120) as api,
    ):
        await _page_session(planning, "planning")
        await _page_session(operations, "operations")
        token = await api.post("/api/v1/auth/token", data={"username": "planning", "password": PASSWORD})
        api.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        clients = {"planning": planning, "operations": operations}
        calls = []
        for key, _, who, path in PAGES:
            http = api if path and path.startswith("/api/") else clients[who]
            params = {} if path else {"after": deep_cursor}
            calls.append((key, http, path or "/deployments", params))
        samples = {key: (Samples(), Samples()) for key, _, _, _ in calls}
        sizes: dict[str, float] = {}
        for _, http, url, params in calls:  # warm every path once
            await http.get(url, params=params)
        for _ in range(pairs):
            for key, http, url, params in calls:
                page, healthz = samples[key]
                ms, _ = await timed_ms(partial(planning.get, "/healthz"))
                healthz.add(ms)
                ms, response = await timed_ms(partial(http.get, url, params=params))
                assert response.status_code == 200, f"{url}: {response.status_code}"
                page.add(ms)
                sizes[key] = len(response.content) / 1024
        for key, (page, healthz) in samples.items():
            results[key] = {
                "page_ms": page.summary(),
                "healthz_ms": healthz.summary(),
                "kb": round(sizes[key], 1),
                "ratio": page.median / healthz.median,
            }
    return results


async def read_paths(
    root: Path, temporal_address: str, deployments: int, open_tasks: int, pairs: int
) -> list[Figure]:
    """Every read-path figure on SQLite, then on PostgreSQL (missing ones marked not met)."""
    figures: list[Figure] = []
    for db in ("SQLite", "PostgreSQL"):
        problem = postgres_problem() if db == "PostgreSQL" else None
        if problem:
            figures += [_unmeasured(key, name, db, problem) for key, name, _, _ in PAGES]
            continue
        with _database(root, db) as url:
            cursor = await build(url, deployments, open_tasks)
            web = FaultStack(root / f"reads-{db.lower()}", url)
            web.root.mkdir(parents=True, exist_ok=True)
            web.env["TEMPORAL_ADDRESS"] = temporal_address
            try:
                await web.start_web()
                results = await measure(web.base_url, cursor, pairs)
            finally:
                web.stop_all()
        for key, name, _, _ in PAGES:
            r = results[key]
            figures.append(
                at_most(
                    Figure(
                        f"{key}_{db.lower()}",
                        f"{name}, {db}, {deployments:,} deployments / {open_tasks:,} open tasks",
                        f"p50 {r['page_ms']['median']:.0f} ms, p95 {r['page_ms']['p95']:.0f} ms, "
                        f"{r['kb']:.0f} KB",
                        f"/healthz p50 {r['healthz_ms']['median']:.1f} ms",
                        r["ratio"],
                        detail=r,
                    ),
                    TARGET,
                )
            )
    return figures


@contextmanager
def _database(root: Path, db: str) -> Iterator[str]:
    if db == "SQLite":
        yield f"sqlite:///{root / 'reads.db'}"
    else:
        with postgres_database() as url:
            yield url


def _unmeasured(key: str, name: str, db: str, problem: str) -> Figure:
    figure = Figure(f"{key}_{db.lower()}", f"{name}, {db}", f"not measured: {problem}")
    figure.target = f"<= {TARGET:g}x"
    figure.met = False
    return figure
