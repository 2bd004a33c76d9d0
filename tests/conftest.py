"""Shared fixtures: a fresh database per test (SQLite and PostgreSQL) and Temporal servers."""

import os
import shutil
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

import crc.auth_tables  # registers the sign-in tables too
import crc.departure_tables  # registers the departure tables too
import crc.fund_tables  # and the funds
import crc.lifecycle_tables  # registers the lifecycle tables too
import crc.operation_tables  # registers the operation tables too
import crc.tables  # registers the tables on SQLModel.metadata
import crc.watchlist_tables  # noqa: F401 - and the watchlist tables
from crc.db import create_engine
from crc.search_attributes import DEPLOYMENT_KEYS, ensure_registered
from crc.settings import get_settings
from tests.mail_helpers import Mailbox, smtp_sink  # noqa: F401 - the real SMTP server fixture

POSTGRES_URL = os.environ.get("CRC_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
# Set by .ci/run: without PostgreSQL the suite must fail, not skip.
REQUIRE_POSTGRES = os.environ.get("CRC_REQUIRE_POSTGRES") == "1"


def venv_binary(name: str) -> str:
    """A binary installed by a PyPI package into this environment's bin directory."""
    candidate = Path(sys.prefix) / "bin" / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} not found: install the project with its test extras (make test)")
    return found


def temporal_cli_env() -> dict[str, str]:
    """The environment for the `temporal` CLI: only its flags say where it goes."""
    # No TEMPORAL_* variable or config profile of this machine may redirect it elsewhere.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
    env["TEMPORAL_CONFIG_FILE"] = os.devnull
    return env


def _postgres_available() -> str | None:
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return None
    except psycopg.OperationalError as exc:
        return str(exc).strip()


@pytest.fixture(scope="session", autouse=True)
def smtp_server() -> Iterator[Mailbox]:
    """A real SMTP server every test's emails go to (CRC_SMTP_PORT), keeping what it receives."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    os.environ["CRC_SMTP_PORT"] = str(controller.port)
    get_settings.cache_clear()
    yield mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server: Mailbox) -> Mailbox:
    """The emails the tests' workers send (filter by recipient or link: other tests' mail too)."""
    return smtp_server


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL server for tests; skips (or fails under CI) when none answers."""
    problem = _postgres_available()
    if problem:
        message = f"PostgreSQL at {POSTGRES_URL} does not answer ({problem}); set CRC_TEST_POSTGRES_URL"
        if REQUIRE_POSTGRES:
            pytest.fail(message + " (CRC_REQUIRE_POSTGRES=1 makes this a failure)")
        pytest.skip(message)
    return POSTGRES_URL


@pytest.fixture
def pg_schema(postgres_url: str) -> Iterator[str]:
    """A fresh PostgreSQL schema for one test, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield schema
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str | None]:
    """(url, schema) of a fresh, empty database: a SQLite file or a PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'crc.db'}", None
    schema = request.getfixturevalue("pg_schema")
    return request.getfixturevalue("postgres_url"), schema


@pytest.fixture
async def engine(database_url: tuple[str, str | None]) -> AsyncIterator[AsyncEngine]:
    """An async engine on a fresh database with every table created."""
    url, schema = database_url
    eng = create_engine(url, schema=schema)
    async with eng.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    yield eng
    await eng.dispose()


async def start_test_server() -> WorkflowEnvironment:
    """A time-skipping test server of its own, with no custom search attributes yet."""
    return await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=venv_binary("temporal-test-server"),
        data_converter=pydantic_data_converter,
    )


@pytest.fixture
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping Temporal test server of this test's own (it starts in about 0.1 s).

    One per test: a workflow another test left waiting on an activity would otherwise hold
    the shared clock still and stop every later test from skipping time."""
    env = await start_test_server()
    # Like a worker at start-up: the server refuses workflows that set unregistered attributes.
    await ensure_registered(env.client, env.client.namespace)
    yield env
    await env.shutdown()


async def start_dev_server(
    *, search_attributes: Sequence[SearchAttributeKey[Any]] = DEPLOYMENT_KEYS
) -> WorkflowEnvironment:
    """The real Temporal dev server (in memory, no UI), with the deployment search attributes."""
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=venv_binary("temporal"),
        data_converter=pydantic_data_converter,
        ui=False,
        search_attributes=search_attributes,
    )


@pytest.fixture
def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    """A client of the time-skipping server, with the pydantic data converter."""
    return temporal_env.client


@pytest.fixture
def task_queue() -> str:
    """A task queue of this test's own, so workers of other tests never pick up its work."""
    return f"tq-{uuid.uuid4().hex}"


# pytest-xdist hands out whole files (--dist loadfile) in collection order (--no-loadscope-reorder):
# a slow file handed out late keeps one core busy alone at the end. The slowest go first (the fault
# stack's start-up deadline, tests/fault_stack.py, allows for the browser tests beside it).
SLOW_FILES_FIRST = (
    "tests/test_faults.py",
    "tests/browser/test_accessibility.py",
    "tests/browser/test_approval_flow.py",
    "tests/test_dev_stack.py",
    "tests/test_bench_smoke.py",
    "tests/test_contract_fuzz.py",
    "tests/test_sign_in_throttle.py",
    "tests/test_api_lifecycle.py",
    "tests/test_need_to_know.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the slowest files first (a stable sort: the rest keep their order)."""
    rank = {path: i for i, path in enumerate(SLOW_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))
