"""Email: messages as plain text plus HTML from Jinja2 templates, sent over SMTP."""

import smtplib
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from crc.settings import Settings

# The HTML part is autoescaped; the text part is plain text and must not be.
_templates = Environment(
    loader=PackageLoader("web", "templates/email"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def compose(
    settings: Settings, *, to: str, subject: str, template: str, message_id: str, **context: Any
) -> EmailMessage:
    """A message from `<template>.txt` and `<template>.html`; links get CRC_BASE_URL in front."""
    context = {"base_url": settings.CRC_BASE_URL.rstrip("/"), "subject": subject, **context}
    message = EmailMessage()
    message["From"] = settings.CRC_MAIL_FROM
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    # A stable id: a message sent twice by a retry is recognisably the same message.
    message["Message-ID"] = f"<{message_id}@crc.example.gov>"
    message.set_content(_templates.get_template(f"{template}.txt").render(context))
    message.add_alternative(_templates.get_template(f"{template}.html").render(context), subtype="html")
    return message


def send(settings: Settings, message: EmailMessage) -> None:
    """Hand the message to the SMTP server (blocking: call it from a thread)."""
    with smtplib.SMTP(settings.CRC_SMTP_HOST, settings.CRC_SMTP_PORT, timeout=30) as smtp:
        if settings.CRC_SMTP_STARTTLS:
            smtp.starttls()
        if settings.CRC_SMTP_USER:
            smtp.login(settings.CRC_SMTP_USER, settings.CRC_SMTP_PASSWORD)
        smtp.send_message(message)
