"""Notifications: who is told of what, the API and pages to read them, preferences, and email once."""

import re
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities import outbox
from activities.mail import MailActivities
from activities.outbox import Deliverer, Deliveries
from crc.db import session_factory
from crc.settings import get_settings
from crc.tables import Notification, NotificationPreference, OutOfOffice
from tests import factories
from tests.mail_helpers import Mailbox, parts
from tests.web_helpers import World, csrf_of, user, web_world
from tests.workflow_helpers import db_tasks, eventually, open_tasks_by_role, start
from worker import activities_for
from workflows.delivery import DeliveryWorkflow
from workflows.deployment import DeploymentWorkflow

SCOPED_ELSEWHERE = "XYZ"


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        await w.add(
            user("com_here", ["chief_of_mission"], scopes={"chief_of_mission": [w.post.code]}),
            user("com_elsewhere", ["chief_of_mission"], scopes={"chief_of_mission": [SCOPED_ELSEWHERE]}),
        )
        yield w


async def notifications(world: World, username: str, **params: Any) -> dict[str, Any]:
    response = await world.http.get(
        "/api/v1/notifications", params=params, headers=await world.headers(username)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_request_tells_each_approver_in_scope_and_a_decision_tells_the_requester(
    world: World,
) -> None:
    created = await world.submit()
    tasks = await world.open_tasks(created["id"], 3)
    about = f"{world.member.name} to {world.post.code}"

    planning = await notifications(world, "planning", unread="true")
    [note] = planning["items"]
    assert (planning["total"], planning["unread"]) == (1, 1)
    assert {k: note[k] for k in ("kind", "subject", "link", "deployment_id", "task_id", "read_at")} == {
        "kind": "task",
        "subject": f"New task: {tasks['planning']['title']}",
        "link": f"/deployments/{created['id']}",
        "deployment_id": created["id"],
        "task_id": tasks["planning"]["id"],
        "read_at": None,
    }
    # Each Chief of Mission whose scope holds the post, none elsewhere; the requester hears nothing
    # of tasks that are not theirs.
    for username, count in (("chief_of_mission", 1), ("com_here", 1), ("com_elsewhere", 0), ("requester", 0)):
        assert (await notifications(world, username))["total"] == count, username

    approved = await world.complete(tasks["planning"]["id"], "planning", "approve")
    assert approved.status_code == 200, approved.text
    changes = await world.complete(
        tasks["chief_of_mission"]["id"], "com_here", "request_changes", comment="Dates"
    )
    assert changes.status_code == 200, changes.text
    await world.wait_for(created["id"], lambda d: d["waiting_for"] == "amendment")
    told = await notifications(world, "requester")
    assert [(n["kind"], n["subject"]) for n in told["items"]] == [
        ("decision", f"Chief of Mission asked for changes to your request: {about}"),
        ("decision", f"Planning approved your request: {about}"),
    ]


async def test_marking_read_one_or_all_and_nobody_reads_anothers(world: World) -> None:
    created = await world.submit()
    await world.open_tasks(created["id"], 3)
    [note] = (await notifications(world, "planning"))["items"]

    theirs = await world.http.post(
        f"/api/v1/notifications/{note['id']}/read", headers=await world.headers("resource_management")
    )
    assert (theirs.status_code, theirs.json()) == (404, {"detail": f"no notification {note['id']}"})
    assert (await notifications(world, "planning"))["unread"] == 1

    read = await world.http.post(
        f"/api/v1/notifications/{note['id']}/read", headers=await world.headers("planning")
    )
    assert read.status_code == 200, read.text
    assert read.json()["read_at"] is not None
    again = await world.http.post(
        f"/api/v1/notifications/{note['id']}/read", headers=await world.headers("planning")
    )
    assert again.json()["read_at"] == read.json()["read_at"]
    after = await notifications(world, "planning", unread="true")
    assert (after["items"], after["total"], after["unread"]) == ([], 0, 0)
    assert (await notifications(world, "planning", unread="false"))["total"] == 1

    everything = await world.http.post(
        "/api/v1/notifications/read-all", headers=await world.headers("chief_of_mission")
    )
    assert everything.json() == {"marked": 1}
    assert (await notifications(world, "chief_of_mission"))["unread"] == 0
    assert (await notifications(world, "resource_management"))["unread"] == 1


async def test_preferences_by_kind_with_clear_errors_that_write_nothing(world: World) -> None:
    headers = await world.headers("planning")
    defaults = (await world.http.get("/api/v1/me/notification-preferences", headers=headers)).json()["items"]
    assert [(p["kind"], p["delivery"], p["locked"]) for p in defaults] == [
        ("task", "immediate", False),
        ("reminder", "immediate", False),
        ("escalation", "immediate", True),
        ("decision", "immediate", False),
        ("stage_change", "in_app", False),
        ("alert", "immediate", False),
        ("expiry", "immediate", False),
        ("cancellation", "immediate", False),
    ]
    saved = await world.http.put(
        "/api/v1/me/notification-preferences",
        json={"preferences": {"stage_change": "digest", "reminder": "in_app"}},
        headers=headers,
    )
    assert saved.status_code == 200, saved.text
    chosen = {p["kind"]: p["delivery"] for p in saved.json()["items"]}
    assert (chosen["stage_change"], chosen["reminder"], chosen["task"]) == ("digest", "in_app", "immediate")

    wrong = await world.http.put(
        "/api/v1/me/notification-preferences",
        json={
            "preferences": {
                "task": "in_app",
                "stage_change": "weekly",
                "gossip": "digest",
                "escalation": "in_app",
            }
        },
        headers=headers,
    )
    assert wrong.status_code == 422
    assert [(e["loc"], e["msg"]) for e in wrong.json()["detail"]] == [
        (["body", "preferences", "stage_change"], "choose one of immediate, digest, in_app"),
        (
            ["body", "preferences", "gossip"],
            "no such kind of notification; the kinds are task, reminder, escalation, decision, "
            "stage_change, alert, expiry, cancellation",
        ),
        (["body", "preferences", "escalation"], "Escalations to a director are always emailed at once"),
    ]
    async with session_factory(world.engine)() as session:
        rows = await session.exec(
            select(NotificationPreference).where(col(NotificationPreference.username) == "planning")
        )
        assert sorted((r.kind, r.delivery) for r in rows) == [
            ("reminder", "in_app"),
            ("stage_change", "digest"),
        ]


async def test_email_follows_each_users_choice(world: World, mailbox: Mailbox) -> None:
    async with session_factory(world.engine).begin() as session:
        for username in ("planning", "resource_management"):
            row = world.users[username]
            row.email = f"{username}@crc.example.gov"
            session.add(row)
        session.add(NotificationPreference(username="planning", kind="task", delivery="in_app"))
    created = await world.submit()
    tasks = await world.open_tasks(created["id"], 3)
    link = f"{get_settings().CRC_BASE_URL}/deployments/{created['id']}"

    [sent] = await mailbox.wait_for(lambda m: link in parts(m)[0])
    assert (sent["To"], sent["Subject"].strip()) == (
        "resource_management@crc.example.gov",
        f"New task: {tasks['resource_management']['title']}",
    )
    assert f'href="{link}"' in parts(sent)[1]

    async def emailed() -> list[str]:
        async with session_factory(world.engine)() as session:
            query = select(Notification.username).where(
                col(Notification.deployment_id) == created["id"], col(Notification.emailed_at).is_not(None)
            )
            return list(await session.exec(query))

    # The activity marks the notification emailed once the SMTP server has taken the message.
    assert await eventually(emailed, bool) == ["resource_management"]
    # Planning chose the app only: told there, never by email.
    assert (await notifications(world, "planning"))["total"] == 1
    assert [m["To"] for m in mailbox.matching(lambda m: link in parts(m)[0])] == [
        "resource_management@crc.example.gov"
    ]


class CrashOnce(Deliverer):
    """A worker that dies once right after a write committed, before its delivery started."""

    crashed = False

    async def __call__(self, deliveries: Deliveries) -> None:
        if deliveries.emails and not self.crashed:
            CrashOnce.crashed = True
            raise RuntimeError("worker lost after the commit")
        await super().__call__(deliveries)


async def test_a_notify_activity_retried_after_a_crash_tells_once_and_emails_once(
    temporal_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str, mailbox: Mailbox
) -> None:
    request = await factories.requested_deployment(engine)
    await factories.add(engine, factories.user("planner", "planning"))
    client = temporal_env.client
    mail = MailActivities(engine, get_settings())
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[DeploymentWorkflow, DeliveryWorkflow],
        activities=[
            *activities_for(engine, deliver=CrashOnce(client, task_queue)),
            mail.send_notification_email,
        ],
    ):
        handle = await start(client, task_queue, request)
        tasks = await open_tasks_by_role(handle, 3)
        link = f"/deployments/{request.deployment_id}"
        [sent] = await mailbox.wait_for(lambda m: link in parts(m)[0])
        title = {t.role: t.title for t in await db_tasks(engine, request.deployment_id)}["planning"]
        assert (sent["To"], sent["Subject"].strip()) == (
            "planner@crc.example.gov",
            f"New task: {title}",
        )
        assert CrashOnce.crashed

        async def notifications() -> list[Notification]:
            async with session_factory(engine)() as session:
                query = select(Notification).where(col(Notification.deployment_id) == request.deployment_id)
                return list(await session.exec(query))

        # The mark is written once the SMTP server has taken the message, a moment after it arrives.
        rows = await eventually(notifications, lambda rows: all(n.emailed_at for n in rows))
        assert [(n.username, n.kind, n.task_id) for n in rows] == [("planner", "task", tasks["planning"])]
        assert rows[0].emailed_at is not None
        # The email activity run again (a retry after it sent) sends nothing more.
        assert rows[0].id is not None
        await ActivityEnvironment().run(mail.send_notification_email, rows[0].id)
        await handle.terminate("test finished")
    assert len(mailbox.matching(lambda m: link in parts(m)[0])) == 1


async def test_pages_list_open_and_mark_read_and_settings_save(world: World) -> None:
    created = await world.submit()
    await world.open_tasks(created["id"], 3)
    [note] = (await notifications(world, "planning"))["items"]
    async with world.signed_in("planning") as browser:
        page = await browser.get("/notifications")
        assert page.status_code == 200
        assert note["subject"] in page.text and 'id="notification-bell"' in page.text
        assert '<span class="count bell__count">1<' in page.text
        # Every signed-in page carries the bell with its count, the inbox too.
        for other in ("/", "/inbox", "/deployments", "/account", "/settings"):
            shown = (await browser.get(other)).text
            assert '<span class="count bell__count">1<' in shown, other
        token = csrf_of(page.text)

        assert (await browser.post(f"/notifications/{note['id']}/read")).status_code == 403  # no CSRF token
        marked = await browser.post(
            f"/notifications/{note['id']}/read", data={"csrf_token": token}, headers={"HX-Request": "true"}
        )
        assert marked.status_code == 200
        assert f'id="notification-{note["id"]}"' in marked.text and 'hx-swap-oob="true"' in marked.text
        assert "bell__count" not in marked.text  # nothing unread now
        opened = await browser.get(f"/notifications/{note['id']}/open")
        assert (opened.status_code, opened.headers["location"]) == (303, f"/deployments/{created['id']}")
        assert (await browser.get("/notifications/999999/open")).status_code == 404

        settings = await browser.get("/settings")
        assert settings.status_code == 200 and 'name="stage_change" value="digest"' in settings.text
        refused = await browser.post(
            "/settings/notifications", data={"csrf_token": token, "stage_change": "hourly"}
        )
        assert refused.status_code == 422 and "choose one of immediate, digest, in_app" in refused.text
        saved = await browser.post(
            "/settings/notifications", data={"csrf_token": token, "stage_change": "digest"}
        )
        assert (saved.status_code, saved.headers["location"]) == (303, "/settings")
        after = await browser.get("/settings")
        assert "Your notification settings are saved." in after.text
        assert 'value="digest" checked' in after.text


async def test_a_delegate_is_told_of_the_tasks_offered_to_them(world: World) -> None:
    today = date.today()
    await world.add(
        OutOfOffice(
            username="chief_of_mission",
            delegate="com_elsewhere",
            starts_on=today,
            ends_on=today + timedelta(days=3),
            roles=["chief_of_mission"],
        )
    )
    created = await world.submit()
    tasks = await world.open_tasks(created["id"], 3)
    # Outside their own scope, but offered the absent Chief of Mission's task in the inbox.
    told = await notifications(world, "com_elsewhere")
    assert [(n["kind"], n["task_id"]) for n in told["items"]] == [("task", tasks["chief_of_mission"]["id"])]
    assert (await notifications(world, "chief_of_mission"))["total"] == 1


async def test_a_stage_change_and_a_cancellation_reach_the_requester_by_email(
    world: World, mailbox: Mailbox
) -> None:
    async with session_factory(world.engine).begin() as session:
        requester = world.users["requester"]
        requester.email = "requester@crc.example.gov"
        session.add(requester)
        session.add(NotificationPreference(username="requester", kind="stage_change", delivery="immediate"))
    created = await world.submit()
    tasks = await world.open_tasks(created["id"], 3)
    for role, task in tasks.items():
        assert (await world.complete(task["id"], role, "approve")).status_code == 200
    await world.wait_for(created["id"], lambda d: d["stage"] not in ("REQUESTED", "APPROVAL"))
    cancelled = await world.http.post(
        f"/api/v1/deployments/{created['id']}/cancel",
        json={"reason": "Post closed"},
        headers=await world.headers("director"),
    )
    assert cancelled.status_code == 200, cancelled.text
    await world.wait_for(created["id"], lambda d: d["stage"] == "CANCELLED")
    about = f"{world.member.name} to {world.post.code}"
    link = f"/deployments/{created['id']}"
    [cancel] = await mailbox.wait_for(
        lambda m: link in parts(m)[0] and "Cancelled by Director" in m["Subject"]
    )
    assert cancel["To"] == "requester@crc.example.gov"
    assert re.fullmatch(
        rf"{re.escape(about)}: (Vetting|Training|Equipping|Travel) → Cancelled\. "
        "Cancelled by Director: Post closed",
        cancel["Subject"].strip(),
    )
    # The stage change the requester chose to hear of at once came by email too.
    [vetting] = await mailbox.wait_for(lambda m: link in parts(m)[0] and "Approval → Vetting" in m["Subject"])
    assert vetting["To"] == "requester@crc.example.gov"
    told = (await notifications(world, "requester"))["items"]
    assert told[0]["kind"] == "cancellation"
    assert {"decision", "stage_change"} == {n["kind"] for n in told[1:]}


async def test_a_write_reads_only_the_users_it_may_tell(engine: AsyncEngine) -> None:
    request = await factories.requested_deployment(engine, requested_by="req.user")
    other = factories.member()
    await factories.add(engine, other)
    today = date.today()
    await factories.add(
        engine,
        factories.user("req.user", "requester"),
        factories.user("planning", "planning"),
        factories.user("both", "member", "planning", member_id=other.id),
        factories.user("the_member", "member", member_id=request.member_id),
        factories.user("someone_else", "member"),
        factories.user("stand_in", "member"),
        factories.user("away", "planning"),
        OutOfOffice(username="away", delegate="stand_in", starts_on=today, ends_on=today, roles=["planning"]),
    )
    async with session_factory(engine)() as session:
        audience = await outbox.audience_on(session, request.deployment_id, today)
    assert audience is not None
    # Another deployment's member who is nothing else is left unread; a delegate is read anyway.
    assert sorted(u.username for u in audience.users) == [
        "away",
        "both",
        "planning",
        "req.user",
        "stand_in",
        "the_member",
    ]
