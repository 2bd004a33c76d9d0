"""API sign-in: the token endpoint, bearer tokens, and role checks on every route."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from crc.roles import Role
from tests.web_helpers import PASSWORD, World, request_body, web_world
from web.security import create_access_token

PROTECTED = [
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/members"),
    ("GET", "/api/v1/posts"),
    ("GET", "/api/v1/deployments"),
    ("POST", "/api/v1/deployments"),
    ("GET", "/api/v1/deployments/some-id"),
    ("POST", "/api/v1/deployments/some-id/amend"),
    ("GET", "/api/v1/tasks"),
    ("POST", "/api/v1/tasks/some-id/complete"),
    ("POST", "/api/v1/tasks/some-id/undo"),
]


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        yield w


async def test_token_for_right_password(world: World) -> None:
    response = await world.http.post(
        "/api/v1/auth/token", data={"username": "planning", "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    me = await world.http.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json() == {
        "username": "planning",
        "full_name": "Planning",
        "roles": ["planning"],
        "member_id": None,
        "scopes": [{"role": "planning", "scope": "all"}],
    }


@pytest.mark.parametrize(
    ("username", "password"), [("planning", "wrong"), ("nobody", PASSWORD), ("PLANNING", PASSWORD)]
)
async def test_token_refused_for_bad_credentials(world: World, username: str, password: str) -> None:
    response = await world.http.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == 401
    assert response.json() == {"detail": "incorrect username or password"}


async def test_inactive_user_gets_no_token(world: World) -> None:
    async with world.app.state.sessionmaker() as session:
        user = world.users["planning"]
        user.is_active = False
        session.add(user)
        await session.commit()
    response = await world.http.post(
        "/api/v1/auth/token", data={"username": "planning", "password": PASSWORD}
    )
    assert response.status_code == 401


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_every_route_needs_a_token(world: World, method: str, path: str) -> None:
    response = await world.http.request(method, path)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_forged_and_expired_tokens_refused(world: World, method: str, path: str) -> None:
    forged = {"Authorization": "Bearer planning.not-signed"}
    assert (await world.http.request(method, path, headers=forged)).status_code == 401
    other_key = world.app.state.settings.model_copy(update={"CRC_SECRET_KEY": "another-key"})
    foreign = {"Authorization": f"Bearer {create_access_token(other_key, 'admin')}"}
    assert (await world.http.request(method, path, headers=foreign)).status_code == 401
    expired_settings = world.app.state.settings.model_copy(update={"CRC_TOKEN_TTL_SECONDS": -1})
    world.app.state.settings = expired_settings
    token = create_access_token(expired_settings, "admin")
    expired = {"Authorization": f"Bearer {token}"}
    assert (await world.http.request(method, path, headers=expired)).status_code == 401


@pytest.mark.parametrize("role", [r.value for r in Role if r not in (Role.REQUESTER, Role.ADMIN)])
async def test_only_requesters_and_admins_submit(world: World, role: str) -> None:
    response = await world.http.post(
        "/api/v1/deployments",
        json=request_body(world.member, world.post),
        headers=await world.headers(role),
    )
    assert response.status_code == 403
    amend = await world.http.post(
        "/api/v1/deployments/some-id/amend", json={}, headers=await world.headers(role)
    )
    assert amend.status_code == 403


async def test_read_routes_open_to_any_signed_in_user(world: World) -> None:
    headers = await world.headers("member")
    for path in ("/api/v1/members", "/api/v1/posts", "/api/v1/deployments", "/api/v1/tasks"):
        response = await world.http.get(path, headers=headers)
        assert response.status_code == 200, path
    assert (await world.http.get("/api/v1/deployments/nope", headers=headers)).status_code == 404
