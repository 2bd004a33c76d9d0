"""Sends notification emails over SMTP; a notification is emailed once however often retried."""

import asyncio

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity

from crc import mail
from crc.db import session_factory
from crc.settings import Settings
from crc.tables import Notification, User, utcnow


class MailActivities:
    """Email of notifications, with one database engine and the SMTP settings."""

    def __init__(self, engine: AsyncEngine, settings: Settings) -> None:
        self._sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
        self._settings = settings

    @activity.defn(name="send_notification_email")
    async def send_notification_email(self, notification_id: int) -> None:
        """Email one notification to its recipient, unless it was emailed already."""
        async with self._sessions() as session:
            note = await session.get(Notification, notification_id)
            if note is None or note.emailed_at is not None:
                return
            user = (await session.exec(select(User).where(col(User.username) == note.username))).one_or_none()
        if user is None or not user.email or not user.is_active:
            return
        message = mail.compose(
            self._settings,
            to=user.email,
            subject=note.subject,
            template="notification",
            message_id=f"notification-{note.id}",
            link=note.link,
        )
        # smtplib blocks: keep it off the worker's event loop.
        await asyncio.to_thread(mail.send, self._settings, message)
        async with self._sessions.begin() as session:
            sent = sa.update(Notification).where(col(Notification.id) == notification_id)
            await session.exec(sent.values(emailed_at=utcnow()))
