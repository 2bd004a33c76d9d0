"""The daily digest: its schedule is created once however often workers start, and each opted-in
user gets one email a day with the open tasks they may act on and their digest notifications."""

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from temporalio.client import ScheduleActionStartWorkflow, ScheduleRange

from activities.digest import DigestActivities, DigestResult, DigestRun
from crc.db import session_factory
from crc.settings import Settings
from crc.tables import DigestSent, Notification, NotificationPreference
from tests import factories
from tests.conftest import start_dev_server
from tests.mail_helpers import SmtpSink, parts
from tests.web_helpers import open_task, user
from worker import ensure_digest_schedule
from workflows.digest import DIGEST_CRON, DIGEST_SCHEDULE_ID, DIGEST_WORKFLOW

DAY = date(2026, 12, 1)


async def test_the_digest_schedule_exists_once_after_two_worker_starts() -> None:
    env = await start_dev_server(search_attributes=())
    try:
        await ensure_digest_schedule(env.client, "tq-digest")
        await ensure_digest_schedule(env.client, "tq-digest")  # a second worker start
        described = await env.client.get_schedule_handle(DIGEST_SCHEDULE_ID).describe()
        # The server keeps the cron expression as a calendar: 07:00:00 UTC every day.
        (calendar,) = described.schedule.spec.calendars
        assert DIGEST_CRON == "0 7 * * *"
        assert (calendar.hour, calendar.minute, calendar.second) == (
            (ScheduleRange(7),),
            (ScheduleRange(0),),
            (ScheduleRange(0),),
        )
        assert not described.schedule.spec.time_zone_name  # none: UTC
        action = described.schedule.action
        assert isinstance(action, ScheduleActionStartWorkflow)
        assert (action.workflow, action.task_queue) == (DIGEST_WORKFLOW, "tq-digest")
        ids: list[str] = []
        async with asyncio.timeout(15):
            while not ids:  # the list is eventually consistent
                ids = [s.id async for s in await env.client.list_schedules()]
                await asyncio.sleep(0.2)
        assert ids == [DIGEST_SCHEDULE_ID]
    finally:
        await env.shutdown()


async def _world(engine: AsyncEngine) -> str:
    """Planning digests tasks (two open, one overdue); Resource Management digests reminders (one
    waits); Logistics digests but has nothing; the requester never chose the digest."""
    member, post = factories.member(), factories.post(code=f"P{uuid.uuid4().hex[:6].upper()}")
    await factories.add(engine, member, post)
    assert member.id is not None
    (deployment_id,) = await factories.deployment_rows(
        engine, 1, member_id=member.id, post_code=post.code, requested_by="requester"
    )
    now = datetime.now(UTC)
    await factories.add(
        engine,
        *(user(n, [n], email=f"{n}@crc.example.gov") for n in ("planning", "resource_management")),
        user("logistics", ["logistics"], email="logistics@crc.example.gov"),
        user("requester", ["requester"], email="requester@crc.example.gov"),
        open_task(deployment_id, title="Operational fit", due_at=now - timedelta(hours=1)),
        open_task(deployment_id, title="Second look", due_at=now + timedelta(days=2)),
        open_task(deployment_id, title="Not planning's", role="security"),
        NotificationPreference(username="planning", kind="task", delivery="digest"),
        NotificationPreference(username="resource_management", kind="reminder", delivery="digest"),
        NotificationPreference(username="logistics", kind="stage_change", delivery="digest"),
        Notification(
            key="k1", username="resource_management", kind="reminder", subject="Reminder: Funding",
            link=f"/deployments/{deployment_id}", deployment_id=deployment_id,
        ),
        # Immediate for the requester: never in a digest.
        Notification(
            key="k2", username="requester", kind="decision", subject="Approved",
            link=f"/deployments/{deployment_id}", deployment_id=deployment_id,
        ),
    )  # fmt: skip
    return deployment_id


async def test_the_digest_emails_each_opted_in_user_once_a_day(
    engine: AsyncEngine, smtp_sink: SmtpSink
) -> None:
    deployment_id = await _world(engine)
    settings = Settings(CRC_ENV="dev", CRC_BASE_URL="https://crc.example.gov", **smtp_sink.settings())
    digest = DigestActivities(engine, settings)

    result = await digest.send_digests(DigestRun(day=DAY))
    assert result == DigestResult(sent=["planning", "resource_management"])
    planning, rm = await smtp_sink.wait_for(2)
    assert (planning["To"], planning["Subject"]) == (
        "planning@crc.example.gov",
        "Your daily digest: 2 open tasks (1 overdue)",
    )
    text, html = parts(planning)
    assert "- OVERDUE: Operational fit" in text and "- Second look" in text
    assert "Not planning's" not in text
    assert text.count(f"https://crc.example.gov/deployments/{deployment_id}") == 2
    assert 'Overdue:</strong> <a href="https://crc.example.gov/deployments/' in html
    assert (rm["To"], rm["Subject"]) == (
        "resource_management@crc.example.gov",
        "Your daily digest: 0 open tasks, 1 notification",
    )
    assert "- Reminder: Funding" in parts(rm)[0]

    # A retried activity (or a second run the same day) sends nothing more.
    assert await digest.send_digests(DigestRun(day=DAY)) == DigestResult(sent=[])
    await asyncio.sleep(0.5)
    assert len(smtp_sink.messages) == 2
    async with session_factory(engine)() as session:
        rows = (await session.exec(select(DigestSent).order_by(col(DigestSent.username)))).all()
        assert [(r.username, r.day, r.tasks, r.notifications) for r in rows] == [
            ("planning", DAY, 2, 0),
            ("resource_management", DAY, 0, 1),
        ]
        digested = (
            await session.exec(select(Notification.key).where(col(Notification.emailed_at).is_not(None)))
        ).all()
        assert digested == ["k1"]

    # The next day, the reminder is not listed again.
    assert await digest.send_digests(DigestRun(day=DAY + timedelta(days=1))) == DigestResult(
        sent=["planning"]
    )
    await smtp_sink.wait_for(3)
