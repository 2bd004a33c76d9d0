"""Each rule of the domain with a number, at its boundary (the timers are in test_rule_timers.py):
the last value it takes and the first it refuses, so changing the number by one fails a test."""

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from activities.vetting import VettingActivities
from crc.costs import estimate_cost
from crc.domain import COURSE_FACT, COURSE_ORIENTATION
from crc.lifecycle import ExtensionCheck, VettingRequest
from crc.policy import lifecycle_policy
from crc.readiness import call_up_problems, clearance_problem
from crc.requests import DeploymentAmend, DeploymentCreate, MemberId
from crc.settings import Settings
from crc.tables import Deployment
from crc.task_forms import AfterActionReport
from crc.types import LifecyclePolicy
from tests.factories import add, certificate, member, post
from tests.web_helpers import http_client, make_app, open_task
from web.bounds import MAX_BODY_BYTES, MAX_FORM_BODY_BYTES, DocumentId
from web.schemas import CancelBody, CheckInBody, ExtensionBody, TaskCompletion
from web.services.inbox import InboxRow

END = date(2027, 3, 1)


# --- Vetting: the medical clearance covers the end date itself ---------------------------------


def _medical_expired(end: date, medical_expires: date) -> str:
    return f"Medical clearance expires {medical_expires}, before the end date {end}"


async def _vetting_problems(engine: AsyncEngine, medical_expires: date) -> list[str]:
    m, p = member(medical_expires=medical_expires), post(code="JUB")
    await add(engine, m, p)
    assert m.id is not None
    request = VettingRequest(deployment_id="d-1", member_id=m.id, post_code=p.code, end_date=END)
    report = await ActivityEnvironment().run(VettingActivities(engine).vet_member, request)
    return [f.reason for f in report.failures]


async def _extension_problems(engine: AsyncEngine, medical_expires: date) -> list[str]:
    # 60 days in all: FACT is not needed, so the medical clearance is the only check that fails.
    m, p = member(medical_expires=medical_expires), post(code="JUB")
    await add(engine, m, p)
    assert m.id is not None
    check = ExtensionCheck(
        deployment_id="d-1",
        member_id=m.id,
        post_code=p.code,
        start_date=END - timedelta(days=59),
        new_end_date=END,
    )
    return (await ActivityEnvironment().run(VettingActivities(engine).check_extension, check)).problems


async def _call_up_problems(engine: AsyncEngine, medical_expires: date) -> list[str]:
    certificates = [
        certificate(1, COURSE_FACT, date(2026, 1, 5), date(2031, 1, 5)),
        certificate(1, COURSE_ORIENTATION, date(2026, 1, 5), None),
    ]
    return call_up_problems(member(medical_expires=medical_expires), post(), END, certificates)


@pytest.mark.parametrize("problems_of", [_vetting_problems, _extension_problems, _call_up_problems])
@pytest.mark.parametrize(
    ("medical_expires", "expected"),
    [
        (END, []),
        (END - timedelta(days=1), [_medical_expired(END, END - timedelta(days=1))]),
    ],
)
async def test_the_medical_clearance_must_cover_the_end_date(
    engine: AsyncEngine,
    problems_of: Callable[[AsyncEngine, date], Awaitable[list[str]]],
    medical_expires: date,
    expected: list[str],
) -> None:
    # Vetting, an extension's checks and an Active call-up: each reads the end date itself.
    assert await problems_of(engine, medical_expires) == expected


# --- Vetting: clearance levels, lowest to highest ----------------------------------------------

ORDER = ["none", "confidential", "secret", "top_secret"]


@pytest.mark.parametrize("required", ORDER)
@pytest.mark.parametrize("held", ORDER)
def test_a_clearance_meets_a_requirement_at_its_own_level_or_below(held: str, required: str) -> None:
    problem = clearance_problem(
        member(clearance_level=held, clearance_expires=END if held != "none" else None),
        post(code="JUB", clearance_required=required),
        END,
    )
    meets = required == "none" or ORDER.index(held) >= ORDER.index(required)
    assert (problem is None) is meets, problem


# --- Free text: the last length taken and the first refused ------------------------------------

A_REQUEST: dict[str, Any] = {
    "member_id": 1,
    "post_code": "JUB",
    "sector": "rule_of_law",
    "role_title": "Rule of law adviser",
    "start_date": "2027-03-01",
    "duration_days": 60,
    "justification": "The court reform programme needs an adviser.",
}


@pytest.mark.parametrize(
    ("model", "given", "field", "limit"),
    [
        pytest.param(DeploymentCreate, A_REQUEST, "justification", 4000, id="request.justification"),
        pytest.param(DeploymentCreate, A_REQUEST, "urgent_justification", 4000, id="request.urgent"),
        pytest.param(DeploymentCreate, A_REQUEST, "role_title", 200, id="request.role_title"),
        pytest.param(DeploymentAmend, {}, "justification", 4000, id="amend.justification"),
        pytest.param(DeploymentAmend, {}, "comment", 2000, id="amend.comment"),
        pytest.param(TaskCompletion, {"outcome": "approve"}, "comment", 2000, id="task.comment"),
        pytest.param(CancelBody, {}, "reason", 2000, id="cancel.reason"),
        pytest.param(CheckInBody, {"status": "ok"}, "note", 2000, id="check_in.note"),
        pytest.param(CheckInBody, {"status": "ok"}, "location", 200, id="check_in.location"),
        pytest.param(ExtensionBody, {"days": 10}, "justification", 4000, id="extension.justification"),
        pytest.param(AfterActionReport, {}, "report", 20_000, id="after_action.report"),
    ],
)
def test_text_at_its_limit_is_taken_and_one_character_more_is_refused(
    model: type[BaseModel], given: dict[str, Any], field: str, limit: int
) -> None:
    taken = model.model_validate(given | {field: "x" * limit})
    assert getattr(taken, field) == "x" * limit
    with pytest.raises(ValidationError) as refused:
        model.model_validate(given | {field: "x" * (limit + 1)})
    assert [(e["loc"], e["type"]) for e in refused.value.errors()] == [((field,), "string_too_long")]


# --- Ids: the largest an Integer column holds ------------------------------------------------


@pytest.mark.parametrize("id_type", [MemberId, DocumentId], ids=["member_id", "document_id"])
def test_an_id_up_to_2_to_the_31_minus_1_is_taken(id_type: Any) -> None:
    ids = TypeAdapter(id_type)
    assert ids.validate_python(2_147_483_647) == 2_147_483_647
    with pytest.raises(ValidationError) as refused:
        ids.validate_python(2_147_483_648)
    assert [e["type"] for e in refused.value.errors()] == ["less_than_equal"]


# --- The request body: 64 KB, and 256 KB for a page's form ---------------------------------------


@pytest.mark.parametrize(("size", "status"), [(MAX_BODY_BYTES, 401), (MAX_BODY_BYTES + 1, 413)])
async def test_a_body_of_64_kb_is_read_and_one_byte_more_is_refused(
    engine: AsyncEngine, temporal_client: Client, task_queue: str, size: int, status: int
) -> None:
    # Not signed in: a body the app reads earns 401; one it refuses unread earns 413.
    body = b" " * (size - 2) + b"{}"
    async with http_client(make_app(engine, temporal_client, task_queue)) as http:
        declared = await http.post(
            "/api/v1/deployments", content=body, headers={"content-type": "application/json"}
        )
    assert declared.status_code == status


@pytest.mark.parametrize(("size", "status"), [(MAX_FORM_BODY_BYTES, 403), (MAX_FORM_BODY_BYTES + 1, 413)])
async def test_a_page_form_of_256_kb_is_read_and_one_byte_more_is_refused(
    engine: AsyncEngine, temporal_client: Client, task_queue: str, size: int, status: int
) -> None:
    # No CSRF token: a form the app reads earns 403; one it refuses unread earns 413.
    body = b"username=" + b"u" * (size - len("username=&password=x")) + b"&password=x"
    assert len(body) == size
    async with http_client(make_app(engine, temporal_client, task_queue)) as http:
        declared = await http.post(
            "/login", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
        )
    assert declared.status_code == status


# --- Money: danger pay from the first day, the post differential after day 42 -------------------


@pytest.mark.parametrize(("days", "differential"), [(42, "0.00"), (43, "10.00")])
def test_danger_pay_is_paid_from_the_first_day_and_the_differential_after_the_42nd(
    days: int, differential: str
) -> None:
    # $36,500 a year is $100 a day: danger pay 25% is $25 a day, the differential 10% is $10.
    estimate = estimate_cost(
        days=days,
        per_diem_usd=Decimal("0"),
        annual_salary_usd=Decimal("36500"),
        danger_pay_pct=Decimal("25"),
        post_differential_pct=Decimal("10"),
    )
    assert (estimate.danger_pay_usd, estimate.post_differential_usd) == (
        Decimal("25.00") * days,
        Decimal(differential),
    )


# --- Timers a workflow is given ----------------------------------------------------------------


def test_a_workflow_given_no_policy_checks_in_as_the_settings_say() -> None:
    # The policy's own defaults (tests, and workflows started before it was given) repeat the
    # settings' numbers: changing one copy alone fails here.
    assert LifecyclePolicy() == lifecycle_policy(Settings(CRC_ENV="dev"))


# --- The inbox: "due soon" in the last quarter of a task's time ---------------------------------


@pytest.mark.parametrize(
    ("left", "mark"),
    [
        (timedelta(seconds=-1), "overdue"),
        (timedelta(0), "due-soon"),
        (timedelta(hours=6), "due-soon"),  # a quarter of the task's 24 hours left
        (timedelta(hours=6, seconds=1), ""),
    ],
)
def test_the_inbox_marks_a_task_due_soon_in_the_last_quarter_of_its_time(left: timedelta, mark: str) -> None:
    now = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    task = open_task("d-1", due_at=now + left)
    task.created_at = now + left - timedelta(hours=24)
    assert InboxRow(task, Deployment.model_construct(), member=None, post=None).urgency(now) == mark
