"""The dev mail sink keeps each message as an .eml file, and /dev/mail (dev only) lists and shows them."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from crc import mail
from crc.mail_sink import MESSAGE_NAME
from crc.settings import Settings
from tests.mail_helpers import SmtpSink
from tests.web_helpers import World, web_world


def _send(sink: SmtpSink, *, to: str, subject: str, link: str) -> None:
    settings = Settings(CRC_ENV="dev", **sink.settings())
    message = mail.compose(
        settings, to=to, subject=subject, template="notification", message_id=subject, link=link
    )
    mail.send(settings, message)


@pytest.fixture
async def world(
    engine: AsyncEngine, temporal_client: Client, task_queue: str, tmp_path: Path, smtp_sink: SmtpSink
) -> AsyncIterator[World]:
    # The sink's directory is <CRC_DATA_DIR>/mail, as under `make run`.
    async with web_world(
        engine, temporal_client, task_queue, CRC_DATA_DIR=tmp_path, **smtp_sink.settings()
    ) as w:
        yield w


async def test_the_sink_keeps_each_message_as_an_eml_file(smtp_sink: SmtpSink) -> None:
    _send(
        smtp_sink, to="planning@crc.example.gov", subject="New task: Operational fit", link="/deployments/d1"
    )
    _send(smtp_sink, to="member@crc.example.gov", subject="Approved", link="/deployments/d2")
    received = await smtp_sink.wait_for(2)
    files = sorted(smtp_sink.directory.iterdir())
    assert [bool(MESSAGE_NAME.match(f.name)) for f in files] == [True, True]
    # Names sort by arrival: the first file holds the first message, byte for byte as sent.
    assert [m["Subject"] for m in received] == ["New task: Operational fit", "Approved"]
    assert b"Subject: New task: Operational fit" in files[0].read_bytes()
    assert b"To: member@crc.example.gov" in files[1].read_bytes()


async def test_dev_mail_lists_newest_first_and_shows_one(world: World, smtp_sink: SmtpSink) -> None:
    _send(smtp_sink, to="planning@crc.example.gov", subject="First <one>", link="/deployments/d1")
    _send(smtp_sink, to="member@crc.example.gov", subject="Second", link="/deployments/d2")
    await smtp_sink.wait_for(2)
    older, newer = sorted(p.name for p in smtp_sink.directory.iterdir())
    async with world.signed_in("member") as browser:
        listed = await browser.get("/dev/mail")
        assert listed.status_code == 200
        assert "2 messages, newest first" in listed.text
        assert listed.text.index(f'id="mail-{newer}"') < listed.text.index(f'id="mail-{older}"')
        assert "First &lt;one&gt;" in listed.text and "planning@crc.example.gov" in listed.text

        shown = await browser.get(f"/dev/mail/{older}")
        assert shown.status_code == 200
        assert "<h1>First &lt;one&gt;</h1>" in shown.text
        assert "Open it: http://127.0.0.1:8000/deployments/d1" in shown.text  # the text part
        assert f'sandbox src="/dev/mail/{older}/html"' in shown.text
        assert f'href="/dev/mail/{older}/raw"' in shown.text

        html = await browser.get(f"/dev/mail/{older}/html")
        assert html.status_code == 200
        assert 'href="http://127.0.0.1:8000/deployments/d1"' in html.text
        policy = html.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "sandbox" in policy and "frame-ancestors 'self'" in policy
        assert html.headers["x-frame-options"] == "SAMEORIGIN"

        raw = await browser.get(f"/dev/mail/{older}/raw")
        assert raw.status_code == 200
        assert raw.headers["content-type"] == "message/rfc822"
        assert raw.headers["content-disposition"] == f'attachment; filename="{older}"'
        assert raw.content == (smtp_sink.directory / older).read_bytes()


async def test_dev_mail_refuses_names_outside_the_mail_directory(world: World, tmp_path: Path) -> None:
    (tmp_path / "secret.eml").write_text("Subject: not for you\n\nsecret")
    async with world.signed_in("member") as browser:
        for name in (
            "..%2Fsecret.eml",
            "..%2F..%2Fetc%2Fpasswd",
            "secret.eml",
            "%2Fetc%2Fpasswd",
            "00000000000000000001-000000000000.eml",
        ):
            for suffix in ("", "/html", "/raw"):
                response = await browser.get(f"/dev/mail/{name}{suffix}")
                assert response.status_code == 404, (name, suffix)
                assert "not for you" not in response.text


async def test_dev_mail_needs_a_signed_in_user(world: World) -> None:
    response = await world.http.get("/dev/mail")
    assert (response.status_code, response.headers["location"]) == (303, "/login?next=/dev/mail")


async def test_dev_mail_is_404_outside_dev(
    engine: AsyncEngine, temporal_client: Client, task_queue: str, tmp_path: Path
) -> None:
    production = {
        "CRC_ENV": "production",
        "CRC_SECRET_KEY": "Zq8vN2xLp4Rk7Tm1Wc9Hs3Jd6Fg0Yb5Ue",
        "CRC_DATA_DIR": tmp_path,
    }
    async with web_world(engine, temporal_client, task_queue, **production) as w:
        async with w.signed_in("admin") as browser:
            for path in ("/dev/mail", "/dev/mail/00000000000000000001-000000000000.eml"):
                assert (await browser.get(path)).status_code == 404
        assert (await w.http.get("/dev/mail")).status_code == 404
