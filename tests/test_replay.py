"""Recorded histories replay against today's DeploymentWorkflow without non-determinism.

A change that alters the commands of running workflows fails here; guard it with
workflow.patched and record new histories with `python -m tests.record_histories`.
"""

import asyncio
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.deployment import DeploymentWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def _paths(recorded_on: str | None = None) -> set[str]:
    return {
        p.name.split("_", 1)[1].rsplit("_run", 1)[0]
        for p in HISTORIES
        if recorded_on is None or p.name.startswith(recorded_on)
    }


def test_histories_are_recorded() -> None:
    # Runs started before the state model and pipeline (2026-11-28) must go on replaying; the
    # new code recorded every path: approvals to rejection, amendment, vetting denial, a refused
    # booking, early return, a year with continue-as-new, and an escalation to the director
    # decided before escalation went to each office's director.
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


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, await asyncio.to_thread(path.read_text))
    replayer = Replayer(workflows=[DeploymentWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
