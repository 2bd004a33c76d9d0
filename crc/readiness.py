"""Whether a member is ready for a post through a date: clearance, medical, passport, and for an
Active call-up the training too. Vetting (activities/vetting.py) and the web's check of a call-up
(web/services/validation.py) read these rules, so both say the same thing.
"""

from collections.abc import Iterable
from datetime import date, timedelta

from crc.dates import add_months
from crc.domain import COURSE_FACT, COURSE_ORIENTATION, ClearanceLevel, Component
from crc.tables import Certificate, Member, Post

# An Active member called up to start within this many days (48 hours) cannot wait for vetting
# reviews or courses: they must be ready when requested.
CALL_UP_WITHIN_DAYS = 2

# A passport must be valid this many months past the deployment's end date.
PASSPORT_MARGIN_MONTHS = 6


def _label(level: ClearanceLevel) -> str:
    return level.value.replace("_", " ")


def clearance_problem(member: Member, post: Post, end_date: date) -> str | None:
    """Why the member's security clearance does not meet the post's requirement, or None."""
    required = ClearanceLevel(post.clearance_required)
    if required == ClearanceLevel.NONE:
        return None
    if member.clearance_level not in set(ClearanceLevel):
        return f"Security clearance level {member.clearance_level!r} is not a known level"
    held = ClearanceLevel(member.clearance_level)
    if held == ClearanceLevel.NONE:
        return f"No security clearance; post {post.code} requires {_label(required)}"
    if held.rank < required.rank:
        return f"Security clearance is {_label(held)}; post {post.code} requires {_label(required)}"
    if member.clearance_expires is None:
        return "Security clearance has no expiry date on record"
    if member.clearance_expires < end_date:
        return f"Security clearance expires {member.clearance_expires}, before the end date {end_date}"
    return None


def medical_problem(member: Member, end_date: date) -> str | None:
    """Why the member's medical clearance does not cover the deployment, or None."""
    if member.medical_expires is None:
        return "Medical clearance has no expiry date on record"
    if member.medical_expires < end_date:
        return f"Medical clearance expires {member.medical_expires}, before the end date {end_date}"
    return None


def passport_problem(member: Member, end_date: date) -> str | None:
    """Why the member's passport is not valid six months past the end date, or None."""
    needed = add_months(end_date, PASSPORT_MARGIN_MONTHS)
    if member.passport_expires is None:
        return "Passport has no expiry date on record"
    if member.passport_expires < needed:
        return (
            f"Passport expires {member.passport_expires}; it must be valid until {needed}, "
            f"six months past the end date {end_date}"
        )
    return None


def clearance_renewal_problem(
    level: ClearanceLevel | None, valid_until: date | None, required: str, end_date: date
) -> str | None:
    """Why a security officer's `clear` of a clearance finding does not stand: it must record the
    renewed or upgraded clearance, at the post's level and valid through the end date."""
    if level is None or valid_until is None:
        return "record the renewed or upgraded clearance to clear it: its level and valid_until"
    needed = ClearanceLevel(required)
    if level.rank < needed.rank:
        return f"a {_label(level)} clearance does not meet the post's {_label(needed)}"
    if valid_until < end_date:
        return f"the clearance must be valid through the end date {end_date}"
    return None


def is_call_up(component: str, start_date: date, today: date) -> bool:
    """An Active member asked to start within 48 hours."""
    return component == Component.ACTIVE and start_date <= today + timedelta(days=CALL_UP_WITHIN_DAYS)


def _certificate_problem(certificates: Iterable[Certificate], course: str, end_date: date) -> str | None:
    valid = [c for c in certificates if c.course_code == course]
    if not valid:
        return f"No {course} certificate"
    if not any(c.expires_on is None or c.expires_on >= end_date for c in valid):
        latest = max(c.expires_on for c in valid if c.expires_on is not None)
        return f"{course} certificate expires {latest}, before the end date {end_date}"
    return None


def fact_problem(certificates: Iterable[Certificate], end_date: date, days_abroad: int) -> str | None:
    """Why FACT, needed for `days_abroad` days under Chief of Mission authority, is not held."""
    problem = _certificate_problem(certificates, COURSE_FACT, end_date)
    return None if problem is None else f"{problem}; FACT is needed for {days_abroad} days abroad in the year"


def call_up_problems(
    member: Member, post: Post, end_date: date, certificates: Iterable[Certificate]
) -> list[str]:
    """What an Active call-up lacks: every clearance and certificate valid through the end date."""
    held = list(certificates)
    problems = [
        clearance_problem(member, post, end_date),
        medical_problem(member, end_date),
        passport_problem(member, end_date),
        _certificate_problem(held, COURSE_FACT, end_date),
        _certificate_problem(held, COURSE_ORIENTATION, end_date),
    ]
    return [p for p in problems if p is not None]
