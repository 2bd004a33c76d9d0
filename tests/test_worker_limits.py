"""The worker's memory bounds come from settings: its sticky cache and its concurrent workflow tasks."""

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from crc.settings import Settings
from worker import build_worker


def test_defaults_bound_the_cache() -> None:
    settings = Settings()
    assert settings.CRC_WORKER_MAX_CACHED_WORKFLOWS == 100
    assert settings.CRC_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS == 50


def test_limits_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRC_WORKER_MAX_CACHED_WORKFLOWS", "0")
    monkeypatch.setenv("CRC_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS", "7")
    settings = Settings()
    assert (settings.CRC_WORKER_MAX_CACHED_WORKFLOWS, settings.CRC_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS) == (
        0,
        7,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CRC_WORKER_MAX_CACHED_WORKFLOWS", "-1"),
        ("CRC_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS", "1"),
        ("CRC_WORKER_MAX_CACHED_WORKFLOWS", "many"),
    ],
)
def test_unusable_limits_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert name in str(refused.value)


async def test_worker_is_built_with_the_limits(
    engine: AsyncEngine, temporal_client: Client, task_queue: str
) -> None:
    settings = Settings(CRC_WORKER_MAX_CACHED_WORKFLOWS=12, CRC_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS=3)
    worker = build_worker(temporal_client, engine, task_queue=task_queue, settings=settings)
    config = worker.config()
    assert (config.get("max_cached_workflows"), config.get("max_concurrent_workflow_tasks")) == (12, 3)
