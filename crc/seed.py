"""Demo data for local development: one user per role and a few scoped ones, a roster, posts,
courses and kit.

Dates are relative to today; everything else is fixed, so two seeds on the same day agree.
Only ever used in dev mode (``crc seed`` and ``crc dev`` refuse elsewhere).
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session, select

from crc.domain import (
    COURSE_FACT,
    COURSE_ORIENTATION,
    SKU_BALLISTIC_VEST,
    SKU_HELMET,
    SKU_INDIVIDUAL_KIT,
    SKU_MEDICAL_KIT,
    SKU_SATELLITE_PHONE,
    ClearanceLevel,
    Component,
    ThreatLevel,
    briefing_course_code,
)
from crc.passwords import hash_password
from crc.roles import Role
from crc.tables import Certificate, Course, CourseSession, Member, Post, StockItem, StockMovement, User

ACTIVE, STANDBY = Component.ACTIVE, Component.STANDBY
NONE, CONF = ClearanceLevel.NONE, ClearanceLevel.CONFIDENTIAL
SECRET, TS = ClearanceLevel.SECRET, ClearanceLevel.TOP_SECRET

FACT_VALIDITY_MONTHS = 72  # six years
BRIEFING_VALIDITY_MONTHS = 12
# How far ahead course sessions are scheduled.
SCHEDULE_DAYS = 366


@dataclass(frozen=True)
class ScopedUser:
    """A demo user who holds one role for part of its reach only (crc.roles.SCOPED_ROLES)."""

    username: str
    role: Role
    scope: tuple[str, ...]
    full_name: str


# Beside the unscoped user of every role (scope "all"), one user per scoped role.
SCOPED_USERS: tuple[ScopedUser, ...] = (
    ScopedUser("com_jub", Role.CHIEF_OF_MISSION, ("JUB",), "Demo Chief of Mission, Juba"),
    ScopedUser("agency_usaid", Role.HOME_AGENCY, ("USAID",), "Demo home agency officer, USAID"),
    ScopedUser("director_planning", Role.DIRECTOR, (Role.PLANNING.value,), "Demo director of Planning"),
)


@dataclass(frozen=True)
class RosterEntry:
    """One demo member; `problem` names what vetting or training will find wrong."""

    name: str
    agency: str
    component: Component
    sectors: tuple[str, ...]
    languages: tuple[str, ...]
    clearance: ClearanceLevel
    fact_months_ago: int | None  # None: never took FACT
    problem: str | None = None  # clearance, medical, passport, or None


# The first entry is the `member` demo user: Active, fully cleared, trained and available.
ROSTER: tuple[RosterEntry, ...] = (
    RosterEntry("Maria Delgado", "State", ACTIVE, ("rule_of_law", "transitional_governance"),
                ("Spanish", "French"), TS, 14),
    RosterEntry("James Okafor", "USAID", ACTIVE, ("essential_services",),
                ("French", "Swahili"), SECRET, 8),
    RosterEntry("Priya Raman", "Justice", ACTIVE, ("rule_of_law",), ("Arabic",), TS, 22),
    RosterEntry("Daniel Whitaker", "Treasury", ACTIVE, ("economic_stabilization",),
                ("Russian", "Ukrainian"), SECRET, 30),
    RosterEntry("Amina Haddad", "State", ACTIVE, ("strategic_communication",),
                ("Arabic", "French"), SECRET, 5),
    RosterEntry("Robert Castillo", "Homeland Security", ACTIVE, ("security_sector",),
                ("Spanish",), TS, 40),
    RosterEntry("Grace Mbeki", "HHS", ACTIVE, ("essential_services",),
                ("French", "Lingala"), SECRET, 75),  # FACT expired
    RosterEntry("Thomas Brennan", "Agriculture", ACTIVE, ("essential_services",
                "economic_stabilization"), ("Dari",), SECRET, 18, "clearance"),
    RosterEntry("Leila Karimi", "USAID", ACTIVE, ("transitional_governance",),
                ("Dari", "Pashto"), SECRET, 27),
    RosterEntry("Marcus Johnson", "Transportation", ACTIVE, ("essential_services",),
                ("Haitian Creole", "French"), CONF, 11),
    RosterEntry("Elena Petrenko", "Commerce", ACTIVE, ("economic_stabilization",),
                ("Ukrainian", "Russian"), SECRET, 3),
    RosterEntry("Samuel Adeyemi", "Justice", ACTIVE, ("security_sector", "rule_of_law"),
                ("French",), TS, 49, "medical"),
    RosterEntry("Catherine Walsh", "State", STANDBY, ("transitional_governance",),
                ("Portuguese",), SECRET, 33),
    RosterEntry("Omar Farouk", "USAID", STANDBY, ("essential_services",), ("Arabic",), CONF, 16),
    RosterEntry("Hannah Lindqvist", "HHS", STANDBY, ("essential_services",),
                ("French", "Swahili"), CONF, None),  # needs FACT
    RosterEntry("Miguel Ortega", "Agriculture", STANDBY, ("economic_stabilization",),
                ("Spanish", "Portuguese"), CONF, 82),  # FACT expired
    RosterEntry("Sarah Goldberg", "Commerce", STANDBY, ("economic_stabilization",
                "strategic_communication"), ("Hebrew", "Arabic"), SECRET, 12),
    RosterEntry("David Kim", "Treasury", STANDBY, ("economic_stabilization",),
                ("Korean",), SECRET, 45, "passport"),
    RosterEntry("Fatima Diallo", "Justice", STANDBY, ("rule_of_law",),
                ("French", "Bambara"), SECRET, 20),
    RosterEntry("Kevin O'Neill", "Homeland Security", STANDBY, ("security_sector",),
                ("Spanish",), SECRET, None),  # needs FACT
    RosterEntry("Rachel Ndlovu", "Transportation", STANDBY, ("essential_services",),
                ("Swahili",), CONF, 24),
    RosterEntry("Ahmad Rahimi", "State", STANDBY, ("strategic_communication",),
                ("Dari", "Pashto"), TS, 9),
    RosterEntry("Jennifer Alvarez", "USAID", STANDBY, ("transitional_governance",),
                ("Spanish", "Haitian Creole"), CONF, 36),
    RosterEntry("Peter Novak", "Commerce", STANDBY, ("economic_stabilization",),
                ("Russian",), SECRET, 73),  # FACT expired
    RosterEntry("Aisha Bello", "HHS", STANDBY, ("essential_services",), ("Hausa", "French"),
                CONF, 15, "medical"),
    RosterEntry("William Harper", "Agriculture", STANDBY, ("essential_services",),
                ("Arabic",), CONF, 28),
    RosterEntry("Nadia Haidari", "Justice", STANDBY, ("rule_of_law", "transitional_governance"),
                ("Arabic", "French"), SECRET, 6),
    RosterEntry("Christopher Lee", "Treasury", STANDBY, ("economic_stabilization",),
                ("Mandarin",), SECRET, 52),
    RosterEntry("Yusuf Mohamed", "Homeland Security", STANDBY, ("security_sector",),
                ("Somali", "Arabic"), SECRET, 21, "clearance"),
    RosterEntry("Laura Bennett", "Transportation", STANDBY, ("essential_services",),
                ("Spanish",), NONE, None),  # no clearance yet, needs FACT
    RosterEntry("Jean-Baptiste Pierre", "State", STANDBY, ("rule_of_law",),
                ("Haitian Creole", "French"), SECRET, 17),
    RosterEntry("Olena Kovalenko", "USAID", STANDBY, ("strategic_communication",
                "transitional_governance"), ("Ukrainian", "Russian"), CONF, 4),
    RosterEntry("Michael Torres", "State", STANDBY, ("security_sector",),
                ("Spanish", "Arabic"), TS, 38),
    RosterEntry("Ngozi Eze", "HHS", ACTIVE, ("essential_services", "strategic_communication"),
                ("French",), SECRET, 10),
)  # fmt: skip


@dataclass(frozen=True)
class PostEntry:
    """One demo post abroad."""

    code: str
    city: str
    country: str
    threat: ThreatLevel
    clearance: ClearanceLevel
    per_diem: str
    danger_pay_pct: int
    differential_pct: int
    visa: bool
    lead_days: int = 10


POSTS: tuple[PostEntry, ...] = (
    PostEntry("KBL", "Kabul", "Afghanistan", ThreatLevel.CRITICAL, TS, "210", 35, 35, True, 15),
    PostEntry("JUB", "Juba", "South Sudan", ThreatLevel.HIGH, SECRET, "330", 25, 35, True),
    PostEntry("PAP", "Port-au-Prince", "Haiti", ThreatLevel.HIGH, SECRET, "291", 15, 30, False),
    PostEntry("FIH", "Kinshasa", "Democratic Republic of the Congo", ThreatLevel.MEDIUM, SECRET,
              "357", 15, 30, True),
    PostEntry("TIP", "Tripoli", "Libya", ThreatLevel.CRITICAL, TS, "285", 30, 35, True, 21),
    PostEntry("SAH", "Sana'a", "Yemen", ThreatLevel.CRITICAL, TS, "230", 35, 35, True, 21),
    PostEntry("BKO", "Bamako", "Mali", ThreatLevel.HIGH, SECRET, "295", 25, 30, True),
    PostEntry("ROB", "Monrovia", "Liberia", ThreatLevel.LOW, CONF, "325", 0, 25, True),
    PostEntry("KBP", "Kyiv", "Ukraine", ThreatLevel.HIGH, SECRET, "338", 35, 20, False),
    PostEntry("DIL", "Dili", "Timor-Leste", ThreatLevel.LOW, CONF, "245", 0, 20, False),
)  # fmt: skip

# (sku, name, quantity at the Washington depot, quantity at the Frankfurt depot)
STOCK: tuple[tuple[str, str, int, int], ...] = (
    (SKU_INDIVIDUAL_KIT, "Individual deployment kit", 60, 25),
    (SKU_BALLISTIC_VEST, "Ballistic vest (level IV plates)", 30, 12),
    (SKU_HELMET, "Ballistic helmet", 30, 12),
    (SKU_MEDICAL_KIT, "Team medical kit", 8, 4),
    (SKU_SATELLITE_PHONE, "Satellite phone", 12, 6),
)
DEPOTS = ("Washington, DC", "Frankfurt, Germany")

AGENCY_MAIL = {
    "State": "state",
    "USAID": "usaid",
    "Agriculture": "usda",
    "Commerce": "doc",
    "HHS": "hhs",
    "Homeland Security": "dhs",
    "Justice": "doj",
    "Treasury": "treasury",
    "Transportation": "dot",
}


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later (clamped to the month's last day)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for dom in (day.day, 30, 29, 28):
        try:
            return date(year, month, dom)
        except ValueError:
            continue
    raise ValueError(f"no valid date for {day} + {months} months")


def _next_monday(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7 or 7)


def _member(index: int, entry: RosterEntry, today: date) -> Member:
    first, _, last = entry.name.partition(" ")
    local = f"{first}.{last}".lower().replace(" ", "").replace("'", "")
    return Member(
        name=entry.name,
        email=f"{local}@{AGENCY_MAIL[entry.agency]}.crc.example",
        agency=entry.agency,
        component=entry.component,
        sectors=list(entry.sectors),
        languages=list(entry.languages),
        # ILR levels: the first language strongest (3 to 5), the others 2 or 3.
        language_levels={
            lang: (3 + index % 3) if i == 0 else (2 + index % 2) for i, lang in enumerate(entry.languages)
        },
        clearance_level=entry.clearance,
        clearance_granted=None if entry.clearance == NONE else add_months(today, -(12 + index % 48)),
        clearance_expires=(
            today - timedelta(days=30)
            if entry.problem == "clearance"
            else None
            if entry.clearance == NONE
            else add_months(today, 24 + index % 36)
        ),
        medical_expires=(
            today - timedelta(days=12) if entry.problem == "medical" else add_months(today, 10 + index % 14)
        ),
        # A passport must be valid six months past the end of a deployment: this one is not.
        passport_expires=(
            today + timedelta(days=75)
            if entry.problem == "passport"
            else add_months(today, 30 + (index * 7) % 60)
        ),
        annual_salary_usd=Decimal(92_000 + (index * 3_700) % 78_000),
    )


def _certificates(member_id: int, entry: RosterEntry, index: int, today: date) -> list[Certificate]:
    certificates = [
        Certificate(
            member_id=member_id,
            course_code=COURSE_ORIENTATION,
            issued_on=add_months(today, -(6 + index % 30)),
        )
    ]
    if entry.fact_months_ago is not None:
        issued = add_months(today, -entry.fact_months_ago)
        certificates.append(
            Certificate(
                member_id=member_id,
                course_code=COURSE_FACT,
                issued_on=issued,
                expires_on=add_months(issued, FACT_VALIDITY_MONTHS),
            )
        )
    return certificates


def _courses() -> list[Course]:
    courses = [
        Course(
            code=COURSE_FACT,
            title="Foreign Affairs Counter Threat (FACT)",
            days=5,
            validity_months=FACT_VALIDITY_MONTHS,
        ),
        Course(code=COURSE_ORIENTATION, title="CRC orientation", days=3, validity_months=None),
    ]
    courses += [
        Course(
            code=briefing_course_code(post.code),
            title=f"Pre-deployment briefing: {post.city}, {post.country}",
            days=1,
            validity_months=BRIEFING_VALIDITY_MONTHS,
        )
        for post in POSTS
    ]
    return courses


def _sessions(courses: list[Course], today: date) -> list[CourseSession]:
    """Sessions every few weeks from the next two weeks until a year from now."""
    first_monday = _next_monday(today)
    horizon = today + timedelta(days=SCHEDULE_DAYS)
    sessions = []
    for course in courses:
        # The first sessions never overlap (one member is never booked into two at once, so a
        # member missing all three courses can take them back to back): FACT Monday to Friday,
        # orientation the next Monday to Wednesday, the post's briefing that Thursday.
        if course.code == COURSE_FACT:
            every, offset, location, seats = 14, 0, "FASTC, Blackstone, VA", 16
        elif course.code == COURSE_ORIENTATION:
            every, offset, location, seats = 28, 7, "Foreign Service Institute, Arlington, VA", 24
        else:
            every, offset, location, seats = 21, 10, "Foreign Service Institute, Arlington, VA", 12
        starts = first_monday + timedelta(days=offset)
        while starts <= horizon:
            sessions.append(
                CourseSession(
                    course_code=course.code,
                    location=location,
                    starts_on=starts,
                    ends_on=starts + timedelta(days=course.days - 1),
                    seats=seats,
                )
            )
            starts += timedelta(days=every)
    return sessions


def _posts() -> list[Post]:
    return [
        Post(
            code=p.code,
            city=p.city,
            country=p.country,
            threat_level=p.threat,
            clearance_required=p.clearance,
            per_diem_usd=Decimal(p.per_diem),
            danger_pay_pct=Decimal(p.danger_pay_pct),
            post_differential_pct=Decimal(p.differential_pct),
            visa_required=p.visa,
            clearance_lead_days=p.lead_days,
        )
        for p in POSTS
    ]


def _stock() -> list[StockItem | StockMovement]:
    # Each balance with the ledger row it is the sum of.
    held = [
        (depot, sku, name, quantity)
        for sku, name, *quantities in STOCK
        for depot, quantity in zip(DEPOTS, quantities, strict=True)
    ]
    items: list[StockItem | StockMovement] = [
        StockItem(depot=depot, sku=sku, name=name, quantity=quantity) for depot, sku, name, quantity in held
    ]
    items += [
        StockMovement(
            depot=depot, sku=sku, quantity=quantity, kind="received", note="opening stock", actor="seed"
        )
        for depot, sku, _name, quantity in held
    ]
    return items


def demo_email(username: str) -> str:
    """A demo user's email address (CONTRACT.md: `<username>@crc.example.gov`)."""
    return f"{username}@crc.example.gov"


def seed_demo(engine: sa.Engine, *, password: str, today: date | None = None) -> bool:
    """Fill an empty database with demo data; False (and nothing written) if it has users."""
    today = today or date.today()
    with Session(engine) as session:
        if session.exec(select(User).limit(1)).first() is not None:
            return False
        members = [_member(i, entry, today) for i, entry in enumerate(ROSTER)]
        courses = _courses()
        session.add_all(members)
        session.add_all(courses)
        session.add_all(_posts())
        session.add_all(_stock())
        session.flush()
        for i, (member, entry) in enumerate(zip(members, ROSTER, strict=True)):
            assert member.id is not None
            session.add_all(_certificates(member.id, entry, i, today))
        session.add_all(_sessions(courses, today))
        # One hash for every demo user: they share the demo password anyway, and argon2 is slow.
        password_hash = hash_password(password)
        for role in Role:
            linked = members[0] if role == Role.MEMBER else None
            session.add(
                User(
                    username=role.value,
                    full_name=linked.name if linked else f"Demo {role.value.replace('_', ' ')}",
                    email=demo_email(role.value),
                    password_hash=password_hash,
                    roles=[role.value],
                    member_id=linked.id if linked else None,
                )
            )
        for scoped in SCOPED_USERS:
            session.add(
                User(
                    username=scoped.username,
                    full_name=scoped.full_name,
                    email=demo_email(scoped.username),
                    password_hash=password_hash,
                    roles=[scoped.role.value],
                    scopes={scoped.role.value: list(scoped.scope)},
                )
            )
        session.commit()
    return True
