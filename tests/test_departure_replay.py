"""Recorded departure histories replay against today's PostDepartureWorkflow without
non-determinism. tests/histories/departures/ holds one ordered departure (recorded by
`python -m tests.record_departure_histories`): two deployments at the post told at once, one at
the post (accounted for by Operations, its return booked), one held before travel until the
departure was over."""

import asyncio
import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.departure import PostDepartureWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories" / "departures").glob("*.json"))


def test_a_whole_departure_is_recorded() -> None:
    (path,) = HISTORIES
    kinds = [e["eventType"] for e in json.loads(path.read_text())["events"]]
    # The order to both deployments, and the lifting once everyone was out.
    assert kinds.count("EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED") == 4
    # Two standings, then the deployed member's departure, return booking and accounting.
    assert kinds.count("EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED") == 5
    assert kinds[-1] == "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_departure_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, await asyncio.to_thread(path.read_text))
    replayer = Replayer(workflows=[PostDepartureWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
