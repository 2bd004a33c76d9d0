"""/api/v1/stock and the /stock pages: Logistics and admins only, 422s that name the field, 409s that
say what is available, and each change in the ledger."""

import html
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from crc import stock
from crc.db import session_factory
from crc.roles import Role
from crc.settings import Settings
from tests import factories
from tests.page_alerts import page_alerts
from tests.web_helpers import PASSWORD, csrf_of, http_client, role_users
from web.app import create_app

DC, FRANKFURT = "Washington, DC", "Frankfurt, Germany"
KIT = "KIT-INDIVIDUAL"
ALLOWED = {Role.LOGISTICS.value, Role.ADMIN.value}
ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/v1/stock", None),
    ("GET", "/api/v1/stock/movements", None),
    ("POST", "/api/v1/stock/receipts", {"depot": DC, "sku": KIT, "quantity": 1}),
    ("POST", "/api/v1/stock/moves", {"sku": KIT, "from_depot": DC, "to_depot": FRANKFURT, "quantity": 1}),
    ("POST", "/api/v1/stock/write-offs", {"depot": DC, "sku": KIT, "quantity": 1, "reason": "lost"}),
]


class Desk:
    """The app on a fresh database with one user per role, and stock of one kit at DC."""

    def __init__(self, app: FastAPI, http: httpx.AsyncClient) -> None:
        self.app, self.http = app, http
        self._tokens: dict[str, str] = {}

    async def headers(self, username: str) -> dict[str, str]:
        """A bearer token for the user."""
        if username not in self._tokens:
            answer = await self.http.post(
                "/api/v1/auth/token", data={"username": username, "password": PASSWORD}
            )
            assert answer.status_code == 200, answer.text
            self._tokens[username] = answer.json()["access_token"]
        return {"Authorization": f"Bearer {self._tokens[username]}"}

    @asynccontextmanager
    async def sign_in(self, username: str) -> AsyncIterator[httpx.AsyncClient]:
        """A page client of its own, signed in."""
        async with http_client(self.app) as browser:
            page = await browser.get("/login")
            answer = await browser.post(
                "/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(page.text)}
            )
            assert answer.status_code == 303, answer.text
            yield browser


@pytest.fixture
async def desk(engine: AsyncEngine) -> AsyncIterator[Desk]:
    await factories.add(engine, *role_users().values())
    async with session_factory(engine)() as session:
        await stock.receive(session, depot=DC, sku=KIT, quantity=3, name="Individual kit", actor="seed")
    app = create_app(Settings(CRC_ENV="dev"), engine=engine, temporal_client=None)
    async with http_client(app) as http:
        yield Desk(app, http)


# --- API ----------------------------------------------------------------------------------------


async def test_only_logistics_and_admins_reach_the_stock_api(desk: Desk) -> None:
    for role in Role:
        for method, path, body in ROUTES:
            answer = await desk.http.request(method, path, json=body, headers=await desk.headers(role.value))
            if role.value in ALLOWED:
                assert answer.status_code in (200, 201), (role, path, answer.text)
            else:
                assert answer.status_code == 403, (role, path, answer.text)
                assert answer.json() == {"detail": "this needs one of the roles: admin, logistics"}


async def test_receive_then_read_balances_and_the_ledger(desk: Desk) -> None:
    headers = await desk.headers("logistics")
    answer = await desk.http.post(
        "/api/v1/stock/receipts",
        json={"depot": FRANKFURT, "sku": "TENT-2", "quantity": 4, "name": "Two-person tent", "note": "PO 17"},
        headers=headers,
    )
    assert answer.status_code == 201, answer.text
    assert answer.json() == {
        "depot": FRANKFURT,
        "sku": "TENT-2",
        "name": "Two-person tent",
        "available": 4,
        "reserved": 0,
        "on_hand": 4,
    }

    listed = await desk.http.get("/api/v1/stock", params={"depot": FRANKFURT}, headers=headers)
    assert listed.json() == {"items": [answer.json()], "total": 1}
    ledger = await desk.http.get("/api/v1/stock/movements", params={"limit": 1, "offset": 1}, headers=headers)
    assert ledger.json()["total"] == 2
    [oldest] = ledger.json()["items"]
    assert (oldest["depot"], oldest["sku"], oldest["quantity"], oldest["kind"]) == (DC, KIT, 3, "received")


async def test_a_move_answers_both_balances_and_too_much_is_a_409_naming_what_is_available(
    desk: Desk,
) -> None:
    headers = await desk.headers("admin")
    body = {"sku": KIT, "from_depot": DC, "to_depot": FRANKFURT, "quantity": 2}
    moved = await desk.http.post("/api/v1/stock/moves", json=body, headers=headers)
    assert moved.status_code == 201, moved.text
    assert [(b["depot"], b["available"], b["name"]) for b in moved.json()] == [
        (DC, 1, "Individual kit"),
        (FRANKFURT, 2, "Individual kit"),
    ]

    refused = await desk.http.post("/api/v1/stock/moves", json=body, headers=headers)
    assert refused.status_code == 409
    assert refused.json() == {"detail": f"not enough {KIT} at {DC}: 1 available, 2 asked for"}
    ledger = await desk.http.get("/api/v1/stock/movements", headers=headers)
    assert [(m["kind"], m["quantity"]) for m in ledger.json()["items"]] == [
        ("moved_in", 2),
        ("moved_out", -2),
        ("received", 3),
    ]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/stock/receipts", {"depot": DC, "sku": KIT, "quantity": 0}, "quantity"),
        ("/api/v1/stock/receipts", {"depot": DC, "sku": "NEW-9", "quantity": 1}, "name"),
        ("/api/v1/stock/receipts", {"depot": "  ", "sku": KIT, "quantity": 1}, "depot"),
        ("/api/v1/stock/moves", {"sku": KIT, "from_depot": DC, "to_depot": DC, "quantity": 1}, "to_depot"),
        ("/api/v1/stock/write-offs", {"depot": DC, "sku": KIT, "quantity": 1, "reason": " "}, "reason"),
        ("/api/v1/stock/write-offs", {"depot": DC, "sku": "NONE", "quantity": 1, "reason": "lost"}, "sku"),
    ],
)
async def test_bad_fields_are_named_and_nothing_is_written(
    desk: Desk, path: str, body: dict[str, Any], field: str
) -> None:
    headers = await desk.headers("logistics")
    answer = await desk.http.post(path, json=body, headers=headers)

    assert answer.status_code == 422, answer.text
    assert [e["loc"] for e in answer.json()["detail"]] == [["body", field]]
    ledger = await desk.http.get("/api/v1/stock/movements", headers=headers)
    assert ledger.json()["total"] == 1


async def test_the_openapi_documents_the_stock_answers(desk: Desk) -> None:
    paths = (await desk.http.get("/openapi.json")).json()["paths"]

    listed = paths["/api/v1/stock"]["get"]["responses"]
    assert listed["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Page_StockBalance_"
    }
    assert set(paths["/api/v1/stock/moves"]["post"]["responses"]) >= {"201", "403", "409", "422"}
    assert set(paths["/api/v1/stock/write-offs"]["post"]["responses"]) >= {"201", "403", "409", "422"}


# --- pages ----------------------------------------------------------------------------------------


async def test_the_stock_page_is_for_logistics_and_admins_and_in_their_navigation(desk: Desk) -> None:
    for username, code in (("logistics", 200), ("admin", 200), ("planning", 403), ("member", 403)):
        async with desk.sign_in(username) as browser:
            page = await browser.get("/stock")
            assert page.status_code == code, username
            home = await browser.get("/")
            assert ('href="/stock"' in home.text) is (code == 200), username
            if code == 200:
                assert '<td data-label="Available">3</td>' in page.text


async def test_receiving_through_the_page_shows_the_new_balance(desk: Desk) -> None:
    async with desk.sign_in("logistics") as browser:
        page = await browser.get("/stock")
        form = {"depot": FRANKFURT, "sku": KIT, "quantity": "5", "note": "", "name": ""}
        refused = await browser.post("/stock/receipts", data=form)
        assert refused.status_code == 403  # no CSRF token

        answer = await browser.post("/stock/receipts", data=form | {"csrf_token": csrf_of(page.text)})
        assert answer.status_code == 303
        after = await browser.get("/stock", params={"depot": FRANKFURT})
        assert page_alerts(after.text) == [("success", f"Received 5 {KIT} at {FRANKFURT}; 5 available.")]
        assert '<td data-label="Available">5</td>' in after.text
        assert f'<th scope="row" data-label="Depot">{DC}</th>' not in after.text

        fragment = await browser.get("/stock", params={"depot": DC}, headers={"HX-Request": "true"})
        assert fragment.text.startswith('<div id="stock-table">')


async def test_page_forms_say_what_to_fix(desk: Desk) -> None:
    async with desk.sign_in("logistics") as browser:
        token = csrf_of((await browser.get("/stock")).text)
        too_many = await browser.post(
            "/stock/moves",
            data={"sku": KIT, "from_depot": DC, "to_depot": FRANKFURT, "quantity": "9", "csrf_token": token},
        )
        assert too_many.status_code == 409
        assert f"not enough {KIT} at {DC}: 3 available, 9 asked for" in html.unescape(too_many.text)

        no_reason = await browser.post(
            "/stock/write-offs",
            data={"depot": DC, "sku": KIT, "quantity": "1", "reason": "", "csrf_token": token},
        )
        assert no_reason.status_code == 422
        assert '<a href="#w-reason">Reason: must not be empty</a>' in no_reason.text

        history = await browser.get("/stock/history", params={"depot": DC, "sku": KIT})
        assert history.status_code == 200
        assert "Individual kit: 3 on hand, 0 reserved, 3 available." in history.text
        assert "1 movement; page 1 of 1." in history.text
