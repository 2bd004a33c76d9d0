"""Contract fuzzing: schemathesis sends generated requests to the live app over HTTP and fails on
any 5xx, any answer its own OpenAPI does not document (status code, content type, headers, body),
invalid input that is not refused, and a 2xx that comes without the bearer token too.

The app runs under uvicorn on a free port in this test's event loop, on a seeded database (SQLite
and PostgreSQL) and the time-skipping Temporal server with a worker; schemathesis' blocking
client runs in a thread beside it. Cases are derandomized, so a run is reproducible.
`CRC_FUZZ_CASES` sets how many requests each database gets (default 250, 500 in all); a
developer hunting for more runs e.g. `CRC_FUZZ_CASES=5000 pytest -n0 tests/test_contract_fuzz.py`.
"""

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from crc.db import create_sync_engine
from crc.seed import seed_demo
from crc.settings import Settings
from tests.web_helpers import WAIT_SECONDS, make_app, terminate_workflows
from web.app import create_app
from web.services.requests import today_utc
from worker import build_worker

FUZZ_CASES = int(os.environ.get("CRC_FUZZ_CASES", "250"))
DEMO_PASSWORD = "demo"
# A requester (who may submit) and an admin (who may do anything): the two ends of the roles.
ROLES = ("requester", "admin")
CHECKS = [
    not_a_server_error,
    # The answer is one the OpenAPI documents.
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    # What the OpenAPI calls invalid is refused, and a route that answers 2xx does so only signed in.
    negative_data_rejection,
    ignored_auth,
]
# Revoking the caller's own token, or signing the fuzzer's own user out everywhere, would turn every
# later case into a 401; their tests are their own (tests/test_sessions.py).
NOT_FUZZED = {("POST", "/api/v1/auth/revoke"), ("POST", "/api/v1/users/{username}/sign-out")}
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """The app under uvicorn on a free local port, in this event loop; yields its base URL."""
    sock = _free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    serve = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if serve.done():
                serve.result()  # start-up failed: raise why
            await asyncio.sleep(0.01)
        host, port = sock.getsockname()
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await serve
        sock.close()


@pytest.fixture
async def live_url(
    engine: AsyncEngine,
    database_url: tuple[str, str | None],
    temporal_client: Client,
    task_queue: str,
) -> AsyncIterator[str]:
    """The seeded app (demo users, roster, posts) with a worker, served over HTTP."""
    url, schema = database_url
    seeding = create_sync_engine(url, schema=schema)
    try:
        assert seed_demo(seeding, password=DEMO_PASSWORD)
    finally:
        seeding.dispose()
    app = make_app(engine, temporal_client, task_queue)
    async with build_worker(temporal_client, engine, task_queue=task_queue):
        try:
            async with serving(app) as base_url:
                yield base_url
        finally:
            await terminate_workflows(engine, temporal_client)


async def _token(base_url: str, username: str) -> str:
    async with httpx.AsyncClient(base_url=base_url) as http:
        response = await http.post(
            "/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD}
        )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def _real_ids(base_url: str, token: str) -> dict[str, str]:
    """A deployment the requester submits (at APPROVAL) and one of its open tasks: path ids that
    exist, so that cases reach the checks and the workflow behind the 404."""
    start = today_utc() + timedelta(days=60)
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {token}"}) as http:
        members = (await http.get("/api/v1/members", params={"available_from": start.isoformat()})).json()
        posts = (await http.get("/api/v1/posts")).json()
        member = next(m for m in members["items"] if m["available"] and m["component"] == "active")
        post = next(p for p in posts["items"] if p["threat_level"] == "low")
        body = {
            "member_id": member["id"],
            "post_code": post["code"],
            "sector": member["sectors"][0],
            "role_title": "Adviser",
            "start_date": start.isoformat(),
            "duration_days": 60,
            "justification": "The programme needs an adviser.",
        }
        created = await http.post("/api/v1/deployments", json=body)
        assert created.status_code == 201, created.text
        deployment_id = created.json()["id"]
        tasks: list[dict[str, Any]] = []
        async with asyncio.timeout(WAIT_SECONDS):  # the worker opens the approvals
            while not tasks:
                tasks = (await http.get(f"/api/v1/deployments/{deployment_id}")).json()["open_tasks"]
                await asyncio.sleep(0.1)
    return {"deployment_id": deployment_id, "task_id": tasks[0]["id"]}


def _operation_test(
    operation: schemathesis.APIOperation,
    mode: schemathesis.GenerationMode,
    base_url: str,
    token: str,
    path_parameters: dict[str, str] | None,
) -> Callable[[], None]:
    """A Hypothesis test that sends the operation's generated cases as the token's user."""

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    def send(case: schemathesis.Case) -> None:
        case.call_and_validate(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS, timeout=30
        )

    test: Callable[[], None] = send
    return test


def _runs(
    operations: list[schemathesis.APIOperation], roles: list[str], ids: dict[str, str]
) -> Iterator[tuple[str, schemathesis.APIOperation, schemathesis.GenerationMode, dict[str, str] | None]]:
    """(role, operation, mode, fixed path ids): generated ids, and where the path has ids, real ones."""
    # A cancel ends the real deployment: it goes last, so the other decisions reach it open.
    for operation in sorted(operations, key=lambda op: op.path.endswith("/cancel")):
        names = {p.name for p in operation.path_parameters}
        for role in roles:
            for mode in MODES:
                yield role, operation, mode, None
                if names and names <= ids.keys():
                    yield role, operation, mode, {name: ids[name] for name in names}


def fuzz(base_url: str, tokens: dict[str, str], ids: dict[str, str], cases: int) -> list[str]:
    """Run about `cases` generated requests in all; the failures, one report each."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"schemathesis cannot read an operation: {result.err()}"
        operation = result.ok()
        if (operation.method.upper(), operation.path) not in NOT_FUZZED:
            operations.append(operation)
    runs = list(_runs(operations, list(tokens), ids))
    per_run = max(1, cases // len(runs))
    failures: list[str] = []
    for role, operation, mode, path_parameters in runs:
        test = settings(
            max_examples=per_run,
            derandomize=True,  # the same cases every run: CI is reproducible
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],  # report what failed; shrinking costs time
            suppress_health_check=list(HealthCheck),
        )(_operation_test(operation, mode, base_url, tokens[role], path_parameters))
        try:
            test()
        except Unsatisfiable:
            # No invalid request exists (no parameters, or only free-text ones): nothing to send.
            assert mode == schemathesis.GenerationMode.NEGATIVE, f"{operation.label}: no valid request"
        except (Exception, BaseExceptionGroup) as failure:  # schemathesis' FailureGroup is the latter
            ids_used = f" with {path_parameters}" if path_parameters else ""
            failures.append(
                f"--- {operation.method.upper()} {operation.path}{ids_used} as {role} ({mode}):\n{failure}"
            )
    return failures


async def test_every_answer_is_documented_and_none_is_a_server_error(live_url: str) -> None:
    tokens = {role: await _token(live_url, role) for role in ROLES}
    ids = await _real_ids(live_url, tokens["requester"])
    failures = await asyncio.to_thread(fuzz, live_url, tokens, ids, FUZZ_CASES)
    assert failures == [], "\n\n".join(failures)


DECISION = {"400", "401", "403", "404", "409", "413", "422", "503"}
# What a change to an operation may answer besides its success.
OPERATION_CHANGE = {"401", "403", "404", "409", "422", "503"}
DOCUMENTED = {
    ("POST", "/api/v1/auth/token"): {"200", "401", "413", "422", "429", "503"},
    ("POST", "/api/v1/auth/revoke"): {"204", "401", "422", "503"},
    ("POST", "/api/v1/users/{username}/sign-out"): {"200", "401", "403", "404", "422", "503"},
    ("GET", "/api/v1/users"): {"200", "401", "403", "422", "503"},
    ("POST", "/api/v1/users"): {"201", "401", "403", "409", "422", "503"},
    ("GET", "/api/v1/users/{username}"): {"200", "401", "403", "404", "422", "503"},
    ("PATCH", "/api/v1/users/{username}"): {"200", "401", "403", "404", "422", "503"},
    ("POST", "/api/v1/users/{username}/password-link"): {"201", "401", "403", "404", "422", "503"},
    ("GET", "/api/v1/users/{username}/audit"): {"200", "401", "403", "404", "422", "503"},
    ("GET", "/api/v1/me"): {"200", "401", "422", "503"},
    ("GET", "/api/v1/me/out-of-office"): {"200", "401", "404", "422", "503"},
    ("PUT", "/api/v1/me/out-of-office"): {"200", "401", "403", "422", "503"},
    ("DELETE", "/api/v1/me/out-of-office"): {"204", "401", "404", "422", "503"},
    ("GET", "/api/v1/notifications"): {"200", "401", "422", "503"},
    ("POST", "/api/v1/notifications/read-all"): {"200", "401", "422", "503"},
    ("POST", "/api/v1/notifications/{notification_id}/read"): {"200", "401", "404", "422", "503"},
    ("GET", "/api/v1/me/notification-preferences"): {"200", "401", "422", "503"},
    ("PUT", "/api/v1/me/notification-preferences"): {"200", "401", "422", "503"},
    ("GET", "/api/v1/members"): {"200", "401", "422", "503"},
    ("POST", "/api/v1/members"): {"201", "401", "403", "422", "503"},
    ("GET", "/api/v1/members.csv"): {"200", "401", "403", "422", "503"},
    ("GET", "/api/v1/members/{member_id}"): {"200", "401", "404", "422", "503"},
    ("PATCH", "/api/v1/members/{member_id}"): {"200", "401", "403", "404", "422", "503"},
    ("POST", "/api/v1/members/{member_id}/retire"): {"200", "401", "403", "404", "409", "422", "503"},
    ("POST", "/api/v1/members/{member_id}/windows"): {"201", "401", "403", "404", "422", "503"},
    ("DELETE", "/api/v1/members/{member_id}/windows/{window_id}"): {"204", "401", "403", "404", "422", "503"},
    ("POST", "/api/v1/members/{member_id}/certificates"): {"201", "401", "403", "404", "409", "422", "503"},
    ("DELETE", "/api/v1/members/{member_id}/certificates/{course_code}"): {
        "204",
        "401",
        "403",
        "404",
        "422",
        "503",
    },
    ("GET", "/api/v1/posts"): {"200", "401", "422", "503"},
    ("POST", "/api/v1/deployments"): {"200", "201", "400", "401", "403", "413", "422", "503"},
    ("GET", "/api/v1/deployments"): {"200", "401", "422", "503"},
    ("GET", "/api/v1/deployments/{deployment_id}"): {"200", "401", "404", "422", "503"},
    ("POST", "/api/v1/deployments/{deployment_id}/amend"): {"200", *DECISION},
    ("POST", "/api/v1/deployments/{deployment_id}/cancel"): {"200", *DECISION},
    ("POST", "/api/v1/deployments/{deployment_id}/check-ins"): {"201", *DECISION},
    ("POST", "/api/v1/deployments/{deployment_id}/extensions"): {"201", *DECISION},
    ("GET", "/api/v1/deployments/{deployment_id}/documents/{document_id}"): {
        "200",
        "401",
        "404",
        "422",
        "503",
    },
    ("GET", "/api/v1/tasks"): {"200", "401", "422", "503"},
    ("POST", "/api/v1/tasks/{task_id}/complete"): {"200", "202", *DECISION},
    ("POST", "/api/v1/tasks/{task_id}/undo"): {"200", *DECISION},
    ("GET", "/api/v1/stock"): {"200", "401", "403", "422", "503"},
    ("GET", "/api/v1/stock/movements"): {"200", "401", "403", "422", "503"},
    ("POST", "/api/v1/stock/receipts"): {"201", "401", "403", "422", "503"},
    ("POST", "/api/v1/stock/moves"): {"201", "401", "403", "409", "422", "503"},
    ("POST", "/api/v1/stock/write-offs"): {"201", "401", "403", "409", "422", "503"},
    ("GET", "/healthz"): {"200", "503"},
    ("GET", "/api/v1/lessons"): {"200", "401", "422", "503"},
    ("GET", "/api/v1/courses"): {"200", "401", "403", "422", "503"},
    ("POST", "/api/v1/courses"): {"201", "401", "403", "413", "422", "503"},
    ("PATCH", "/api/v1/courses/{code}"): {"200", "401", "403", "404", "413", "422", "503"},
    ("GET", "/api/v1/sessions"): {"200", "401", "403", "404", "422", "503"},
    ("POST", "/api/v1/sessions"): {"201", "401", "403", "413", "422", "503"},
    ("GET", "/api/v1/sessions/{session_id}"): {"200", "401", "403", "404", "422", "503"},
    ("PATCH", "/api/v1/sessions/{session_id}"): {"200", "401", "403", "404", "409", "413", "422", "503"},
    ("POST", "/api/v1/webhooks"): {"201", "401", "403", "422", "503"},
    ("GET", "/api/v1/webhooks"): {"200", "401", "403", "422", "503"},
    ("GET", "/api/v1/webhooks/{webhook_id}"): {"200", "401", "403", "404", "422", "503"},
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): {"204", "401", "403", "404", "422", "503"},
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): {"200", "401", "403", "404", "422", "503"},
    ("POST", "/api/v1/operations"): {"201", "401", "403", "422", "503"},
    ("GET", "/api/v1/operations"): {"200", "401", "403", "422", "503"},
    ("GET", "/api/v1/operations/{operation_id}"): {"200", "401", "403", "404", "422", "503"},
    ("GET", "/api/v1/operations/{operation_id}/audit"): {"200", "401", "403", "404", "422", "503"},
    ("POST", "/api/v1/operations/{operation_id}/approve"): {"200", *OPERATION_CHANGE},
    ("POST", "/api/v1/operations/{operation_id}/positions"): {"201", *OPERATION_CHANGE},
    ("PATCH", "/api/v1/operations/{operation_id}/positions/{position_id}"): {"200", *OPERATION_CHANGE},
    ("POST", "/api/v1/operations/{operation_id}/positions/{position_id}/cut"): {"200", *OPERATION_CHANGE},
    ("GET", "/api/v1/operations/{operation_id}/positions/{position_id}/candidates"): {
        "200",
        "401",
        "403",
        "404",
        "422",
        "503",
    },
    ("POST", "/api/v1/operations/{operation_id}/positions/{position_id}/fill"): {"200", *OPERATION_CHANGE},
    ("POST", "/api/v1/operations/{operation_id}/surge"): {"200", *OPERATION_CHANGE},
    ("POST", "/api/v1/operations/{operation_id}/cancel"): {"200", *OPERATION_CHANGE},
    ("GET", "/api/v1/readiness"): {"200", "401", "403", "422", "503"},
    ("GET", "/api/v1/dashboard/countries"): {"200", "401", "403", "422", "503"},
    ("GET", "/api/v1/dashboard/approval-times"): {"200", "401", "403", "422", "503"},
    ("POST", "/api/v1/posts/{code}/departure"): {"201", "401", "403", "404", "409", "422", "503"},
    ("GET", "/api/v1/posts/{code}/departure"): {"200", "401", "403", "404", "422", "503"},
    ("POST", "/api/v1/funds"): {"201", "401", "403", "409", "422", "503"},
    ("GET", "/api/v1/funds"): {"200", "401", "403", "422", "503"},
    ("GET", "/api/v1/funds/{fund_id}"): {"200", "401", "403", "404", "422", "503"},
    ("GET", "/api/v1/watchlist"): {"200", "401", "403", "422", "503"},
    ("POST", "/api/v1/watchlist"): {"201", "401", "403", "409", "422", "503"},
    ("GET", "/api/v1/watchlist/{country}"): {"200", "401", "403", "404", "422", "503"},
    ("POST", "/api/v1/watchlist/{country}/assessments"): {"201", "401", "403", "404", "422", "503"},
    ("POST", "/api/v1/watchlist/{country}/plans"): {"201", "401", "403", "404", "422", "503"},
    ("POST", "/api/v1/watchlist/{country}/plans/{plan_id}/activate"): {
        "201",
        "401",
        "403",
        "404",
        "409",
        "422",
        "503",
    },
    ("POST", "/api/v1/posts/{code}/threat-level"): {"200", "401", "403", "404", "409", "422", "503"},
    ("GET", "/api/v1/posts/{code}/threat-changes"): {"200", "401", "403", "404", "422", "503"},
}


def test_the_openapi_lists_every_status_code_of_each_operation() -> None:
    schema = create_app(Settings(CRC_ENV="dev")).openapi()
    listed = {
        (method.upper(), path): set(operation["responses"])
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    }
    assert listed == DOCUMENTED
    # Errors are {"detail": ...}: words, or (422) FastAPI's list of fields to fix.
    decision = schema["paths"]["/api/v1/tasks/{task_id}/complete"]["post"]["responses"]
    body_of = {code: answer["content"]["application/json"]["schema"] for code, answer in decision.items()}
    assert body_of["409"] == {"$ref": "#/components/schemas/ErrorMessage"}
    assert body_of["422"] == {"$ref": "#/components/schemas/InvalidRequest"}
    assert schema["components"]["schemas"]["ErrorMessage"]["required"] == ["detail"]
    assert decision["503"]["headers"]["Retry-After"]["required"] is True
    token = schema["paths"]["/api/v1/auth/token"]["post"]["responses"]
    assert token["429"]["headers"]["Retry-After"]["required"] is True
    assert token["401"]["headers"]["WWW-Authenticate"]["required"] is True
