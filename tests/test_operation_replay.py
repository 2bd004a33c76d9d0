"""Recorded operation histories replay against today's OperationWorkflow without non-determinism.

A change that alters the commands of running operations fails here; guard it with
workflow.patched. tests/histories/operations/ holds one operation's whole life: approved, three
members filled as child deployments, a position added, changed and cut (its deployment
cancelled), then the operation cancelled with its deployments; and one recorded after the patch
crc-candidates-fill-under-lock (a fill written under the members' lock, a busy member refused).
"""

import asyncio
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.operation import OperationWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories" / "operations").glob("*.json"))


def _kinds(stem: str) -> list[str]:
    (path,) = [p for p in HISTORIES if p.stem == stem]
    return [e["eventType"] for e in json.loads(path.read_text())["events"]]


def test_a_whole_operation_is_recorded() -> None:
    kinds = _kinds("20261201_staffed_changed_cut_cancelled")
    assert kinds.count("EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED") == 3
    assert kinds.count("EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED") == 8
    assert kinds[-1] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"


def test_a_fill_under_the_members_lock_is_recorded() -> None:
    # Patch crc-candidates-fill-under-lock: two members filled in one activity, then a fill of one
    # of them into another position refused (MemberBusy), then the operation cancelled.
    kinds = _kinds("20261201_filled_under_lock_busy_refused_cancelled")
    assert kinds.count("EVENT_TYPE_MARKER_RECORDED") == 1
    assert kinds.count("EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED") == 2
    assert kinds.count("EVENT_TYPE_ACTIVITY_TASK_FAILED") == 1
    assert kinds[-1] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_operation_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, await asyncio.to_thread(path.read_text))
    replayer = Replayer(workflows=[OperationWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
