"""The admin's changes to roster members: add, edit, retire, windows and certificates."""

from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.dates import add_months
from crc.db import commit_unless_duplicate
from crc.members import (
    CertificateFields,
    MemberFields,
    MemberPatch,
    WindowFields,
    member_problems,
    window_problems,
)
from crc.tables import AvailabilityWindow, Certificate, Course, Member
from web.services.errors import Conflict, FieldError, InvalidFields, NotFound


def member_values(member: Member) -> dict[str, Any]:
    """The member's fields as MemberFields reads them."""
    return {name: getattr(member, name) for name in MemberFields.model_fields}


def check_member(values: dict[str, Any]) -> MemberFields:
    """The member these values describe, or InvalidFields naming every bad field."""
    try:
        fields = MemberFields.model_validate(values)
    except ValidationError as err:
        raise InvalidFields.from_validation_error(err) from None
    problems = member_problems(fields.model_dump())
    if problems:
        raise InvalidFields([FieldError(name, message) for name, message in problems])
    return fields


async def email_owner(session: AsyncSession, email: str) -> Member | None:
    """The member with this email (any case), if there is one."""
    query = select(Member).where(func.lower(col(Member.email)) == email.lower()).order_by(col(Member.id))
    return (await session.exec(query)).first()


async def _check_email_free(session: AsyncSession, email: str, member_id: int | None) -> None:
    owner = await email_owner(session, email)
    if owner is not None and owner.id != member_id:
        raise InvalidFields([FieldError("email", f"{owner.name} (member {owner.id}) already has this email")])


def apply_fields(member: Member, fields: BaseModel) -> None:
    """Copy checked fields onto the row."""
    for name, value in fields.model_dump().items():
        setattr(member, name, value)


async def get_member(session: AsyncSession, member_id: int) -> Member:
    """The member, or NotFound."""
    member = await session.get(Member, member_id)
    if member is None:
        raise NotFound("no roster member has this id")
    return member


async def create_member(session: AsyncSession, fields: MemberFields) -> Member:
    """Add a member to the roster, or InvalidFields."""
    check_member(fields.model_dump())
    await _check_email_free(session, fields.email, None)
    member = Member(**fields.model_dump())
    session.add(member)
    await session.commit()
    await session.refresh(member)
    return member


async def update_member(session: AsyncSession, member_id: int, changes: MemberPatch) -> Member:
    """Change the given fields of a member (checked with the rest as they are), or InvalidFields."""
    member = await get_member(session, member_id)
    given = changes.model_dump(exclude_unset=True)
    fields = check_member(member_values(member) | given)
    await _check_email_free(session, fields.email, member.id)
    apply_fields(member, fields)
    session.add(member)
    await session.commit()
    await session.refresh(member)
    return member


async def retire_member(session: AsyncSession, member_id: int, on: date) -> Member:
    """Retire the member from `on`; Conflict if they already retired."""
    member = await get_member(session, member_id)
    if member.retired_on is not None:
        raise Conflict(f"the member already retired on {member.retired_on.isoformat()}")
    member.retired_on = on
    session.add(member)
    await session.commit()
    await session.refresh(member)
    return member


async def add_window(session: AsyncSession, member_id: int, window: WindowFields) -> AvailabilityWindow:
    """Record days the member is away, or InvalidFields."""
    await get_member(session, member_id)
    problems = window_problems(window)
    if problems:
        raise InvalidFields([FieldError(name, message) for name, message in problems])
    row = AvailabilityWindow(member_id=member_id, **window.model_dump())
    session.add(row)
    await session.commit()
    await session.refresh(row)
    return row


async def delete_window(session: AsyncSession, member_id: int, window_id: int) -> None:
    """Remove one of the member's windows, or NotFound."""
    row = await session.get(AvailabilityWindow, window_id)
    if row is None or row.member_id != member_id:
        raise NotFound("the member has no availability window with this id")
    await session.delete(row)
    await session.commit()


async def certificate_row(session: AsyncSession, member_id: int, cert: CertificateFields) -> Certificate:
    """The member's certificate for the course as `cert` sets it (added to the session, not
    committed), with its expiry from the course's validity; InvalidFields for an unknown course."""
    course = await session.get(Course, cert.course_code)
    if course is None:
        raise InvalidFields([FieldError("course_code", "no course has this code")])
    expires = (
        add_months(cert.issued_on, course.validity_months) if course.validity_months is not None else None
    )
    query = select(Certificate).where(
        Certificate.member_id == member_id, Certificate.course_code == course.code
    )
    row = (await session.exec(query)).first()
    if row is None:
        row = Certificate(member_id=member_id, course_code=course.code, issued_on=cert.issued_on)
    row.issued_on, row.expires_on = cert.issued_on, expires
    session.add(row)
    return row


async def record_certificate(session: AsyncSession, member_id: int, cert: CertificateFields) -> Certificate:
    """Set the member's certificate for a course (an admin's record replaces the one held)."""
    await get_member(session, member_id)
    row = await certificate_row(session, member_id, cert)
    if not await commit_unless_duplicate(session):
        raise Conflict("the certificate was recorded at the same moment by someone else; send it again")
    await session.refresh(row)
    return row


async def delete_certificate(session: AsyncSession, member_id: int, course_code: str) -> None:
    """Remove the member's certificate for a course, or NotFound."""
    query = select(Certificate).where(
        Certificate.member_id == member_id, Certificate.course_code == course_code
    )
    row = (await session.exec(query)).first()
    if row is None:
        raise NotFound("the member holds no certificate of this course")
    await session.delete(row)
    await session.commit()
