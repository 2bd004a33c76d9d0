"""The stack the bench drives: the project's own processes (Temporal dev server, `crc worker`,
`crc web`, as tests/fault_stack.py starts them) and the bare worker beside them."""

import asyncio
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from crc.db import create_engine
from crc.tables import Event, Task
from migrations import upgrade
from tests.fault_stack import Api, FaultStack, add_call_up_world, until

READY_LINE = "worker polling"


def rss_mb(pid: int) -> float:
    """The resident set size of a process, in MB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


class BenchStack:
    """The project's processes on a database of their own (SQLite unless `database_url` names
    another, empty), the bare worker, and clients."""

    def __init__(self, root: Path, database_url: str | None = None) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.processes = FaultStack(root, database_url or f"sqlite:///{root / 'crc.db'}")
        self.bare_queue = f"bare-{uuid.uuid4().hex[:8]}"
        self.engine: AsyncEngine | None = None
        self.client: Client | None = None
        self.http: httpx.AsyncClient | None = None
        self.api: Api | None = None
        self._members: Iterator[int] = iter(())

    @property
    def address(self) -> str:
        return self.processes.env["TEMPORAL_ADDRESS"]

    async def start(self, members: int) -> None:
        """Migrate, add `members` ready for a call-up, start every process, connect."""
        upgrade(self.processes.database_url)
        self.engine = create_engine(self.processes.database_url)
        self._members = iter(await add_call_up_world(self.engine, members))
        await self.processes.start_temporal()
        await self.start_worker("worker")
        self.start_bare_worker("bare", self.bare_queue)
        await self.processes.start_web()
        self.client = await Client.connect(self.address, data_converter=pydantic_data_converter)
        self.http = httpx.AsyncClient(
            base_url=self.processes.base_url, timeout=120, limits=httpx.Limits(max_connections=64)
        )
        self.api = Api(self.http)

    def member(self) -> int:
        """A member nobody has called up yet."""
        return next(self._members)

    async def start_worker(self, name: str) -> None:
        """A `crc worker` process (another one when `name` is new), once it polls."""
        log = self.root / f"{name}.log"
        before = log.read_text(errors="replace").count(READY_LINE) if log.exists() else 0
        self.processes._spawn(name, [sys.executable, "-m", "cli", "worker"], self.processes.env)

        async def polling() -> bool:
            if not self.processes.running(name):
                raise AssertionError(f"{name} exited: {log.read_text(errors='replace')[-2000:]}")
            return log.exists() and log.read_text(errors="replace").count(READY_LINE) > before

        await until(f"the worker {name}", polling)

    def start_bare_worker(self, name: str, task_queue: str) -> None:
        """The bare workflow's worker, a process of its own like the project's."""
        argv = [sys.executable, "-m", "bench.bare", self.address, task_queue]
        self.processes._spawn(name, argv, self.processes.env)

    def stop(self, name: str) -> None:
        """Stop one process and wait for it."""
        if self.processes.running(name):
            self.processes.kill(name)

    def pid(self, name: str) -> int:
        return self.processes.processes[name].pid

    async def quiet(self, within: float = 300.0) -> None:
        """Wait until the workers stop writing: the task and event counts hold for 1.5 s."""
        assert self.engine is not None
        seen: list[tuple[int, int]] = []

        async def settled() -> bool:
            assert self.engine is not None
            async with self.engine.connect() as conn:
                tasks = (await conn.execute(sa.select(sa.func.count()).select_from(Task))).scalar_one()
                events = (await conn.execute(sa.select(sa.func.count()).select_from(Event))).scalar_one()
            seen.append((tasks, events))
            return len(seen) >= 4 and len(set(seen[-4:])) == 1

        await until("the workers to settle", settled, within)

    async def close(self) -> None:
        """Stop every process (bare and extra workers too) and close the clients."""
        if self.http is not None:
            await self.http.aclose()
        for name in list(self.processes.processes):
            self.stop(name)
        if self.engine is not None:
            await self.engine.dispose()
        await asyncio.sleep(0)
