"""The office dashboards (issue 14): Active members deployable within 48 hours by sector, open
deployments by country for the map, approval cycle time per office; the API, the page, roles."""

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from crc.dates import add_months
from crc.domain import ClearanceLevel, Component, WindowKind
from crc.stages import Stage
from crc.tables import AvailabilityWindow, Member
from tests import factories
from tests.web_helpers import MovableClock, World, a_post, open_task, web_world


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        w.app.state.clock = MovableClock()  # one "now" for the app and the rows built against it
        yield w


def _today(world: World) -> date:
    today: date = world.app.state.clock().date()
    return today


async def _get(world: World, path: str, username: str = "planning") -> Any:
    response = await world.http.get(path, headers=await world.headers(username))
    assert response.status_code == 200, response.text
    return response.json()


async def _members(world: World) -> dict[str, Member]:
    """Members built to be in or out of the 48-hour readiness, each for one reason."""
    today = _today(world)
    by = today + timedelta(days=2)
    passport_needed = add_months(by, 6)

    def m(name: str, sectors: list[str], **fields: Any) -> Member:
        return factories.member(
            name=name, email=f"{name.lower().replace(' ', '.')}@example.gov", sectors=sectors, **fields
        )

    rol = ["rule_of_law"]
    built = {
        # In.
        "a": m("A Ready", ["rule_of_law", "essential_services"]),
        "b": m("B Ready", rol),
        "retires_later": m("C Retires later", ["security_sector"], retired_on=today + timedelta(days=10)),
        "came_back": m("D Came back", ["economic_stabilization"]),
        "leave_later": m("E Leave after the mark", rol),
        "clearance_edge": m("F Clearance to the mark", ["transitional_governance"], clearance_expires=by),
        "passport_edge": m("G Passport edge", ["strategic_communication"], passport_expires=passport_needed),
        # Out, one reason each.
        "standby": m("Z Standby", rol, component=Component.STANDBY.value),
        "retired": m("Z Retired", rol, retired_on=today),
        "deployed": m("Z Deployed", rol),
        "requested": m("Z Requested", rol),
        "on_leave": m("Z Leave tomorrow", rol),
        "uncleared": m("Z Uncleared", rol, clearance_level=ClearanceLevel.NONE.value),
        "clearance_short": m("Z Clearance short", rol, clearance_expires=by - timedelta(days=1)),
        "medical_expired": m("Z Medical expired", rol, medical_expires=today - timedelta(days=1)),
        "no_medical": m("Z No medical", rol, medical_expires=None),
        "passport_short": m("Z Passport short", rol, passport_expires=passport_needed - timedelta(days=1)),
    }
    await world.add(*built.values())
    ids = {k: v.id for k, v in built.items()}
    assert all(i is not None for i in ids.values())
    code = world.post.code
    await factories.deployment_rows(
        world.engine, 1, member_id=built["deployed"].id or 0, post_code=code, stage=Stage.DEPLOYED,
        start=today - timedelta(days=10),
    )  # fmt: skip
    await factories.deployment_rows(world.engine, 1, member_id=built["requested"].id or 0, post_code=code)
    back = today - timedelta(days=100)
    await factories.deployment_rows(
        world.engine, 1, member_id=built["came_back"].id or 0, post_code=code, stage=Stage.COMPLETED,
        start=back, duration_days=60, left_on=back + timedelta(days=59),
    )  # fmt: skip
    await world.add(
        AvailabilityWindow(
            member_id=built["on_leave"].id or 0, kind=WindowKind.LEAVE.value,
            starts_on=today + timedelta(days=1), ends_on=today + timedelta(days=5),
        ),
        AvailabilityWindow(
            member_id=built["leave_later"].id or 0, kind=WindowKind.LEAVE.value,
            starts_on=today + timedelta(days=3), ends_on=today + timedelta(days=5),
        ),
    )  # fmt: skip
    return built


async def test_readiness_counts_active_members_deployable_within_48_hours_by_sector(world: World) -> None:
    built = await _members(world)
    today = _today(world)
    found = await _get(world, "/api/v1/readiness")
    assert (found["as_of"], found["deployable_by"]) == (str(today), str(today + timedelta(days=2)))
    assert found["total"] == 7
    assert {s["sector"]: s["deployable"] for s in found["by_sector"]} == {
        "rule_of_law": 3,
        "transitional_governance": 1,
        "economic_stabilization": 1,
        "essential_services": 1,
        "security_sector": 1,
        "strategic_communication": 1,
    }
    assert [m["name"] for m in found["members"]] == [
        "A Ready",
        "B Ready",
        "C Retires later",
        "D Came back",
        "E Leave after the mark",
        "F Clearance to the mark",
        "G Passport edge",
    ]
    first = found["members"][0]
    assert first["id"] == built["a"].id
    assert first["sectors"] == ["rule_of_law", "essential_services"]
    # The drill-down: one sector's members; the counts stay the whole roster's.
    narrowed = await _get(world, "/api/v1/readiness?sector=rule_of_law")
    assert [m["name"] for m in narrowed["members"]] == ["A Ready", "B Ready", "E Leave after the mark"]
    assert (narrowed["sector"], narrowed["total"]) == ("rule_of_law", 7)


async def test_readiness_refuses_an_unknown_sector_and_offices_that_do_not_see_everything(
    world: World,
) -> None:
    bad = await world.http.get("/api/v1/readiness?sector=farming", headers=await world.headers("planning"))
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "sector"]
    for path in ("/api/v1/readiness", "/api/v1/dashboard/countries", "/api/v1/dashboard/approval-times"):
        for username in ("requester", "security", "member", "chief_of_mission"):
            refused = await world.http.get(path, headers=await world.headers(username))
            assert refused.status_code == 403, (path, username)
        for username in ("planning", "operations", "director", "admin", "resource_management"):
            assert (await world.http.get(path, headers=await world.headers(username))).status_code == 200


async def _open_deployments(world: World) -> None:
    """South Sudan: two posts, four open deployments; Haiti: one open, two ended."""
    juba, malakal, haiti = world.post, a_post(country="South Sudan"), a_post(country="Haiti")
    await world.add(malakal, haiti)
    member = world.member.id or 0
    for code, stage, count in (
        (juba.code, Stage.APPROVAL, 2),
        (juba.code, Stage.DEPLOYED, 1),
        (malakal.code, Stage.VETTING, 1),
        (haiti.code, Stage.DEPLOYED, 1),
        (haiti.code, Stage.COMPLETED, 1),
        (haiti.code, Stage.CANCELLED, 1),
    ):
        await factories.deployment_rows(world.engine, count, member_id=member, post_code=code, stage=stage)


async def test_the_map_data_counts_open_deployments_by_country_and_stage(world: World) -> None:
    assert await _get(world, "/api/v1/dashboard/countries") == {"countries": [], "total": 0}
    await _open_deployments(world)
    assert await _get(world, "/api/v1/dashboard/countries", "operations") == {
        "countries": [
            {"country": "South Sudan", "open": 4, "by_stage": {"APPROVAL": 2, "VETTING": 1, "DEPLOYED": 1}},
            {"country": "Haiti", "open": 1, "by_stage": {"DEPLOYED": 1}},
        ],
        "total": 5,
    }


async def _decided_tasks(world: World) -> None:
    """Approvals decided at known waits: Planning 1, 2, 3, 4, 10 hours in the last four weeks
    and 5, 7 before; Resource Management 24, 48 lately; the home agency 12 before; none counted
    for the Chief of Mission (decided nine weeks ago, open, cancelled)."""
    now = world.app.state.clock()
    (deployment,) = await factories.deployment_rows(
        world.engine, 1, member_id=world.member.id or 0, post_code=world.post.code
    )
    recent, before, long_ago = (
        now - timedelta(days=3),
        now - timedelta(days=28, minutes=1),
        now - timedelta(weeks=9),
    )
    tasks = []

    def decided(role: str, hours: float, at: Any, **fields: Any) -> None:
        given = {"status": "completed", "outcome": "approve", "completed_by": role, **fields}
        tasks.append(
            open_task(deployment, role=role, completed_at=at, created_at=at - timedelta(hours=hours), **given)
        )

    for hours in (1, 2, 3, 4, 10):
        decided("planning", hours, recent)
    decided("planning", 5, before)
    decided("planning", 7, now - timedelta(days=50))
    decided("planning", 99, recent, kind="vetting_review")  # not an approval
    decided("resource_management", 24, recent)
    decided("resource_management", 48, now - timedelta(days=28))  # the boundary: the last four weeks
    decided("home_agency", 12, before)
    decided("chief_of_mission", 6, long_ago)
    tasks.append(open_task(deployment, role="chief_of_mission", created_at=now - timedelta(days=2)))
    decided("chief_of_mission", 6, recent, status="cancelled")
    await world.add(*tasks)


async def test_approval_cycle_time_per_office_median_and_p90_now_and_the_four_weeks_before(
    world: World,
) -> None:
    await _decided_tasks(world)
    found = await _get(world, "/api/v1/dashboard/approval-times", "director")
    none = {"decided": 0, "median_hours": None, "p90_hours": None}
    assert {o["office"]: (o["last_4_weeks"], o["previous_4_weeks"]) for o in found["offices"]} == {
        "planning": (
            {"decided": 5, "median_hours": 3.0, "p90_hours": 7.6},
            {"decided": 2, "median_hours": 6.0, "p90_hours": 6.8},
        ),
        "resource_management": ({"decided": 2, "median_hours": 36.0, "p90_hours": 45.6}, none),
        "chief_of_mission": (none, none),
        "home_agency": (none, {"decided": 1, "median_hours": 12.0, "p90_hours": 12.0}),
    }
    assert [o["label"] for o in found["offices"]] == [
        "Planning",
        "Resource Management",
        "Chief of Mission",
        "Home agency",
    ]


async def test_the_readiness_page_shows_the_three_dashboards_to_the_offices(world: World) -> None:
    await _members(world)
    await _open_deployments(world)
    await _decided_tasks(world)
    async with world.signed_in("operations") as browser:
        assert '<a class="usa-link" href="/readiness">' in (await browser.get("/")).text
        page = await browser.get("/readiness")
        assert page.status_code == 200
        html = page.text
        assert '<strong id="deployable-total">7</strong>' in html
        assert '<td class="text-right" data-sector="rule_of_law">3</td>' in html
        assert html.count('<tr id="member-') == 7
        # Beside _open_deployments' four: the deployed and requested members' and the tasks' own.
        south_sudan = '<th scope="row">South Sudan</th><td class="text-right">7</td>'
        assert f"{south_sudan}<td>Approval 4, Vetting 1, Deployed 2</td>" in html
        assert '<script type="application/json" id="country-data">[{"by_stage": {"APPROVAL": 4' in html
        assert '<script src="/static/leaflet/leaflet.js" defer></script>' in html
        planning_row = html.split('<tr id="cycle-planning">')[1].split("</tr>")[0]
        assert ">3.0 h<" in planning_row and ">7.6 h<" in planning_row and "slower by" not in planning_row
        assert "faster by 3.0 h" in planning_row
        narrowed = await browser.get("/readiness?sector=security_sector")
        assert narrowed.text.count('<tr id="member-') == 1
        assert "C Retires later" in narrowed.text
        assert (await browser.get("/readiness?sector=farming")).status_code == 422
    async with world.signed_in("requester") as browser:
        assert (await browser.get("/readiness")).status_code == 403
        assert 'href="/readiness"' not in (await browser.get("/")).text
