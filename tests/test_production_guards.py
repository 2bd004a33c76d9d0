"""Production guards: the API docs need an admin, and HSTS comes with secure cookies."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from crc.settings import Settings
from tests import factories
from tests.web_helpers import PASSWORD, csrf_of, http_client, role_users
from web.app import create_app

SECRET = "Qm7vX2-kLr9TzB4wNc8Hs1YdPf6JgEa0UoI3"  # random-looking, as production needs
DOCS = ["/docs", "/redoc", "/openapi.json"]
HSTS = "max-age=31536000; includeSubDomains"


@pytest.fixture
async def users(engine: AsyncEngine) -> None:
    await factories.add(engine, *role_users().values())


def _app(engine: AsyncEngine, temporal_client: Client, **settings: Any) -> FastAPI:
    fields = {"CRC_ENV": "production", "CRC_SECRET_KEY": SECRET, **settings}
    return create_app(Settings(**fields), engine=engine, temporal_client=temporal_client)


@pytest.fixture
async def production(engine: AsyncEngine, temporal_client: Client, users: None) -> AsyncIterator[FastAPI]:
    yield _app(engine, temporal_client)


async def _bearer(app: FastAPI, username: str) -> dict[str, str]:
    async with http_client(app) as http:
        response = await http.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.mark.parametrize("path", DOCS)
async def test_in_production_the_docs_send_the_signed_out_to_sign_in(production: FastAPI, path: str) -> None:
    async with http_client(production) as http:
        response = await http.get(path)
    assert (response.status_code, response.headers["location"]) == (303, f"/login?next={path}")


@pytest.mark.parametrize("path", DOCS)
async def test_in_production_the_docs_refuse_non_admins(production: FastAPI, path: str) -> None:
    async with http_client(production) as http:
        response = await http.get(path, headers=await _bearer(production, "planning"))
    assert response.status_code == 403
    assert "the API docs need the admin role" in response.text


async def test_in_production_an_admin_token_opens_the_docs(production: FastAPI) -> None:
    headers = await _bearer(production, "admin")
    async with http_client(production) as http:
        schema = await http.get("/openapi.json", headers=headers)
        assert schema.status_code == 200
        assert "/api/v1/auth/revoke" in schema.json()["paths"]
        for path in ("/docs", "/redoc"):
            page = await http.get(path, headers=headers)
            assert page.status_code == 200
            assert "/openapi.json" in page.text


async def test_in_production_an_admin_page_session_opens_the_docs(production: FastAPI) -> None:
    async with http_client(production) as browser:
        token = csrf_of((await browser.get("/login")).text)
        signed_in = await browser.post(
            "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token}
        )
        assert signed_in.status_code == 303
        assert (await browser.get("/docs")).status_code == 200
        assert (await browser.get("/openapi.json")).status_code == 200


async def test_a_revoked_admin_token_opens_no_docs(production: FastAPI) -> None:
    headers = await _bearer(production, "admin")
    async with http_client(production) as http:
        assert (await http.post("/api/v1/auth/revoke", headers=headers)).status_code == 204
        assert (await http.get("/openapi.json", headers=headers)).status_code == 303


@pytest.mark.parametrize("path", DOCS)
async def test_a_setting_opens_the_docs_in_production(
    engine: AsyncEngine, temporal_client: Client, path: str
) -> None:
    async with http_client(_app(engine, temporal_client, CRC_PUBLIC_API_DOCS=True)) as http:
        assert (await http.get(path)).status_code == 200


@pytest.mark.parametrize("path", DOCS)
async def test_in_dev_the_docs_are_open(engine: AsyncEngine, temporal_client: Client, path: str) -> None:
    app = create_app(Settings(CRC_ENV="dev"), engine=engine, temporal_client=temporal_client)
    async with http_client(app) as http:
        assert (await http.get(path)).status_code == 200


async def test_hsts_comes_with_secure_cookies(engine: AsyncEngine, temporal_client: Client) -> None:
    async with http_client(_app(engine, temporal_client, CRC_COOKIE_SECURE=True)) as http:
        page = await http.get("/login")
    assert page.headers["strict-transport-security"] == HSTS
    assert "secure" in page.headers["set-cookie"].lower()
    # The other headers stay as they were.
    assert (page.headers["x-frame-options"], page.headers["x-content-type-options"]) == ("DENY", "nosniff")


async def test_no_hsts_without_secure_cookies(production: FastAPI) -> None:
    async with http_client(production) as http:
        page = await http.get("/login")
    assert "strict-transport-security" not in page.headers
    assert page.headers["referrer-policy"] == "same-origin"
