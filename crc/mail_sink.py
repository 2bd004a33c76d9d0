"""The dev mail sink: an SMTP server on CRC_SMTP_HOST:CRC_SMTP_PORT that keeps every message it
receives as an .eml file under <CRC_DATA_DIR>/mail/ (what `make run` sends goes nowhere else)."""

import re
import signal
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from crc.settings import Settings

# <nanoseconds since the epoch, zero-padded>-<random>.eml: sorts by arrival, never collides.
MESSAGE_NAME = re.compile(r"\A[0-9]{20}-[0-9a-f]{12}\.eml\Z")


def mail_dir(settings: Settings) -> Path:
    """Where the sink keeps messages."""
    return settings.CRC_DATA_DIR / "mail"


def new_message_name() -> str:
    """A file name for a message arriving now."""
    return f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}.eml"


class KeepAsEml:
    """An aiosmtpd handler that writes each message it accepts to a file of its own."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Keep the message as it came (written under a temporary name first: a reader never
        sees half a file)."""
        content = envelope.original_content or b""
        name = new_message_name()
        partial = self.directory / f".{name}.part"
        partial.write_bytes(content)
        partial.replace(self.directory / name)
        return "250 Message accepted for delivery"


def start_sink(directory: Path, host: str, port: int) -> Controller:
    """A running sink (in a thread of its own); OSError when the port is taken."""
    controller = Controller(KeepAsEml(directory), hostname=host, port=port)
    controller.start()
    return controller


def run(settings: Settings, *, started: Callable[[], None] = lambda: None) -> None:
    """Keep mail until SIGINT or SIGTERM (`crc mail-sink`, started by `crc dev`)."""
    controller = start_sink(mail_dir(settings), settings.CRC_SMTP_HOST, settings.CRC_SMTP_PORT)
    started()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda _signum, _frame: stop.set())
    try:
        stop.wait()
    finally:
        controller.stop()
