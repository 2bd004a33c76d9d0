"""`python -m bench [--scale full|tiny]`: every figure against its bare baseline, as a table and
JSON (bench/results/latest.json); the last line says how many targets were met."""

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import flows
from bench.memory import worker_rss
from bench.reads import postgres_database, postgres_problem, read_paths
from bench.report import Figure, table, verdict, write_json
from bench.signin import healthz_under_sign_in
from bench.stack import BenchStack
from tests import fault_stack

# The fault tests' driver gives each step 2 minutes; a benchmark reports slowness, not a failure.
STEP_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class Scale:
    """How much of everything one run does."""

    deployments: int  # read paths: rows in the deployments table
    open_tasks: int
    read_pairs: int
    decision_deployments: int  # three timed decisions each
    start_batch: int
    start_pairs: int
    lifecycle_n: int
    lifecycle_pairs: int
    two_worker_n: int  # lifecycles driven again with a second worker
    open_for_rss: int
    rss_step: int
    signin_pairs: int
    signin_block: int

    def members(self) -> int:
        """Members the run calls up, one deployment each."""
        return (
            1
            + self.decision_deployments
            + self.start_batch * self.start_pairs
            + self.lifecycle_n * self.lifecycle_pairs
            + self.two_worker_n
            + self.open_for_rss
        )


SCALES = {
    "full": Scale(50_000, 10_000, 20, 10, 40, 5, 50, 1, 30, 1000, 100, 5, 40),
    "tiny": Scale(200, 40, 5, 1, 20, 1, 3, 1, 3, 10, 5, 2, 5),
}


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def _guarded(figures: list[Figure], keys: list[tuple[str, str, str]], measure: Awaitable[Any]) -> Any:
    """Run one measurement; if it fails, its figures say so (not met) and the run goes on."""
    try:
        return await measure
    except Exception as exc:  # one broken figure must not cost the others
        _log(f"FAILED {keys[0][0]}: {exc!r}")
        for key, name, target in keys:
            figures.append(
                Figure(
                    key,
                    name,
                    f"failed: {type(exc).__name__}: {str(exc)[:120]}",
                    target=target,
                    met=False if target else None,
                )
            )
        return None


PARTS = ("reads", "history", "decisions", "starts", "lifecycles", "workers", "signin", "rss")


async def run(scale: Scale, root: Path, only: frozenset[str] = frozenset(PARTS)) -> list[Figure]:
    """Start the stack, measure every figure of `only` in turn, stop the stack."""
    figures: list[Figure] = []
    shape: Any = None
    fault_stack.STEP_TIMEOUT_S = STEP_TIMEOUT_S
    stack = BenchStack(root / "stack")
    try:
        _log(f"starting the stack with {scale.members()} members")
        await stack.start(scale.members())
        if "reads" in only:
            _log("read paths")
            figures += await read_paths(
                root, stack.address, scale.deployments, scale.open_tasks, scale.read_pairs
            )
        history = None
        if only & {"history", "lifecycles"}:
            _log("one short lifecycle")
            history_keys = [("history", "History of one short lifecycle", "<= 0.5x")]
            short = await _guarded(figures, history_keys, flows.short_lifecycle(stack))
            shape, history = short if short else (None, None)
        if "decisions" in only:
            _log("decisions")
            decision_keys = [
                ("decision", "Decision p95", "<= 3x"),
                ("decision_vs_update", "Decision vs bare update", ""),
                ("next_stage_visible", "Next stage visible after the deciding approval", "<= 1x"),
            ]
            decided = flows.decisions(stack, scale.decision_deployments)
            figures += await _guarded(figures, decision_keys, decided) or []
        if "starts" in only:
            _log("starts")
            started = await _guarded(
                figures,
                [("starts", "Request starts, 20 clients", ">= 0.8x")],
                flows.starts(stack, scale.start_batch, scale.start_pairs),
            )
            figures += [started] if started else []
            figures.append(await starts_on_postgres(root, scale))
        rates: list[float] = []
        if "lifecycles" in only:
            _log("lifecycles")
            lifecycle_keys = [("lifecycle", "Whole lifecycle through the API", "<= 1.5x")]
            if shape is None:
                await _guarded(figures, lifecycle_keys, _no_shape())
            else:
                done = await _guarded(
                    figures,
                    lifecycle_keys,
                    flows.lifecycles(stack, shape, scale.lifecycle_n, scale.lifecycle_pairs),
                )
                if done:
                    figures.append(done[0])
                    rates = done[1]
        figures += [history] if history and "history" in only else []
        if "workers" in only:
            _log("two workers")
            workers_keys = [("workers", "Lifecycle throughput, 1 and 2 workers", "")]
            two = await _guarded(figures, workers_keys, flows.two_workers(stack, scale.two_worker_n, rates))
            figures += [two] if two else []
        if "signin" in only:
            _log("sign-in")
            signin = await _guarded(
                figures,
                [("healthz_signin", "/healthz p95 while clients sign in", "<= 3x")],
                healthz_under_sign_in(stack, scale.signin_pairs, scale.signin_block),
            )
            figures += [signin] if signin else []
        if "rss" in only:
            _log("worker memory")
            rss = await _guarded(
                figures,
                [("worker_rss", "Worker RSS", "<= 250 MB")],
                worker_rss(stack, scale.open_for_rss, scale.rss_step),
            )
            figures += [rss] if rss else []
    except BaseException:
        print(stack.processes.logs(), file=sys.stderr)
        raise
    finally:
        await stack.close()
    return figures


async def starts_on_postgres(root: Path, scale: Scale) -> Figure:
    """The starts figure again with PostgreSQL as the stack's database (one of its own)."""
    keys = [("starts_postgresql", "Request starts, 20 clients, PostgreSQL", ">= 0.8x")]
    problem = postgres_problem()
    if problem:
        return Figure(keys[0][0], keys[0][1], f"not measured: {problem}", target=keys[0][2], met=False)
    _log("starts on PostgreSQL")
    failed: list[Figure] = []
    with postgres_database() as url:
        stack = BenchStack(root / "stack-postgresql", url)
        try:
            await stack.start(scale.start_batch * scale.start_pairs)
            figure = await _guarded(
                failed, keys, flows.starts(stack, scale.start_batch, scale.start_pairs, "PostgreSQL")
            )
        except BaseException:
            print(stack.processes.logs(), file=sys.stderr)
            raise
        finally:
            await stack.close()
    return figure if figure else failed[0]


async def _no_shape() -> None:
    raise RuntimeError("no short lifecycle to take the bare workflow's shape from")


def main() -> None:
    """Parse the scale, run, print the table and the verdict, write the JSON."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default=os.environ.get("CRC_BENCH_SCALE", "full"))
    parser.add_argument("--json", type=Path, default=None, help="where to write the results")
    parser.add_argument(
        "--only", default=",".join(PARTS), help=f"comma-separated parts to measure, of {','.join(PARTS)}"
    )
    args = parser.parse_args()
    only = frozenset(args.only.split(","))
    if not only <= set(PARTS):
        parser.error(f"--only: unknown parts {','.join(sorted(only - set(PARTS)))}")
    if "workers" in only:  # the second worker's throughput is read against the first's
        only |= {"lifecycles"}
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="crc-bench-") as tmp:
        figures = asyncio.run(run(SCALES[args.scale], Path(tmp), only))
    path = write_json(figures, args.scale, args.json)
    print(table(figures))
    print(
        f"scale {args.scale}, {time.perf_counter() - began:.0f} s, "
        f"load average {os.getloadavg()[0]:.2f}; JSON: {path}"
    )
    print(verdict(figures))


if __name__ == "__main__":
    main()
