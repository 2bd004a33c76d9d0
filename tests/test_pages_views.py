"""The deployment page (stage bar, actions by role, documents), the deployments list, the
dashboard's charts, the roster and posts with the admin's edits, and the request form's search."""

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from crc.db import session_factory
from crc.lifecycle_tables import Document
from crc.progress import WaitingFor
from crc.stages import Stage
from crc.tables import Certificate, Course, Event, Member, Post, Task
from tests import factories
from tests.page_alerts import page_alerts
from tests.web_helpers import World, a_post, csrf_of, open_task, user, web_world
from web.services import deployment_list
from web.services.deployment_list import NOT_A_CURSOR
from web.services.requests import today_utc

HTMX = {"HX-Request": "true"}
NOW = datetime.now(UTC)


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        yield w


async def a_deployment(world: World, stage: Stage, **overrides: Any) -> str:
    """A read-model deployment of the Active member at the world's post, requested by requester."""
    assert world.member.id is not None
    fields = {"requested_by": "requester", **overrides}
    [deployment_id] = await factories.deployment_rows(
        world.engine, 1, member_id=world.member.id, post_code=world.post.code, stage=stage, **fields
    )
    return deployment_id


def an_event(deployment_id: str, stage: Stage, kind: str, **overrides: Any) -> Event:
    fields: dict[str, Any] = {
        "key": str(uuid.uuid4()),
        "deployment_id": deployment_id,
        "kind": kind,
        "stage": stage.value,
        "actor": "planning",
        "message": f"{kind} at {stage}",
    }
    fields.update(overrides)
    return Event(**fields)


def steps(html: str) -> list[tuple[str, str]]:
    """The stage bar (USWDS step indicator) as (state, STAGE) pairs."""
    found = re.findall(
        r'<li class="usa-step-indicator__segment [^"]*step-([a-z]+)"[^>]*>\s*'
        r'<span class="usa-step-indicator__segment-label"><span class="usa-sr-only">[^<]*</span>(\w+)',
        html,
    )
    return [(state, name.upper()) for state, name in found]


# --- The deployment page -----------------------------------------------------------------------


async def test_stage_bar_shows_done_current_and_upcoming(world: World) -> None:
    deployment_id = await a_deployment(world, Stage.TRAINING, status="Enrolled in FACT")
    async with world.signed_in("planning") as browser:
        page = await browser.get(f"/deployments/{deployment_id}")
    assert page.status_code == 200
    assert steps(page.text) == [
        ("done", "REQUESTED"),
        ("done", "APPROVAL"),
        ("done", "VETTING"),
        ("current", "TRAINING"),
        ("upcoming", "EQUIPPING"),
        ("upcoming", "TRAVEL"),
        ("upcoming", "DEPLOYED"),
        ("upcoming", "REDEPLOYMENT"),
        ("upcoming", "COMPLETED"),
    ]
    assert 'aria-current="step"' in page.text
    assert 'Stage: <span class="usa-tag">Training</span> Enrolled in FACT' in page.text
    # No polling: the page's live stream watches this deployment (web.pages.events).
    assert f'sse-connect="/events?deployment={deployment_id}"' in page.text
    assert "hx-trigger" not in page.text


async def test_ended_deployment_shows_where_it_stopped(world: World) -> None:
    deployment_id = await a_deployment(world, Stage.REJECTED, status="Rejected by Chief of Mission")
    await world.add(
        an_event(deployment_id, Stage.APPROVAL, "approval_started"),
        an_event(deployment_id, Stage.REJECTED, "rejected", comment="<script>alert(1)</script>"),
    )
    async with world.signed_in("planning") as browser:
        page = await browser.get(f"/deployments/{deployment_id}")
        fragment = await browser.get(f"/deployments/{deployment_id}", headers=HTMX)
    assert steps(page.text)[:3] == [("done", "REQUESTED"), ("halted", "APPROVAL"), ("upcoming", "VETTING")]
    assert steps(page.text)[-1] == ("ended", "REJECTED")
    assert "hx-trigger" not in page.text
    assert "(finished; no longer updating)" in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert fragment.text.lstrip().startswith('<section id="deployment-status"')
    assert "hx-trigger" not in fragment.text
    assert "<html" not in fragment.text


async def test_page_shows_facts_open_tasks_and_timeline(world: World) -> None:
    deployment_id = await a_deployment(world, Stage.APPROVAL)
    task = Task(
        id=str(uuid.uuid4()),
        deployment_id=deployment_id,
        kind="approval",
        stage="APPROVAL",
        role="resource_management",
        title="Budget approval",
        outcomes=["approve", "reject"],
        due_at=NOW - timedelta(hours=3),
    )
    await world.add(
        task, an_event(deployment_id, Stage.APPROVAL, "approved", actor="planning", comment="Fits")
    )
    async with world.signed_in("planning") as browser:
        page = await browser.get(f"/deployments/{deployment_id}")
    text = page.text
    assert "Budget approval" in text and "Resource Management" in text
    assert '<span class="usa-tag bg-secondary-dark">Overdue</span>' in text
    assert '<span class="text-base">by Planning</span>' in text and "<blockquote>Fits</blockquote>" in text
    assert "<dt>Cost estimate</dt><dd>—</dd>" in text
    assert "<dt>Actual cost</dt><dd>—</dd>" in text
    assert world.member.name in text and world.post.country in text


def actions_of(html: str) -> list[str]:
    names = {
        "Check in": "check_in",
        "Request extension": "request_extension",
        "Cancel deployment": "cancel",
        "Order early return": "cancel",  # once deployed, cancelling brings the member home
    }
    # Cancel opens a confirmation first: a link USWDS's modal script turns into a button.
    return [key for label, key in names.items() if re.search(f">{label}</(button|a)>", html)]


@pytest.mark.parametrize(
    ("stage", "waiting_for", "username", "expected"),
    [
        (Stage.APPROVAL, WaitingFor.APPROVALS, "requester", ["cancel"]),
        (Stage.APPROVAL, WaitingFor.APPROVALS, "director", ["cancel"]),
        (Stage.APPROVAL, WaitingFor.APPROVALS, "admin", ["cancel"]),
        (Stage.APPROVAL, WaitingFor.APPROVALS, "planning", []),
        (Stage.APPROVAL, WaitingFor.APPROVALS, "operations", []),
        (Stage.APPROVAL, WaitingFor.APPROVALS, "avery", []),
        (Stage.TRAVEL, WaitingFor.COUNTRY_CLEARANCE, "avery", []),
        (Stage.TRAVEL, WaitingFor.ARRIVAL, "avery", ["check_in"]),
        (Stage.TRAVEL, WaitingFor.ARRIVAL, "operations", ["check_in"]),
        (Stage.TRAVEL, WaitingFor.ARRIVAL, "requester", ["cancel"]),
        (Stage.DEPLOYED, WaitingFor.CHECK_INS, "avery", ["check_in", "request_extension"]),
        (Stage.DEPLOYED, WaitingFor.CHECK_INS, "operations", ["check_in"]),
        (Stage.DEPLOYED, WaitingFor.CHECK_INS, "requester", ["request_extension", "cancel"]),
        (Stage.DEPLOYED, WaitingFor.CHECK_INS, "planning", []),
        (Stage.REDEPLOYMENT, WaitingFor.OUT_PROCESSING, "requester", []),
        (Stage.COMPLETED, WaitingFor.NOTHING, "admin", []),
        (Stage.CANCELLED, WaitingFor.NOTHING, "requester", []),
    ],
)
async def test_actions_shown_only_to_who_may_take_them(
    world: World, stage: Stage, waiting_for: WaitingFor, username: str, expected: list[str]
) -> None:
    assert world.member.id is not None
    await world.add(user("avery", ["member"], member_id=world.member.id))
    deployment_id = await a_deployment(world, stage, waiting_for=waiting_for.value)
    async with world.signed_in(username) as browser:
        page = await browser.get(f"/deployments/{deployment_id}")
    assert page.status_code == 200
    assert actions_of(page.text) == expected
    if "check_in" in expected:
        heading = "Arrival check-in" if stage == Stage.TRAVEL else "Check in"
        assert f'<h3 id="check-in-h">{heading}</h3>' in page.text


async def test_actions_refused_without_csrf_or_role(world: World) -> None:
    deployment_id = await a_deployment(world, Stage.APPROVAL)
    async with world.signed_in("planning") as browser:
        token = csrf_of((await browser.get(f"/deployments/{deployment_id}")).text)
        no_csrf = await browser.post(f"/deployments/{deployment_id}/cancel", data={"reason": "x"})
        cancel = await browser.post(
            f"/deployments/{deployment_id}/cancel", data={"reason": "x", "csrf_token": token}
        )
        check_in = await browser.post(
            f"/deployments/{deployment_id}/check-in", data={"status": "ok", "csrf_token": token}
        )
    assert no_csrf.status_code == 403
    assert cancel.status_code == 403
    assert "only the requester, a director or an admin may cancel" in cancel.text
    assert check_in.status_code == 403
    assert "only the deployed member or Operations may check in" in check_in.text


async def test_action_forms_report_each_bad_field(world: World) -> None:
    deployment_id = await a_deployment(world, Stage.DEPLOYED)
    async with world.signed_in("requester") as browser:
        token = csrf_of((await browser.get(f"/deployments/{deployment_id}")).text)
        cancel = await browser.post(
            f"/deployments/{deployment_id}/cancel", data={"reason": " ", "csrf_token": token}
        )
        extension = await browser.post(
            f"/deployments/{deployment_id}/extension",
            data={"days": "lots", "justification": "Elections <moved>", "csrf_token": token},
        )
    assert cancel.status_code == 422
    assert '<span class="usa-error-message" id="cancel-reason-error">must not be empty</span>' in cancel.text
    assert extension.status_code == 422
    assert 'id="ext-days-error">must be a whole number from 1 to 365</span>' in extension.text
    assert 'value="lots"' in extension.text
    assert "Elections &lt;moved&gt;</textarea>" in extension.text


async def test_check_in_before_booking_is_refused(world: World) -> None:
    deployment_id = await a_deployment(world, Stage.EQUIPPING)
    async with world.signed_in("operations") as browser:
        token = csrf_of((await browser.get(f"/deployments/{deployment_id}")).text)
        response = await browser.post(
            f"/deployments/{deployment_id}/check-in",
            data={"status": "ok", "location": "Juba", "csrf_token": token},
        )
        bad = await browser.post(
            f"/deployments/{deployment_id}/check-in", data={"status": "?", "csrf_token": token}
        )
    assert response.status_code == 409
    assert "no check-in is expected at EQUIPPING" in response.text
    assert bad.status_code == 422
    assert "status: must be one of: ok, needs_help" in bad.text  # no form here to mark, so in the alert


async def test_requester_cancels_through_the_workflow(world: World) -> None:
    created = await world.submit()
    await world.open_tasks(created["id"], 3)
    async with world.signed_in("requester") as browser:
        page = await browser.get(f"/deployments/{created['id']}")
        assert actions_of(page.text) == ["cancel"]
        response = await browser.post(
            f"/deployments/{created['id']}/cancel",
            data={"reason": "Post closed", "csrf_token": csrf_of(page.text)},
        )
        assert (response.status_code, response.headers["location"]) == (303, f"/deployments/{created['id']}")
        landed = await browser.get(response.headers["location"])
        released = "Deployment cancelled: seats, kit, bookings and clearance are being released."
        assert page_alerts(landed.text) == [("success", released)]
    done = await world.wait_for(created["id"], lambda d: d["stage"] == Stage.CANCELLED)
    assert done["open_tasks"] == []


async def test_documents_are_listed_and_served(world: World) -> None:
    deployment_id = await a_deployment(world, Stage.TRAVEL)
    other_id = await a_deployment(world, Stage.TRAVEL, start=today_utc() + timedelta(days=200))
    orders = Document(
        deployment_id=deployment_id, kind="travel_orders", title="Travel orders", body="<h1>Orders</h1>"
    )
    await world.add(orders)
    async with world.signed_in("travel") as browser:
        page = await browser.get(f"/deployments/{deployment_id}")
        served = await browser.get(f"/deployments/{deployment_id}/documents/{orders.id}")
        elsewhere = await browser.get(f"/deployments/{other_id}/documents/{orders.id}")
    assert f'<a href="/deployments/{deployment_id}/documents/{orders.id}">Travel orders</a>' in page.text
    assert (served.status_code, served.text) == (200, "<h1>Orders</h1>")
    assert served.headers["content-type"].startswith("text/html")
    assert "sandbox" in served.headers["content-security-policy"]
    assert elsewhere.status_code == 404
    signed_out = await world.http.get(f"/deployments/{deployment_id}/documents/{orders.id}")
    assert signed_out.status_code == 303


# --- The deployments list -----------------------------------------------------------------------


def listed(html: str) -> list[str]:
    return re.findall(r'<td data-label="Member"><a href="/deployments/([0-9a-f-]+)">', html)


async def test_deployments_list_pages_by_keyset(world: World) -> None:
    assert world.member.id is not None
    base = NOW - timedelta(days=1)
    ids = []
    for i in range(30):
        ids += await factories.deployment_rows(
            world.engine,
            1,
            member_id=world.member.id,
            post_code=world.post.code,
            created_at=base + timedelta(minutes=i),
            start=today_utc() + timedelta(days=400 + i),
        )
    newest_first = list(reversed(ids))
    async with world.signed_in("planning") as browser:
        first = await browser.get("/deployments")
        assert listed(first.text) == newest_first[:25]
        assert "30 deployments" in first.text
        assert 'rel="prev"' not in first.text
        next_href = re.search(
            r'<a href="([^"]+)" hx-get="[^"]+" hx-target="#deployment-table"[^>]*rel="next"', first.text
        )
        assert next_href
        second = await browser.get(next_href.group(1).replace("&amp;", "&"), headers=HTMX)
        assert second.text.lstrip().startswith('<div id="deployment-table"')
        assert listed(second.text) == newest_first[25:]
        assert 'rel="next"' not in second.text
        prev_href = re.search(r'<a href="([^"]+)"[^>]*rel="prev"', second.text)
        assert prev_href
        back = await browser.get(prev_href.group(1).replace("&amp;", "&"))
        assert back.text.lstrip().startswith("<!doctype html>")
        assert listed(back.text) == newest_first[:25]
        junk = await browser.get("/deployments?after=nonsense")
        assert junk.status_code == 422
        assert f'<p class="detail">after: {NOT_A_CURSOR}</p>' in junk.text


async def test_deployments_list_counts_up_to_its_cap(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past COUNT_CAP matches the list says "more than", having counted no further; at the cap
    and below, the exact count (the cap lowered to 5 stands in for 1,000)."""
    assert world.member.id is not None
    monkeypatch.setattr(deployment_list, "COUNT_CAP", 5)
    for i in range(6):
        await factories.deployment_rows(
            world.engine,
            1,
            member_id=world.member.id,
            post_code=world.post.code,
            start=today_utc() + timedelta(days=400 + i),
        )
    async with world.signed_in("planning") as browser:
        more = await browser.get("/deployments")
        assert '<p class="margin-bottom-0" id="deployment-total">More than 5 deployments</p>' in more.text
        monkeypatch.setattr(deployment_list, "COUNT_CAP", 6)
        exact = await browser.get("/deployments")
        assert '<p class="margin-bottom-0" id="deployment-total">6 deployments</p>' in exact.text


async def test_deployments_list_filters(world: World) -> None:
    assert world.member.id is not None and world.standby.id is not None
    other = a_post(country="Haiti")
    await world.add(other)
    active = await a_deployment(world, Stage.APPROVAL)
    [standby] = await factories.deployment_rows(
        world.engine,
        1,
        member_id=world.standby.id,
        post_code=other.code,
        stage=Stage.DEPLOYED,
        start=today_utc() + timedelta(days=300),
    )
    cases = {
        "stage=DEPLOYED": [standby],
        f"post={world.post.code}": [active],
        "agency=USAID": [standby],
        "component=active": [active],
        "member=sam": [standby],
        "member=AVERY": [active],
        f"start_from={(today_utc() + timedelta(days=200)).isoformat()}": [standby],
        f"start_to={(today_utc() + timedelta(days=200)).isoformat()}": [active],
        "member=nobody": [],
    }
    async with world.signed_in("planning") as browser:
        for query, expected in cases.items():
            response = await browser.get(f"/deployments?{query}", headers=HTMX)
            assert listed(response.text) == expected, query
        page = await browser.get("/deployments?stage=DEPLOYED&member=sam")
    assert '<option value="DEPLOYED" selected>' in page.text
    assert 'value="sam"' in page.text
    assert '<svg class="progress" width="80"' in page.text


# --- The dashboard ---------------------------------------------------------------------------------


async def test_dashboard_draws_charts(world: World) -> None:
    deployed = await a_deployment(world, Stage.DEPLOYED)
    waiting = await a_deployment(world, Stage.APPROVAL, start=today_utc() + timedelta(days=300))
    overdue = [
        Task(
            id=str(uuid.uuid4()),
            deployment_id=waiting,
            kind="approval",
            stage="APPROVAL",
            role=role,
            title="Approve",
            outcomes=["approve"],
            due_at=NOW - timedelta(hours=1),
        )
        for role in ("planning", "planning", "chief_of_mission")
    ]
    assert world.member.id is not None
    await world.add(Course(code="FACT", title="Foreign Affairs Counter Threat", days=5, validity_months=60))
    await world.add(
        *overdue,
        Certificate(
            member_id=world.member.id,
            course_code="FACT",
            issued_on=today_utc() - timedelta(days=1800),
            expires_on=today_utc() + timedelta(days=30),
        ),
    )
    async with world.signed_in("director") as browser:
        page = await browser.get("/")
    text = page.text
    assert f"/deployments/{deployed}" in text
    assert '<title id="c-overdue-t">Overdue tasks by office: planning 2, chief of mission 1</title>' in text
    assert f'<title id="c-post-t">Members in country by post: {world.post.code} 1</title>' in text
    assert text.count('<svg role="img"') == 4
    assert '<dd id="ready-members">2</dd>' in text
    assert '<dd id="ready-available">1</dd>' in text  # the Active member is held by both
    assert '<dd id="ready-expiring">1 <small>(1 member)</small></dd>' in text
    assert re.search(r'<strong data-stage="DEPLOYED">1</strong>', text)


# --- Roster, posts and the admin's edits ------------------------------------------------------------


async def test_members_page_shows_certificates_and_current_deployment(world: World) -> None:
    assert world.member.id is not None
    deployment_id = await a_deployment(world, Stage.TRAINING)
    await world.add(Course(code="CRC-ORIENT", title="CRC orientation", days=2))
    await world.add(
        Certificate(member_id=world.member.id, course_code="CRC-ORIENT", issued_on=date(2024, 1, 1)),
    )
    async with world.signed_in("planning") as browser:
        page = await browser.get("/members")
        fragment = await browser.get("/members", headers=HTMX)
    assert 'CRC-ORIENT <span class="text-base">no expiry</span>' in page.text and "no expiry" in page.text
    assert '<span class="usa-tag bg-gold text-ink">FACT missing</span>' in page.text
    assert f'<a href="/deployments/{deployment_id}">{world.post.code}, Training</a>' in page.text
    assert fragment.text.lstrip().startswith('<div id="member-table"')
    assert "/edit" not in page.text.split('id="member-table"')[1]  # no edit links for non-admins


@pytest.mark.parametrize("path", ["/members/{member}/edit", "/posts/{post}/edit"])
async def test_edit_forms_are_for_admins(world: World, path: str) -> None:
    url = path.format(member=world.member.id, post=world.post.code)
    async with world.signed_in("requester") as browser:
        token = csrf_of((await browser.get("/")).text)
        assert (await browser.get(url)).status_code == 403
        assert (await browser.post(url, data={"csrf_token": token})).status_code == 403
    async with world.signed_in("admin") as browser:
        assert (await browser.get(url)).status_code == 200
        assert (await browser.post(url, data={"name": "x"})).status_code == 403  # no CSRF token


async def test_admin_edits_a_member_with_per_field_errors(world: World) -> None:
    url = f"/members/{world.member.id}/edit"
    async with world.signed_in("admin") as browser:
        form = await browser.get(url)
        assert '<label class="usa-label" for="name">Name</label>' in form.text
        assert f'<a href="{url}">Edit' in (await browser.get("/members")).text
        data = {
            "csrf_token": csrf_of(form.text),
            "name": "",
            "email": "not-an-address",
            "agency": "NASA",
            "component": "active",
            "languages": "en, fr",
            "clearance_level": "secret",
            "clearance_expires": "soon",
        }
        bad = await browser.post(url, data=data)
        assert bad.status_code == 422
        errors = re.findall(r'<span class="usa-error-message" id="([a-z_]+)-error">', bad.text)
        assert sorted(errors) == ["agency", "clearance_expires", "email", "name", "sectors"]
        assert 'value="not-an-address"' in bad.text
        good = await browser.post(
            url,
            data={
                **data,
                "name": "Avery Q. Quinn",
                "email": "aq@example.gov",
                "agency": "Justice",
                "clearance_expires": "2030-01-31",
                "sectors": ["rule_of_law", "security_sector"],
            },
        )
        assert (good.status_code, good.headers["location"]) == (303, f"/members/{world.member.id}")
        assert page_alerts((await browser.get("/members")).text) == [("success", "Saved Avery Q. Quinn.")]
    async with session_factory(world.engine)() as session:
        member = await session.get(Member, world.member.id)
    assert member is not None
    assert (member.name, member.agency, member.sectors, member.languages, member.clearance_expires) == (
        "Avery Q. Quinn",
        "Justice",
        ["rule_of_law", "security_sector"],
        ["en", "fr"],
        date(2030, 1, 31),
    )


async def test_admin_edits_a_post_with_per_field_errors(world: World) -> None:
    url = f"/posts/{world.post.code}/edit"
    async with world.signed_in("admin") as browser:
        form = await browser.get(url)
        assert f'<a href="{url}">Edit' in (await browser.get("/posts")).text
        data = {
            "csrf_token": csrf_of(form.text),
            "country": "South Sudan",
            "city": "Juba",
            "threat_level": "extreme",
            "clearance_required": "secret",
            "per_diem_usd": "-5",
            "danger_pay_pct": "35",
            "post_differential_pct": "abc",
            "clearance_lead_days": "12",
        }
        bad = await browser.post(url, data=data)
        assert bad.status_code == 422
        errors = re.findall(r'<span class="usa-error-message" id="([a-z_]+)-error">', bad.text)
        assert sorted(errors) == ["per_diem_usd", "post_differential_pct", "threat_level"]
        good = await browser.post(
            url,
            data={
                **data,
                "threat_level": "critical",
                "per_diem_usd": "310.50",
                "post_differential_pct": "25",
            },
        )
        assert (good.status_code, good.headers["location"]) == (303, "/posts")
        saved = [("success", f"Saved post {world.post.code}.")]
        assert page_alerts((await browser.get("/posts")).text) == saved
    async with session_factory(world.engine)() as session:
        post = await session.get(Post, world.post.code)
    assert post is not None
    assert (post.threat_level, str(post.per_diem_usd), post.clearance_lead_days, post.visa_required) == (
        "critical",
        "310.50",
        12,
        False,
    )


# --- The request form's member search -------------------------------------------------------------


async def test_member_search_shows_availability_and_certificates(world: World) -> None:
    start = today_utc() + timedelta(days=45)
    await a_deployment(world, Stage.VETTING, start=start)
    async with world.signed_in("requester") as browser:
        form = await browser.get("/deployments/new")
        assert 'hx-get="/deployments/new/members"' in form.text
        assert 'hx-trigger="input changed delay:300ms, search"' in form.text
        assert '<label class="usa-label" for="member_q">Find a member' in form.text
        query = f"/deployments/new/members?member_q=a&start_date={start.isoformat()}&duration_days=30"
        found = await browser.get(query, headers=HTMX)
        only_sam = await browser.get("/deployments/new/members?member_q=sam", headers=HTMX)
        chosen = await browser.get(
            f"/deployments/new/members?member_q=sam&member_id={world.member.id}", headers=HTMX
        )
    assert found.status_code == 200
    assert found.text.lstrip().startswith('<fieldset id="member-choices"')
    busy = re.search(rf'value="{world.member.id}".*?</label>', found.text, re.S)
    free = re.search(rf'value="{world.standby.id}".*?</label>', found.text, re.S)
    assert busy and free
    assert '<span class="usa-tag bg-secondary-dark">Busy: VETTING' in busy.group(0)
    assert '<span class="usa-tag bg-green">Available</span>' in free.group(0)
    assert "FACT missing" in free.group(0) and "CRC-ORIENT missing" in free.group(0)
    assert world.member.name not in only_sam.text and world.standby.name in only_sam.text
    # The chosen member stays in the list, checked, whatever the search.
    assert f'value="{world.member.id}" checked' in chosen.text
    async with world.signed_in("planning") as browser:
        assert (await browser.get("/deployments/new/members?member_q=a", headers=HTMX)).status_code == 403


async def test_request_form_names_the_overlap(world: World) -> None:
    start = today_utc() + timedelta(days=45)
    existing = await a_deployment(world, Stage.VETTING, start=start)
    async with world.signed_in("requester") as browser:
        form = await browser.get("/deployments/new")
        response = await browser.post(
            "/deployments/new",
            data={
                "csrf_token": csrf_of(form.text),
                "member_id": str(world.member.id),
                "post_code": world.post.code,
                "sector": "rule_of_law",
                "role_title": "Adviser",
                "start_date": start.isoformat(),
                "duration_days": "30",
                "justification": "Needed",
            },
        )
    assert response.status_code == 422
    assert (
        f'<span class="usa-error-message" id="member_id-error">the member is already in deployment {existing}'
        in response.text
    )
    assert f'value="{world.member.id}" checked' in response.text


# --- Errors ---------------------------------------------------------------------------------------


async def test_error_pages_say_where_to_go(world: World) -> None:
    async with world.signed_in("planning") as browser:
        missing = await browser.get("/deployments/nope")
        forbidden = await browser.get("/members/1/edit")
    assert missing.status_code == 404
    assert '<a href="/deployments">deployments list</a>' in missing.text
    assert forbidden.status_code == 403
    assert "this needs one of the roles: admin" in forbidden.text
    assert "You are signed in as <strong>planning</strong> with the role Planning." in forbidden.text
    assert '<a href="/inbox">Your inbox</a>' in forbidden.text
    assert '<nav aria-label="Main" class="usa-nav">' in forbidden.text
    assert '<a href="/">Back to the dashboard</a>' in forbidden.text


async def test_a_member_needing_help_shows_until_operations_closes_it(world: World) -> None:
    deployment_id = await a_deployment(world, Stage.DEPLOYED)
    help_task = open_task(
        deployment_id,
        kind="needs_help",
        role="operations",
        stage=Stage.DEPLOYED.value,
        title=f"URGENT: {world.member.name} needs help at Bor: vehicle stopped",
        outcomes=["resolved"],
    )
    await world.add(help_task)
    async with world.signed_in("requester") as browser:
        board = (await browser.get("/")).text
        page = (await browser.get(f"/deployments/{deployment_id}")).text
    assert '<h2 class="usa-alert__heading" id="help-h">Needing help now</h2>' in board
    assert f'<a href="/deployments/{deployment_id}">{world.member.name}</a>' in board
    assert 'role="alert" id="needs-help">' in page
    assert '<p class="usa-alert__text">URGENT:' in page
    async with session_factory(world.engine)() as session:
        row = await session.get(Task, help_task.id)
        assert row is not None
        row.status = "completed"
        await session.commit()
    async with world.signed_in("requester") as browser:
        assert "Needing help now" not in (await browser.get("/")).text
        assert 'id="needs-help"' not in (await browser.get(f"/deployments/{deployment_id}")).text
