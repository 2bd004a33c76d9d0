"""Recorded operation histories replay against today's OperationWorkflow without non-determinism.

A change that alters the commands of running operations fails here; guard it with
workflow.patched. tests/histories/operations/ holds one operation's whole life: approved, three
members filled as child deployments, a position added, changed and cut (its deployment
cancelled), then the operation cancelled with its deployments.
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


def test_a_whole_operation_is_recorded() -> None:
    (path,) = HISTORIES
    kinds = [e["eventType"] for e in json.loads(path.read_text())["events"]]
    assert kinds.count("EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED") == 3
    assert kinds.count("EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED") == 8
    assert kinds[-1] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_operation_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, await asyncio.to_thread(path.read_text))
    replayer = Replayer(workflows=[OperationWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
