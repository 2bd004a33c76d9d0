"""Hostile input is refused in words, never with a 500: a 422 naming the field, or a 413 for a body
too large, on the API (JSON) and on the pages alike.

Each table fires its requests at one app (rows written by the test, no workflow behind them: every
refusal here comes before Temporal is asked) and compares every answer at once, so a failure lists
all the requests that went wrong.
"""

import html
import json
import re
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from crc.lifecycle_tables import Document
from crc.progress import WaitingFor
from crc.stages import Stage
from tests import factories
from tests.request_cases import DaysAhead
from tests.web_helpers import World, csrf_of, http_client, open_task, request_body, user, web_world
from web.bounds import BODY_TOO_LARGE, FORM_BODY_TOO_LARGE, MAX_BODY_BYTES, MAX_FORM_BODY_BYTES
from web.services.deployment_list import Cursor

BEYOND_64_BITS = str(2**63)
BEYOND_UNSIGNED_64_BITS = str(2**64)
SUPERSCRIPT_TWO = "\u00b2"  # str.isdigit() says yes, int() says no
ARABIC_INDIC_TEN = "\u0661\u0660"  # str.isdigit() and int() both say 10
THOUSANDS_OF_DIGITS = "9" * 5000  # past int()'s 4,300-digit limit
LAST_DAY = "9999-12-31"  # a date, but no end date after it is
PAST_THE_CALENDAR = "10000-01-01"


def not_dates(ahead: DaysAhead) -> tuple[Any, ...]:
    """What pydantic alone takes for the day `ahead` (or 1970-01-01) but is no YYYY-MM-DD date: Unix
    seconds as a number and as text, a datetime at midnight, a tiny float in text."""
    midnight = datetime.fromisoformat(ahead.iso()).replace(tzinfo=UTC)
    seconds = int(midnight.timestamp())
    return (seconds, str(seconds), f"{ahead.iso()}T00:00:00", "2.4993744536161884e-111", "0")


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        yield w


@dataclass(frozen=True)
class Hostile:
    """One request and the answer it must get: its status and the fields the answer names."""

    method: str
    path: str  # "{deployment}" and the like are filled from the world's rows
    status: int
    fields: tuple[str, ...] = ()  # the 422's fields; on the API as "query.offset"
    query: Mapping[str, str] | None = None
    json: Any = None
    form: Mapping[str, str] | None = None
    user: str = "admin"

    def label(self) -> str:
        """What the request was, for the comparison's report."""
        sent = self.query or self.json or self.form or {}
        return f"{self.method} {self.path} {str(sent)[:80]}"


async def rows(world: World) -> dict[str, str]:
    """Rows to aim at: a deployment with a document, an approval, an after-action report (`maria`'s)."""
    assert world.member.id is not None
    common: dict[str, Any] = {
        "member_id": world.member.id,
        "post_code": world.post.code,
        "requested_by": "requester",
    }
    [deployed] = await factories.deployment_rows(world.engine, 1, stage=Stage.DEPLOYED, **common)
    [amendable] = await factories.deployment_rows(
        world.engine, 1, stage=Stage.APPROVAL, waiting_for=WaitingFor.AMENDMENT.value, **common
    )
    [returning] = await factories.deployment_rows(world.engine, 1, stage=Stage.REDEPLOYMENT, **common)
    document = Document(deployment_id=deployed, kind="travel_orders", title="Travel orders", body="<p>Go</p>")
    approval = open_task(amendable)
    report = open_task(
        returning,
        kind="after_action_report",
        stage=Stage.REDEPLOYMENT.value,
        role="member",
        title="After-action report",
        outcomes=["done"],
    )
    await world.add(document, approval, report, user("maria", ["member"], member_id=world.member.id))
    return {
        "deployment": deployed,
        "amendable": amendable,
        "task": approval.id,
        "report_task": report.id,
        "document": str(document.id),
        "member": str(world.member.id),
        "post": world.post.code,
    }


def _raw_form(values: Mapping[str, str]) -> str:
    # Encoded by hand: httpx would refuse to send some of these characters at all.
    return urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in values.items()})


async def send(
    client: httpx.AsyncClient, case: Hostile, ids: Mapping[str, str], **extra: Any
) -> httpx.Response:
    """The case's request, its body sent as JSON (escapes and all) or as a form."""
    headers: dict[str, str] = dict(extra.pop("headers", {}))
    content: str | None = None
    if case.json is not None:
        content = json.dumps(case.json)  # NUL and lone surrogates as \u escapes, as JSON carries them
        headers["content-type"] = "application/json"
    if case.form is not None:
        content = _raw_form({**case.form, **extra.pop("form", {})})
        headers["content-type"] = "application/x-www-form-urlencoded"
    return await client.request(
        case.method, case.path.format(**ids), params=case.query, content=content, headers=headers
    )


def api_cases(world: World) -> list[Hostile]:
    """Each API route that takes input, with values that answered 500, and a few that must pass."""
    new = request_body(world.member, world.post)
    bad_ints = (BEYOND_64_BITS, BEYOND_UNSIGNED_64_BITS, "-1", SUPERSCRIPT_TWO, ARABIC_INDIC_TEN)
    return [
        *(Hostile("GET", "/api/v1/deployments", 422, ("query.offset",), {"offset": v}) for v in bad_ints),
        Hostile("GET", "/api/v1/deployments", 200, (), {"offset": str(2**63 - 1)}),
        Hostile("GET", "/api/v1/deployments", 422, ("query.limit",), {"limit": BEYOND_64_BITS}),
        *(
            Hostile("GET", "/api/v1/deployments", 422, ("query.member_id",), {"member_id": v})
            for v in bad_ints
        ),
        *(
            Hostile("GET", f"/api/v1/deployments/{{deployment}}/documents/{v}", 422, ("path.document_id",))
            for v in bad_ints
        ),
        Hostile("GET", "/api/v1/deployments/{deployment}/documents/{document}", 200),
        Hostile(
            "GET", "/api/v1/members", 422, ("query.available_from",), {"available_from": PAST_THE_CALENDAR}
        ),
        Hostile("GET", "/api/v1/members", 200, (), {"available_from": LAST_DAY}),
        # Numbers and datetimes that pydantic alone reads as days (found by tests/test_contract_fuzz.py).
        *(
            Hostile("GET", "/api/v1/members", 422, ("query.available_from",), {"available_from": str(v)})
            for v in not_dates(DaysAhead(45))
        ),
        *(
            Hostile("POST", "/api/v1/deployments", 422, ("body.start_date",), json=new | {"start_date": v})
            for v in not_dates(DaysAhead(45))
        ),
        # Start dates: past the calendar, at its end, and a day past the two-year horizon.
        *(
            Hostile("POST", "/api/v1/deployments", 422, ("body.start_date",), json=new | {"start_date": v})
            for v in (PAST_THE_CALENDAR, LAST_DAY, DaysAhead(731).iso())
        ),
        Hostile("POST", "/api/v1/deployments", 422, ("body.member_id",), json=new | {"member_id": 2**63}),
        Hostile(
            "POST", "/api/v1/deployments", 422, ("body.duration_days",), json=new | {"duration_days": 2**64}
        ),
        Hostile(
            "POST",
            "/api/v1/deployments/{amendable}/amend",
            422,
            ("body.start_date",),
            json={"start_date": LAST_DAY},
            user="requester",
        ),
        # Free text over its limit.
        Hostile(
            "POST",
            "/api/v1/deployments",
            422,
            ("body.justification",),
            json=new | {"justification": "j" * 4001},
        ),
        Hostile(
            "POST",
            "/api/v1/tasks/{task}/complete",
            422,
            ("body.comment",),
            json={"outcome": "approve", "comment": "c" * 2001},
        ),
        Hostile(
            "POST",
            "/api/v1/tasks/{report_task}/complete",
            422,
            ("body.data.report",),
            json={"outcome": "done", "data": {"report": "r" * 20_001}},
            user="maria",
        ),
        Hostile(
            "POST",
            "/api/v1/deployments/{deployment}/cancel",
            422,
            ("body.reason",),
            json={"reason": "r" * 2001},
        ),
        Hostile(
            "POST",
            "/api/v1/deployments/{deployment}/check-ins",
            422,
            ("body.note",),
            json={"status": "ok", "note": "n" * 2001},
        ),
        Hostile(
            "POST",
            "/api/v1/deployments/{deployment}/extensions",
            422,
            ("body.days", "body.justification"),
            json={"days": 2**63, "justification": "j" * 4001},
        ),
        # Text no database can store: NUL anywhere, an unpaired surrogate in JSON.
        Hostile("GET", "/api/v1/deployments/%00", 422, ("path.deployment_id",)),
        Hostile(
            "GET",
            "/api/v1/deployments",
            422,
            ("query.stage", "query.post_code"),
            {"stage": "\x00", "post_code": "J\x00B"},
        ),
        Hostile("GET", "/api/v1/tasks", 422, ("query.kind",), {"kind": "approval\x00"}),
        # Filters by a named value: one nobody knows is refused, not answered with an empty list.
        Hostile("GET", "/api/v1/deployments", 422, ("query.stage",), {"stage": "NOT_A_STAGE"}),
        Hostile("GET", "/api/v1/deployments", 422, ("query.stage",), {"stage": "approval"}),
        Hostile("GET", "/api/v1/deployments", 200, (), {"stage": "APPROVAL"}),
        Hostile("GET", "/api/v1/tasks", 422, ("query.kind",), {"kind": "NOT_A_KIND"}),
        Hostile("GET", "/api/v1/tasks", 200, (), {"kind": "approval"}),
        Hostile(
            "GET",
            "/api/v1/members",
            422,
            ("query.sector", "query.component", "query.agency"),
            {"sector": "cooking", "component": "reserve", "agency": "Nowhere"},
        ),
        Hostile("GET", "/api/v1/members", 200, (), {"sector": "rule_of_law", "component": "active"}),
        Hostile(
            "POST",
            "/api/v1/deployments",
            422,
            ("body.justification",),
            json=new | {"justification": "\ud800"},
        ),
        Hostile(
            "POST",
            "/api/v1/tasks/{task}/complete",
            422,
            ("body.comment",),
            json={"outcome": "approve", "comment": "\x00"},
        ),
        Hostile(
            "POST",
            "/api/v1/tasks/{report_task}/complete",
            422,
            ("body.data.report",),
            json={"outcome": "done", "data": {"report": "Went well\x00"}},
            user="maria",
        ),
        Hostile(
            "POST", "/api/v1/auth/token", 422, ("body.username",), form={"username": "\x00", "password": "x"}
        ),
    ]


def _api_answer(response: httpx.Response) -> tuple[int, tuple[str, ...]]:
    if response.status_code != 422:
        return response.status_code, ()
    return 422, tuple(".".join(str(part) for part in e["loc"]) for e in response.json()["detail"])


async def test_api_refuses_each_hostile_value_naming_the_field(world: World) -> None:
    ids = await rows(world)
    cases = api_cases(world)
    async with http_client(world.app, raise_app_exceptions=False) as api:
        answers = []
        for case in cases:
            response = await send(api, case, ids, headers=await world.headers(case.user))
            answers.append((case.label(), *_api_answer(response)))
    assert answers == [(case.label(), case.status, case.fields) for case in cases]


def page_cases(world: World) -> list[Hostile]:
    """Each page that takes input, with values that answered 500, and a few that must pass."""
    new = {k: str(v) for k, v in request_body(world.member, world.post).items()}
    post = {
        "country": "South Sudan",
        "city": "Juba",
        "threat_level": "high",
        "clearance_required": "secret",
        "per_diem_usd": "250",
        "danger_pay_pct": "35",
        "post_differential_pct": "30",
        "clearance_lead_days": "10",
    }
    member = {
        "name": "Avery Quinn",
        "email": "avery.quinn@example.gov",
        "agency": "State",
        "component": "active",
        "clearance_level": "secret",
        "sectors": "rule_of_law",
    }
    ours = Cursor(datetime.now(UTC), str(uuid.uuid4())).encode()
    return [
        *(
            Hostile("GET", f"/members/{v}/edit", 422, ("member_id",))
            for v in (BEYOND_64_BITS, "-1", SUPERSCRIPT_TWO)
        ),
        Hostile("POST", f"/members/{BEYOND_UNSIGNED_64_BITS}/edit", 422, ("member_id",), form=member),
        Hostile("GET", f"/deployments/{{deployment}}/documents/{BEYOND_64_BITS}", 422, ("document_id",)),
        # Keyset cursors: an offset no clock has, or one that carries the time off the calendar.
        *(
            Hostile("GET", "/deployments", 422, (name,), {name: f"{stamp}~{uuid.uuid4()}"})
            for name, stamp in [
                ("after", "2026-01-01T00:00:00+99:00"),
                ("after", "0001-01-01T00:00:00+00:01"),
                ("before", "9999-12-31T23:59:59-00:01"),
                ("after", "10000-01-01T00:00:00"),
            ]
        ),
        Hostile("GET", "/deployments", 422, ("after",), {"after": f"{ours[:-1]}{'x' * 37}"}),
        Hostile("GET", "/deployments", 200, (), {"after": ours}),
        # The member search shows what it can of what is typed; submitting decides.
        Hostile("GET", "/deployments/new/members", 200, (), {"start_date": LAST_DAY, "duration_days": "365"}),
        Hostile(
            "GET",
            "/deployments/new/members",
            200,
            (),
            {"member_id": BEYOND_UNSIGNED_64_BITS, "duration_days": SUPERSCRIPT_TWO},
        ),
        Hostile("GET", "/deployments/new", 200, (), {"member_id": THOUSANDS_OF_DIGITS}),
        *(
            Hostile("POST", "/deployments/new", 422, ("start_date",), form=new | {"start_date": v})
            for v in (PAST_THE_CALENDAR, LAST_DAY, DaysAhead(731).iso())
        ),
        Hostile("POST", "/deployments/new", 422, ("member_id",), form=new | {"member_id": BEYOND_64_BITS}),
        *(
            Hostile("POST", "/deployments/new", 422, ("duration_days",), form=new | {"duration_days": v})
            for v in (ARABIC_INDIC_TEN, THOUSANDS_OF_DIGITS)
        ),
        Hostile(
            "POST",
            "/deployments/{amendable}/amend",
            422,
            ("start_date",),
            form={"start_date": LAST_DAY},
            user="requester",
        ),
        Hostile(
            "POST",
            "/deployments/{deployment}/extension",
            422,
            ("ext-days",),
            form={"days": BEYOND_64_BITS, "justification": "Elections slipped"},
        ),
        Hostile(
            "POST", "/deployments/{deployment}/cancel", 422, ("cancel-reason",), form={"reason": "r" * 2001}
        ),
        Hostile(
            "POST",
            "/deployments/{deployment}/check-in",
            422,
            ("ci-note",),
            form={"status": "ok", "note": "n" * 2001},
            user="operations",  # who may check in sees the form, the message beside its field
        ),
        *(
            Hostile(
                "POST",
                "/posts/{post}/edit",
                422,
                ("clearance_lead_days",),
                form=post | {"clearance_lead_days": v},
            )
            for v in (SUPERSCRIPT_TWO, ARABIC_INDIC_TEN, BEYOND_UNSIGNED_64_BITS, THOUSANDS_OF_DIGITS)
        ),
        Hostile(
            "POST",
            "/posts/{post}/edit",
            422,
            ("per_diem_usd",),
            form=post | {"per_diem_usd": ARABIC_INDIC_TEN},
        ),
        Hostile(
            "POST",
            "/members/{member}/edit",
            422,
            ("clearance_expires",),
            form=member | {"clearance_expires": PAST_THE_CALENDAR},
        ),
        Hostile(
            "POST",
            "/inbox/tasks/{task}",
            422,
            ("comment",),
            form={"outcome": "approve", "comment": "c" * 2001},
            user="planning",
        ),
        Hostile("GET", "/deployments/%00", 422, ("deployment_id",)),
        Hostile("GET", "/inbox", 422, ("q",), {"q": "Juba\x00"}),
        # Filters by a named value: the page says which one it does not know.
        Hostile(
            "GET",
            "/deployments",
            422,
            ("stage", "agency", "component"),
            {"stage": "NOT_A_STAGE", "agency": "Nowhere", "component": "reserve"},
        ),
        Hostile("GET", "/deployments", 200, (), {"stage": "", "agency": "", "component": ""}),
        Hostile(
            "GET", "/deployments", 200, (), {"stage": "APPROVAL", "agency": "HHS", "component": "active"}
        ),
        Hostile(
            "GET", "/inbox", 422, ("kind", "stage", "sort"), {"kind": "x", "stage": "y", "sort": "newest"}
        ),
        Hostile("GET", "/inbox", 200, (), {"kind": "approval", "stage": "APPROVAL", "sort": "age"}),
        Hostile(
            "GET",
            "/members",
            422,
            ("sector", "component", "agency"),
            {"sector": "cooking", "component": "reserve", "agency": "Nowhere"},
        ),
        Hostile("GET", "/members", 200, (), {"sector": "", "component": "standby", "agency": ""}),
        # Date filters: one that is not a date is refused, not dropped without a word.
        Hostile(
            "GET",
            "/deployments",
            422,
            ("start_from", "start_to"),
            {"start_from": PAST_THE_CALENDAR, "start_to": "2026-13-01"},
        ),
        Hostile("GET", "/deployments", 200, (), {"start_from": "", "start_to": LAST_DAY}),
        Hostile("GET", "/members", 422, ("available_from",), {"available_from": "tomorrow"}),
        Hostile("GET", "/members", 200, (), {"available_from": LAST_DAY}),
        Hostile("POST", "/members/{member}/edit", 422, ("name",), form=member | {"name": "Avery\x00"}),
        Hostile("POST", "/login", 422, ("username",), form={"username": "\x00", "password": "x"}),
    ]


_FIELD_ERROR = re.compile(r'<span class="usa-error-message" id="([a-z_-]+)-error">')
# An inbox decision's field error: its id names the field and the task ("comment-<task id>-error").
_TASK_FIELD_ERROR = re.compile(r'<span class="usa-error-message" id="([a-z_]+)-[0-9a-f-]{36}-error">')
# An error page's detail and an inbox row's alert say "field: what is wrong; field: ...".
_NAMED = re.compile(r'<p class="(?:detail|alert|usa-alert__text)"(?: role="alert")?>([^<]*)</p>')


def fields_named(page: str) -> tuple[str, ...]:
    """The fields a page marks as wrong, in its form or in its message."""
    marked = _FIELD_ERROR.findall(page) + _TASK_FIELD_ERROR.findall(page)
    for message in _NAMED.findall(page):
        marked += [part.split(": ")[0] for part in html.unescape(message).split("; ") if ": " in part]
    return tuple(marked)


async def test_pages_refuse_each_hostile_value_naming_the_field(world: World) -> None:
    ids = await rows(world)
    cases = sorted(page_cases(world), key=lambda c: c.user)  # stable: each user's in table order
    answers = []
    for username in dict.fromkeys(case.user for case in cases):
        async with world.signed_in(username, raise_app_exceptions=False) as browser:
            token = csrf_of((await browser.get("/")).text)
            for case in (c for c in cases if c.user == username):
                response = await send(browser, case, ids, form={"csrf_token": token})
                fields = fields_named(response.text) if response.status_code == 422 else ()
                answers.append((case.label(), response.status_code, fields))
    assert answers == [(case.label(), case.status, case.fields) for case in cases]


async def test_a_start_two_years_ahead_is_the_last_accepted(world: World) -> None:
    headers = await world.headers("requester")
    body = request_body(world.member, world.post, start_date=DaysAhead(730).iso())
    assert (await world.http.post("/api/v1/deployments", json=body, headers=headers)).status_code == 201
    later = request_body(world.standby, world.post, start_date=DaysAhead(731).iso())
    refused = await world.http.post("/api/v1/deployments", json=later, headers=headers)
    assert refused.status_code == 422
    assert refused.json()["detail"] == [
        {
            "loc": ["body", "start_date"],
            "msg": f"must be at most 730 days ahead (on or before {DaysAhead(730).iso()})",
            "type": "value_error",
        }
    ]


async def test_a_body_over_the_limit_is_413_in_our_words(world: World) -> None:
    headers = await world.headers("requester")
    body = request_body(world.member, world.post, justification="j" * (100 * 1024))  # 100 KB
    declared = await world.http.post("/api/v1/deployments", json=body, headers=headers)
    assert (declared.status_code, declared.json()) == (413, {"detail": BODY_TOO_LARGE})
    assert BODY_TOO_LARGE == "the request body is larger than 64 KB; send less"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(3):
            yield b"x" * MAX_BODY_BYTES

    streamed = await world.http.post(
        "/api/v1/deployments", content=chunks(), headers=headers | {"content-type": "application/json"}
    )
    assert (streamed.status_code, streamed.json()) == (413, {"detail": BODY_TOO_LARGE})
    at_the_limit = await world.http.post(
        "/api/v1/deployments",
        content=b" " * (MAX_BODY_BYTES - 2) + b"{}",
        headers=headers | {"content-type": "application/json"},
    )
    assert at_the_limit.status_code == 422  # read in full, then refused field by field
    # The API's own form (the token endpoint) has the API's limit, not the pages'.
    token = await world.http.post(
        "/api/v1/auth/token", data={"username": "u" * MAX_BODY_BYTES, "password": "x"}
    )
    assert (token.status_code, token.json()) == (413, {"detail": BODY_TOO_LARGE})

    async with world.signed_in("requester") as browser:
        token_value = csrf_of((await browser.get("/deployments/new")).text)
        huge = request_body(world.member, world.post, justification="j" * MAX_FORM_BODY_BYTES)
        page = await browser.post(
            "/deployments/new", data={k: str(v) for k, v in huge.items()} | {"csrf_token": token_value}
        )
        assert page.status_code == 413
        assert "What was sent is too large." in page.text
        assert f'<p class="detail">{FORM_BODY_TOO_LARGE}</p>' in page.text
        # JSON to a page has the 64 KB limit: only forms are percent-encoded.
        as_json = await browser.post("/deployments/new", json=body, headers={"X-CSRF-Token": token_value})
        assert as_json.status_code == 413


async def test_a_page_form_holds_a_full_report_percent_encoded(world: World) -> None:
    """20,000 four-byte characters, 12 bytes each once percent-encoded: within the form limit."""
    ids = await rows(world)
    report = "\U0001f30d" * 20_000
    async with world.signed_in("maria") as browser:
        token = csrf_of((await browser.get("/inbox")).text)
        form = {"outcome": "done", "report": report, "csrf_token": token}
        assert len(urlencode(form)) > 240_000
        answer = await browser.post(f"/inbox/tasks/{ids['report_task']}", data=form)
    # Read in full and checked (a 413 past the limit, a 422 past 20,000 characters), it goes on
    # to the workflow, which is where it is refused: no workflow runs behind these rows.
    assert answer.status_code == 409
    assert f'<tr id="task-{ids["report_task"]}"' in answer.text
