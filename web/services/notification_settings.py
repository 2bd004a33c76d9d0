"""Each user's choice, per kind of notification, of how it reaches them beyond the bell."""

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.notifications import (
    ALWAYS_IMMEDIATE,
    DEFAULT_DELIVERY,
    KIND_LABELS,
    Delivery,
    NotificationKind,
)
from crc.tables import NotificationPreference
from web.services.errors import FieldError, InvalidFields

CHOICES = ", ".join(d.value for d in Delivery)


@dataclass(frozen=True)
class Preference:
    """One kind's delivery for a user; `locked` kinds are always emailed at once."""

    kind: NotificationKind
    label: str
    delivery: Delivery
    default: Delivery
    locked: bool


async def preferences_of(session: AsyncSession, username: str) -> list[Preference]:
    """Every kind with the user's choice (or its default), in the order the settings list them."""
    rows = await session.exec(
        select(NotificationPreference).where(col(NotificationPreference.username) == username)
    )
    chosen = {row.kind: row.delivery for row in rows}
    return [
        Preference(
            kind=kind,
            label=KIND_LABELS[kind],
            delivery=Delivery.IMMEDIATE if kind in ALWAYS_IMMEDIATE else Delivery(chosen.get(kind, default)),
            default=default,
            locked=kind in ALWAYS_IMMEDIATE,
        )
        for kind, default in DEFAULT_DELIVERY.items()
    ]


def _check(choices: Mapping[str, str]) -> dict[NotificationKind, Delivery]:
    errors: list[FieldError] = []
    checked: dict[NotificationKind, Delivery] = {}
    for kind, delivery in choices.items():
        if kind not in NotificationKind._value2member_map_:
            kinds = ", ".join(k.value for k in NotificationKind)
            errors.append(FieldError(kind, f"no such kind of notification; the kinds are {kinds}", kind))
        elif delivery not in Delivery._value2member_map_:
            errors.append(FieldError(kind, f"choose one of {CHOICES}", delivery))
        elif NotificationKind(kind) in ALWAYS_IMMEDIATE and delivery != Delivery.IMMEDIATE:
            errors.append(
                FieldError(
                    kind, f"{KIND_LABELS[NotificationKind(kind)]} are always emailed at once", delivery
                )
            )
        else:
            checked[NotificationKind(kind)] = Delivery(delivery)
    if errors:
        raise InvalidFields([FieldError(e.field, e.msg, e.value, "body.preferences") for e in errors])
    return checked


async def set_preferences(
    session: AsyncSession, username: str, choices: Mapping[str, str]
) -> list[Preference]:
    """Record the user's choices for the kinds given (all or none: a wrong one writes nothing)."""
    checked = _check(choices)
    if checked:
        await session.exec(
            sa.delete(NotificationPreference).where(
                col(NotificationPreference.username) == username,
                col(NotificationPreference.kind).in_([k.value for k in checked]),
            )
        )
        session.add_all(
            NotificationPreference(username=username, kind=kind.value, delivery=delivery.value)
            for kind, delivery in checked.items()
        )
        await session.commit()
    return await preferences_of(session, username)
