"""The dev mail sink's messages as the /dev/mail pages show them: listed newest first, read one by one."""

import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from pathlib import Path

from crc.mail_sink import MESSAGE_NAME
from web.services.errors import NotFound

MAX_LISTED = 500


@dataclass(frozen=True)
class KeptMessage:
    """One kept message's name and headers."""

    name: str
    date: str
    to: str
    subject: str


@dataclass(frozen=True)
class MessageParts:
    """One kept message opened: headers, its text part and its HTML part (either may be empty)."""

    name: str
    subject: str
    headers: list[tuple[str, str]]
    text: str
    html: str


def _date(value: str) -> str:
    try:
        return parsedate_to_datetime(value).strftime("%Y-%m-%d %H:%M:%S %z")
    except (TypeError, ValueError):
        return value


def list_messages(directory: Path) -> list[KeptMessage]:
    """The kept messages, newest first (their names sort by arrival)."""
    if not directory.is_dir():
        return []
    names = sorted((p.name for p in directory.iterdir() if MESSAGE_NAME.match(p.name)), reverse=True)
    listed = []
    parser = BytesHeaderParser(policy=email.policy.default)
    for name in names[:MAX_LISTED]:
        with (directory / name).open("rb") as raw:
            headers = parser.parse(raw)
        listed.append(
            KeptMessage(
                name=name,
                date=_date(str(headers.get("Date", ""))),
                to=str(headers.get("To", "")),
                subject=str(headers.get("Subject", "")),
            )
        )
    return listed


def message_path(directory: Path, name: str) -> Path:
    """The file of one kept message; NotFound for any name the sink would not have written
    (so "../" and friends never leave the directory)."""
    path = directory / name
    if not MESSAGE_NAME.match(name) or path.resolve().parent != directory.resolve() or not path.is_file():
        raise NotFound(f"no kept message is named {name!r}")
    return path


def _part(message: EmailMessage, subtype: str) -> str:
    body = message.get_body(preferencelist=(subtype,))
    if body is None or body.get_content_type() != f"text/{subtype}":
        return ""
    return str(body.get_content())


def read_message(directory: Path, name: str) -> MessageParts:
    """One kept message with its headers and parts."""
    raw = message_path(directory, name).read_bytes()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)  # the default policy's message class
    return MessageParts(
        name=name,
        subject=str(message.get("Subject", "")),
        headers=[(key, str(value)) for key, value in message.items()],
        text=_part(message, "plain"),
        html=_part(message, "html"),
    )
