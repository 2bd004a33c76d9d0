"""The task-kind table: every kind complete, its titles and words, and its form model's refusals
(in the table, through the API with a 422 naming the field, and in the workflow's rule)."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from crc import names
from crc.events import EVENT_LABELS, EventKind
from crc.permissions import Actor, Parties, check_decision
from crc.roles import Role
from crc.stages import Stage
from crc.tables import Task
from crc.tasks import OUTCOMES, TASK_KINDS, Outcome, TaskKind, TaskKindSpec, event_label
from tests import factories
from tests.web_helpers import World, user, web_world

# The facts each kind's title template needs, and the title they give.
TITLES: dict[TaskKind, tuple[dict[str, Any], str]] = {
    TaskKind.APPROVAL: ({"member": "Ana Ruiz", "post": "JUB"}, "Approval: Ana Ruiz to JUB"),
    TaskKind.VETTING_REVIEW: ({"reason": "passport expires"}, "Vetting: passport expires"),
    TaskKind.TRAINING_RESULT: (
        {"course": "FACT", "retake": " (retake)", "starts_on": "2027-01-04", "ends_on": "2027-01-08"},
        "Result of FACT (retake): 2027-01-04 to 2027-01-08",
    ),
    TaskKind.TRAINING_SCHEDULE: (
        {"course": "FACT", "start": "2027-01-04", "new_start": "2027-02-01"},
        "No FACT session ends before 2027-01-04: start on 2027-02-01 instead, or cancel",
    ),
    TaskKind.KIT_SHORTAGE: (
        {"member": "Ana Ruiz", "post": "JUB", "short": "HELMET"},
        "Out of stock for Ana Ruiz (JUB): HELMET",
    ),
    TaskKind.KIT_RECEIPT: ({"items": "1 x Helmet"}, "Acknowledge receipt of your kit: 1 x Helmet"),
    TaskKind.COUNTRY_CLEARANCE: (
        {"urgent": "", "member": "Ana Ruiz", "place": "Juba", "arrival": "2027-01-04"},
        "Country clearance for travel: Ana Ruiz, arriving Juba 2027-01-04",
    ),
    TaskKind.BOOKING_REFUSED: (
        {"direction": "outbound", "reason": "no seats"},
        "The travel provider refused the outbound booking: no seats",
    ),
    TaskKind.MISSED_CHECK_IN: (
        {"member": "Ana Ruiz", "post": "JUB", "last_seen": datetime(2027, 1, 4, 9, 30, tzinfo=UTC)},
        "Missed check-in: Ana Ruiz in JUB, last seen 2027-01-04 09:30 UTC",
    ),
    TaskKind.NEEDS_HELP: (
        {"member": "Ana Ruiz", "where": " at Bor", "note": "vehicle stopped"},
        "URGENT: Ana Ruiz needs help at Bor: vehicle stopped",
    ),
    TaskKind.NO_SHOW: (
        {"member": "Ana Ruiz", "post": "JUB", "start": "2027-01-04"},
        "No-show: Ana Ruiz has not arrived in JUB; the start date was 2027-01-04",
    ),
    TaskKind.EXTENSION: (
        {"days": 14, "member": "Ana Ruiz", "post": "JUB", "new_end": "2027-03-01"},
        "Extension of 14 days for Ana Ruiz (JUB), to 2027-03-01",
    ),
    TaskKind.KIT_RETURN: ({"member": "Ana Ruiz", "skus": "HELMET"}, "Kit return from Ana Ruiz: HELMET"),
    TaskKind.AFTER_ACTION_REPORT: ({"country": "South Sudan"}, "After-action report for South Sudan"),
    TaskKind.MEDICAL_OUT_PROCESSING: ({"member": "Ana Ruiz"}, "Medical out-processing of Ana Ruiz"),
    TaskKind.DEPARTURE_ACCOUNTABILITY: (
        {"member": "Ana Ruiz", "words": "ordered departure of JUB", "reason": "fighting in Juba"},
        "URGENT: Ana Ruiz to be accounted for: ordered departure of JUB, fighting in Juba",
    ),
    TaskKind.KIT_UPGRADE: (
        {"items": "1 x HELMET", "member": "Ana Ruiz", "post": "JUB", "threat": "critical"},
        "Issue 1 x HELMET to Ana Ruiz for JUB: the threat level is now critical",
    ),
    TaskKind.TRAINING_NEEDED: (
        {"member": "Ana Ruiz", "course": "FACT", "post": "JUB", "threat": "critical"},
        "Enrol Ana Ruiz in FACT before travel to JUB: the threat level is now critical",
    ),
}

# For each kind: data its form model refuses, and the field the refusal names.
BAD_DATA: dict[TaskKind, tuple[dict[str, Any], str]] = {
    kind: ({"note": "not a field of this kind"}, "note") for kind in TaskKind
} | {
    TaskKind.VETTING_REVIEW: ({"valid_until": "next spring"}, "valid_until"),
    TaskKind.KIT_RETURN: ({"missing_skus": "HELMET"}, "missing_skus"),
    TaskKind.AFTER_ACTION_REPORT: ({"report": "   "}, "report"),
}

# Data each kind accepts (most need none).
GOOD_DATA: dict[TaskKind, dict[str, Any]] = {kind: {} for kind in TaskKind} | {
    TaskKind.VETTING_REVIEW: {"valid_until": "2030-01-31"},
    TaskKind.KIT_RETURN: {"missing_skus": ["HELMET"]},
    TaskKind.AFTER_ACTION_REPORT: {"report": "Courts reopened."},
}


def test_every_kind_is_in_the_table() -> None:
    assert set(TASK_KINDS) == set(TaskKind)
    assert set(TITLES) == set(TaskKind)


@pytest.mark.parametrize("kind", list(TaskKind))
def test_kind_has_a_label_roles_and_outcomes_with_words(kind: TaskKind) -> None:
    spec = TASK_KINDS[kind]
    assert spec.kind == kind
    assert spec.label and spec.label[0].isupper()
    assert spec.roles and all(isinstance(r, Role) for r in spec.roles)
    assert spec.role == spec.roles[0]
    assert len(spec.outcomes) == len(set(spec.outcomes)) >= 1
    for outcome in spec.outcomes:
        assert OUTCOMES[outcome].label and OUTCOMES[outcome].past
    assert spec.comment_required <= set(spec.outcomes)


@pytest.mark.parametrize("kind", list(TaskKind))
def test_title_template_renders_the_facts(kind: TaskKind) -> None:
    facts, title = TITLES[kind]
    assert TASK_KINDS[kind].title_for(**facts) == title


def test_approval_titles_differ_by_office() -> None:
    spec = TASK_KINDS[TaskKind.APPROVAL]
    facts = {
        "member": "Ana Ruiz",
        "post": "JUB",
        "role_title": "Adviser",
        "agency": "USAID",
        "estimate": Decimal("12345.5"),
    }
    assert {office: spec.title_for(office, **facts) for office in spec.roles} == {
        Role.PLANNING: "Operational fit: Ana Ruiz to JUB as Adviser",
        Role.RESOURCE_MANAGEMENT: "Budget: Ana Ruiz to JUB, estimate $12,345.50",
        Role.CHIEF_OF_MISSION: "Post approval: Ana Ruiz to JUB",
        Role.HOME_AGENCY: "Release by USAID: Ana Ruiz to JUB",
    }


def test_decision_events_and_their_labels() -> None:
    approval = TASK_KINDS[TaskKind.APPROVAL]
    assert [approval.decision_event(o) for o in approval.outcomes] == [
        "approved",
        "rejected",
        "changes_requested",
    ]
    assert TASK_KINDS[TaskKind.TRAINING_RESULT].decision_event("pass") == "training_result.pass"
    assert event_label("training_result.pass") == "Training result: passed"
    assert event_label("kit_receipt.acknowledge") == "Kit receipt: acknowledged"
    assert event_label("changes_requested") == "Changes requested"
    assert set(EVENT_LABELS) == set(EventKind)


@pytest.mark.parametrize("kind", list(TaskKind))
def test_form_model_refuses_bad_data_naming_the_field(kind: TaskKind) -> None:
    spec = TASK_KINDS[kind]
    data, field = BAD_DATA[kind]
    with pytest.raises(ValidationError) as raised:
        spec.parse_data(data)
    assert [e["loc"] for e in raised.value.errors()] == [(field,)]
    assert [f for f, _ in spec.data_errors(data)] == [field]
    assert spec.data_errors(GOOD_DATA[kind]) == []
    assert spec.data_errors(None) == (
        [("report", "write the report before marking it done")]
        if kind == TaskKind.AFTER_ACTION_REPORT
        else []
    )


def _task(kind: TaskKind, **overrides: Any) -> Task:
    spec = TASK_KINDS[kind]
    return Task(
        id=str(uuid.uuid4()),
        deployment_id="d",
        kind=kind.value,
        stage=Stage.APPROVAL.value,
        role=spec.role.value,
        title="t",
        outcomes=[o.value for o in spec.outcomes],
        **overrides,
    )


def test_a_required_comment_is_enforced_by_the_shared_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = TASK_KINDS[TaskKind.VETTING_REVIEW]
    strict = TaskKindSpec(**{**spec.__dict__, "comment_required": frozenset({Outcome.DENY})})
    monkeypatch.setitem(TASK_KINDS, TaskKind.VETTING_REVIEW, strict)
    task = _task(TaskKind.VETTING_REVIEW)
    officer = Actor.of("sec", ["security"])
    parties = Parties(requested_by="req", member_id=1, post_code="JUB", member_agency="State")
    refused = check_decision(officer, task, parties, outcome="deny", comment="  ", data=None)
    assert refused is not None and (refused.code, refused.message) == (
        names.ERR_COMMENT_REQUIRED,
        "say why in the comment",
    )
    assert check_decision(officer, task, parties, outcome="deny", comment="Forged", data=None) is None
    assert check_decision(officer, task, parties, outcome="clear", comment=None, data=None) is None


def test_saying_no_needs_a_reason() -> None:
    required = {kind: spec.comment_required for kind, spec in TASK_KINDS.items() if spec.comment_required}
    assert required == {
        TaskKind.APPROVAL: {Outcome.REJECT, Outcome.REQUEST_CHANGES},
        TaskKind.COUNTRY_CLEARANCE: {Outcome.REJECT},
        TaskKind.EXTENSION: {Outcome.REJECT},
        TaskKind.NEEDS_HELP: {Outcome.RESOLVED},
    }
    task = _task(TaskKind.APPROVAL)
    planner = Actor.of("p1", ["planning"])
    parties = Parties(requested_by="req", member_id=1, post_code="JUB", member_agency="State")
    for outcome in ("reject", "request_changes"):
        refused = check_decision(planner, task, parties, outcome=outcome, comment=" ", data=None)
        assert refused is not None and refused.code == names.ERR_COMMENT_REQUIRED
        # The workflow handler's re-check leaves reasons to its validator (recorded runs replay).
        assert (
            check_decision(planner, task, parties, outcome=outcome, comment=None, data=None, reasons=False)
            is None
        )
    assert check_decision(planner, task, parties, outcome="approve", comment=None, data=None) is None


# --- through the API: 422 naming the field, before the workflow hears of it -----------------


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        yield w


@pytest.mark.parametrize("kind", list(TaskKind))
async def test_api_answers_422_naming_the_bad_field(world: World, kind: TaskKind) -> None:
    assert world.member.id is not None
    await world.add(user("avery", ["member"], member_id=world.member.id))
    [deployment_id] = await factories.deployment_rows(
        world.engine, 1, member_id=world.member.id, post_code=world.post.code, stage=Stage.APPROVAL
    )
    task = _task(kind, due_at=datetime.now(UTC) + timedelta(days=1))
    task.deployment_id = deployment_id
    await world.add(task)
    actor = "avery" if task.role == Role.MEMBER else task.role
    data, field = BAD_DATA[kind]
    response = await world.complete(task.id, actor, task.outcomes[0], data=data, comment="Checked")
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "data", field]
