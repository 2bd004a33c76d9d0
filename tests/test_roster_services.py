"""The roster's availability rule, search and CSV import, on SQLite and PostgreSQL."""

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from crc.db import session_factory
from crc.domain import AGENCIES, SECTORS
from crc.stages import Stage
from crc.tables import AvailabilityWindow, Certificate, Member
from tests import factories
from tests.web_helpers import user
from web.services.dashboard import load_dashboard
from web.services.requests import today_utc
from web.services.roster import RosterSearch, list_members, search_roster
from web.services.roster_csv import RowError, dry_run, export_roster, import_roster

TODAY = today_utc()


def _day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


async def _roster(engine: AsyncEngine) -> dict[str, Member]:
    """Eight members, each held (or not) in one way, and one retired."""
    post = factories.post()
    people = {
        name: factories.member(name=name, email=f"{name.lower()}@example.gov")
        for name in ("Free", "Vetting", "Deployed", "Completed", "Leave", "Cancelled", "Overrun", "Back")
    }
    people["Retired"] = factories.member(name="Retired", email="retired@example.gov", retired_on=_day(-1))
    await factories.add(engine, post, *people.values())
    ids = {n: m.id for n, m in people.items()}

    async def deployment(name: str, start: int, days: int, stage: Stage, **more: object) -> None:
        member_id = ids[name]
        assert member_id is not None
        await factories.deployment_rows(
            engine,
            1,
            member_id=member_id,
            post_code=post.code,
            start=_day(start),
            duration_days=days,
            stage=stage,
            **more,
        )

    await deployment("Vetting", 20, 90, Stage.VETTING)  # running, starts later
    await deployment("Deployed", -10, 31, Stage.DEPLOYED)  # ends in 20 days
    await deployment("Completed", -60, 30, Stage.COMPLETED)  # days -60 to -31
    await deployment("Cancelled", -5, 30, Stage.CANCELLED)
    await deployment("Overrun", -40, 37, Stage.DEPLOYED)  # its end passed three days ago
    await deployment("Back", -40, 60, Stage.REDEPLOYMENT, left_on=_day(-1))
    leave = ids["Leave"]
    assert leave is not None
    await factories.add(
        engine, AvailabilityWindow(member_id=leave, kind="leave", starts_on=TODAY, ends_on=_day(5))
    )
    return people


async def _available(engine: AsyncEngine, **search: object) -> set[str]:
    async with session_factory(engine)() as session:
        found = await list_members(session, RosterSearch(**search), today=TODAY)  # type: ignore[arg-type]
    return {m.name for m in found if m.available}


async def test_available_from_deployments_and_windows(engine: AsyncEngine) -> None:
    await _roster(engine)
    assert await _available(engine) == {"Free", "Completed", "Cancelled", "Back"}
    later = {"available_from": _day(30), "available_to": _day(40)}
    assert await _available(engine, **later) == {
        "Free",
        "Deployed",
        "Completed",
        "Leave",
        "Cancelled",
        "Overrun",
        "Back",
    }
    past = {"available_from": _day(-40), "available_to": _day(-35)}
    assert await _available(engine, **past) == {"Free", "Vetting", "Deployed", "Leave", "Cancelled"}
    # Asking for dates lists only the members free then.
    async with session_factory(engine)() as session:
        listed = await list_members(session, RosterSearch(available_from=_day(2)), today=TODAY)
    # An overrun deployment holds its member to today, not beyond: its end is not known.
    assert {m.name for m in listed} == {"Free", "Completed", "Cancelled", "Overrun", "Back"}


async def test_dashboard_counts_what_the_roster_shows(engine: AsyncEngine) -> None:
    await _roster(engine)
    async with session_factory(engine)() as session:
        board = await load_dashboard(
            session, user=user("admin", ["admin"]), now=datetime.now(UTC), today=TODAY
        )
    # Eight on the roster (the retired one is not), four of them available: the roster's four.
    assert (board.readiness.members, board.readiness.available) == (8, 4)
    assert await _available(engine) == {"Free", "Completed", "Cancelled", "Back"}


async def test_search_filters(engine: AsyncEngine) -> None:
    fact = factories.course("FACT")
    people = [
        factories.member(
            name="Amal Haddad", email="a@x.gov", languages=["ar", "fr"], language_levels={"ar": 4, "fr": 2}
        ),
        factories.member(name="Bo Lindqvist", email="b@x.gov", sectors=["security_sector"], languages=["sv"]),
        factories.member(
            name="Carla HADLEY", email="c@x.gov", languages=["AR"], language_levels={"AR": 2}, agency="USAID"
        ),
        factories.member(name="Dmitri Had", email="d@x.gov", retired_on=_day(0)),
    ]
    await factories.add(engine, fact, *people)
    amal, bo, carla, _ = (p.id for p in people)
    assert amal and bo and carla
    await factories.add(
        engine,
        Certificate(member_id=amal, course_code="FACT", issued_on=_day(-100), expires_on=_day(100)),
        Certificate(member_id=bo, course_code="FACT", issued_on=_day(-900), expires_on=_day(-1)),
    )

    async def names(**search: object) -> list[str]:
        async with session_factory(engine)() as session:
            return [m.name for m in await search_roster(session, RosterSearch(**search), today=TODAY)]  # type: ignore[arg-type]

    assert await names(name="had") == ["Amal Haddad", "Carla HADLEY"]
    assert await names(name="had", include_retired=True) == ["Amal Haddad", "Carla HADLEY", "Dmitri Had"]
    assert await names(sector="security_sector") == ["Bo Lindqvist"]
    assert await names(language="ar") == ["Amal Haddad", "Carla HADLEY"]
    assert await names(language="Ar", min_level=3) == ["Amal Haddad"]
    assert await names(language="sv", min_level=0) == []  # no level recorded
    assert await names(certificate="FACT") == ["Amal Haddad"]
    assert await names(missing_certificate="FACT") == ["Bo Lindqvist", "Carla HADLEY"]
    assert await names(agency="USAID", language="ar") == ["Carla HADLEY"]


HEADER = (
    "name,email,agency,component,sectors,languages,clearance_level,clearance_granted,"
    "clearance_expires,medical_expires,passport_expires,certificates,retired_on\r\n"
)


async def test_import_with_bad_rows_writes_nothing_and_lists_every_error(engine: AsyncEngine) -> None:
    await factories.add(engine, factories.course("FACT"))
    data = (
        HEADER
        + "Good Person,good@x.gov,State,active,rule_of_law,fr:3,secret,,,,,FACT:2026-01-15,\r\n"
        + ",bad-email,Nowhere,reserve,piracy,fr:9;de:x,cosmic,2026-13-01,,,,NOPE:2026-01-01;FACT,soon\r\n"
        + "Twin,good@x.gov,State,active,,,secret,,,,,,\r\n"
        + "Dates,dates@x.gov,State,active,rule_of_law,fr:1,secret,2027-01-01,2026-01-01,,,,\r\n"
    ).encode()
    async with session_factory(engine)() as session:
        report = await import_roster(session, data)
    assert report.errors == [
        RowError(3, "name", "must not be empty"),
        RowError(3, "email", "must be an email address (name@example.gov)"),
        RowError(
            3,
            "agency",
            f"must be one of: {', '.join(AGENCIES)}",
        ),
        RowError(3, "component", "must be one of: active, standby"),
        RowError(
            3,
            "sectors",
            f"must be one of: {', '.join(SECTORS)}",
        ),
        RowError(3, "languages", "de:x: the level must be an ILR level from 0 to 5"),
        RowError(3, "languages", "must be an ILR level from 0 to 5"),
        RowError(3, "clearance_level", "must be one of: none, confidential, secret, top_secret"),
        RowError(3, "clearance_granted", "must be a date (YYYY-MM-DD)"),
        RowError(3, "certificates", "FACT: write a course code and a date, FACT:2026-01-15"),
        RowError(3, "certificates", "NOPE: no course has this code"),
        RowError(3, "retired_on", "must be a date (YYYY-MM-DD) or empty"),
        RowError(4, "email", "row 2 has this email too"),
        RowError(4, "sectors", "choose at least one sector"),
        RowError(5, "clearance_expires", "must not be before clearance_granted"),
    ]
    async with session_factory(engine)() as session:
        assert (await session.exec(select(Member))).all() == []
        assert (await session.exec(select(Certificate))).all() == []


async def test_import_adds_and_updates_in_one_go_and_export_round_trips(engine: AsyncEngine) -> None:
    existing = factories.member(name="Old Name", email="kept@x.gov")
    await factories.add(engine, factories.course("FACT", validity_months=36), existing)
    data = (
        HEADER + "New Person,new@x.gov,USAID,standby,rule_of_law;security_sector,fr:3;Dari,secret,2025-01-02,"
        "2030-01-01,2029-06-30,2031-01-01,FACT:2026-01-15,\r\n"
        + "New Name,KEPT@x.gov,State,active,rule_of_law,en:5,top_secret,,,,,,\r\n"
    ).encode()
    async with session_factory(engine)() as session:
        dry = await dry_run(session, data)
        assert dry.errors == [] and [r.action for r in dry.rows] == ["add", "update"]
        assert len((await session.exec(select(Member))).all()) == 1  # a dry run writes nothing
        report = await import_roster(session, data)
    assert report.errors == []
    async with session_factory(engine)() as session:
        members = {m.email: m for m in (await session.exec(select(Member))).all()}
        assert set(members) == {"new@x.gov", "kept@x.gov"}
        new, kept = members["new@x.gov"], members["kept@x.gov"]
        assert kept.id == existing.id and kept.name == "New Name" and kept.clearance_level == "top_secret"
        assert (new.languages, new.language_levels) == (["fr", "Dari"], {"fr": 3})
        assert (new.clearance_granted, new.medical_expires) == (date(2025, 1, 2), date(2029, 6, 30))
        (cert,) = (await session.exec(select(Certificate))).all()
        assert (cert.member_id, cert.issued_on, cert.expires_on) == (
            new.id,
            date(2026, 1, 15),
            date(2029, 1, 15),
        )
        exported = await export_roster(session, sorted(members.values(), key=lambda m: m.name))
        again = await dry_run(session, exported.encode())
    assert again.errors == []
    assert [(r.email, r.action) for r in again.rows] == [
        ("kept@x.gov", "unchanged"),
        ("new@x.gov", "unchanged"),
    ]


async def test_export_keeps_spreadsheets_from_running_a_cell_and_import_reads_it_back(
    engine: AsyncEngine,
) -> None:
    sly = factories.member(name="=HYPERLINK(1)", email="sly@x.gov")
    await factories.add(engine, sly)
    async with session_factory(engine)() as session:
        exported = await export_roster(session, [sly])
        again = await dry_run(session, exported.encode())
    assert exported.splitlines()[1].startswith("'=HYPERLINK(1),sly@x.gov,")
    assert [(r.email, r.action) for r in again.rows] == [("sly@x.gov", "unchanged")]
