"""Every word a page shows for an event, a task kind, an outcome or a status is plain English."""

import pytest

from crc.events import CHECK_IN_STATUS_LABELS, EventKind, check_in_status_label
from crc.roles import ROLE_LABELS, Role
from crc.tasks import OUTCOMES, TASK_KINDS, Outcome, TaskKind, event_label, outcome_label
from web.templating import templates


def _plain(words: str) -> bool:
    return bool(words) and "_" not in words and "." not in words and words[0].isupper()


@pytest.mark.parametrize("kind", list(EventKind))
def test_every_event_kind_reads_as_words(kind: EventKind) -> None:
    assert _plain(event_label(kind)), event_label(kind)


@pytest.mark.parametrize(
    ("kind", "outcome"), [(k, o) for k, spec in TASK_KINDS.items() for o in spec.outcomes]
)
def test_every_decision_reads_as_words(kind: TaskKind, outcome: Outcome) -> None:
    spec = TASK_KINDS[kind]
    label = event_label(spec.decision_event(outcome))
    assert _plain(label), label
    assert _plain(spec.label), spec.label
    assert _plain(outcome_label(outcome)), outcome_label(outcome)
    assert "_" not in OUTCOMES[outcome].past and "." not in OUTCOMES[outcome].past


def test_roles_and_check_in_statuses_read_as_words() -> None:
    assert all(_plain(ROLE_LABELS[role]) for role in Role)
    assert {s: check_in_status_label(s) for s in CHECK_IN_STATUS_LABELS} == {
        "ok": "OK",
        "needs_help": "Needs help",
    }
    render = templates.env.from_string("{{ s | check_in_status }}").render
    assert render(s="needs_help") == "Needs help"


def test_the_two_chief_of_mission_tasks_have_different_names() -> None:
    post_approval = TASK_KINDS[TaskKind.APPROVAL].title_for(
        Role.CHIEF_OF_MISSION, member="Ana Ruiz", post="JUB"
    )
    clearance = TASK_KINDS[TaskKind.COUNTRY_CLEARANCE].title_for(
        member="Ana Ruiz", place="Juba", arrival="2027-01-04", urgent=""
    )
    assert post_approval == "Post approval: Ana Ruiz to JUB"
    assert clearance == "Country clearance for travel: Ana Ruiz, arriving Juba 2027-01-04"
    assert TASK_KINDS[TaskKind.APPROVAL].label != TASK_KINDS[TaskKind.COUNTRY_CLEARANCE].label


def test_actors_read_as_names() -> None:
    render = templates.env.from_string("{{ actor | person(people) }}").render
    people = {"mdelgado": "Maria Delgado"}
    assert render(actor="mdelgado", people=people) == "Maria Delgado"
    assert render(actor="system", people=people) == "CRC system"
    assert render(actor="someone", people=people) == "someone"  # a user since removed
