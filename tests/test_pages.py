"""The HTML pages: rendering, htmx fragments, roles, CSRF, escaping, and deciding in place."""

import json
import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from temporalio.client import Client

from crc.tables import Deployment
from tests.page_alerts import error_summary, page_alerts
from tests.web_helpers import (
    World,
    count_rows,
    csrf_of,
    http_client,
    request_body,
    web_world,
)

HTMX = {"HX-Request": "true"}


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        yield w


@pytest.mark.parametrize("path", ["/", "/inbox", "/deployments", "/members", "/posts"])
async def test_pages_render_in_full(world: World, path: str) -> None:
    async with world.signed_in("planning") as browser:
        response = await browser.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "HX-Request" in response.headers["vary"]
    assert response.text.lstrip().startswith("<!doctype html>")
    assert '<script src="/static/htmx.min.js"' in response.text
    assert "X-CSRF-Token" in response.text  # hx-headers on <body>


@pytest.mark.parametrize(
    ("path", "fragment_id"),
    [
        ("/inbox", "inbox-table"),
        ("/deployments", "deployment-table"),
        ("/members", "member-table"),
    ],
)
async def test_htmx_gets_the_fragment(world: World, path: str, fragment_id: str) -> None:
    async with world.signed_in("planning") as browser:
        response = await browser.get(path, headers=HTMX)
    assert response.status_code == 200
    assert "HX-Request" in response.headers["vary"]
    assert "<html" not in response.text
    assert response.text.lstrip().startswith(f'<div id="{fragment_id}"')


async def test_static_htmx_is_vendored(world: World) -> None:
    response = await world.http.get("/static/htmx.min.js")
    assert response.status_code == 200
    assert "htmx" in response.text[:200]
    assert (await world.http.get("/static/app.css")).status_code == 200


async def test_htmx_config_swaps_refusals(world: World) -> None:
    page = await world.http.get("/login")
    found = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", page.text)
    assert found
    config = json.loads(found.group(1))
    swapped = [r["code"] for r in config["responseHandling"] if r["swap"]]
    # 401 too: a request after the session ended swaps its alert into #page-alerts.
    assert "^(401|403|404|409|422|503)$" in swapped
    # Back re-fetches a pushed URL, so the page (every filter select) comes from the server.
    assert (config["historyCacheSize"], config["refreshOnHistoryMiss"]) == (0, True)
    assert "default-src 'self'" in page.headers["content-security-policy"]


async def test_api_docs_served(world: World) -> None:
    assert (await world.http.get("/openapi.json")).status_code == 200
    docs = await world.http.get("/docs")
    assert docs.status_code == 200
    # Swagger UI comes from the app: the docs' own policy allows no other host.
    policy = docs.headers["content-security-policy"]
    assert policy.startswith("default-src 'self'; script-src 'self' 'sha256-")
    assert '<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js">' in docs.text
    assert "cdn.jsdelivr.net" not in docs.text
    assert '<link type="text/css" rel="stylesheet" href="/static/api-docs.css">' in docs.text
    redoc = await world.http.get("/redoc")
    assert '<script src="/static/vendor/redoc/redoc.standalone.js">' in redoc.text
    assert "fonts.googleapis.com" not in redoc.text
    for page in (docs, redoc):
        assert '<html lang="en">' in page.text and "<html>" not in page.text
    # ReDoc has no inline script, so its policy allows scripts from the app alone.
    assert "default-src 'self'; script-src 'self'; style-src" in redoc.headers["content-security-policy"]
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"):
        assert (await world.http.get(f"/static/vendor/swagger-ui/{asset}")).status_code == 200
    assert (await world.http.get("/static/vendor/redoc/redoc.standalone.js")).status_code == 200


async def test_request_form_is_for_requesters(world: World) -> None:
    async with world.signed_in("planning") as browser:
        response = await browser.get("/deployments/new")
        assert response.status_code == 403
        assert "<html" in response.text
        assert "403" in response.text
        token = csrf_of((await browser.get("/")).text)
        posted = await browser.post("/deployments/new", data={"csrf_token": token})
        assert posted.status_code == 403


async def test_request_form_submits(world: World) -> None:
    async with world.signed_in("requester") as browser:
        form = await browser.get("/deployments/new")
        assert form.status_code == 200
        key = re.search(r'name="idempotency_key" value="([^"]+)"', form.text)
        assert key
        data = {
            **{k: str(v) for k, v in request_body(world.member, world.post).items()},
            "csrf_token": csrf_of(form.text),
            "idempotency_key": key.group(1),
        }
        response = await browser.post("/deployments/new", data=data)
        assert response.status_code == 303
        location = response.headers["location"]
        assert location.startswith("/deployments/")
        # A double submit of the same form makes no second request.
        again = await browser.post("/deployments/new", data=data)
        assert (again.status_code, again.headers["location"]) == (303, location)
        page = await browser.get(location)
        assert page.status_code == 200
        assert world.member.name in page.text
        submitted = f"{data['role_title']} at {data['post_code']} from {data['start_date']}"
        assert page_alerts(page.text) == [
            ("success", f"Request submitted: {submitted}. It now waits for approval.")
        ]
        assert page_alerts((await browser.get(location)).text) == []  # shown once
    assert await count_rows(world.engine, select(Deployment)) == 1


async def test_request_form_shows_each_error_and_keeps_input(world: World) -> None:
    async with world.signed_in("requester") as browser:
        form = await browser.get("/deployments/new")
        data = {
            **{k: str(v) for k, v in request_body(world.member, world.post).items()},
            "csrf_token": csrf_of(form.text),
            "role_title": "Typed role & title",
            "justification": "",
            "duration_days": "400",
            "sector": "nonsense",
        }
        response = await browser.post("/deployments/new", data=data)
        assert response.status_code == 422
        errors = re.findall(r'<span class="usa-error-message" id="([a-z_]+)-error">', response.text)
        assert sorted(errors) == ["duration_days", "justification", "sector"]
        assert 'value="Typed role &amp; title"' in response.text
        assert 'value="400"' in response.text
        unreadable = await browser.post(
            "/deployments/new", data={**data, "start_date": "someday", "duration_days": "x"}
        )
        assert unreadable.status_code == 422
        errors = re.findall(r'<span class="usa-error-message" id="([a-z_]+)-error">', unreadable.text)
        # What cannot be read is reported with the rest of the model's refusals, all at once.
        assert sorted(errors) == ["duration_days", "justification", "sector", "start_date"]
    assert await count_rows(world.engine, select(Deployment)) == 0


async def test_request_form_without_csrf_is_refused(world: World) -> None:
    async with world.signed_in("requester") as browser:
        data = {k: str(v) for k, v in request_body(world.member, world.post).items()}
        response = await browser.post("/deployments/new", data=data)
        assert response.status_code == 403
        forged = await browser.post("/deployments/new", data={**data, "csrf_token": "x" * 43})
        assert forged.status_code == 403
    assert await count_rows(world.engine, select(Deployment)) == 0


async def test_justification_is_escaped(world: World) -> None:
    evil = '<script>alert("x")</script>'
    created = await world.submit(justification=evil, role_title="<b>bold</b>")
    async with world.signed_in("planning") as browser:
        page = await browser.get(f"/deployments/{created['id']}")
        inbox = await browser.get("/inbox")
    assert page.status_code == 200
    assert evil not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
    assert "<b>bold</b>" not in page.text
    assert "<b>bold</b>" not in inbox.text


async def test_deployment_page_follows_the_stage_without_polling(world: World) -> None:
    created = await world.submit()
    async with world.signed_in("planning") as browser:
        page = await browser.get(f"/deployments/{created['id']}")
        assert "hx-trigger" not in page.text
        assert f'sse-connect="/events?deployment={created["id"]}"' in page.text
        assert '<div class="live-slot" sse-swap="deployment-status">' in page.text
        fragment = await browser.get(f"/deployments/{created['id']}", headers=HTMX)
        assert fragment.text.lstrip().startswith('<section id="deployment-status"')
        assert "hx-trigger" not in fragment.text
        tasks = await world.open_tasks(created["id"], 3)
        rejected = await world.complete(
            tasks["chief_of_mission"]["id"], "chief_of_mission", "reject", comment="No clearance"
        )
        assert rejected.status_code == 200
        # The decision answers once recorded; the run rejects the request right after.
        await world.wait_for(created["id"], lambda d: d["stage"] == "REJECTED")
        done = await browser.get(f"/deployments/{created['id']}", headers=HTMX)
        assert '<span class="usa-tag bg-secondary-dark">Rejected</span>' in done.text
        assert "hx-trigger" not in done.text


async def test_unknown_deployment_page_is_a_friendly_404(world: World) -> None:
    async with world.signed_in("planning") as browser:
        response = await browser.get("/deployments/does-not-exist")
    assert response.status_code == 404
    assert "<html" in response.text
    assert "404" in response.text


async def test_dashboard_counts(world: World) -> None:
    created = await world.submit()
    await world.open_tasks(created["id"], 3)
    async with world.signed_in("planning") as browser:
        page = await browser.get("/")
    assert re.search(r'<strong id="my-task-count">1</strong>', page.text)
    assert re.search(r'<strong data-stage="APPROVAL">1</strong>', page.text)
    assert re.search(r'<strong data-stage="VETTING">0</strong>', page.text)
    assert f"/deployments/{created['id']}" in page.text


async def test_members_page_filters(world: World) -> None:
    async with world.signed_in("requester") as browser:
        page = await browser.get("/members?component=standby", headers=HTMX)
        empty = await browser.get("/members?agency=Treasury&available_from=", headers=HTMX)
    assert world.standby.name in page.text
    assert world.member.name not in page.text
    assert "No members match." in empty.text


async def test_inbox_decides_in_place(world: World) -> None:
    created = await world.submit()
    tasks = await world.open_tasks(created["id"], 3)
    task_id = tasks["planning"]["id"]
    async with world.signed_in("planning") as browser:
        inbox = await browser.get("/inbox")
        assert f'<tr id="task-{task_id}"' in inbox.text
        assert inbox.text.count('<tr id="task-') == 1
        token = csrf_of(inbox.text)
        path = f"/inbox/tasks/{task_id}"
        no_csrf = await browser.post(path, data={"outcome": "approve"}, headers=HTMX)
        assert no_csrf.status_code == 403
        bad = await browser.post(path, data={"outcome": "maybe"}, headers=HTMX | {"X-CSRF-Token": token})
        assert bad.status_code == 422
        assert bad.text.lstrip().startswith(f'<tr id="task-{task_id}"')
        assert 'role="alert"' in bad.text
        done = await browser.post(
            path,
            data={"outcome": "approve", "comment": "Fits the plan"},
            headers=HTMX | {"X-CSRF-Token": token},
        )
        assert done.status_code == 200, done.text
        # The workflow holds the decision for its undo window: the row confirms it, with Undo,
        # and asks for itself again once the window is over.
        assert done.text.lstrip().startswith(
            f'<tr id="task-{task_id}" class="held" hx-get="/inbox/tasks/{task_id}" '
            'hx-trigger="load delay:11s" hx-swap="outerHTML">'
        )
        assert f"You approved {tasks['planning']['title']}." in done.text
        assert f'action="/inbox/tasks/{task_id}/undo"' in done.text
        assert '<input type="hidden" name="comment" value="Fits the plan">' in done.text
        assert '<span id="inbox-count" class="count" hx-swap-oob="true">' in done.text
        # A second click shows the decision taken, not an error.
        again = await browser.post(path, data={"outcome": "approve"}, headers=HTMX | {"X-CSRF-Token": token})
        assert again.status_code == 200
        assert f"You approved {tasks['planning']['title']}." in again.text
        assert 'role="alert"' not in again.text
        # Once the workflow acts on it, the row says who decided, and no task is left for planning.
        await world.wait_for(created["id"], lambda d: len(d["open_tasks"]) == 2)
        settled = await browser.get(path, headers=HTMX)
        assert settled.text.lstrip().startswith(f'<tr id="task-{task_id}" class="done"')
        assert "Fits the plan" in settled.text
        assert '<span class="visually-hidden">(</span>0<' in settled.text
    async with world.signed_in("resource_management") as other:
        token = csrf_of((await other.get("/inbox")).text)
        wrong = await other.post(
            f"/inbox/tasks/{tasks['chief_of_mission']['id']}",
            data={"outcome": "approve", "csrf_token": token},
            headers=HTMX,
        )
        assert wrong.status_code == 403
        assert "this task is for the chief_of_mission role" in wrong.text


async def test_requester_amends_from_the_page(world: World) -> None:
    created = await world.submit()
    tasks = await world.open_tasks(created["id"], 3)
    response = await world.complete(
        tasks["planning"]["id"], "planning", "request_changes", comment="Say why now"
    )
    assert response.status_code == 200
    async with world.signed_in("planning") as approver:
        seen = await approver.get(f"/deployments/{created['id']}")
        assert "Amend the request" not in seen.text  # only the requester amends
    async with world.signed_in("requester") as browser:
        page = await browser.get(f"/deployments/{created['id']}")
        assert "Amend the request" in page.text
        assert "hx-trigger" not in page.text  # no polling under the requester's typing
        form = {
            "csrf_token": csrf_of(page.text),
            "sector": "rule_of_law",
            "role_title": "Rule of law adviser",
            "start_date": created["start_date"],
            "duration_days": "",
            "justification": "",
            "comment": "",
        }
        no_csrf = await browser.post(f"/deployments/{created['id']}/amend", data={**form, "csrf_token": ""})
        assert no_csrf.status_code == 403
        invalid = await browser.post(f"/deployments/{created['id']}/amend", data=form)
        assert invalid.status_code == 422
        assert 'id="duration_days-error"' in invalid.text
        # Summarized where the page opens (not below the facts and timeline), linked to the field.
        assert ("duration_days", "Duration days: must be a whole number from 1 to 365") in error_summary(
            invalid.text
        )
        assert invalid.text.index('id="error-summary"') < invalid.text.index('<dl class="facts">')
        form["duration_days"] = "60"
        invalid = await browser.post(f"/deployments/{created['id']}/amend", data=form)
        assert invalid.status_code == 422
        assert 'id="justification-error"' in invalid.text
        form |= {"duration_days": "60", "justification": "Elections are in May.", "comment": "ok"}
        done = await browser.post(f"/deployments/{created['id']}/amend", data=form)
        assert (done.status_code, done.headers["location"]) == (
            303,
            f"/deployments/{created['id']}",
        )
        landed = await browser.get(done.headers["location"])
        assert page_alerts(landed.text) == [
            ("success", "Amendment sent: the request is back with the approvers.")
        ]
    await world.open_tasks(created["id"], 3)
    amended = await world.deployment(created["id"])
    assert (amended["justification"], amended["duration_days"], amended["revision"]) == (
        "Elections are in May.",
        60,
        2,
    )


async def test_unexpected_errors_are_friendly(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr("web.pages.deployments.page_of_deployments", broken)
    monkeypatch.setattr("web.api.deployments.list_deployments", broken)
    async with world.signed_in("planning", raise_app_exceptions=False) as browser:
        page = await browser.get("/deployments")
    assert page.status_code == 500
    assert "Something went wrong on our side" in page.text
    assert "database on fire" not in page.text
    async with http_client(world.app, raise_app_exceptions=False) as api:
        response = await api.get("/api/v1/deployments", headers=await world.headers("planning"))
    assert (response.status_code, response.json()) == (500, {"detail": "internal server error"})
