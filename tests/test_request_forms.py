"""Page forms parse into the API's models: the same input earns the same refusal, word for word."""

import html
import re
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from crc.requests import DeploymentAmend
from crc.stages import Stage
from crc.tables import Deployment
from tests import factories
from tests.request_cases import A_DURATION, LOOKED_UP, STATIC, BadField
from tests.web_helpers import World, csrf_of, request_body, web_world
from web.services.errors import Conflict

FIELD_ERROR = re.compile(r'<span class="usa-error-message" id="([a-z_-]+)-error">([^<]*)</span>')


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        yield w


def field_errors(page: str) -> list[tuple[str, str]]:
    """The (field, message) pairs a page marks."""
    return [(field, html.unescape(msg)) for field, msg in FIELD_ERROR.findall(page)]


async def a_deployment(world: World, stage: Stage) -> str:
    """A read-model deployment of the world's Active member, requested by requester."""
    assert world.member.id is not None
    [deployment_id] = await factories.deployment_rows(
        world.engine,
        1,
        member_id=world.member.id,
        post_code=world.post.code,
        stage=stage,
        requested_by="requester",
    )
    return deployment_id


async def test_request_form_and_api_refuse_alike(world: World) -> None:
    body = request_body(world.member, world.post)
    headers = await world.headers("requester")
    async with world.signed_in("requester") as browser:
        token = csrf_of((await browser.get("/deployments/new")).text)

        async def refusals(bad: dict[str, Any], left_out: str = "") -> tuple[list[Any], list[Any]]:
            sent = {k: v for k, v in (body | bad).items() if k != left_out}
            api = await world.http.post("/api/v1/deployments", json=sent, headers=headers)
            form = {k: str(v) for k, v in sent.items()} | {"csrf_token": token}
            page = await browser.post("/deployments/new", data=form)
            assert (api.status_code, page.status_code) == (422, 422)
            return [(e["loc"][1], e["msg"]) for e in api.json()["detail"]], field_errors(page.text)

        for case in [*STATIC, *LOOKED_UP]:
            bad: BadField = case.values[0]
            api, page = await refusals({bad.field: bad.json_value()})
            assert api == page == [(bad.field, bad.msg)], bad
        # A radio group with nothing chosen sends nothing, as a body without the field.
        api, page = await refusals({}, left_out="member_id")
        assert api == page == [("member_id", "Field required")]


async def test_extension_form_refuses_other_digits(world: World) -> None:
    deployment_id = await a_deployment(world, Stage.DEPLOYED)
    path = f"/deployments/{deployment_id}/extension"
    headers = await world.headers("requester")
    async with world.signed_in("requester") as browser:
        token = csrf_of((await browser.get(f"/deployments/{deployment_id}")).text)
        # Superscript two passes str.isdigit() but not int(); Arabic-Indic ten passes both.
        for days in ("\u00b2", "\u0661\u0660"):
            form = {"days": days, "justification": "Elections slipped", "csrf_token": token}
            page = await browser.post(path, data=form)
            assert page.status_code == 422
            assert field_errors(page.text) == [("ext-days", A_DURATION)]
            assert f'value="{days}"' in page.text
            api = await world.http.post(
                f"/api/v1{path}s", json={"days": days, "justification": "Elections slipped"}, headers=headers
            )
            assert api.status_code == 422
            assert [(e["loc"], e["msg"]) for e in api.json()["detail"]] == [(["body", "days"], A_DURATION)]


async def test_action_forms_and_api_refuse_alike(world: World) -> None:
    deployment_id = await a_deployment(world, Stage.DEPLOYED)
    headers = await world.headers("requester")
    cases = [
        ("cancel", "cancel", {"reason": " "}, [("reason", "must not be empty")]),
        ("cancel", "cancel", {"reason": "x" * 2001}, [("reason", "must be at most 2000 characters")]),
        (
            "extension",
            "extensions",
            {"days": "0", "justification": ""},
            [("days", A_DURATION), ("justification", "must not be empty")],
        ),
        ("check-in", "check-ins", {"status": "fine"}, [("status", "must be one of: ok, needs_help")]),
        (
            "check-in",
            "check-ins",
            {"status": "ok", "location": "x" * 201},
            [("location", "must be at most 200 characters")],
        ),
    ]
    async with world.signed_in("requester") as browser:
        token = csrf_of((await browser.get(f"/deployments/{deployment_id}")).text)
        for page_path, api_path, sent, expected in cases:
            page = await browser.post(
                f"/deployments/{deployment_id}/{page_path}", data=sent | {"csrf_token": token}
            )
            api = await world.http.post(
                f"/api/v1/deployments/{deployment_id}/{api_path}", json=sent, headers=headers
            )
            assert (page.status_code, api.status_code) == (422, 422)
            assert [(e["loc"][1], e["msg"]) for e in api.json()["detail"]] == expected
            if page_path != "check-in":  # the requester has no check-in form to mark: an alert
                prefix = {"cancel": "cancel", "extension": "ext"}[page_path]  # the controls' ids
                assert field_errors(page.text) == [(f"{prefix}-{f}", m) for f, m in expected]
            else:
                assert "; ".join(f"{f}: {m}" for f, m in expected) in html.unescape(page.text)


async def test_amendment_from_page_and_api_is_the_same_model(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment_id = await a_deployment(world, Stage.APPROVAL)
    received: list[DeploymentAmend] = []

    async def amend_request(*, changes: DeploymentAmend, **_: Any) -> Deployment:
        received.append(changes)
        raise Conflict("recorded, not sent")

    monkeypatch.setattr("web.pages.deployment.amend_request", amend_request)
    monkeypatch.setattr("web.api.deployments.amend_request", amend_request)
    amendment = {
        "sector": "security_sector",
        "role_title": "Police adviser",
        "start_date": "2031-03-01",
        "duration_days": 60,
        "justification": "The ministry asked for police reform first.",
        "urgent_justification": "",
        "comment": "Changed as Planning asked",
    }
    api = await world.http.post(
        f"/api/v1/deployments/{deployment_id}/amend", json=amendment, headers=await world.headers("requester")
    )
    async with world.signed_in("requester") as browser:
        token = csrf_of((await browser.get(f"/deployments/{deployment_id}")).text)
        form = {k: str(v) for k, v in amendment.items()} | {"csrf_token": token}
        page = await browser.post(f"/deployments/{deployment_id}/amend", data=form)
    assert (api.status_code, page.status_code) == (409, 409)
    from_api, from_page = received
    assert type(from_api) is type(from_page) is DeploymentAmend
    assert from_page == from_api
    assert from_page.changes() == {
        "sector": "security_sector",
        "role_title": "Police adviser",
        "start_date": date(2031, 3, 1),
        "duration_days": 60,
        "justification": "The ministry asked for police reform first.",
    }
    assert (from_page.urgent_justification, from_page.comment) == (None, "Changed as Planning asked")
