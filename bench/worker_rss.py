"""Worker memory with many open deployments, and request starts against bare `start_workflow`.

Starts the dev stack (bench/loop_stack.py), opens deployments through POST /api/v1/deployments with
`--clients` concurrent clients, waits at each checkpoint until every one waits for its approvals,
and reads the worker's VmRSS from /proc. Then times `--clients` concurrent bare `start_workflow`
calls (a workflow type no worker polls) against the same server, for the start ratio:

    .venv/bin/python bench/worker_rss.py [--repo PATH] [--cached 200] [--checkpoints 100,500,1000]
"""

import argparse
import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import Client

from bench.loop_stack import HERE, DevStack, load_average, request_body, token

RSS_SETTLE_SECONDS = 5.0
OPEN_TIMEOUT_SECONDS = 900.0


def vm_rss_mb(pid: int) -> float:
    """The process's resident set, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError("no VmRSS")


async def _submit(url: str, bearer: str, members: list[int], clients: int) -> float:
    """Requests per second for one request per member, `clients` at a time."""
    queue = list(members)
    headers = {"Authorization": f"Bearer {bearer}"}

    async def client(http: httpx.AsyncClient) -> None:
        while queue:
            response = await http.post("/api/v1/deployments", json=request_body(queue.pop()), headers=headers)
            if response.status_code != 201:
                raise RuntimeError(f"{response.status_code}: {response.text}")

    began = time.perf_counter()
    async with httpx.AsyncClient(
        base_url=url, timeout=60, limits=httpx.Limits(max_connections=clients)
    ) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    return len(members) / (time.perf_counter() - began)


async def _bare_starts(address: str, count: int, clients: int) -> float:
    """Bare `start_workflow` calls per second, `clients` at a time."""
    temporal = await Client.connect(address)
    left = list(range(count))

    async def client() -> None:
        while left:
            left.pop()
            await temporal.start_workflow("BenchBare", id=f"bare-{uuid.uuid4()}", task_queue="bench-bare")

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return count / (time.perf_counter() - began)


def _wait_open(stack: DevStack, count: int) -> None:
    deadline = time.monotonic() + OPEN_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        waiting = stack.count("SELECT count(*) FROM deployment WHERE stage = 'APPROVAL'")
        if waiting >= count:
            return
        time.sleep(2)
    raise RuntimeError(f"only {waiting} of {count} deployments reached APPROVAL")


def measure(stack: DevStack, checkpoints: list[int], clients: int) -> dict[str, Any]:
    """RSS at each checkpoint and the start rates."""
    worker = stack.child_pid("cli", "worker")
    members = stack.add_members(checkpoints[-1])
    bearer = token(stack.url)
    figures: dict[str, Any] = {"rss_mb": {"0": round(vm_rss_mb(worker), 1)}, "starts_per_s": []}
    done = 0
    for checkpoint in checkpoints:
        rate = asyncio.run(_submit(stack.url, bearer, members[done:checkpoint], clients))
        figures["starts_per_s"].append(round(rate, 1))
        done = checkpoint
        _wait_open(stack, checkpoint)
        time.sleep(RSS_SETTLE_SECONDS)
        figures["rss_mb"][str(checkpoint)] = round(vm_rss_mb(worker), 1)
    figures["bare_starts_per_s"] = round(
        asyncio.run(_bare_starts(f"127.0.0.1:{stack.temporal_port}", 400, clients)), 1
    )
    figures["load_average"] = load_average()
    return figures


def main() -> None:
    """Run it and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repo", type=Path, default=HERE)
    parser.add_argument("--cached", type=int, default=None, help="CRC_WORKER_MAX_CACHED_WORKFLOWS")
    parser.add_argument("--checkpoints", default="100,500,1000")
    parser.add_argument("--clients", type=int, default=20)
    args = parser.parse_args()
    env = {} if args.cached is None else {"CRC_WORKER_MAX_CACHED_WORKFLOWS": str(args.cached)}
    checkpoints = [int(c) for c in args.checkpoints.split(",")]
    with DevStack(args.repo, **env) as stack:
        figures = measure(stack, checkpoints, args.clients)
    print(json.dumps({"repo": str(args.repo), "cached": args.cached, **figures}, indent=2))
    ratio = max(figures["starts_per_s"]) / figures["bare_starts_per_s"]
    rss = figures["rss_mb"][str(checkpoints[-1])]
    print(f"worker_rss: {rss} MB at {checkpoints[-1]} open; starts {ratio:.2f}x bare")


if __name__ == "__main__":
    main()
