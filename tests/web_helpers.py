"""Factories and helpers for the web tests: users per role, members, posts, an app and clients."""

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from temporalio.client import Client

from crc.db import session_factory
from crc.departure_tables import PostDeparture
from crc.domain import Component
from crc.passwords import hash_password
from crc.roles import Role
from crc.settings import Settings
from crc.stages import Stage
from crc.tables import Deployment, Member, Post, Task, User
from tests import factories
from web.app import create_app
from web.services.requests import today_utc
from worker import build_worker

PASSWORD = "correct horse battery staple"
WAIT_SECONDS = 15.0


@cache
def _password_hash() -> str:
    # argon2 is slow on purpose; one hash serves every test user.
    return hash_password(PASSWORD)


def user(username: str, roles: list[str], **overrides: Any) -> User:
    """A user with the test password."""
    fields: dict[str, Any] = {
        "username": username,
        "full_name": username.replace("_", " ").title(),
        "password_hash": _password_hash(),
        "roles": roles,
    }
    fields.update(overrides)
    return User(**fields)


def open_task(deployment_id: str, **overrides: Any) -> Task:
    """An open planning approval on the deployment, opened two hours ago and due in three days."""
    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "deployment_id": deployment_id,
        "kind": "approval",
        "stage": Stage.APPROVAL.value,
        "role": "planning",
        "title": "Operational fit",
        "outcomes": ["approve", "reject", "request_changes"],
        "due_at": now + timedelta(days=3),
        "created_at": now - timedelta(hours=2),
    }
    fields.update(overrides)
    return Task(**fields)


def role_users() -> dict[str, User]:
    """One user per role, named after it (as the dev seed does)."""
    return {r.value: user(r.value, [r.value]) for r in Role}


def _held_at_vetting() -> dict[str, Any]:
    # A passport that runs out within six months of any test stay fails vetting, so an
    # approved deployment waits at VETTING for a review instead of moving on by itself.
    return {"passport_expires": today_utc() + timedelta(days=30)}


def active_member(**overrides: Any) -> Member:
    """An Active (CRC-A) member whose approved deployments wait at VETTING."""
    return factories.member(**{"component": Component.ACTIVE.value, **_held_at_vetting(), **overrides})


def standby_member(**overrides: Any) -> Member:
    """A Standby (CRC-S) member of another agency, held at VETTING like active_member."""
    defaults = {
        "component": Component.STANDBY.value,
        "agency": "USAID",
        "name": "Sam Standby",
        **_held_at_vetting(),
    }
    return factories.member(**{**defaults, **overrides})


def a_post(**overrides: Any) -> Post:
    """A post with a code of its own."""
    return factories.post(**{"code": f"P{uuid.uuid4().hex[:6].upper()}", **overrides})


def request_body(member: Member, post: Post, **overrides: Any) -> dict[str, Any]:
    """A valid JSON body for POST /api/v1/deployments, 45 days ahead."""
    body: dict[str, Any] = {
        "member_id": member.id,
        "post_code": post.code,
        "sector": "rule_of_law",
        "role_title": "Rule of law adviser",
        "start_date": (today_utc() + timedelta(days=45)).isoformat(),
        "duration_days": 90,
        "justification": "The court reform programme needs an adviser.",
    }
    body.update(overrides)
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in body.items()}


def make_app(engine: AsyncEngine, temporal_client: Client, task_queue: str, **settings_: Any) -> FastAPI:
    """The web app on the test database and Temporal server (`settings_` override settings)."""
    settings = Settings(**{"CRC_ENV": "dev", "TEMPORAL_TASK_QUEUE": task_queue, **settings_})
    return create_app(settings, engine=engine, temporal_client=temporal_client)


def http_client(app: FastAPI, *, raise_app_exceptions: bool = True) -> httpx.AsyncClient:
    """An HTTP client that calls the app in-process (False: see the app's 500 answers)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@dataclass
class World:
    """An app with its users, two members (Active, Standby) and a post, and a client."""

    app: FastAPI
    http: httpx.AsyncClient
    engine: AsyncEngine
    temporal: Client
    users: dict[str, User]
    member: Member
    standby: Member
    post: Post
    _tokens: dict[str, str] = field(default_factory=dict)

    async def headers(self, username: str) -> dict[str, str]:
        """Authorization headers for a user (a fresh token, cached per test)."""
        if username not in self._tokens:
            response = await self.http.post(
                "/api/v1/auth/token", data={"username": username, "password": PASSWORD}
            )
            assert response.status_code == 200, response.text
            self._tokens[username] = response.json()["access_token"]
        return {"Authorization": f"Bearer {self._tokens[username]}"}

    async def add(self, *rows: Any) -> None:
        """Insert rows and refresh their ids."""
        await factories.add(self.engine, *rows)

    async def submit(self, username: str = "requester", **overrides: Any) -> dict[str, Any]:
        """POST a valid request for the Active member and return the new deployment."""
        member = overrides.pop("member", self.member)
        response = await self.http.post(
            "/api/v1/deployments",
            json=request_body(member, self.post, **overrides),
            headers=await self.headers(username),
        )
        assert response.status_code == 201, response.text
        deployment: dict[str, Any] = response.json()
        return deployment

    async def deployment(self, deployment_id: str, username: str = "requester") -> dict[str, Any]:
        """GET one deployment with its timeline and open tasks."""
        response = await self.http.get(
            f"/api/v1/deployments/{deployment_id}", headers=await self.headers(username)
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def wait_for(
        self,
        deployment_id: str,
        done: Callable[[dict[str, Any]], bool],
        username: str = "requester",
    ) -> dict[str, Any]:
        """Poll the deployment as `username` (who must see it) until `done` holds (the worker
        writes the read-model)."""
        current: dict[str, Any] = {}
        try:
            async with asyncio.timeout(WAIT_SECONDS):
                while True:
                    current = await self.deployment(deployment_id, username)
                    if done(current):
                        return current
                    await asyncio.sleep(0.1)
        except TimeoutError:
            raise AssertionError(f"timed out waiting; last state: {current}") from None

    async def open_tasks(
        self, deployment_id: str, count: int, username: str = "requester"
    ) -> dict[str, dict[str, Any]]:
        """Wait until the deployment has `count` open tasks; returns them by role."""
        current = await self.wait_for(deployment_id, lambda d: len(d["open_tasks"]) == count, username)
        return {t["role"]: t for t in current["open_tasks"]}

    async def complete(self, task_id: str, username: str, outcome: str, **body: Any) -> httpx.Response:
        """POST /api/v1/tasks/{id}/complete as a user."""
        return await self.http.post(
            f"/api/v1/tasks/{task_id}/complete",
            json={"outcome": outcome, **body},
            headers=await self.headers(username),
        )

    @asynccontextmanager
    async def signed_in(
        self, username: str, *, raise_app_exceptions: bool = True
    ) -> AsyncIterator[httpx.AsyncClient]:
        """A client of its own with a signed-in page session (cookies kept)."""
        async with http_client(self.app, raise_app_exceptions=raise_app_exceptions) as browser:
            page = await browser.get("/login")
            response = await browser.post(
                "/login",
                data={
                    "username": username,
                    "password": PASSWORD,
                    "csrf_token": csrf_of(page.text),
                },
            )
            assert response.status_code == 303, response.text
            yield browser


class MovableClock:
    """A clock for app.state.clock that stands still until a test moves it (whole seconds)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the time forward by a timedelta's keyword arguments."""
        self.now += timedelta(**delta)


def row_ids(html: str) -> list[str]:
    """The task ids of the inbox rows, in order."""
    return re.findall(r'<tr id="task-([0-9a-f-]+)"', html)


def nav_count(html: str) -> int:
    """The number of open tasks the navigation shows."""
    found = re.search(r'<span id="inbox-count"[^>]*><span class="visually-hidden">\(</span>(\d+)<', html)
    assert found, "no inbox count"
    return int(found.group(1))


def csrf_of(html: str) -> str:
    """The CSRF token in a page's hidden input."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


@asynccontextmanager
async def web_world(
    engine: AsyncEngine, temporal_client: Client, task_queue: str, **settings_: Any
) -> AsyncIterator[World]:
    """Users for every role, an Active and a Standby member and a post, and the app's client
    (`settings_` override the app's settings)."""
    users = role_users()
    member, standby, post = active_member(), standby_member(), a_post()
    await factories.add(engine, member, standby, post, *users.values())
    app = make_app(engine, temporal_client, task_queue, **settings_)
    # Always a worker: a workflow no worker ever picked up stalls the shared time-skipping
    # server's clock for every later test, even once terminated.
    async with build_worker(temporal_client, engine, task_queue=task_queue):
        try:
            async with http_client(app) as http:
                yield World(app, http, engine, temporal_client, users, member, standby, post)
        finally:
            await terminate_workflows(engine, temporal_client)


async def terminate_workflows(engine: AsyncEngine, temporal_client: Client) -> None:
    """End the workflows this test started: left running on the shared time-skipping server,
    their timers would fire with no worker and stall a later test's time skip."""
    async with session_factory(engine)() as session:
        workflow_ids = [
            *(await session.exec(select(Deployment.workflow_id))).all(),
            *(await session.exec(select(PostDeparture.workflow_id))).all(),
        ]
    for workflow_id in workflow_ids:
        with suppress(Exception):  # already finished, or never started
            await temporal_client.get_workflow_handle(workflow_id).terminate("test finished")


async def count_rows(engine: AsyncEngine, query: Any) -> int:
    """How many rows a select returns."""
    async with session_factory(engine)() as session:
        return len((await session.exec(query)).all())


async def gather(*calls: Awaitable[Any]) -> list[Any]:
    """Run calls at once (asyncio.gather, typed)."""
    return list(await asyncio.gather(*calls))
