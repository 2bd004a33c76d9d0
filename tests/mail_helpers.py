"""A real SMTP server for tests (aiosmtpd, the same sink `make run` uses): the `smtp_sink` fixture."""

import asyncio
import email
import email.policy
import socket
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from crc.mail_sink import KeepAsEml

WAIT_SECONDS = 15.0


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def parse(envelope: Envelope) -> EmailMessage:
    """The message an SMTP envelope carries."""
    parsed = email.message_from_bytes(envelope.original_content or b"", policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


class Mailbox:
    """An SMTP handler keeping the last messages in memory (the whole session's server), with a
    way to wait for those a test looks for."""

    KEEP = 500  # enough for any one test; older ones are dropped so a long run stays small

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages = [*self.messages[-self.KEEP + 1 :], parse(envelope)]
        return "250 OK"

    def matching(self, wanted: Callable[[EmailMessage], bool]) -> list[EmailMessage]:
        """The messages `wanted` accepts, oldest first."""
        return [m for m in self.messages if wanted(m)]

    async def wait_for(
        self, wanted: Callable[[EmailMessage], bool], count: int = 1, within: float = WAIT_SECONDS
    ) -> list[EmailMessage]:
        """The matching messages once `count` arrived; AssertionError naming what did, if not."""
        try:
            async with asyncio.timeout(within):
                # The server runs in a thread of its own: poll what it recorded.
                while len(found := self.matching(wanted)) < count:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        except TimeoutError:
            subjects = [m["Subject"] for m in self.messages[-10:]]
            raise AssertionError(
                f"{len(self.matching(wanted))} of {count} emails arrived; last: {subjects}"
            ) from None
        return found


class _Recorder(KeepAsEml):
    """The dev sink's handler, also keeping each message in memory for the test."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        self.messages.append(parse(envelope))
        return answer


class SmtpSink:
    """A running SMTP server on 127.0.0.1 that keeps what it receives (as .eml files in
    `directory` too)."""

    def __init__(self, directory: Path) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.directory = directory
        self._recorder = _Recorder(directory)
        self._controller = Controller(self._recorder, hostname=self.host, port=self.port)

    @property
    def messages(self) -> list[EmailMessage]:
        """What arrived so far, in order."""
        return list(self._recorder.messages)

    def settings(self) -> dict[str, Any]:
        """Settings that send mail here."""
        return {"CRC_SMTP_HOST": self.host, "CRC_SMTP_PORT": self.port}

    async def wait_for(self, count: int, *, seconds: float = WAIT_SECONDS) -> list[EmailMessage]:
        """The messages once `count` have arrived (AssertionError after `seconds`)."""
        try:
            async with asyncio.timeout(seconds):
                # The server runs in a thread of its own: poll what it recorded.
                while len(self._recorder.messages) < count:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        except TimeoutError:
            raise AssertionError(f"{len(self._recorder.messages)} of {count} messages arrived") from None
        return self.messages

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


@pytest.fixture
def smtp_sink(tmp_path: Path) -> Iterator[SmtpSink]:
    """A real SMTP server of this test's own, on a free port."""
    sink = SmtpSink(tmp_path / "mail")
    sink.start()
    yield sink
    sink.stop()


def parts(message: EmailMessage) -> tuple[str, str]:
    """The text part (lines ending in \\n, not the wire's CRLF) and the HTML part of a message."""
    text, html = message.get_body(preferencelist=("plain",)), message.get_body(preferencelist=("html",))
    assert text is not None and html is not None, "a message without both parts"
    return str(text.get_content()).replace("\r\n", "\n"), str(html.get_content())
