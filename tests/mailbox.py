"""An aiosmtpd handler that keeps the messages a real SMTP server receives, for tests to read."""

import asyncio
import email
import email.policy
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

# Enough for any one test; older messages are dropped so a long run stays small.
KEEP = 500


class Mailbox:
    """The messages received, oldest first, and a way to wait for some."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Keep the message (aiosmtpd's hook for each one accepted)."""
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages = [*self.messages[-KEEP + 1 :], message]
        return "250 OK"

    def matching(self, wanted: Callable[[EmailMessage], bool]) -> list[EmailMessage]:
        """The messages `wanted` accepts, oldest first."""
        return [m for m in self.messages if wanted(m)]

    async def wait_for(
        self, wanted: Callable[[EmailMessage], bool], count: int = 1, within: float = 20
    ) -> list[EmailMessage]:
        """Wait until `count` messages match; fail saying what arrived if they don't in time."""
        try:
            async with asyncio.timeout(within):
                # The server runs on a thread and loop of its own: poll, no Event crosses over.
                while len(found := self.matching(wanted)) < count:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
        except TimeoutError:
            subjects = [m["Subject"] for m in self.messages[-10:]]
            raise AssertionError(
                f"{len(self.matching(wanted))} of {count} emails arrived; last: {subjects}"
            ) from None
        return found


def text_of(message: EmailMessage) -> str:
    """The plain-text part."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    """The HTML part."""
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())
