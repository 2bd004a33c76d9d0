"""Webhooks: subscriptions through the API, the URL rules, and signed deliveries to a real HTTP
receiver with retries, driven by the real workflow and worker."""

import asyncio
import json
import secrets
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from standardwebhooks import Webhook
from temporalio.client import Client

from activities.outbox import Change
from activities.webhook_fanout import enqueue_webhooks
from crc.db import session_factory
from crc.settings import Settings
from crc.stages import Stage
from crc.tables import Event, Task, WebhookDelivery, WebhookSubscription
from crc.types import EventRecord
from crc.webhook_urls import RefusedURL, check_url
from tests import factories
from tests.web_helpers import (
    World,
    a_post,
    active_member,
    count_rows,
    http_client,
    make_app,
    role_users,
    standby_member,
    terminate_workflows,
    user,
)
from web.app import create_app
from worker import build_worker

WAIT_SECONDS = 30.0
PRODUCTION = {"CRC_ENV": "production", "CRC_SECRET_KEY": secrets.token_urlsafe(48)}
OFFICES = ["chief_of_mission", "planning", "resource_management"]


@dataclass
class Received:
    """One request the receiver got."""

    headers: dict[str, str]
    body: str


@dataclass
class Receiver:
    """A real HTTP server on a free loopback port: answers each message (by webhook-id) with the
    next code of `script`, then 200, and keeps every request."""

    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def answer(self, msg_id: str) -> int:
        tries = sum(1 for r in self.received if r.headers.get("webhook-id") == msg_id)
        return self.script[tries - 1] if tries <= len(self.script) else 200


@contextmanager
def receiver(script: list[int] | None = None) -> Iterator[Receiver]:
    """Run a Receiver in a thread for the block."""
    state = Receiver(script=script or [])
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
            headers = {k.lower(): v for k, v in self.headers.items()}
            with lock:
                state.received.append(Received(headers, body))
                code = state.answer(headers.get("webhook-id", ""))
            self.send_response(code)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@asynccontextmanager
async def webhook_world(
    engine: AsyncEngine, temporal_client: Client, task_queue: str
) -> AsyncIterator[World]:
    """tests.web_helpers.web_world with a second requester and retries a fraction of a second apart."""
    users = {**role_users(), "requester2": user("requester2", ["requester"])}
    member, standby, post = active_member(), standby_member(), a_post()
    await factories.add(engine, member, standby, post, *users.values())
    app = make_app(engine, temporal_client, task_queue)
    settings = Settings(CRC_ENV="dev", TEMPORAL_TASK_QUEUE=task_queue, CRC_WEBHOOK_RETRY_INITIAL_SECONDS=0.2)
    async with build_worker(temporal_client, engine, task_queue=task_queue, settings=settings):
        try:
            async with http_client(app) as http:
                yield World(app, http, engine, temporal_client, users, member, standby, post)
        finally:
            await terminate_workflows(engine, temporal_client)


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with webhook_world(engine, temporal_client, task_queue) as w:
        yield w


async def subscribe(world: World, username: str, url: str, events: list[str]) -> dict[str, Any]:
    response = await world.http.post(
        "/api/v1/webhooks", json={"url": url, "events": events}, headers=await world.headers(username)
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def deliveries(world: World, username: str, webhook_id: str) -> dict[str, Any]:
    response = await world.http.get(
        f"/api/v1/webhooks/{webhook_id}/deliveries", headers=await world.headers(username)
    )
    assert response.status_code == 200, response.text
    log: dict[str, Any] = response.json()
    return log


async def settled(world: World, username: str, webhook_id: str, count: int) -> dict[str, Any]:
    """The delivery log once it has `count` deliveries, none of them pending."""
    log: dict[str, Any] = {}
    try:
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                log = await deliveries(world, username, webhook_id)
                if log["total"] == count and all(d["status"] != "pending" for d in log["items"]):
                    return log
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for deliveries; last log: {log}") from None


def verified(secret: str, received: Received) -> dict[str, Any]:
    """The message's body, once its signature checks out."""
    message: dict[str, Any] = Webhook(secret).verify(received.body, received.headers)
    return message


# --- The API --------------------------------------------------------------------------------


async def test_subscription_shows_its_secret_once(world: World) -> None:
    created = await subscribe(world, "requester", "http://127.0.0.1:9/hooks", ["deployment.stage_changed"])
    assert set(created) == {"id", "url", "events", "secret", "created_at"}
    assert created["id"].startswith("wh_")
    assert (created["url"], created["events"]) == ("http://127.0.0.1:9/hooks", ["deployment.stage_changed"])
    assert created["secret"].startswith("whsec_")
    assert len(Webhook(created["secret"])._whsecret) == 24
    public = {k: v for k, v in created.items() if k != "secret"}
    mine = await world.http.get("/api/v1/webhooks", headers=await world.headers("requester"))
    assert mine.json() == {"items": [public], "total": 1}
    one = await world.http.get(f"/api/v1/webhooks/{created['id']}", headers=await world.headers("requester"))
    assert one.json() == public
    everyone = await world.http.get("/api/v1/webhooks", headers=await world.headers("admin"))
    assert everyone.json() == {"items": [public], "total": 1}
    assert created["secret"] not in (mine.text + one.text + everyone.text)
    assert await deliveries(world, "requester", created["id"]) == {"items": [], "total": 0}


async def test_another_requesters_subscription_is_not_found(world: World) -> None:
    created = await subscribe(world, "requester", "http://127.0.0.1:9/hooks", ["task.created"])
    other = await world.headers("requester2")
    path = f"/api/v1/webhooks/{created['id']}"
    assert (await world.http.get(path, headers=other)).status_code == 404
    assert (await world.http.get(f"{path}/deliveries", headers=other)).status_code == 404
    assert (await world.http.delete(path, headers=other)).status_code == 404
    assert (await world.http.get("/api/v1/webhooks", headers=other)).json() == {"items": [], "total": 0}
    assert (await world.http.delete(path, headers=await world.headers("requester"))).status_code == 204
    assert (await world.http.get(path, headers=await world.headers("requester"))).status_code == 404
    assert (await world.http.delete(path, headers=await world.headers("requester"))).status_code == 404


async def test_admin_deletes_anyones_subscription(world: World) -> None:
    created = await subscribe(world, "requester", "http://127.0.0.1:9/hooks", ["task.created"])
    path = f"/api/v1/webhooks/{created['id']}"
    assert (await world.http.delete(path, headers=await world.headers("admin"))).status_code == 204
    mine = await world.http.get("/api/v1/webhooks", headers=await world.headers("requester"))
    assert mine.json() == {"items": [], "total": 0}


@pytest.mark.parametrize("role", ["planning", "operations", "member", "director"])
async def test_other_roles_may_not_subscribe(world: World, role: str) -> None:
    headers = await world.headers(role)
    body = {"url": "http://127.0.0.1:9/hooks", "events": ["task.created"]}
    assert (await world.http.post("/api/v1/webhooks", json=body, headers=headers)).status_code == 403
    assert (await world.http.get("/api/v1/webhooks", headers=headers)).status_code == 403
    assert (await world.http.get("/api/v1/webhooks/wh_x", headers=headers)).status_code == 403
    assert await count_rows(world.engine, select(WebhookSubscription)) == 0


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"url": "http://127.0.0.1:9/", "events": []}, "events", "at least 1 item"),
        ({"url": "http://127.0.0.1:9/", "events": ["deployment.exploded"]}, "events", "Input should be"),
        ({"url": "http://127.0.0.1:9/"}, "events", "Field required"),
        ({"url": "ftp://127.0.0.1/", "events": ["task.created"]}, "url", "use an http:// or https:// URL"),
        ({"url": "not a url", "events": ["task.created"]}, "url", "use an http:// or https:// URL"),
        ({"url": "http:///hooks", "events": ["task.created"]}, "url", "the URL needs a host"),
        ({"url": "http://10.1.2.3/hooks", "events": ["task.created"]}, "url", "a private address (10.1.2.3)"),
        ({"url": "http://169.254.169.254/", "events": ["task.created"]}, "url", "a link-local address"),
        ({"url": "http://u:p@127.0.0.1/", "events": ["task.created"]}, "url", "no user name or password"),
    ],
)
async def test_bad_subscription_is_refused(
    world: World, body: dict[str, Any], field: str, message: str
) -> None:
    response = await world.http.post("/api/v1/webhooks", json=body, headers=await world.headers("requester"))
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["loc"][:2] == ["body", field]
    assert message in problem["msg"]
    assert await count_rows(world.engine, select(WebhookSubscription)) == 0


async def test_openapi_documents_the_webhooks() -> None:
    schema = create_app(Settings(CRC_ENV="dev")).openapi()
    create = schema["paths"]["/api/v1/webhooks"]["post"]
    assert create["summary"] == "Subscribe a URL to events"
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/WebhookCreated"
    }
    assert set(create["responses"]) >= {"201", "401", "403", "422"}
    log = schema["paths"]["/api/v1/webhooks/{webhook_id}/deliveries"]["get"]
    assert log["summary"] == "A webhook's delivery log"
    assert "404" in log["responses"]
    assert "secret" not in schema["components"]["schemas"]["WebhookPublic"]["properties"]


# --- The URL rules --------------------------------------------------------------------------


async def refusal(url: str, **settings: Any) -> str | None:
    try:
        await check_url(url, Settings(**settings))
    except RefusedURL as exc:
        return str(exc)
    return None


async def test_production_needs_https_and_no_intranet() -> None:
    assert await refusal("http://203.0.113.9/hooks", **PRODUCTION) == "use an https:// URL"
    assert await refusal("https://127.0.0.1/hooks", **PRODUCTION) == (
        "the host 127.0.0.1 resolves to a loopback address (127.0.0.1); an operator may allow it in "
        "CRC_WEBHOOK_ALLOW_HOSTS"
    )
    assert "resolves to a loopback address (127.0.0.1)" in (
        await refusal("https://localhost/", **PRODUCTION) or ""
    )
    assert "a private address (192.168.1.20)" in (await refusal("https://192.168.1.20/", **PRODUCTION) or "")
    assert "a private address (172.16.0.1)" in (await refusal("https://172.16.0.1/", **PRODUCTION) or "")
    assert "a loopback address (::1)" in (await refusal("https://[::1]/", **PRODUCTION) or "")
    assert "a loopback address (::ffff:127.0.0.1)" in (
        await refusal("https://[::ffff:127.0.0.1]/", **PRODUCTION) or ""
    )
    assert "a link-local address (fe80::1)" in (await refusal("https://[fe80::1]/", **PRODUCTION) or "")
    assert "a reserved address (0.0.0.0)" in (await refusal("https://0.0.0.0/", **PRODUCTION) or "")
    assert "a reserved address (240.0.0.1)" in (await refusal("https://240.0.0.1/", **PRODUCTION) or "")
    assert await refusal("https://8.8.8.8/hooks", **PRODUCTION) is None
    assert await refusal("https://no-such-host.invalid/", **PRODUCTION) == (
        "the host no-such-host.invalid does not resolve"
    )


async def test_allow_list_lets_a_named_host_reach_the_intranet() -> None:
    allowed = {**PRODUCTION, "CRC_WEBHOOK_ALLOW_HOSTS": " LocalHost , hooks.internal"}
    assert await refusal("https://localhost:8443/hooks", **allowed) is None
    assert await refusal("https://127.0.0.1/hooks", **allowed) is not None  # only the names listed
    assert await refusal("http://localhost/hooks", **allowed) == "use an https:// URL"


async def test_dev_allows_http_and_loopback_only() -> None:
    assert await refusal("http://127.0.0.1:8080/hooks", CRC_ENV="dev") is None
    assert await refusal("http://localhost/hooks", CRC_ENV="dev") is None
    assert await refusal("https://[::1]:9/", CRC_ENV="dev") is None
    assert "a private address (10.0.0.7)" in (await refusal("http://10.0.0.7/", CRC_ENV="dev") or "")
    assert await refusal("file:///etc/passwd", CRC_ENV="dev") == "use an http:// or https:// URL"


# --- Deliveries -----------------------------------------------------------------------------


async def test_delivery_is_retried_until_the_receiver_takes_it(world: World) -> None:
    with receiver(script=[500, 500]) as hooks:
        admin = await subscribe(world, "admin", hooks.url, ["task.created"])
        created = await world.submit()
        tasks = await world.open_tasks(created["id"], 3)
        log = await settled(world, "admin", admin["id"], 3)
    assert [(d["status"], d["attempts"], d["last_status_code"], d["last_error"]) for d in log["items"]] == [
        ("delivered", 3, 200, None)
    ] * 3
    assert {d["type"] for d in log["items"]} == {"task.created"}
    assert all(d["delivered_at"] is not None for d in log["items"])
    assert len(hooks.received) == 9
    by_id: dict[str, list[dict[str, Any]]] = {}
    for received in hooks.received:
        by_id.setdefault(received.headers["webhook-id"], []).append(verified(admin["secret"], received))
    assert sorted(by_id) == sorted(d["msg_id"] for d in log["items"])
    sent = sorted((m[0]["data"]["role"], m[0]["data"]["task_id"]) for m in by_id.values())
    assert sent == sorted((role, task["id"]) for role, task in tasks.items())
    for messages in by_id.values():
        assert len(messages) == 3 and messages[0] == messages[1] == messages[2]  # the same body each time
        [message] = messages[:1]
        assert message["type"] == "task.created"
        assert message["timestamp"].endswith("Z")
        assert message["data"]["deployment_id"] == created["id"]
        assert message["data"]["kind"] == "approval"
        assert message["data"]["title"] == tasks[message["data"]["role"]]["title"]
    with pytest.raises(Exception, match="No matching signature"):
        Webhook("whsec_" + "A" * 32).verify(hooks.received[0].body, hooks.received[0].headers)
    await fan_out_again_enqueues_nothing(world, created["id"], [t["id"] for t in tasks.values()])


async def fan_out_again_enqueues_nothing(world: World, deployment_id: str, task_ids: list[str]) -> None:
    """A retried write (the same event) stores no second delivery and sends nothing again."""
    async with session_factory(world.engine).begin() as session:
        opened = (
            await session.exec(
                select(Event).where(Event.deployment_id == deployment_id, Event.kind == "approval_opened")
            )
        ).one()
        event = EventRecord(
            key=opened.key,
            kind=opened.kind,
            stage=Stage(opened.stage),
            actor=opened.actor,
            message=opened.message,
            at=opened.occurred_at,
        )
        assert await enqueue_webhooks(session, Change(deployment_id, event, opened_task_ids=task_ids)) == []
    assert await count_rows(world.engine, select(WebhookDelivery)) == 3


async def test_requester_is_told_when_their_request_reaches_vetting(world: World) -> None:
    with receiver() as hooks:
        mine = await subscribe(world, "requester", hooks.url, ["deployment.stage_changed"])
        others = await subscribe(world, "requester2", hooks.url + "/other", ["deployment.stage_changed"])
        created = await world.submit()
        tasks = await world.open_tasks(created["id"], 3)
        for role in OFFICES:
            assert (await world.complete(tasks[role]["id"], role, "approve")).status_code == 200
        await world.wait_for(created["id"], lambda d: d["stage"] == Stage.VETTING)
        log = await settled(world, "requester", mine["id"], 2)
    # Submitting moved it to APPROVAL (the first message); approval to VETTING.
    delivery, submitted = log["items"]
    assert json.loads(next(r.body for r in hooks.received if r.headers["webhook-id"] == submitted["msg_id"]))[
        "data"
    ] == {"deployment_id": created["id"], "stage": "APPROVAL", "previous_stage": "REQUESTED"}
    assert (delivery["type"], delivery["status"], delivery["attempts"], delivery["last_status_code"]) == (
        "deployment.stage_changed",
        "delivered",
        1,
        200,
    )
    [received] = [r for r in hooks.received if r.headers["webhook-id"] == delivery["msg_id"]]
    assert received.headers["webhook-id"] == delivery["msg_id"]
    assert received.headers["webhook-signature"].startswith("v1,")
    message = verified(mine["secret"], received)
    assert message["type"] == "deployment.stage_changed"
    assert message["data"] == {
        "deployment_id": created["id"],
        "stage": "VETTING",
        "previous_stage": "APPROVAL",
    }
    assert json.loads(received.body) == message
    assert await deliveries(world, "requester2", others["id"]) == {"items": [], "total": 0}


async def test_deleted_subscription_gets_nothing_more(world: World) -> None:
    with receiver() as hooks:
        admin = await subscribe(world, "admin", hooks.url, ["task.created", "task.completed"])
        headers = await world.headers("admin")
        assert (
            await world.http.delete(f"/api/v1/webhooks/{admin['id']}", headers=headers)
        ).status_code == 204
        created = await world.submit()
        await world.open_tasks(created["id"], 3)
        async with session_factory(world.engine)() as session:
            opened = (await session.exec(select(Task).where(col(Task.deployment_id) == created["id"]))).all()
        assert len(opened) == 3
    assert hooks.received == []
    assert await count_rows(world.engine, select(WebhookDelivery)) == 0
