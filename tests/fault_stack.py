"""The whole stack as separate processes (Temporal dev server, worker, web) for the fault tests,
and a driver that takes an Active call-up from request to arrival through the HTTP API."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from cli import _die_with_parent
from crc.db import session_factory
from crc.domain import COURSE_FACT, COURSE_ORIENTATION
from crc.search_attributes import dev_server_args
from crc.settings import Settings
from crc.tables import StockItem
from tests import factories
from tests.conftest import temporal_cli_env, venv_binary
from tests.lifecycle_world import add_world
from tests.web_helpers import PASSWORD, role_users, user
from web.services.requests import today_utc

PROJECT = Path(__file__).resolve().parent.parent
POST_CODE = "JUB"
STOCK = 100
# Generous: the stack starts beside the heaviest browser tests on a 2-core machine.
START_TIMEOUT_S = 180.0
# How long one step of a deployment may take, faults included (a killed worker's activities
# move on after the 5 s heartbeat timeout, a restarted server within seconds).
STEP_TIMEOUT_S = 120.0
POLL_S = 0.5
# What a user does after a 503: wait a moment and try again.
RETRY_S = 0.5


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pauses(first: float) -> Iterator[float]:
    """The waits between polls: from `first`, doubling up to POLL_S."""
    pause = first
    while True:
        yield min(pause, POLL_S)
        pause *= 2


async def until(
    what: str, ready: Callable[[], Awaitable[bool]], within: float = START_TIMEOUT_S, first: float = POLL_S
) -> None:
    """Poll `ready` until it holds (waiting `first`, then twice as long up to POLL_S); fail naming
    `what` after `within` seconds."""
    try:
        async with asyncio.timeout(within):
            for pause in pauses(first):
                if await ready():
                    return
                await asyncio.sleep(pause)
    except TimeoutError:
        raise AssertionError(f"{what} not within {within:.0f} s") from None


class FaultStack:
    """Temporal, the worker and the web app, each a process of its own that a test may kill."""

    def __init__(self, root: Path, database_url: str) -> None:
        self.root = root
        self.database_url = database_url
        self.temporal_port = free_port()
        self.web_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.web_port}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        # Only our own settings: none of this machine's CRC_/TEMPORAL_ variables leak in.
        env = {k: v for k, v in os.environ.items() if k not in Settings.model_fields}
        self.env = env | {
            "CRC_ENV": "dev",
            "CRC_DATA_DIR": str(root / "var"),
            "DATABASE_URL": database_url,
            "TEMPORAL_ADDRESS": f"127.0.0.1:{self.temporal_port}",
            "TEMPORAL_TASK_QUEUE": f"faults-{uuid.uuid4().hex[:8]}",
            "CRC_WEB_PORT": str(self.web_port),
        }

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        with (self.root / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(  # noqa: S603 - our own binaries
                argv, cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
            )

    def running(self, name: str) -> bool:
        process = self.processes.get(name)
        return process is not None and process.poll() is None

    def _assert_running(self, name: str) -> None:
        if name in self.processes and not self.running(name):
            raise AssertionError(f"{name} exited with {self.processes[name].returncode}")

    async def start_temporal(self) -> None:
        """The dev server on our port, its state in a file that outlives a restart."""
        self._spawn(
            "temporal",
            [
                venv_binary("temporal"), "server", "start-dev", "--headless",
                "--ip", "127.0.0.1", "--port", str(self.temporal_port),
                "--db-filename", str(self.root / "temporal.db"), "--log-level", "warn",
                *dev_server_args(),
            ],
            temporal_cli_env(),
        )  # fmt: skip
        await until("the Temporal dev server", self._temporal_ready)

    async def _temporal_ready(self) -> bool:
        self._assert_running("temporal")
        try:
            async with asyncio.timeout(5):
                client = await Client.connect(self.env["TEMPORAL_ADDRESS"])
                await client.workflow_service.describe_namespace(
                    DescribeNamespaceRequest(namespace="default"), timeout=timedelta(seconds=2)
                )
        except Exception:  # any failure means "not yet"
            return False
        return True

    def start_worker(self) -> None:
        self._spawn("worker", [sys.executable, "-m", "cli", "worker"], self.env)

    async def start_web(self) -> None:
        self._spawn("web", [sys.executable, "-m", "cli", "web"], self.env)

        async def healthy() -> bool:
            self._assert_running("web")
            try:
                async with httpx.AsyncClient(base_url=self.base_url, timeout=5) as http:
                    return (await http.get("/healthz")).status_code == 200
            except httpx.TransportError:
                return False

        await until("the web app", healthy)

    def kill(self, name: str, sig: signal.Signals = signal.SIGKILL) -> None:
        """Send `sig` to a process and wait for it to go."""
        process = self.processes[name]
        process.send_signal(sig)
        process.wait(timeout=30)

    def stop_all(self) -> None:
        for name in ("web", "worker", "temporal"):
            if self.running(name):
                self.processes[name].kill()
                self.processes[name].wait(timeout=30)

    def assert_web_never_crashed(self) -> None:
        """No request ended in an unhandled exception (a 500, or an answer cut off)."""
        log = (self.root / "web.log").read_text(errors="replace")
        assert "Exception in ASGI application" not in log
        assert '" 500' not in log

    def logs(self) -> str:
        """The tail of every process's log, for a failure's report."""
        parts = []
        for log in sorted(self.root.glob("*.log")):
            text = log.read_text(errors="replace")
            parts.append(f"----- {log.name} (last 6000 characters) -----\n{text[-6000:]}")
        return "\n".join(parts)


@contextmanager
def fault_stack(root: Path, database_url: str) -> Iterator[FaultStack]:
    """A stack whose processes die with the test; their logs are printed when it fails."""
    stack = FaultStack(root, database_url)
    try:
        yield stack
    except BaseException:
        print(stack.logs())  # pytest shows it beside the failure
        raise
    finally:
        stack.stop_all()


async def add_call_up_world(engine: AsyncEngine, count: int) -> list[int]:
    """Users per role, the post JUB with its courses and plenty of kit, and `count` Active
    members ready for a call-up today (cleared, FACT and orientation held); their ids."""
    today = today_utc()
    post = factories.post(code=POST_CODE)
    await factories.add(engine, post, *role_users().values())
    await add_world(engine, POST_CODE)
    async with session_factory(engine).begin() as session:
        await session.exec(sa.update(StockItem).values(quantity=STOCK))
    members = [
        factories.member(name=f"Member {i:02d}", email=f"member{i:02d}@example.gov") for i in range(count)
    ]
    await factories.add(engine, *members)
    ids = [m.id for m in members if m.id is not None]
    certificates = [
        cert
        for member_id in ids
        for cert in (
            factories.certificate(
                member_id, COURSE_FACT, today - timedelta(days=100), today + timedelta(days=900)
            ),
            factories.certificate(member_id, COURSE_ORIENTATION, today - timedelta(days=100), None),
        )
    ]
    # Each member signs in to acknowledge their own kit.
    await factories.add(engine, *certificates, *(user(f"member{i}", ["member"], member_id=i) for i in ids))
    return ids


@dataclass
class Api:
    """The demo users' view of the stack over HTTP, retrying as a user would after a 503."""

    http: httpx.AsyncClient
    tokens: dict[str, str] = field(default_factory=dict)
    # Every decision or check-in the API accepted, so a test can act on progress, not time.
    done: int = 0
    unavailable: int = 0

    async def headers(self, username: str) -> dict[str, str]:
        if username not in self.tokens:
            response = await self.send(
                "POST", "/api/v1/auth/token", data={"username": username, "password": PASSWORD}
            )
            assert response.status_code == 200, response.text
            self.tokens[username] = response.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    async def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request, repeated while the stack answers 503 or cannot be reached."""
        async with asyncio.timeout(STEP_TIMEOUT_S):
            while True:
                try:
                    response = await self.http.request(method, path, **kwargs)
                except httpx.TransportError:
                    await asyncio.sleep(RETRY_S)
                    continue
                if response.status_code != 503:
                    return response
                assert response.headers.get("Retry-After"), response.text
                self.unavailable += 1
                await asyncio.sleep(RETRY_S)

    async def get(self, path: str, username: str, **params: Any) -> Any:
        response = await self.send("GET", path, params=params, headers=await self.headers(username))
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text}"
        return response.json()


@dataclass
class CallUp:
    """One Active member called up to JUB today, taken to arrival by the users of its tasks."""

    api: Api
    member_id: int
    key: str
    deployment_id: str = ""
    # The first wait before looking again for a task or a state not there yet (doubling up to
    # POLL_S): the bench looks sooner, as a client told of the change would.
    first_poll_s: float = POLL_S

    # The API calls that move it: seven decisions or check-ins.
    STEPS = 7

    def body(self) -> dict[str, Any]:
        """The request: 30 days at JUB from today."""
        return {
            "member_id": self.member_id,
            "post_code": POST_CODE,
            "sector": "rule_of_law",
            "role_title": "Rule of law adviser",
            "start_date": today_utc().isoformat(),
            "duration_days": 30,
            "justification": "The court reform programme needs an adviser now.",
        }

    async def request(self) -> None:
        """Submit it; a retry after a lost answer carries the same Idempotency-Key."""
        body = self.body()
        headers = await self.api.headers("requester") | {"Idempotency-Key": self.key}
        response = await self.api.send("POST", "/api/v1/deployments", json=body, headers=headers)
        assert response.status_code in (200, 201), response.text
        self.deployment_id = response.json()["id"]

    async def deployment(self) -> dict[str, Any]:
        found: dict[str, Any] = await self.api.get(f"/api/v1/deployments/{self.deployment_id}", "operations")
        return found

    async def wait_for(self, what: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        current: dict[str, Any] = {}

        async def holds() -> bool:
            nonlocal current
            current = await self.deployment()
            return done(current)

        try:
            await until(f"{self.deployment_id} {what}", holds, STEP_TIMEOUT_S, self.first_poll_s)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last state: {current}") from None
        return current

    async def decide(self, kind: str, username: str, outcome: str) -> None:
        """Complete the open task of `kind` as `username`, once it is listed.

        After a 503 the decision may have been applied: a 409 "already completed" then, or
        the task gone from the list, means it was."""
        tried = False
        waits = pauses(self.first_poll_s)
        async with asyncio.timeout(STEP_TIMEOUT_S):
            while True:
                items = (
                    await self.api.get("/api/v1/tasks", username, deployment_id=self.deployment_id, kind=kind)
                )["items"]
                if not items:
                    if tried:
                        break
                    await asyncio.sleep(next(waits))
                    continue
                path = f"/api/v1/tasks/{items[0]['id']}/complete"
                headers = await self.api.headers(username)
                try:
                    response = await self.api.http.post(path, json={"outcome": outcome}, headers=headers)
                except httpx.TransportError:
                    tried = True
                    continue
                if response.status_code == 200 or (response.status_code == 409 and tried):
                    break
                assert response.status_code == 503, (
                    f"{kind} {outcome}: {response.status_code} {response.text}"
                )
                assert response.headers.get("Retry-After"), response.text
                self.api.unavailable += 1
                tried = True
                await asyncio.sleep(RETRY_S)
        self.api.done += 1

    async def arrive(self) -> None:
        """The arrival check-in, by Operations on the member's behalf, once travel is booked."""
        await self.wait_for("booked", lambda d: d["waiting_for"] == "arrival")
        path = f"/api/v1/deployments/{self.deployment_id}/check-ins"
        body = {"status": "ok", "location": "Juba airport", "note": ""}
        async with asyncio.timeout(STEP_TIMEOUT_S):
            while True:
                headers = await self.api.headers("operations")
                try:
                    response = await self.api.http.post(path, json=body, headers=headers)
                except httpx.TransportError:
                    response = None
                if response is not None and response.status_code == 201:
                    break
                if response is not None:
                    assert response.status_code == 503, response.text
                    assert response.headers.get("Retry-After"), response.text
                    self.api.unavailable += 1
                # Applied before the answer was lost? Then it is DEPLOYED, and a second would be
                # a regular check-in.
                if (await self.deployment())["stage"] == "DEPLOYED":
                    break
                await asyncio.sleep(RETRY_S)
        self.api.done += 1

    async def run(self) -> None:
        """Request to arrival: approvals, the same-day briefing, kit, clearance, check-in."""
        await self.request()
        await self.proceed()

    async def proceed(self) -> None:
        """From the approvals on."""
        for role in ("planning", "resource_management", "chief_of_mission"):
            await self.decide("approval", role, "approve")
        await self.decide("training_result", "training", "pass")
        await self.decide("kit_receipt", f"member{self.member_id}", "acknowledge")
        await self.decide("country_clearance", "chief_of_mission", "approve")
        await self.arrive()
        await self.wait_for("deployed", lambda d: d["stage"] == "DEPLOYED")
