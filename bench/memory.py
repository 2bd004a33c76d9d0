"""Worker RSS with open deployments, beside a bare worker holding as many open bare workflows."""

import asyncio
import uuid

from bench.bare import BarePlan
from bench.flows import CLIENTS, _bare_start, call_up
from bench.report import Figure
from bench.stack import BenchStack, rss_mb

LIMIT_MB = 250.0


async def worker_rss(stack: BenchStack, open_count: int, step: int) -> Figure:
    """A fresh `crc worker` and a fresh bare worker; RSS of each after every `step` opened."""
    stack.stop("worker")
    await stack.start_worker("worker")
    queue = f"bare-rss-{uuid.uuid4().hex[:8]}"
    stack.start_bare_worker("bare-rss", queue)
    await asyncio.sleep(2)  # the bare worker has nothing to log; give it time to poll
    project = [rss_mb(stack.pid("worker"))]
    bare = [rss_mb(stack.pid("bare-rss"))]

    async def in_parallel(count: int, one: object) -> None:
        sem = asyncio.Semaphore(CLIENTS)

        async def run() -> None:
            async with sem:
                await one()  # type: ignore[operator]

        await asyncio.gather(*(run() for _ in range(count)))

    bare_queue, stack.bare_queue = stack.bare_queue, queue
    try:
        for _ in range(open_count // step):
            await in_parallel(step, lambda: call_up(stack).request())
            await stack.quiet()
            project.append(rss_mb(stack.pid("worker")))
            # Like an open deployment: some work done, then waiting for a decision.
            await in_parallel(step, lambda: _bare_start(stack, BarePlan([3, 0])))
            await asyncio.sleep(1)
            bare.append(rss_mb(stack.pid("bare-rss")))
    finally:
        stack.bare_queue = bare_queue
        stack.stop("bare-rss")
    per = 100 / step
    growth = (project[-1] - project[1]) / max(1, len(project) - 2) * per
    bare_growth = (bare[-1] - bare[1]) / max(1, len(bare) - 2) * per
    figure = Figure(
        "worker_rss",
        f"Worker RSS at {open_count} open deployments (target <= {LIMIT_MB:.0f} MB)",
        f"{project[-1]:.0f} MB, +{growth:.1f} MB per 100",
        f"bare worker: {bare[-1]:.0f} MB, +{bare_growth:.1f} MB per 100",
        project[-1] / bare[-1],
        detail={"project_mb": project, "bare_mb": bare, "step": step},
    )
    figure.target = f"<= {LIMIT_MB:.0f} MB"
    figure.met = project[-1] <= LIMIT_MB
    return figure
