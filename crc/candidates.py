"""Team building: rank roster members for an operation's open position, with reasons and gaps.

Pure and deterministic: the facts come in (web/services/candidates.py reads them), a score, the
reasons for it and the gaps to close come out. The weighting, in points:

- sector: 40 when the member works in the position's sector;
- languages: 6 per ILR level (0-5) in each language the position asks for (6 when the level is
  not recorded);
- clearance: 20 when it meets the post's level and lasts through the end date;
- certificates: 15 for FACT (needed at high and critical posts and for stays of 90 days or more)
  and 5 for CRC orientation, each when valid through the end date;
- component: 10 when the member is of the component the position prefers (or it takes any);
- response time: 10 for an Active member (deploys within 48 hours), 5 for a Standby member when
  the start leaves the 30 days of notice they need;
- rest: up to 20, one for each 18 days since the last deployment ended (20 when never deployed).

A factor not met scores nothing and, when it can be fixed before the start, is a gap. Members on
leave or other duty, in another deployment over those dates, already on this operation or
retired are not candidates at all (`blocker`). Ties go to the lower member id.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from crc.domain import (
    COURSE_FACT,
    COURSE_ORIENTATION,
    FACT_REQUIRED_AFTER_DAYS,
    STANDBY_NOTICE_DAYS,
    ClearanceLevel,
    Component,
    ThreatLevel,
)

SECTOR_POINTS = 40
LANGUAGE_POINTS_PER_LEVEL = 6
UNRECORDED_LEVEL = 1  # a language held without a recorded ILR level counts as level 1
CLEARANCE_POINTS = 20
FACT_POINTS = 15
ORIENTATION_POINTS = 5
COMPONENT_POINTS = 10
ACTIVE_RESPONSE_POINTS = 10
STANDBY_RESPONSE_POINTS = 5
REST_POINTS = 20
REST_DAYS_PER_POINT = 18

_FACT_THREATS = frozenset({ThreatLevel.HIGH.value, ThreatLevel.CRITICAL.value})


def long_date(day: date) -> str:
    """A date as people read it: 12 Jan 2027."""
    return f"{day.day} {day:%b %Y}"


def _words(code: str) -> str:
    return code.replace("_", " ")


def _clearance_label(level: str) -> str:
    return _words(level).title() if level != ClearanceLevel.NONE else "none"


@dataclass(frozen=True)
class Opening:
    """An open position as the ranking needs it: what it asks for and where."""

    sector: str
    languages: tuple[str, ...]
    component: str  # active, standby or any
    start_date: date
    end_date: date
    threat_level: str  # the post's crc.domain.ThreatLevel
    clearance_required: str  # the post's crc.domain.ClearanceLevel

    @property
    def needs_fact(self) -> bool:
        """FACT is needed at a high-threat post, or for 90 days or more abroad."""
        days = (self.end_date - self.start_date).days + 1
        return self.threat_level in _FACT_THREATS or days >= FACT_REQUIRED_AFTER_DAYS


@dataclass(frozen=True)
class MemberFacts:
    """What the ranking knows of a roster member."""

    member_id: int
    name: str
    component: str
    sectors: tuple[str, ...]
    languages: tuple[str, ...]
    language_levels: dict[str, int]
    clearance_level: str
    clearance_expires: date | None
    certificates: dict[str, date | None]  # course code -> expires on (None: never)
    last_deployment_end: date | None = None  # the last day of their latest past deployment
    retired_on: date | None = None
    busy: str = ""  # what holds them over the position's dates, if anything
    on_this_operation: bool = False


@dataclass(frozen=True)
class Candidate:
    """A ranked member: the score, why, and what stands in the way."""

    member_id: int
    name: str
    score: int
    reasons: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)


def blocker(opening: Opening, member: MemberFacts, today: date) -> str | None:
    """Why the member cannot be picked at all for the opening, or None."""
    if member.retired_on is not None and member.retired_on <= today:
        return f"retired on {long_date(member.retired_on)}"
    if member.on_this_operation:
        return "already on this operation"
    if member.busy:
        return member.busy
    return None


def _certificate(
    opening: Opening, member: MemberFacts, course: str, points: int
) -> tuple[int, str | None, str | None]:
    held = course in member.certificates
    expires = member.certificates.get(course)
    if held and (expires is None or expires >= opening.end_date):
        until = "never expires" if expires is None else f"valid through {long_date(expires)}"
        return points, f"{course} {until}", None
    return 0, None, f"needs {course} by {long_date(opening.start_date)}"


def rank_one(opening: Opening, member: MemberFacts, today: date) -> Candidate:
    """The member's score for the opening, with the reasons and gaps (see the module's weighting)."""
    score = 0
    reasons: list[str] = []
    gaps: list[str] = []

    def add(points: int, reason: str | None, gap: str | None) -> None:
        nonlocal score
        score += points
        if reason:
            reasons.append(reason)
        if gap:
            gaps.append(gap)

    sector = _words(opening.sector)
    if opening.sector in member.sectors:
        add(SECTOR_POINTS, f"works in {sector}", None)
    else:
        add(0, None, f"no {sector} experience")

    for language in opening.languages:
        if language not in member.languages:
            add(0, None, f"does not speak {language}")
            continue
        level = member.language_levels.get(language)
        if level is None:
            add(
                LANGUAGE_POINTS_PER_LEVEL * UNRECORDED_LEVEL,
                f"speaks {language} (no ILR level recorded)",
                None,
            )
        else:
            add(LANGUAGE_POINTS_PER_LEVEL * level, f"speaks {language} at ILR {level}", None)

    add(*_clearance(opening, member))
    if opening.needs_fact:
        add(*_certificate(opening, member, COURSE_FACT, FACT_POINTS))
    add(*_certificate(opening, member, COURSE_ORIENTATION, ORIENTATION_POINTS))

    if opening.component == "any" or opening.component == member.component:
        preferred = "any component" if opening.component == "any" else opening.component.title()
        add(COMPONENT_POINTS, f"{member.component.title()} member; the position takes {preferred}", None)
    else:
        add(0, None, f"{member.component.title()} member; the position prefers {opening.component.title()}")

    notice = (opening.start_date - today).days
    if member.component == Component.ACTIVE:
        add(ACTIVE_RESPONSE_POINTS, "Active: deploys within 48 hours", None)
    elif notice >= STANDBY_NOTICE_DAYS:
        add(STANDBY_RESPONSE_POINTS, f"Standby: {notice} days' notice covers the 30 needed", None)
    else:
        add(0, None, f"Standby needs {STANDBY_NOTICE_DAYS} days' notice; the start is in {notice}")

    if member.last_deployment_end is None:
        add(REST_POINTS, "no deployment on record", None)
    else:
        rested = max((today - member.last_deployment_end).days, 0)
        add(min(rested // REST_DAYS_PER_POINT, REST_POINTS), f"{rested} days since the last deployment", None)

    return Candidate(member.member_id, member.name, score, reasons, gaps)


def _clearance(opening: Opening, member: MemberFacts) -> tuple[int, str | None, str | None]:
    required = ClearanceLevel(opening.clearance_required)
    known = member.clearance_level in set(ClearanceLevel)
    held = ClearanceLevel(member.clearance_level) if known else ClearanceLevel.NONE
    if held.rank < required.rank:
        holds = _clearance_label(held)
        return 0, None, f"clearance {_clearance_label(required)} needed, holds {holds}"
    if required == ClearanceLevel.NONE:
        return CLEARANCE_POINTS, "the post needs no clearance", None
    if member.clearance_expires is None or member.clearance_expires < opening.end_date:
        expires = "has no expiry on record"
        if member.clearance_expires is not None:
            expires = f"expires {long_date(member.clearance_expires)}"
        return 0, None, f"clearance {expires}; it must last through {long_date(opening.end_date)}"
    return (
        CLEARANCE_POINTS,
        f"clearance {_clearance_label(held)} meets the post's {_clearance_label(required)}",
        None,
    )


def rank(opening: Opening, members: Iterable[MemberFacts], today: date) -> list[Candidate]:
    """The members who may be picked for the opening, best first (ties: the lower member id)."""
    ranked = [rank_one(opening, m, today) for m in members if blocker(opening, m, today) is None]
    return sorted(ranked, key=lambda c: (-c.score, c.member_id))
