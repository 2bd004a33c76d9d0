"""`python -m bench [--scale full|tiny]`: every figure against its bare baseline, as a table and
JSON (bench/results/latest.json); the last line says how many targets were met."""

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench import flows
from bench.memory import worker_rss
from bench.reads import read_paths
from bench.report import Figure, table, verdict, write_json
from bench.signin import healthz_under_sign_in
from bench.stack import BenchStack


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
            + self.lifecycle_n * (self.lifecycle_pairs + 1)
            + self.open_for_rss
        )


SCALES = {
    "full": Scale(50_000, 10_000, 20, 10, 100, 5, 200, 1, 1000, 100, 5, 40),
    "tiny": Scale(200, 40, 5, 2, 20, 2, 5, 1, 20, 10, 2, 10),
}


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def run(scale: Scale, root: Path) -> list[Figure]:
    """Start the stack, measure every figure in turn, stop the stack."""
    figures: list[Figure] = []
    stack = BenchStack(root / "stack")
    try:
        _log(f"starting the stack with {scale.members()} members")
        await stack.start(scale.members())
        _log("read paths")
        figures += await read_paths(root, stack.address, scale.deployments, scale.open_tasks, scale.read_pairs)
        _log("one short lifecycle")
        shape, history = await flows.short_lifecycle(stack)
        _log("decisions")
        figures += await flows.decisions(stack, scale.decision_deployments)
        _log("starts")
        figures.append(await flows.starts(stack, scale.start_batch, scale.start_pairs))
        _log("lifecycles")
        lifecycle, rates = await flows.lifecycles(stack, shape, scale.lifecycle_n, scale.lifecycle_pairs)
        figures += [lifecycle, history]
        _log("two workers")
        figures.append(await flows.two_workers(stack, scale.lifecycle_n, rates))
        _log("sign-in")
        figures.append(await healthz_under_sign_in(stack, scale.signin_pairs, scale.signin_block))
        _log("worker memory")
        figures.append(await worker_rss(stack, scale.open_for_rss, scale.rss_step))
    except BaseException:
        print(stack.processes.logs(), file=sys.stderr)
        raise
    finally:
        await stack.close()
    return figures


def main() -> None:
    """Parse the scale, run, print the table and the verdict, write the JSON."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default=os.environ.get("CRC_BENCH_SCALE", "full"))
    parser.add_argument("--json", type=Path, default=None, help="where to write the results")
    args = parser.parse_args()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="crc-bench-") as tmp:
        figures = asyncio.run(run(SCALES[args.scale], Path(tmp)))
    path = write_json(figures, args.scale, args.json)
    print(table(figures))
    print(f"scale {args.scale}, {time.perf_counter() - began:.0f} s, load average {os.getloadavg()[0]:.2f}; JSON: {path}")
    print(verdict(figures))


if __name__ == "__main__":
    main()
