"""Recorded histories replay against today's DeploymentWorkflow without non-determinism.

A change that alters the commands of running workflows fails here; guard it with
workflow.patched and record new histories with `python -m tests.record_histories`.
"""

import asyncio
import base64
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows import approval, check_ins, deployment, post_departure, search, stay, travel, writes
from workflows.deployment import DeploymentWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def _paths(label: str) -> set[str]:
    """The lifecycle paths recorded under a label (the recording's date, or a date and a letter)."""
    return {
        p.name.split("_", 1)[1].rsplit("_run", 1)[0] for p in HISTORIES if p.name.split("_", 1)[0] == label
    }


def _patches(path: Path) -> set[str]:
    """The workflow.patched ids a history recorded."""
    events = json.loads(path.read_text())["events"]
    payloads = [
        e["markerRecordedEventAttributes"]["details"]["patch-data"]["payloads"][0]["data"]
        for e in events
        if e["eventType"] == "EVENT_TYPE_MARKER_RECORDED"
    ]
    return {json.loads(base64.b64decode(p))["id"] for p in payloads}


def test_histories_are_recorded() -> None:
    # Runs started before the state model and pipeline (2026-11-28) must go on replaying; so must
    # those of the first new core (2026-11-30). The latest code (20261130b) recorded every path:
    # rejection, amendment, vetting denial, a refused booking, early return, a year with
    # continue-as-new, escalation, a no-show, and alerts and a call for help while in country.
    assert _paths("20261128") == {
        "completed_with_early_return",
        "amended_then_cancelled_in_training",
        "year_long_with_continue_as_new",
    }
    assert _paths("20261130") == _paths("20261128") | {
        "rejected_in_approval",
        "vetting_denied",
        "booking_refused_then_completed",
        "escalated_then_rejected",
    }
    assert _paths("20261130b") == _paths("20261130") | {"stay_with_alerts_and_help", "no_show_then_arrived"}
    # Decisions held for their undo window: one withdrawn, one left to take effect.
    assert _paths("20261130c") == {"decisions_held_withdrawn_and_standing"}
    # Stage changes written with the work that caused them, decisions answered once recorded
    # (2026-12-01): every path again.
    assert _paths("20261201") == _paths("20261130b") | _paths("20261130c")
    # The post's rules read with the estimate, the travel orders issued with the outbound booking
    # (2026-12-02): every path again.
    assert _paths("20261202") == _paths("20261201")
    # A post's ordered departure (tests/record_departure_histories.py): a member at the post brought
    # out, and one held before travel until it was over.
    assert _paths("20261202b") == {"deployed_under_ordered_departure", "held_by_departure_then_cancelled"}


def test_every_patch_is_in_a_recorded_history() -> None:
    # A change guarded by workflow.patched is covered by a history recorded from the new code.
    recorded = set().union(*(_patches(p) for p in HISTORIES))
    assert recorded == {
        search.PATCH_SEARCH_ATTRIBUTES,
        travel.PATCH_BOOKING_STATUS,
        travel.PATCH_NO_SHOW,
        deployment.PATCH_EXTENSION_CHECKS,
        check_ins.PATCH_NEEDS_HELP_TASK,
        stay.PATCH_ALERT_ESCALATION,
        approval.PATCH_ESCALATE_BY_OFFICE,
        writes.PATCH_LEAN,
        writes.PATCH_FEWER,
        post_departure.PATCH_POST_DEPARTURE,
    }


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, await asyncio.to_thread(path.read_text))
    replayer = Replayer(workflows=[DeploymentWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
