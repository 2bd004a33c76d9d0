"""The roster's API and pages: who may add, edit and retire members, the 422s that name the
field, availability that agrees everywhere, retired members refused, and the CSV pages."""

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from temporalio.client import Client

from crc.db import session_factory
from crc.tables import Member
from tests import factories
from tests.web_helpers import World, count_rows, csrf_of, request_body, web_world
from web.services.requests import today_utc

NEW_MEMBER: dict[str, Any] = {
    "name": "Nadia Okafor",
    "email": "nadia.okafor@example.gov",
    "agency": "USAID",
    "component": "standby",
    "sectors": ["essential_services"],
    "languages": ["fr", "ha"],
    "language_levels": {"fr": 4, "ha": 2},
    "clearance_level": "secret",
    "clearance_granted": "2024-03-01",
    "clearance_expires": "2029-03-01",
    "medical_expires": "2027-01-31",
    "passport_expires": "2032-05-05",
}
HTMX = {"HX-Request": "true"}


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        await w.add(factories.course("FACT"))
        async with session_factory(engine).begin() as session:  # the factory gives both one email
            standby = await session.get(Member, w.standby.id)
            assert standby is not None
            standby.email = w.standby.email = "sam.standby@example.gov"
        yield w


async def _post(world: World, path: str, body: dict[str, Any], username: str = "admin") -> Any:
    return await world.http.post(path, json=body, headers=await world.headers(username))


async def test_admin_adds_edits_and_retires_a_member_through_the_api(world: World) -> None:
    created = await _post(world, "/api/v1/members", NEW_MEMBER)
    assert created.status_code == 201, created.text
    member = created.json()
    assert {k: member[k] for k in NEW_MEMBER} == NEW_MEMBER
    assert (member["available"], member["retired_on"], member["certificates"], member["windows"]) == (
        True,
        None,
        [],
        [],
    )
    path = f"/api/v1/members/{member['id']}"
    headers = await world.headers("admin")
    patched = await world.http.patch(
        path, json={"languages": ["fr"], "language_levels": {"fr": 5}}, headers=headers
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["languages"], patched.json()["language_levels"], patched.json()["name"]) == (
        ["fr"],
        {"fr": 5},
        "Nadia Okafor",
    )
    cert = await _post(world, f"{path}/certificates", {"course_code": "FACT", "issued_on": "2026-01-15"})
    assert cert.status_code == 201 and cert.json() == {
        "course_code": "FACT",
        "issued_on": "2026-01-15",
        "expires_on": "2031-01-15",
    }
    start = today_utc() + timedelta(days=3)
    window = await _post(
        world,
        f"{path}/windows",
        {"kind": "leave", "starts_on": today_utc().isoformat(), "ends_on": start.isoformat(), "note": "home"},
    )
    assert window.status_code == 201, window.text
    assert (await world.http.get(path, headers=headers)).json()["available"] is False
    assert (
        await world.http.delete(f"{path}/windows/{window.json()['id']}", headers=headers)
    ).status_code == 204
    assert (await world.http.get(path, headers=headers)).json()["available"] is True

    retired = await _post(world, f"{path}/retire", {})
    assert retired.status_code == 200 and retired.json()["retired_on"] == today_utc().isoformat()
    assert (await _post(world, f"{path}/retire", {})).status_code == 409
    listed = await world.http.get("/api/v1/members?q=nadia", headers=headers)
    assert listed.json() == {"items": [], "total": 0}
    with_retired = await world.http.get("/api/v1/members?q=nadia&include_retired=true", headers=headers)
    assert [(m["id"], m["available"]) for m in with_retired.json()["items"]] == [(member["id"], False)]
    # A retired member cannot be requested: 422 naming member_id, and nothing written.
    body = request_body(world.member, world.post) | {"member_id": member["id"]}
    refused = await world.http.post(
        "/api/v1/deployments", json=body, headers=await world.headers("requester")
    )
    assert refused.status_code == 422
    assert [(e["loc"], e["msg"]) for e in refused.json()["detail"]] == [
        (
            ["body", "member_id"],
            f"the member retired on {today_utc().isoformat()}; choose a member on the roster",
        )
    ]


async def test_member_api_refuses_other_roles_and_names_bad_fields(world: World) -> None:
    path = f"/api/v1/members/{world.member.id}"
    for role in ("planning", "resource_management", "requester", "member", "logistics"):
        headers = await world.headers(role)
        assert (await world.http.post("/api/v1/members", json=NEW_MEMBER, headers=headers)).status_code == 403
        assert (await world.http.patch(path, json={"name": "X"}, headers=headers)).status_code == 403
        assert (await world.http.post(f"{path}/retire", json={}, headers=headers)).status_code == 403
        assert (await world.http.get("/api/v1/members.csv", headers=headers)).status_code == 403
        assert (await world.http.get(path, headers=headers)).status_code == 200
        window = {"kind": "leave", "starts_on": "2030-01-01", "ends_on": "2030-01-02"}
        assert (await world.http.post(f"{path}/windows", json=window, headers=headers)).status_code == 403
        cert = {"course_code": "FACT", "issued_on": "2026-01-01"}
        assert (await world.http.post(f"{path}/certificates", json=cert, headers=headers)).status_code == 403
        assert (await world.http.delete(f"{path}/certificates/FACT", headers=headers)).status_code == 403
        assert (await world.http.delete(f"{path}/windows/1", headers=headers)).status_code == 403
    bad = await _post(
        world,
        "/api/v1/members",
        NEW_MEMBER | {"email": "nope", "sectors": [], "language_levels": {"fr": 7}, "component": "reserve"},
    )
    assert bad.status_code == 422
    assert [(e["loc"], e["msg"]) for e in bad.json()["detail"]] == [
        (["body", "email"], "must be an email address (name@example.gov)"),
        (["body", "component"], "must be one of: active, standby"),
        (["body", "sectors"], "choose at least one sector"),
        (["body", "language_levels", "fr"], "must be an ILR level from 0 to 5"),
    ]
    taken = await _post(world, "/api/v1/members", NEW_MEMBER | {"email": world.member.email})
    assert [(e["loc"], e["msg"]) for e in taken.json()["detail"]] == [
        (["body", "email"], f"{world.member.name} (member {world.member.id}) already has this email")
    ]
    stray = await world.http.patch(
        path, json={"language_levels": {"de": 3}}, headers=await world.headers("admin")
    )
    assert [(e["loc"], e["msg"]) for e in stray.json()["detail"]] == [
        (["body", "language_levels"], "de not among the languages")
    ]
    order = await world.http.get(
        "/api/v1/members?available_from=2030-01-10&available_to=2030-01-01&certificate=NOPE",
        headers=await world.headers("admin"),
    )
    assert [(e["loc"], e["msg"]) for e in order.json()["detail"]] == [
        (["query", "certificate"], "no course has this code")
    ]
    order = await world.http.get(
        "/api/v1/members?available_from=2030-01-10&available_to=2030-01-01",
        headers=await world.headers("admin"),
    )
    assert [(e["loc"], e["msg"]) for e in order.json()["detail"]] == [
        (["query", "available_to"], "must not be before available_from (or today)")
    ]
    async with session_factory(world.engine)() as session:
        assert len((await session.exec(select(Member))).all()) == 2  # nothing added


async def test_running_deployment_is_busy_on_every_page_and_the_api(world: World) -> None:
    start = today_utc() + timedelta(days=20)
    await world.submit(start_date=start.isoformat(), duration_days=30)  # running, starts later
    api = await world.http.get("/api/v1/members", headers=await world.headers("planning"))
    assert {m["name"]: m["available"] for m in api.json()["items"]} == {
        world.member.name: False,
        world.standby.name: True,
    }
    async with world.signed_in("planning") as browser:
        table = (await browser.get("/members", headers=HTMX)).text
        dashboard = (await browser.get("/")).text
        page = (await browser.get(f"/members/{world.member.id}")).text
    assert table.count('<span class="usa-tag bg-green">Available</span>') == 1
    assert re.search(r'id="ready-available">1<', dashboard)
    assert 'id="member-status">Busy: ' in page


async def test_member_pages_for_each_role(world: World) -> None:
    member_page = f"/members/{world.member.id}"
    for role, status in (("admin", 200), ("planning", 200), ("resource_management", 200), ("requester", 403)):
        async with world.signed_in(role) as browser:
            assert (await browser.get(member_page)).status_code == status, role
            assert (await browser.get("/members")).status_code == 200
            for admin_only in (
                "/members/new",
                f"{member_page}/edit",
                f"{member_page}/retire",
                "/members/import",
                "/members.csv",
            ):
                expected = 200 if role == "admin" else 403
                assert (await browser.get(admin_only)).status_code == expected, (role, admin_only)
            token = csrf_of((await browser.get("/members")).text)
            for post_path in (
                "/members/new",
                f"{member_page}/edit",
                f"{member_page}/retire",
                f"{member_page}/windows",
                f"{member_page}/certificates",
                "/members/import",
            ):
                if role != "admin":
                    refused = await browser.post(post_path, data={"csrf_token": token})
                    assert refused.status_code == 403, (role, post_path)
        async with world.signed_in("admin") as browser:
            token = csrf_of((await browser.get("/members")).text)
            window = {
                "csrf_token": token,
                "kind": "leave",
                "starts_on": "2030-01-05",
                "ends_on": "2030-01-01",
            }
            bad = await browser.post(f"{member_page}/windows", data=window)
            assert bad.status_code == 422
            assert (
                '<span class="usa-error-message" id="ends_on-error">must not be before starts_on</span>'
                in bad.text
            )
            good = await browser.post(f"{member_page}/windows", data=window | {"ends_on": "2030-01-09"})
            assert good.status_code == 303
            cert = {"csrf_token": token, "course_code": "FACT", "issued_on": "2026-02-03"}
            assert (await browser.post(f"{member_page}/certificates", data=cert)).status_code == 303
            page = (await browser.get(member_page)).text
            assert '<td data-label="From">2030-01-05</td><td data-label="To">2030-01-09</td>' in page
            assert '<td data-label="Passed">2026-02-03</td><td data-label="Expires">2031-02-03</td>' in page


async def test_admin_adds_a_member_through_the_form_and_retires_them(world: World) -> None:
    async with world.signed_in("admin") as browser:
        form = await browser.get("/members/new")
        token = csrf_of(form.text)
        data = {
            "csrf_token": token,
            "name": "Olu Adebayo",
            "email": "olu@example.gov",
            "agency": "State",
            "component": "active",
            "sectors": ["rule_of_law", "security_sector"],
            "languages": "yo:5; fr:2",
            "clearance_level": "secret",
            "clearance_granted": "",
            "clearance_expires": "",
            "medical_expires": "",
            "passport_expires": "",
        }
        bad = await browser.post("/members/new", data=data | {"languages": "yo:high", "email": "x"})
        assert bad.status_code == 422
        assert '<span class="usa-error-message" id="email-error">must be an email address' in bad.text
        assert "yo:high: the level must be an ILR level from 0 to 5" in bad.text
        no_csrf = await browser.post("/members/new", data=data | {"csrf_token": ""})
        assert no_csrf.status_code == 403
        added = await browser.post("/members/new", data=data)
        assert added.status_code == 303
        page = await browser.get(added.headers["location"])
        assert '<dd id="member-languages">yo (ILR 5), fr (ILR 2)</dd>' in page.text
        found = await browser.get("/members?language=fr&min_level=2", headers=HTMX)
        assert "Olu Adebayo" in found.text and world.member.name not in found.text
        retire = await browser.post(
            f"{added.headers['location']}/retire", data={"csrf_token": token, "retired_on": ""}
        )
        assert retire.status_code == 303
        assert "Olu Adebayo" not in (await browser.get("/members", headers=HTMX)).text
    assert await count_rows(world.engine, select(Member).where(Member.retired_on.is_not(None))) == 1  # type: ignore[union-attr]


async def test_csv_pages_dry_run_then_import(world: World) -> None:
    async with world.signed_in("admin") as browser:
        exported = await browser.get("/members.csv")
        assert exported.status_code == 200 and exported.headers["content-type"] == "text/csv; charset=utf-8"
        token = csrf_of((await browser.get("/members/import")).text)
        same = await browser.post(
            "/members/import",
            data={"csrf_token": token},
            files={"file": ("roster.csv", exported.content, "text/csv")},
        )
        assert same.status_code == 200
        assert '<p id="import-summary">0 to add, 0 to update, 2 unchanged.</p>' in same.text
        bad = exported.text + "Someone,someone@x.gov,Mars,active,rule_of_law,,secret,,,,,,\r\n"
        report = await browser.post(
            "/members/import",
            data={"csrf_token": token},
            files={"file": ("roster.csv", bad.encode(), "text/csv")},
        )
        assert report.status_code == 422
        rows = re.findall(
            r'<tr><th scope="row" data-label="Row">(\d+)</th><td data-label="Column">([^<]*)</td>',
            report.text,
        )
        assert rows == [("4", "agency")]
        good = exported.text + "Someone,someone@x.gov,HHS,active,rule_of_law,,secret,,,,,,\r\n"
        dry = await browser.post(
            "/members/import",
            data={"csrf_token": token},
            files={"file": ("roster.csv", good.encode(), "text/csv")},
        )
        assert '<p id="import-summary">1 to add, 0 to update, 2 unchanged.</p>' in dry.text
        assert await count_rows(world.engine, select(Member)) == 2
        # The confirmation sends the checked file back as multipart text, as the page's form does.
        confirmed = await browser.post(
            "/members/import",
            data={"csrf_token": token, "confirm": "1"},
            files={"csv_text": (None, good.encode())},
        )
        assert confirmed.status_code == 303
    assert await count_rows(world.engine, select(Member)) == 3
