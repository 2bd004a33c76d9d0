"""Figures that drive deployments through the API beside the bare workflow: decisions, starts,
the whole lifecycle, one short lifecycle's history, and the throughput with one and two workers."""

import asyncio
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from functools import partial
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History

from bench.bare import BARE_WORKFLOW, STEP_UPDATE, BarePlan
from bench.report import Figure, at_least, at_most
from bench.stack import BenchStack
from bench.stats import Samples, timed_ms
from crc.names import deployment_workflow_id
from tests.fault_stack import STEP_TIMEOUT_S, CallUp, until

CLIENTS = 20
# Lifecycles driven at once: each polls the task list, and 200 polling at once swamp two cores
# (steps then outlast any timeout) on the project's side only; the issue measured 50 at once.
IN_FLIGHT = 50
HALF_OF = 54  # the short lifecycle's activities when the issue was filed
# The driver's first wait before looking again (doubling to tests.fault_stack.POLL_S): the bare
# side's updates go as soon as the workflow waits, so the project's side looks soon too.
FIRST_POLL_S = 0.05
# How often the decisions figure reads the deployment until the next stage shows.
VISIBLE_POLL_S = 0.02


def call_up(stack: BenchStack) -> CallUp:
    assert stack.api is not None
    return CallUp(stack.api, stack.member(), str(uuid.uuid4()), first_poll_s=FIRST_POLL_S)


async def _bare_start(stack: BenchStack, plan: BarePlan) -> Any:
    assert stack.client is not None
    return await stack.client.start_workflow(
        BARE_WORKFLOW, plan, id=f"bare-{uuid.uuid4().hex}", task_queue=stack.bare_queue
    )


@dataclass
class Shape:
    """What a call-up to arrival costs in Temporal: activities and updates (from its history)."""

    activities: int
    updates: int

    def plan(self) -> BarePlan:
        """The same number of no-op activities, spread over the phases between the updates."""
        phases = self.updates + 1
        base, extra = divmod(self.activities, phases)
        return BarePlan([base + (1 if i < extra else 0) for i in range(phases)])


def history_counts(history: History) -> dict[str, Any]:
    """Events, bytes, activities (by name), updates and workflow tasks of one history."""
    kinds = Counter(e.event_type for e in history.events)
    names = Counter(
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    )
    return {
        "events": len(history.events),
        "bytes": history.ByteSize(),
        "activities": kinds[EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED],
        "record_stage": names["record_stage"],
        "activity_names": dict(names.most_common()),
        "updates": kinds[EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED],
        "signals": kinds[EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED],
        "workflow_tasks": kinds[EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED],
    }


async def _history(stack: BenchStack, deployment_id: str) -> History:
    assert stack.client is not None
    handle = stack.client.get_workflow_handle(deployment_workflow_id(deployment_id))
    return History(events=(await handle.fetch_history()).events)


async def _finish_task(c: CallUp, kind: str, username: str, outcome: str, **body: Any) -> None:
    """Complete the one open task of `kind` once it is listed (the closing tasks carry data)."""
    items: list[Any] = []

    async def listed() -> bool:
        nonlocal items
        found = await c.api.get("/api/v1/tasks", username, deployment_id=c.deployment_id, kind=kind)
        items = found["items"]
        return bool(items)

    await until(f"{c.deployment_id} {kind} listed", listed, first=FIRST_POLL_S)
    response = await c.api.send(
        "POST",
        f"/api/v1/tasks/{items[0]['id']}/complete",
        json={"outcome": outcome, **body},
        headers=await c.api.headers(username),
    )
    assert response.status_code == 200, f"{kind}: {response.status_code} {response.text}"


async def short_lifecycle(stack: BenchStack) -> tuple[Shape, Figure]:
    """One call-up to arrival (its shape), then an early return to COMPLETED (its history)."""
    c = call_up(stack)
    await c.run()
    at_arrival = history_counts(await _history(stack, c.deployment_id))
    shape = Shape(at_arrival["activities"], at_arrival["updates"] + at_arrival["signals"])
    cancel = await c.api.send(
        "POST",
        f"/api/v1/deployments/{c.deployment_id}/cancel",
        json={"reason": "Security deteriorated"},
        headers=await c.api.headers("requester"),
    )
    assert cancel.status_code == 200, cancel.text
    await _finish_task(c, "kit_return", "logistics", "returned")
    report = {"data": {"report": "The courts reopened."}}
    await _finish_task(c, "after_action_report", f"member{c.member_id}", "done", **report)
    await _finish_task(c, "medical_out_processing", "medical", "done")
    await c.wait_for("completed", lambda d: d["stage"] == "COMPLETED")
    counts = history_counts(await _history(stack, c.deployment_id))
    figure = Figure(
        "history",
        "History of one short lifecycle (approve -> early return -> COMPLETED)",
        f"{counts['events']} events, {counts['bytes'] / 1024:.0f} KiB, {counts['activities']} activities "
        f"({counts['record_stage']} record_stage), {counts['updates']} updates, "
        f"{counts['workflow_tasks']} workflow tasks",
        baseline=f"activities when filed: {HALF_OF}",
        ratio=counts["activities"] / HALF_OF,
        detail={"history": counts, "to_arrival": at_arrival},
    )
    return shape, at_most(figure, 0.5)


async def _decide_timed(c: CallUp, role: str) -> float:
    """Approve `role`'s task once listed; how long the POST took, in ms."""
    items: list[Any] = []

    async def listed() -> bool:
        nonlocal items
        found = await c.api.get("/api/v1/tasks", role, deployment_id=c.deployment_id, kind="approval")
        items = found["items"]
        return bool(items)

    await until(f"{role}'s approval listed", listed, first=FIRST_POLL_S)
    headers = await c.api.headers(role)
    path = f"/api/v1/tasks/{items[0]['id']}/complete"
    ms, response = await timed_ms(
        partial(c.api.http.post, path, json={"outcome": "approve"}, headers=headers)
    )
    assert response.status_code == 200, response.text
    return ms


async def _next_stage_ms(c: CallUp, stage: str) -> float:
    """How long after the decision that ends `stage` the API shows the deployment past it, in ms."""
    began = time.perf_counter()
    for _ in range(int(STEP_TIMEOUT_S / VISIBLE_POLL_S)):
        if (await c.deployment())["stage"] != stage:
            return (time.perf_counter() - began) * 1000
        await asyncio.sleep(VISIBLE_POLL_S)
    raise AssertionError(f"{c.deployment_id} still in {stage} after {STEP_TIMEOUT_S:.0f} s")


async def decisions(stack: BenchStack, deployments: int) -> list[Figure]:
    """POST /tasks/{id}/complete beside a bare update doing one durable activity, and a bare
    update round trip (no activity); three approvals per deployment, interleaved. After the last
    one, how long until GET /api/v1/deployments/{id} shows the next stage."""
    assert stack.client is not None
    project, durable, round_trip, visible = Samples(), Samples(), Samples(), Samples()
    approvers = ("planning", "resource_management", "chief_of_mission")
    for _ in range(deployments):
        c = call_up(stack)
        await c.request()
        with_work = await _bare_start(stack, BarePlan([0] * (len(approvers) + 1)))
        bare = await _bare_start(stack, BarePlan([0] * (len(approvers) + 1)))
        for role in approvers:
            project.add(await _decide_timed(c, role))
            if role == approvers[-1]:
                visible.add(await _next_stage_ms(c, "APPROVAL"))
            durable.add((await timed_ms(partial(with_work.execute_update, STEP_UPDATE, 1)))[0])
            round_trip.add((await timed_ms(partial(bare.execute_update, STEP_UPDATE, 0)))[0])
    detail = {
        "project_ms": project.summary(),
        "bare_durable_ms": durable.summary(),
        "bare_update_ms": round_trip.summary(),
        "next_stage_visible_ms": visible.summary(),
    }
    decision = Figure(
        "decision",
        "Decision POST /api/v1/tasks/{id}/complete, p95",
        f"p50 {project.median:.0f} ms, p95 {project.p95:.0f} ms",
        f"bare update + 1 activity: p50 {durable.median:.0f} ms, p95 {durable.p95:.0f} ms",
        project.p95 / durable.p95,
        detail=detail,
    )
    versus_bare = Figure(
        "decision_vs_update",
        "Decision vs bare update round trip, p50",
        f"p50 {project.median:.0f} ms",
        f"bare update: p50 {round_trip.median:.0f} ms, p95 {round_trip.p95:.0f} ms",
        project.median / round_trip.median,
        detail=detail,
    )
    next_stage = Figure(
        "next_stage_visible",
        "Next stage visible after the deciding approval (GET /api/v1/deployments/{id}), p95",
        f"p50 {visible.median:.0f} ms, p95 {visible.p95:.0f} ms",
        "1 s",
        visible.p95 / 1000,
        detail=detail,
    )
    return [at_most(decision, 3), versus_bare, at_most(next_stage, 1)]


async def _concurrently(count: int, one: Any) -> float:
    """Run `one()` `count` times over CLIENTS concurrent clients; requests per second."""
    queue = list(range(count))

    async def client() -> None:
        while queue:
            queue.pop()
            await one()

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return count / (time.perf_counter() - began)


async def starts(stack: BenchStack, batch: int, pairs: int, db: str = "SQLite") -> Figure:
    """POST /api/v1/deployments by 20 clients beside bare start_workflow by 20, pair by pair,
    on the stack's database (`db` names it)."""
    assert stack.api is not None
    await stack.api.headers("requester")  # signed in before: 20 argon2 sign-ins are not starts
    project, bare, ratios = Samples(), Samples(), []
    for _ in range(pairs):
        mine = await _concurrently(batch, lambda: call_up(stack).request())
        theirs = await _concurrently(batch, lambda: _bare_start(stack, BarePlan([0, 0])))
        project.add(mine)
        bare.add(theirs)
        ratios.append(mine / theirs)
        await stack.quiet()
    figure = Figure(
        "starts" if db == "SQLite" else f"starts_{db.lower()}",
        f"Request starts, {CLIENTS} clients (POST /api/v1/deployments), {db}",
        f"{project.median:.1f} req/s",
        f"bare start_workflow: {bare.median:.1f}/s",
        statistics.median(ratios),
        detail={
            "project_per_s": project.summary(),
            "bare_per_s": bare.summary(),
            "ratios": ratios,
            "batch": batch,
        },
    )
    return at_least(figure, 0.8)


async def _bare_lifecycle(stack: BenchStack, shape: Shape) -> None:
    handle = await _bare_start(stack, shape.plan())
    for _ in range(shape.updates):
        await handle.execute_update(STEP_UPDATE, 0)
    await handle.result()


async def _batch(runs: list[Any]) -> tuple[float, list[float]]:
    """Wall time of running every lifecycle, IN_FLIGHT at a time, in seconds, and each one's
    duration; the first failure cancels the rest (none is left polling the stack)."""
    durations: list[float] = []
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def one(run: Any) -> None:
        async with slots:
            began = time.perf_counter()
            await run()
            durations.append(time.perf_counter() - began)

    began = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for run in runs:
            group.create_task(one(run))
    return time.perf_counter() - began, durations


async def project_batch(stack: BenchStack, n: int) -> tuple[float, list[float]]:
    """N call-ups to arrival through the API at once."""
    return await _batch([call_up(stack).run for _ in range(n)])


async def lifecycles(stack: BenchStack, shape: Shape, n: int, pairs: int) -> tuple[Figure, list[float]]:
    """N call-ups to arrival through the API beside N bare workflows of the same shape."""
    project, bare, each, ratios = Samples(), Samples(), Samples(), []
    for _ in range(pairs):
        mine, durations = await project_batch(stack, n)
        await stack.quiet()
        theirs, _ = await _batch([lambda: _bare_lifecycle(stack, shape) for _ in range(n)])
        project.add(mine)
        bare.add(theirs)
        for d in durations:
            each.add(d)
        ratios.append(mine / theirs)
    rates = [n / s for s in project.values]
    figure = Figure(
        "lifecycle",
        f"Whole lifecycle to arrival through the API, {n} deployments ({min(n, IN_FLIGHT)} at a time)",
        f"{min(rates):.2f}-{max(rates):.2f} deployments/s (batch median {project.median:.1f} s)",
        f"bare workflow, {shape.activities} no-op activities, {shape.updates} updates: "
        f"median {bare.median:.1f} s",
        statistics.median(ratios),
        detail={
            "n": n,
            "project_batch_s": project.summary(),
            "bare_batch_s": bare.summary(),
            "project_each_s": each.summary(),
            "ratios": ratios,
            "shape": {"activities": shape.activities, "updates": shape.updates},
        },
    )
    return at_most(figure, 1.5), rates


async def two_workers(stack: BenchStack, n: int, one_worker: list[float]) -> Figure:
    """Lifecycle throughput with a second `crc worker` beside the first (reported only)."""
    await stack.start_worker("worker2")
    try:
        wall, _ = await project_batch(stack, n)
        await stack.quiet()
    finally:
        stack.stop("worker2")
    two = n / wall
    one = statistics.median(one_worker)
    return Figure(
        "workers",
        f"Lifecycle throughput (deployments/s): 1 worker, then 2 workers ({n} deployments)",
        f"1 worker: {one:.2f}/s; 2 workers: {two:.2f}/s",
        "",
        two / one,
        detail={"one_worker_per_s": one_worker, "two_workers_per_s": two},
    )
