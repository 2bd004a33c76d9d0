"""Email over real SMTP: a notification through the delivery workflow and a worker, once however
often its activity runs; the set-password link emailed when an admin creates a user or issues one."""

import re
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from activities.mail import MailActivities
from activities.outbox import DELIVERY_WORKFLOW, Deliveries
from crc.settings import Settings
from crc.tables import Notification
from tests import factories
from tests.mail_helpers import SmtpSink, free_port, parts
from tests.web_helpers import World, csrf_of, user, web_world
from worker import build_worker

BASE_URL = "https://crc.example.gov"


async def test_a_notification_is_emailed_through_a_worker_once(
    engine: AsyncEngine, temporal_client: Client, task_queue: str, smtp_sink: SmtpSink
) -> None:
    member, post = factories.member(), factories.post(code=f"P{uuid.uuid4().hex[:6].upper()}")
    await factories.add(engine, member, post)
    assert member.id is not None
    (deployment_id,) = await factories.deployment_rows(engine, 1, member_id=member.id, post_code=post.code)
    note = Notification(
        key=f"{deployment_id}:opened:planning",
        username="planning",
        kind="task",
        subject="New task: Operational fit",
        link=f"/deployments/{deployment_id}",
        deployment_id=deployment_id,
    )
    await factories.add(engine, user("planning", ["planning"], email="planning@crc.example.gov"), note)
    assert note.id is not None
    settings = Settings(CRC_ENV="dev", CRC_BASE_URL=BASE_URL, **smtp_sink.settings())
    async with build_worker(temporal_client, engine, task_queue=task_queue, settings=settings):
        await temporal_client.execute_workflow(
            DELIVERY_WORKFLOW,
            Deliveries(key="k", emails=[note.id]),
            id=f"deliver/{uuid.uuid4()}",
            task_queue=task_queue,
        )
        (message,) = await smtp_sink.wait_for(1)
        assert (message["To"], message["Subject"]) == (
            "planning@crc.example.gov",
            "New task: Operational fit",
        )
        text, html = parts(message)
        link = f"{BASE_URL}/deployments/{deployment_id}"
        assert f"Open it: {link}\n" in text
        assert f'<a href="{link}"' in html
        # The activity run again (a retry after the send): nothing more is sent.
        await temporal_client.execute_workflow(
            DELIVERY_WORKFLOW,
            Deliveries(key="k", emails=[note.id]),
            id=f"deliver/{uuid.uuid4()}",
            task_queue=task_queue,
        )
    await MailActivities(engine, settings).send_notification_email(note.id)
    assert len(smtp_sink.messages) == 1


@pytest.fixture
async def world(
    engine: AsyncEngine, temporal_client: Client, task_queue: str, smtp_sink: SmtpSink
) -> AsyncIterator[World]:
    async with web_world(
        engine, temporal_client, task_queue, CRC_BASE_URL=BASE_URL, **smtp_sink.settings()
    ) as w:
        yield w


def _shown_link(page: str) -> str:
    found = re.search(
        r'id="set-password-link" type="text" readonly value="http://test(/set-password/[^"]+)"', page
    )
    assert found, "no set-password link on the page"
    return found.group(1)


async def test_the_set_password_link_is_emailed_and_shown(world: World, smtp_sink: SmtpSink) -> None:
    async with world.signed_in("admin") as browser:
        token = csrf_of((await browser.get("/")).text)
        data = {
            "username": "avery",
            "email": "avery@crc.example.gov",
            "full_name": "Avery Quinn",
            "roles": ["requester"],
        }
        created = await browser.post("/admin/users/new", data={**data, "csrf_token": token})
        assert created.status_code == 303, created.text
        page = (await browser.get("/admin/users/avery")).text
        assert "User created. Set-password link emailed" in page
        assert "The link was emailed to avery@crc.example.gov." in page
        path = _shown_link(page)
        (message,) = await smtp_sink.wait_for(1)
        assert (message["To"], message["Subject"]) == (
            "avery@crc.example.gov",
            "Set your password for CRC deployments",
        )
        text, html = parts(message)
        assert f"\n{BASE_URL}{path}\n" in text
        assert f'href="{BASE_URL}{path}"' in html

        reset = await browser.post("/admin/users/avery/password-link", data={"csrf_token": token})
        assert reset.status_code == 303
        new_path = _shown_link((await browser.get("/admin/users/avery")).text)
        _, second = await smtp_sink.wait_for(2)
        assert second["Subject"] == "A new link to set your password for CRC deployments"
        assert f"{BASE_URL}{new_path}" in parts(second)[0]

    answer = await world.http.post("/api/v1/users/avery/password-link", headers=await world.headers("admin"))
    assert answer.status_code == 201
    assert answer.json()["set_password_emailed"] is True
    *_, third = await smtp_sink.wait_for(3)
    assert answer.json()["set_password_url"].removeprefix("http://test") in parts(third)[0]


async def test_a_link_that_could_not_be_emailed_is_shown_with_a_note(
    engine: AsyncEngine, temporal_client: Client, task_queue: str
) -> None:
    nobody_listens = {"CRC_SMTP_HOST": "127.0.0.1", "CRC_SMTP_PORT": free_port()}
    async with web_world(engine, temporal_client, task_queue, **nobody_listens) as world:
        async with world.signed_in("admin") as browser:
            token = csrf_of((await browser.get("/")).text)
            data = {
                "username": "avery",
                "email": "avery@crc.example.gov",
                "roles": ["requester"],
                "csrf_token": token,
            }
            assert (await browser.post("/admin/users/new", data=data)).status_code == 303
            page = (await browser.get("/admin/users/avery")).text
            assert "User created. Set-password link: the email could not be sent" in page
            assert "The email to avery@crc.example.gov could not be sent: send this link to" in page
            assert _shown_link(page).startswith("/set-password/")
        answer = await world.http.post(
            "/api/v1/users/avery/password-link", headers=await world.headers("admin")
        )
        assert answer.status_code == 201
        assert answer.json()["set_password_emailed"] is False
