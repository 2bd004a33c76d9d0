"""Lessons learned: after-action reports searched by text, post and sector, on both databases."""

import html
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from crc.db import create_engine, create_sync_engine, session_factory
from crc.lesson_index import PG_CREATE, PG_REPORT_VECTOR
from crc.stages import Stage
from crc.tables import Task
from migrations import upgrade
from tests.factories import deployment_rows
from tests.web_helpers import World, a_post, web_world
from web.services.lessons import fts5_match, search_lessons

PUMPS = "The water pumps failed in the rainy season; spare parts came from Kampala."
BALLOTS = "Election observers needed interpreters, and the ballots arrived late."
FUEL = "Generators and water pumping stations need fuel contracts signed before the rains."
NOON = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def report_task(deployment_id: str, text: str, *, completed: bool = True, days_ago: int = 0) -> Task:
    """An after-action report task, written by the member (completed, unless told otherwise)."""
    return Task(
        id=str(uuid.uuid4()),
        deployment_id=deployment_id,
        kind="after_action_report",
        stage=Stage.REDEPLOYMENT.value,
        role="member",
        title="After-action report",
        outcomes=["done"],
        status="completed" if completed else "open",
        outcome="done" if completed else None,
        data={"report": text} if completed else None,
        completed_by="member" if completed else None,
        completed_at=NOON - timedelta(days=days_ago) if completed else None,
    )


async def complete_report(engine: AsyncEngine, task_id: str, text: str, by: str) -> None:
    """Complete an open report as the read-model activity does (an UPDATE of the open row)."""
    async with session_factory(engine).begin() as session:
        await session.exec(
            sa.update(Task)
            .where(sa.column("id") == task_id, sa.column("status") == "open")
            .values(
                status="completed", outcome="done", data={"report": text}, completed_by=by, completed_at=NOON
            )
        )


class Reports:
    """Three completed deployments with reports: pumps (JUB, rule of law), ballots (other post,
    transitional governance), fuel (JUB, essential services; completed by Operations)."""

    def __init__(self, world: World, other_post: str, pumps: str, ballots: str, fuel: str) -> None:
        self.world, self.other_post = world, other_post
        self.pumps, self.ballots, self.fuel = pumps, ballots, fuel


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        yield w


@pytest.fixture
async def reports(world: World) -> Reports:
    other = a_post(country="Haiti", city="Port-au-Prince")
    await world.add(other)
    member_id, done = world.member.id or 0, Stage.COMPLETED
    [pumps] = await deployment_rows(
        world.engine, 1, member_id=member_id, post_code=world.post.code, stage=done
    )
    [ballots] = await deployment_rows(
        world.engine,
        1,
        member_id=member_id,
        post_code=other.code,
        stage=done,
        sector="transitional_governance",
    )
    [fuel] = await deployment_rows(
        world.engine,
        1,
        member_id=member_id,
        post_code=world.post.code,
        stage=done,
        sector="essential_services",
    )
    # Written completed (an INSERT) for two, completed later (an UPDATE) for the third.
    open_fuel = report_task(fuel, "", completed=False)
    await world.add(
        report_task(pumps, PUMPS, days_ago=2), report_task(ballots, BALLOTS, days_ago=1), open_fuel
    )
    await complete_report(world.engine, open_fuel.id, FUEL, by="operations")
    return Reports(world, other.code, pumps, ballots, fuel)


async def _lessons(world: World, username: str = "member", **query: str) -> dict[str, Any]:
    response = await world.http.get("/api/v1/lessons", params=query, headers=await world.headers(username))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _ids(body: dict[str, Any]) -> list[str]:
    return [item["deployment_id"] for item in body["items"]]


async def test_without_words_every_report_newest_first(reports: Reports) -> None:
    body = await _lessons(reports.world)
    assert body["total"] == 3
    assert _ids(body) == [reports.fuel, reports.ballots, reports.pumps]
    ballots = body["items"][1]
    assert ballots == {
        "deployment_id": reports.ballots,
        "member_name": reports.world.member.name,
        "post_code": reports.other_post,
        "country": "Haiti",
        "sector": "transitional_governance",
        "role_title": "Rule of law adviser",
        "completed_at": "2026-11-01T12:00:00Z",
        "excerpt": BALLOTS,
        "report": BALLOTS,
    }


async def test_a_word_finds_exactly_the_reports_holding_it(reports: Reports) -> None:
    body = await _lessons(reports.world, q="ballots")
    assert (body["total"], _ids(body)) == (1, [reports.ballots])
    assert "ballots" in body["items"][0]["excerpt"]
    assert (await _lessons(reports.world, q="Kampala"))["total"] == 1
    assert (await _lessons(reports.world, q="helicopter"))["total"] == 0


async def test_every_word_must_be_there(reports: Reports) -> None:
    assert _ids(await _lessons(reports.world, q="water fuel")) == [reports.fuel]


async def test_words_are_stemmed(reports: Reports) -> None:
    """ "pumping" finds "pumps" too (Porter stemming on SQLite, the english dictionary on PostgreSQL)."""
    body = await _lessons(reports.world, q="pumping")
    assert sorted(_ids(body)) == sorted([reports.pumps, reports.fuel])
    assert _ids(await _lessons(reports.world, q="observer")) == [reports.ballots]


async def test_post_and_sector_filters(reports: Reports) -> None:
    world = reports.world
    assert _ids(await _lessons(world, post=world.post.code)) == [reports.fuel, reports.pumps]
    assert _ids(await _lessons(world, post=world.post.code, sector="essential_services")) == [reports.fuel]
    assert _ids(await _lessons(world, sector="transitional_governance")) == [reports.ballots]
    assert _ids(await _lessons(world, q="water", post=reports.other_post)) == []
    assert _ids(await _lessons(world, q="water", post=world.post.code, sector="rule_of_law")) == [
        reports.pumps
    ]


@pytest.mark.parametrize("q", ['"foo', "a OR", "NEAR(", "water*", "-", "'; DROP TABLE task; --", '"water'])
async def test_punctuation_and_operators_are_never_a_syntax_error(reports: Reports, q: str) -> None:
    body = await _lessons(reports.world, q=q)
    expected = {'"water': 2, "water*": 2, '"foo': 0}
    if q in expected:
        assert body["total"] == expected[q]
    assert len(body["items"]) == body["total"]


def test_fts5_input_is_quoted_word_by_word() -> None:
    assert fts5_match('"foo') == '"foo"'
    assert fts5_match("a OR") == '"a" "OR"'
    assert fts5_match("pumps, NEAR(x*)") == '"pumps" "NEAR" "x"'
    assert fts5_match("'; --") is None


async def test_open_and_other_tasks_are_not_lessons(reports: Reports) -> None:
    world = reports.world
    [open_one] = await deployment_rows(
        world.engine, 1, member_id=world.member.id or 0, post_code=world.post.code
    )
    water_approval = report_task(open_one, "water everywhere")
    water_approval.kind = "approval"
    await world.add(report_task(open_one, "", completed=False), water_approval)
    assert (await _lessons(world, q="water"))["total"] == 2
    assert (await _lessons(world))["total"] == 3


async def test_paging(reports: Reports) -> None:
    body = await _lessons(reports.world, limit="1", offset="1")
    assert (body["total"], _ids(body)) == (3, [reports.ballots])


async def test_bad_filters_are_422s_naming_the_field(reports: Reports) -> None:
    world = reports.world
    headers = await world.headers("member")
    for query, loc in (
        ({"post": "NOPE"}, ["query", "post"]),
        ({"sector": "farming"}, ["query", "sector"]),
        ({"q": "x" * 201}, ["query", "q"]),
        ({"limit": "0"}, ["query", "limit"]),
    ):
        response = await world.http.get("/api/v1/lessons", params=query, headers=headers)
        assert response.status_code == 422, response.text
        assert [e["loc"] for e in response.json()["detail"]] == [loc]


async def test_api_needs_a_token_and_any_role_may_read(reports: Reports) -> None:
    world = reports.world
    assert (await world.http.get("/api/v1/lessons")).status_code == 401
    for username in ("member", "logistics", "requester", "admin"):
        assert (await _lessons(world, username, q="ballots"))["total"] == 1


async def test_openapi_documents_the_lesson(world: World) -> None:
    spec = (await world.http.get("/openapi.json")).json()
    answer = spec["paths"]["/api/v1/lessons"]["get"]["responses"]["200"]["content"]["application/json"]
    assert answer["schema"]["$ref"] == "#/components/schemas/Page_Lesson_"
    assert set(spec["components"]["schemas"]["Lesson"]["properties"]) == {
        "deployment_id",
        "member_name",
        "post_code",
        "country",
        "sector",
        "role_title",
        "completed_at",
        "excerpt",
        "report",
    }


async def test_page_searches_and_shows_no_more_than_name_and_post(reports: Reports) -> None:
    world = reports.world
    async with world.signed_in("logistics") as browser:
        page = await browser.get("/lessons", params={"q": "pumping", "post": world.post.code})
        fragment = await browser.get("/lessons", params={"q": "ballots"}, headers={"HX-Request": "true"})
        bad = await browser.get("/lessons", params={"post": "NOPE"})
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert '<a href="/lessons" class="usa-nav-link usa-current" aria-current="page">Lessons</a>' in page.text
    assert "2 reports" in text
    assert PUMPS in text and FUEL in text and BALLOTS not in text
    assert world.member.name in text
    assert world.member.email not in text
    assert fragment.status_code == 200
    assert fragment.text.startswith('<div id="lesson-list">')
    assert '<p id="lesson-total" aria-live="polite">1 report</p>' in fragment.text
    assert BALLOTS in html.unescape(fragment.text) and PUMPS not in html.unescape(fragment.text)
    assert bad.status_code == 422
    assert "no post has the code" in html.unescape(bad.text)


async def test_page_needs_a_session(world: World) -> None:
    response = await world.http.get("/lessons")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/lessons"
    htmx = await world.http.get("/lessons", headers={"HX-Request": "true"})
    assert htmx.status_code == 401
    assert htmx.headers["HX-Redirect"].startswith("/login")


async def test_report_text_is_escaped(world: World) -> None:
    assert world.member.id is not None
    [d] = await deployment_rows(world.engine, 1, member_id=world.member.id, post_code=world.post.code)
    await world.add(report_task(d, "<script>alert(1)</script> generators"))
    async with world.signed_in("member") as browser:
        page = await browser.get("/lessons", params={"q": "generators"})
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; generators" in page.text


async def test_deployment_page_shows_the_report_and_who_wrote_it(reports: Reports) -> None:
    world = reports.world
    async with world.signed_in("operations") as browser:
        fuel = await browser.get(f"/deployments/{reports.fuel}")
        pumps = await browser.get(f"/deployments/{reports.pumps}")
    assert fuel.status_code == 200
    assert '<h2 id="report-h">After-action report</h2>' in fuel.text
    assert f'<p class="report-text">{FUEL}</p>' in fuel.text
    assert "Written by Operations on" in fuel.text
    assert f'<p class="report-text">{html.escape(PUMPS, quote=False)}</p>' in pumps.text
    assert "Written by Member on" in pumps.text


async def test_deployment_page_without_a_report_has_no_section(world: World) -> None:
    assert world.member.id is not None
    [d] = await deployment_rows(world.engine, 1, member_id=world.member.id, post_code=world.post.code)
    await world.add(report_task(d, "", completed=False))
    async with world.signed_in("operations") as browser:
        page = await browser.get(f"/deployments/{d}")
    assert page.status_code == 200
    assert "After-action report</h2>" not in page.text


def test_postgres_query_repeats_the_indexed_expression() -> None:
    """PostgreSQL uses the GIN index only for the very expression it was built on."""
    assert f"USING gin ({PG_REPORT_VECTOR})" in PG_CREATE[0]


async def test_migration_indexes_the_reports_written_before_it(database_url: tuple[str, str | None]) -> None:
    url, schema = database_url
    upgrade(url, schema, "0012")
    sync = create_sync_engine(url, schema=schema)
    try:
        with sync.begin() as conn:
            for statement in (
                "INSERT INTO member (id, name, email, agency, component, sectors, languages, "
                "clearance_level, annual_salary_usd) "
                "VALUES (1, 'Omar Farouk', '', 'USAID', 'standby', '[]', '[]', 'secret', 0)",
                "INSERT INTO post (code, country, city, threat_level, clearance_required, per_diem_usd, "
                "danger_pay_pct, post_differential_pct, visa_required, clearance_lead_days) "
                "VALUES ('JUB', 'South Sudan', 'Juba', 'high', 'secret', 330, 25, 35, true, 10)",
                "INSERT INTO deployment (id, workflow_id, member_id, post_code, sector, role_title, "
                "start_date, end_date, duration_days, justification, stage, status, requested_by, "
                "revision, created_at, updated_at) VALUES ('d1', 'deployment-d1', 1, 'JUB', "
                "'rule_of_law', 'Adviser', '2026-01-04', '2026-03-04', 60, 'Needed', 'COMPLETED', '', "
                "'requester', 1, :at, :at)",
                "INSERT INTO task (id, deployment_id, kind, stage, role, title, outcomes, status, "
                "escalated, data, completed_by, completed_at, created_at) VALUES ('t1', 'd1', "
                "'after_action_report', 'REDEPLOYMENT', 'member', 'Report', '[]', 'completed', false, "
                """'{"report": "Courts reopened after the floods"}', 'member', :at, :at)""",
                "INSERT INTO task (id, deployment_id, kind, stage, role, title, outcomes, status, "
                "escalated, created_at) VALUES ('t2', 'd1', 'after_action_report', 'REDEPLOYMENT', "
                "'member', 'Report', '[]', 'open', false, :at)",
            ):
                conn.execute(sa.text(statement), {"at": NOON})
        upgrade(url, schema)
        # Completed after the migration (as the activity writes it): indexed by the database.
        with sync.begin() as conn:
            conn.execute(
                sa.update(Task)
                .where(sa.column("id") == "t2")
                .values(status="completed", completed_at=NOON, data={"report": "Roads washed out"})
            )
    finally:
        sync.dispose()
    engine = create_engine(url, schema=schema)
    try:
        async with session_factory(engine)() as session:
            found, total = await search_lessons(session, q="flooded court")
            later, _ = await search_lessons(session, q="road")
    finally:
        await engine.dispose()
    assert (total, [(f.deployment_id, f.member_name, f.post_code) for f in found]) == (
        1,
        [("d1", "Omar Farouk", "JUB")],
    )
    assert [f.report for f in later] == ["Roads washed out"]
