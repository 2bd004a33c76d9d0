"""How the deployments list holds up at 50,000 rows: the first page, a deep page, and the count.

Builds a SQLite file with the migrations, inserts the rows, then times the list page's queries
(web.services.deployment_list) on the first and a deep page, beside OFFSET paging to the same
depth as the baseline measured in the same run. Prints ratios, so the numbers mean the same on a
slow or a fast machine:

    .venv/bin/python bench/deployments_list.py [--rows 50000] [--repeat 20]
"""

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from crc.db import create_engine, create_sync_engine, session_factory
from crc.names import deployment_workflow_id
from crc.roles import Role
from crc.stages import LIFECYCLE, Stage
from crc.tables import Deployment, Member, Post, User
from migrations import upgrade
from web.services.deployment_list import PER_PAGE, Cursor, ListFilters, count_deployments, page_of_deployments


def deployment_batches(rows: int, size: int = 5000) -> Iterator[list[dict[str, Any]]]:
    """`rows` deployments across every stage, 90 days each, in batches of `size` to insert."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    stages = [str(s) for s in (*LIFECYCLE, Stage.CANCELLED, Stage.REJECTED)]
    batch: list[dict[str, Any]] = []
    for i in range(rows):
        deployment_id = str(uuid.uuid4())
        begins = date(2025, 1, 1) + timedelta(days=i % 700)
        batch.append(
            {
                "id": deployment_id,
                "workflow_id": deployment_workflow_id(deployment_id),
                "member_id": 1 + i % 500,
                "post_code": f"P{i % 20:02d}",
                "sector": "rule_of_law",
                "role_title": "Adviser",
                "start_date": begins,
                "end_date": begins + timedelta(days=89),
                "duration_days": 90,
                "justification": "Benchmark",
                "stage": stages[i % len(stages)],
                "status": "",
                "requested_by": "requester",
                "revision": 1,
                "created_at": start + timedelta(minutes=i),
                "updated_at": start + timedelta(minutes=i),
            }
        )
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _fill(url: str, rows: int) -> None:
    engine = create_sync_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Post),
            [
                {
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
                for i in range(20)
            ],
        )
        conn.execute(
            sa.insert(Member),
            [
                {
                    "name": f"Member {i}",
                    "email": "",
                    "agency": "State",
                    "component": "active" if i % 2 else "standby",
                    "sectors": ["rule_of_law"],
                    "languages": ["en"],
                    "clearance_level": "secret",
                    "annual_salary_usd": 100000,
                }
                for i in range(500)
            ],
        )
        for batch in deployment_batches(rows):
            conn.execute(sa.insert(Deployment), batch)
    engine.dispose()


async def _median_ms(call: Callable[[], Awaitable[Any]], repeat: int) -> float:
    await call()  # warm the cache once
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        await call()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


async def _run(url: str, rows: int, repeat: int) -> None:
    engine = create_engine(url)
    sessions = session_factory(engine)
    depth = rows - 2 * PER_PAGE  # near the end: the oldest deployments
    async with sessions() as session:
        newest_first = (col(Deployment.created_at).desc(), col(Deployment.id).desc())
        anchor = (
            await session.exec(select(Deployment).order_by(*newest_first).offset(depth - 1).limit(1))
        ).one()
    cursor = Cursor(anchor.created_at, anchor.id)
    filters = ListFilters()
    # Operations sees every deployment; a Chief of Mission holding no task sees none, the worst
    # case of the need-to-know filter (an EXISTS on tasks for every row).
    overseer = User(username="ops", password_hash="", roles=[Role.OPERATIONS.value])
    officer = User(
        username="com",
        password_hash="",
        roles=[Role.CHIEF_OF_MISSION.value],
        scopes={"chief_of_mission": ["P00"]},
    )

    async def first() -> None:
        async with sessions() as session:
            await page_of_deployments(session, overseer, filters)

    async def deep_keyset() -> None:
        async with sessions() as session:
            await page_of_deployments(session, overseer, filters, after=cursor)

    async def deep_offset() -> None:
        async with sessions() as session:
            query = select(Deployment).order_by(*newest_first).offset(depth).limit(PER_PAGE + 1)
            await session.exec(query)
            await count_deployments(session, overseer, filters)  # as the list page does

    async def first_in_stage() -> None:
        async with sessions() as session:
            await page_of_deployments(session, overseer, ListFilters(stage=Stage.DEPLOYED))

    async def first_need_to_know() -> None:
        async with sessions() as session:
            await page_of_deployments(session, officer, filters)

    results = {
        "first page (with count)": await _median_ms(first, repeat),
        f"keyset page at row {depth}": await _median_ms(deep_keyset, repeat),
        f"OFFSET {depth} page (baseline)": await _median_ms(deep_offset, repeat),
        "first page of one stage": await _median_ms(first_in_stage, repeat),
        "first page, need-to-know filtered": await _median_ms(first_need_to_know, repeat),
    }
    await engine.dispose()
    base = results["first page (with count)"]
    print(f"{rows} deployments, median of {repeat} runs")
    for name, ms in results.items():
        print(f"  {name:<34} {ms:8.2f} ms   {ms / base:5.2f}x the first page")


def main() -> None:
    """Build the database and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        began = time.perf_counter()
        _fill(url, args.rows)
        print(f"inserted {args.rows} rows in {time.perf_counter() - began:.1f} s")
        asyncio.run(_run(url, args.rows, args.repeat))


if __name__ == "__main__":
    main()
