"""Faults survived: the worker killed, the Temporal server restarted and PostgreSQL connections
terminated while deployments move, with Temporal, the worker and the web as separate processes.
Checked from outside, over HTTP and in the database: nothing lost, nothing doubled."""

import asyncio
import signal
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from crc.db import create_engine
from crc.domain import SKU_BALLISTIC_VEST, SKU_HELMET, SKU_INDIVIDUAL_KIT, briefing_course_code
from crc.lifecycle_tables import Booking, CheckIn, CountryClearance, Document, Enrolment, KitReservation
from crc.tables import CourseSession, Deployment, Event, Notification, StockItem, Task
from migrations import upgrade
from tests.fault_stack import POST_CODE, STOCK, Api, CallUp, FaultStack, add_call_up_world, fault_stack, until

pytestmark = [pytest.mark.devserver, pytest.mark.faults]

# What one call-up taken to arrival leaves in the database, once and only once.
TASKS = Counter({"approval": 3, "training_result": 1, "kit_receipt": 1, "country_clearance": 1})
TIMELINE = [
    "requested", "approval_opened", "approved", "approved", "approved", "stage_changed",
    "stage_changed", "enrolled", "training_result.pass", "stage_changed", "kit_issued",
    "kit_receipt.acknowledge", "stage_changed", "tasks_opened", "country_clearance.approve",
    "travel_booked", "arrival_check_in", "arrived",
]  # fmt: skip
KIT = {SKU_INDIVIDUAL_KIT, SKU_BALLISTIC_VEST, SKU_HELMET}


async def started(
    stack: FaultStack, members: int, *, test_url: str | None = None
) -> tuple[AsyncEngine, list[int]]:
    """Migrate and populate the database, then start Temporal, the worker and the web; the
    test's own reads go through `test_url` (default: the app's)."""
    upgrade(stack.database_url)
    engine = create_engine(test_url or stack.database_url)
    member_ids = await add_call_up_world(engine, members)
    await stack.start_temporal()
    stack.start_worker()
    await stack.start_web()
    return engine, member_ids


async def rows(engine: AsyncEngine, query: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(query)).all())


async def assert_nothing_lost_or_doubled(engine: AsyncEngine, deployment_ids: list[str]) -> None:
    """Each deployment is DEPLOYED with exactly one of everything its life so far wrote."""
    count = len(deployment_ids)
    stages = await rows(engine, sa.select(col(Deployment.id), col(Deployment.stage)))
    assert sorted(stages) == sorted((d, "DEPLOYED") for d in deployment_ids)
    tasks = await rows(engine, sa.select(col(Task.deployment_id), col(Task.kind), col(Task.status)))
    for deployment_id in deployment_ids:
        mine = [(kind, status) for d, kind, status in tasks if d == deployment_id]
        assert Counter(kind for kind, _ in mine) == TASKS, deployment_id
        assert {status for _, status in mine} == {"completed"}
    # Every deployment wrote the same timeline, in order: no event twice, none missing.
    events = await rows(engine, sa.select(col(Event.deployment_id), col(Event.kind)).order_by(col(Event.id)))
    for deployment_id in deployment_ids:
        assert [kind for d, kind in events if d == deployment_id] == TIMELINE, deployment_id
    # Each call-up told as many people the same things (its own member among them), each once: a
    # retry writes none again; and no reminder yet, a call-up's first is hours away.
    notes = await rows(engine, sa.select(col(Notification.deployment_id), col(Notification.kind)))
    told = {d: Counter(kind for n, kind in notes if n == d) for d in deployment_ids}
    first = told[deployment_ids[0]]
    assert first and "reminder" not in first
    assert {d: t for d, t in told.items() if t != first} == {}
    # One seat each, in a same-day briefing of its own; one of each kit item; one booking, one
    # clearance, one travel order, one arrival.
    enrolments = await rows(
        engine, sa.select(col(Enrolment.deployment_id), col(Enrolment.course_code), col(Enrolment.status))
    )
    assert sorted(enrolments) == sorted(
        (d, briefing_course_code(POST_CODE), "passed") for d in deployment_ids
    )
    remote = await rows(
        engine,
        sa.select(col(CourseSession.seats_taken)).where(col(CourseSession.location).startswith("Remote")),
    )
    assert sorted(remote) == [(1,)] * count
    reservations = await rows(engine, sa.select(col(KitReservation.deployment_id), col(KitReservation.sku)))
    assert sorted(reservations) == sorted((d, sku) for d in deployment_ids for sku in KIT)
    stock = await rows(
        engine,
        sa.select(col(StockItem.sku), sa.func.sum(col(StockItem.quantity))).group_by(col(StockItem.sku)),
    )
    assert dict(stock) == {sku: STOCK - count for sku in KIT}
    for table in (Booking, CountryClearance, Document, CheckIn):
        found = await rows(engine, sa.select(col(table.deployment_id)))
        assert sorted(found) == sorted((d,) for d in deployment_ids), table.__name__


def _at_least(api: Api, done: int) -> Callable[[], Awaitable[bool]]:
    async def reached() -> bool:
        return api.done >= done

    return reached


async def test_thirty_call_ups_survive_three_worker_kills(tmp_path: Path) -> None:
    with fault_stack(tmp_path, f"sqlite:///{tmp_path / 'crc.db'}") as stack:
        engine, member_ids = await started(stack, 30)
        async with httpx.AsyncClient(base_url=stack.base_url, timeout=60) as http:
            api = Api(http)
            call_ups = [CallUp(api, m, f"faults-{m}") for m in member_ids]
            steps = len(call_ups) * CallUp.STEPS

            async def kill_worker_thrice() -> None:
                for share in (0.15, 0.4, 0.65):
                    await until("progress", _at_least(api, int(steps * share)), 300)
                    stack.kill("worker")
                    stack.start_worker()

            await asyncio.gather(kill_worker_thrice(), *(c.run() for c in call_ups))
            await assert_nothing_lost_or_doubled(engine, [c.deployment_id for c in call_ups])
        assert (tmp_path / "worker.log").read_text().count("worker polling") == 4
        stack.assert_web_never_crashed()
        await engine.dispose()


async def test_a_temporal_restart_mid_run_is_a_503_then_everything_resumes(tmp_path: Path) -> None:
    with fault_stack(tmp_path, f"sqlite:///{tmp_path / 'crc.db'}") as stack:
        engine, member_ids = await started(stack, 8)
        async with httpx.AsyncClient(base_url=stack.base_url, timeout=60) as http:
            api = Api(http)
            # One waits at its approvals through the outage; one is requested during it.
            held, late = (CallUp(api, m, f"faults-{m}") for m in member_ids[:2])
            call_ups = [CallUp(api, m, f"faults-{m}") for m in member_ids[2:]]
            await held.request()
            approvals = (await held.wait_for("approvals", lambda d: len(d["open_tasks"]) == 3))["open_tasks"]
            moving = [asyncio.create_task(c.run()) for c in call_ups]
            try:
                await until("progress", _at_least(api, 2 * len(call_ups)), 300)
                stack.kill("temporal", signal.SIGTERM)
                await _answers_503_while_temporal_is_down(api, approvals, late)
                await stack.start_temporal()
                await held.proceed()
                await late.run()  # asked again, now that Temporal answers
                await asyncio.gather(*moving)
            finally:
                for task in moving:
                    task.cancel()
                await asyncio.gather(*moving, return_exceptions=True)
            everyone = [held, late, *call_ups]
            await assert_nothing_lost_or_doubled(engine, [c.deployment_id for c in everyone])
        assert stack.running("worker") and stack.running("web")
        stack.assert_web_never_crashed()
        await engine.dispose()


async def _answers_503_while_temporal_is_down(api: Api, approvals: list[Any], late: CallUp) -> None:
    """The health check and every call that needs Temporal say 503 with Retry-After, in our
    words, and keep the connection open; what only reads the database still works."""
    unavailable = {"detail": "Temporal is not answering; try again shortly"}
    health = await api.http.get("/healthz")
    assert (health.status_code, health.json()["failed"]) == (503, ["temporal"])
    assert health.headers["Retry-After"] == "5"
    planning = next(t for t in approvals if t["role"] == "planning")
    decision = await api.http.post(
        f"/api/v1/tasks/{planning['id']}/complete",
        json={"outcome": "approve"},
        headers=await api.headers("planning"),
    )
    requested = await api.http.post(
        "/api/v1/deployments",
        json=late.body(),
        headers=await api.headers("requester") | {"Idempotency-Key": late.key},
    )
    for response in (decision, requested):
        assert (response.status_code, response.json()) == (503, unavailable)
        assert response.headers["Retry-After"] == "5"
        assert response.headers.get("connection") != "close"
    listed = await api.get("/api/v1/deployments", "operations")
    # Nothing half-written: the late request left no row (its retry saves it), the others are listed.
    assert listed["total"] == 7


def _postgres_url(server: str, schema: str, application_name: str | None) -> str:
    """The server's URL with the test's schema as search_path, and a name to find its
    connections by in pg_stat_activity."""
    query = {"options": f"-csearch_path={schema}"}
    if application_name:
        query["application_name"] = application_name
    return make_url(server).update_query_dict(query).render_as_string(hide_password=False)


async def _terminate(server: str, application_name: str) -> int:
    """Terminate every connection of the app's processes; how many there were."""
    async with await psycopg.AsyncConnection.connect(server, autocommit=True) as conn:
        cursor = await conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s",
            (application_name,),
        )
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


@pytest.mark.postgres
async def test_terminated_postgres_connections_lose_and_double_nothing(
    tmp_path: Path, postgres_url: str, pg_schema: str
) -> None:
    application_name = f"crc_{pg_schema}"
    app_url = _postgres_url(postgres_url, pg_schema, application_name)
    with fault_stack(tmp_path, app_url) as stack:
        engine, member_ids = await started(stack, 6, test_url=_postgres_url(postgres_url, pg_schema, None))
        async with httpx.AsyncClient(base_url=stack.base_url, timeout=60) as http:
            api = Api(http)
            call_ups = [CallUp(api, m, f"faults-{m}") for m in member_ids]
            terminated: list[int] = []

            rounds = range(2, len(call_ups) * CallUp.STEPS - 2, 2)

            async def terminate_every_second_step() -> None:
                for done in rounds:
                    await until("progress", _at_least(api, done), 300)
                    terminated.append(await _terminate(postgres_url, application_name))

            await asyncio.gather(terminate_every_second_step(), *(c.run() for c in call_ups))
            await assert_nothing_lost_or_doubled(engine, [c.deployment_id for c in call_ups])
            # A round right after another may find the pools still empty, but not all of them.
            assert len(terminated) == len(rounds)
            assert sum(terminated) > 0, terminated
            print(f"terminated {terminated}; {api.unavailable} answers were 503")  # in -s output
        assert stack.running("worker") and stack.running("web")
        stack.assert_web_never_crashed()
        await engine.dispose()
