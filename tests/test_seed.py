"""The dev seed: one user per role, a varied roster, posts, a year of courses, and kit."""

from collections.abc import Iterator
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from crc.db import create_sync_engine
from crc.domain import (
    AGENCIES,
    COURSE_FACT,
    COURSE_ORIENTATION,
    SECTORS,
    SKU_BALLISTIC_VEST,
    SKU_HELMET,
    SKU_INDIVIDUAL_KIT,
    SKU_MEDICAL_KIT,
    SKU_SATELLITE_PHONE,
    ClearanceLevel,
    Component,
    briefing_course_code,
)
from crc.passwords import verify_password
from crc.roles import Role
from crc.seed import ROSTER, seed_demo
from crc.tables import Certificate, Course, CourseSession, Member, Post, StockItem, User
from migrations import upgrade

TODAY = date.today()
TABLES = (User, Member, Certificate, Post, Course, CourseSession, StockItem)


@pytest.fixture
def migrated(database_url: tuple[str, str | None]) -> Iterator[sa.Engine]:
    """A sync engine on a freshly migrated, empty database."""
    url, schema = database_url
    upgrade(url, schema)
    engine = create_sync_engine(url, schema=schema)
    yield engine
    engine.dispose()


@pytest.fixture
def seeded(migrated: sa.Engine) -> sa.Engine:
    assert seed_demo(migrated, password="s3cret-demo") is True
    return migrated


def _counts(engine: sa.Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {t.__name__: session.exec(select(func.count()).select_from(t)).one() for t in TABLES}


def test_one_user_per_role_with_the_demo_password(seeded: sa.Engine) -> None:
    with Session(seeded) as session:
        users = session.exec(select(User)).all()
    unscoped = [u for u in users if u.username in Role._value2member_map_]
    assert sorted(u.username for u in unscoped) == sorted(r.value for r in Role)
    assert all(u.roles == [u.username] and u.scopes == {} for u in unscoped)
    assert all(verify_password("s3cret-demo", u.password_hash) for u in users)
    assert not any(verify_password("demo", u.password_hash) for u in users)
    assert [u.username for u in users if u.member_id is not None] == ["member"]
    assert all(u.email == f"{u.username}@crc.example.gov" for u in users)


def test_scoped_users_speak_for_part_of_their_office(seeded: sa.Engine) -> None:
    with Session(seeded) as session:
        users = session.exec(select(User).where(col(User.username).not_in([r.value for r in Role]))).all()
        post_codes = set(session.exec(select(Post.code)).all())
        agencies = set(session.exec(select(Member.agency)).all())
    assert sorted((u.username, u.roles, u.scopes, u.member_id) for u in users) == [
        ("agency_usaid", ["home_agency"], {"home_agency": ["USAID"]}, None),
        ("com_jub", ["chief_of_mission"], {"chief_of_mission": ["JUB"]}, None),
        ("director_planning", ["director"], {"director": ["planning"]}, None),
    ]
    # Each scope names something the seed holds: a post, an agency with members, an office.
    assert "JUB" in post_codes
    assert "USAID" in agencies


def test_member_user_is_an_active_cleared_available_member(seeded: sa.Engine) -> None:
    with Session(seeded) as session:
        user = session.exec(select(User).where(User.username == "member")).one()
        member = session.get(Member, user.member_id)
        certificates = session.exec(select(Certificate).where(Certificate.member_id == user.member_id)).all()
    assert member is not None
    assert member.component == Component.ACTIVE
    assert member.clearance_level == ClearanceLevel.TOP_SECRET
    assert member.clearance_expires is not None and member.clearance_expires > TODAY
    assert member.medical_expires is not None and member.medical_expires > TODAY + timedelta(days=180)
    assert member.passport_expires is not None and member.passport_expires > TODAY + timedelta(days=365)
    valid = {c.course_code for c in certificates if c.expires_on is None or c.expires_on > TODAY}
    assert valid == {COURSE_FACT, COURSE_ORIENTATION}


def test_roster_covers_components_agencies_sectors_and_problems(seeded: sa.Engine) -> None:
    with Session(seeded) as session:
        members = session.exec(select(Member)).all()
        fact = session.exec(select(Certificate).where(Certificate.course_code == COURSE_FACT)).all()
    assert len(members) == len(ROSTER) == 34
    assert {m.component for m in members} == {Component.ACTIVE, Component.STANDBY}
    assert {m.agency for m in members} == set(AGENCIES)
    assert {s for m in members for s in m.sectors} == set(SECTORS)
    assert len({lang for m in members for lang in m.languages}) >= 10
    assert sum(1 for m in members if m.clearance_expires and m.clearance_expires < TODAY) == 2
    assert sum(1 for m in members if m.medical_expires and m.medical_expires < TODAY) == 2
    assert (
        sum(1 for m in members if m.passport_expires and m.passport_expires < TODAY + timedelta(days=180))
        == 1
    )
    assert sum(1 for c in fact if c.expires_on is not None and c.expires_on < TODAY) == 3
    assert len(members) - len({c.member_id for c in fact}) == 3  # never took FACT


def test_posts_courses_and_a_year_of_sessions(seeded: sa.Engine) -> None:
    with Session(seeded) as session:
        posts = session.exec(select(Post)).all()
        courses = {c.code: c for c in session.exec(select(Course)).all()}
        sessions = session.exec(select(CourseSession)).all()
    assert len(posts) == 10
    assert {p.threat_level for p in posts} == {"low", "medium", "high", "critical"}
    assert all(p.per_diem_usd > 0 and p.clearance_lead_days >= 10 for p in posts)
    assert courses[COURSE_FACT].days == 5 and courses[COURSE_FACT].validity_months == 72  # six years
    assert courses[COURSE_ORIENTATION].validity_months is None
    assert set(courses) == {COURSE_FACT, COURSE_ORIENTATION} | {briefing_course_code(p.code) for p in posts}
    for code, course in courses.items():
        starts = sorted(s.starts_on for s in sessions if s.course_code == code)
        assert TODAY < starts[0] <= TODAY + timedelta(days=7 + 10), code  # next Monday, then the offset
        assert starts[-1] >= TODAY + timedelta(days=365 - 28), code
        gaps = [(b - a).days for a, b in pairwise(starts)]
        assert max(gaps) <= 28, code
        assert all(
            s.ends_on == s.starts_on + timedelta(days=course.days - 1) and s.seats_taken == 0
            for s in sessions
            if s.course_code == code
        )


def test_the_first_sessions_of_the_courses_follow_one_another(seeded: sa.Engine) -> None:
    with Session(seeded) as session:
        sessions = session.exec(select(CourseSession)).all()
    first = {}
    for s in sorted(sessions, key=lambda s: s.starts_on, reverse=True):
        first[s.course_code] = s
    fact, orientation = first[COURSE_FACT], first[COURSE_ORIENTATION]
    briefing = first[briefing_course_code("JUB")]
    assert [(s.starts_on.weekday(), s.ends_on.weekday()) for s in (fact, orientation, briefing)] == [
        (0, 4),
        (0, 2),
        (3, 3),
    ]
    assert fact.ends_on < orientation.starts_on and orientation.ends_on < briefing.starts_on


def test_depot_stock_of_every_kind(seeded: sa.Engine) -> None:
    with Session(seeded) as session:
        stock = session.exec(select(StockItem)).all()
    skus = {SKU_INDIVIDUAL_KIT, SKU_BALLISTIC_VEST, SKU_HELMET, SKU_MEDICAL_KIT, SKU_SATELLITE_PHONE}
    assert {s.sku for s in stock} == skus
    assert len(stock) == 10
    assert all(s.quantity > 0 for s in stock)


def test_second_seed_is_skipped_and_changes_nothing(seeded: sa.Engine) -> None:
    before = _counts(seeded)
    assert seed_demo(seeded, password="another") is False
    assert _counts(seeded) == before
    with Session(seeded) as session:
        admin = session.exec(select(User).where(User.username == "admin")).one()
    assert verify_password("s3cret-demo", admin.password_hash)


def test_seed_is_deterministic_for_a_given_day(migrated: sa.Engine, tmp_path: Path) -> None:
    other_url = f"sqlite:///{tmp_path}/other.db"
    upgrade(other_url)
    other = create_sync_engine(other_url)
    try:
        day = date(2026, 3, 31)
        assert seed_demo(migrated, password="x", today=day)
        assert seed_demo(other, password="x", today=day)

        def roster(engine: sa.Engine) -> list[tuple[object, ...]]:
            with Session(engine) as session:
                rows = session.exec(select(Member).order_by(col(Member.id))).all()
                return [(m.name, m.agency, m.clearance_expires, m.passport_expires) for m in rows]

        assert roster(migrated) == roster(other)
    finally:
        other.dispose()
