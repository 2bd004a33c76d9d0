"""Need-to-know reads: every demo user against deployments they asked for, are deployed on, hold
a task on (in and out of scope) and have nothing to do with, through the API and the pages.

The deployments are read-model rows the test writes; no workflow runs, since every answer here
comes before the web would call one. What each user sees is written out, not derived from the rule.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from crc.lifecycle_tables import TRAVEL_ORDERS, Document
from crc.roles import Role
from crc.seed import SCOPED_USERS
from crc.stages import Stage
from crc.tables import Event, User
from tests import factories
from tests.web_helpers import PASSWORD, csrf_of, http_client, make_app, open_task, user

# The deployments of the matrix, by what they are to the users.
OWN_REQUEST = "own_request"  # asked for by `requester`
OWN_MEMBER = "own_member"  # deploys the member linked to `member`
JUB_USAID = (
    "jub_usaid"  # a USAID member at JUB, with a task of every office (in scope for com_jub, agency_usaid)
)
KBL_STATE = (
    "kbl_state"  # a State member at KBL, with Chief of Mission and home-agency tasks (out of their scope)
)
QUIET = "quiet"  # a planning task only, and a cancelled security task that makes nobody a party
ALL = {OWN_REQUEST, OWN_MEMBER, JUB_USAID, KBL_STATE, QUIET}

# Offices with a task on JUB_USAID; the logistics task is completed (a completed task still counts).
JUB_TASK_ROLES = (
    Role.CHIEF_OF_MISSION,
    Role.HOME_AGENCY,
    Role.SECURITY,
    Role.MEDICAL,
    Role.TRAINING,
    Role.LOGISTICS,
    Role.TRAVEL,
)
SEES: dict[str, set[str]] = {
    "requester": {OWN_REQUEST},
    "planning": ALL,
    "resource_management": ALL,
    "chief_of_mission": {JUB_USAID, KBL_STATE},
    "home_agency": {JUB_USAID, KBL_STATE},
    "security": {JUB_USAID},
    "medical": {JUB_USAID},
    "training": {JUB_USAID},
    "logistics": {JUB_USAID},
    "travel": {JUB_USAID, OWN_MEMBER},  # Travel's orders (on both) make a deployment its work
    "operations": ALL,
    "director": ALL,
    "member": {OWN_MEMBER},
    "admin": ALL,
    "com_jub": {JUB_USAID},
    "agency_usaid": {JUB_USAID},
    "director_planning": ALL,
}
# Travel orders exist for JUB_USAID and OWN_MEMBER; who may read each.
READS_ORDERS: dict[str, set[str]] = {
    "operations": {JUB_USAID, OWN_MEMBER},
    "admin": {JUB_USAID, OWN_MEMBER},
    "travel": {JUB_USAID, OWN_MEMBER},
    "member": {OWN_MEMBER},
}
# A check-in on a deployment at APPROVAL: 409 (not yet) for who may check in, 403 for others who
# see it, 404 for the rest.
MAY_CHECK_IN: dict[str, set[str]] = {"operations": ALL, "member": {OWN_MEMBER}}
NO_SUCH = "0" * 8 + "-0000-4000-8000-" + "0" * 12


@dataclass
class Matrix:
    """The app's client, the deployments by name and their travel orders' ids."""

    http: httpx.AsyncClient
    app: Any
    ids: dict[str, str]
    orders: dict[str, int]
    tokens: dict[str, str]

    async def headers(self, username: str) -> dict[str, str]:
        """A bearer token for the user, fetched once."""
        if username not in self.tokens:
            response = await self.http.post(
                "/api/v1/auth/token", data={"username": username, "password": PASSWORD}
            )
            assert response.status_code == 200, response.text
            self.tokens[username] = response.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    def name_of(self, deployment_id: str) -> str:
        """The matrix name of a deployment id."""
        return {v: k for k, v in self.ids.items()}[deployment_id]


def demo_users(member_id: int) -> list[User]:
    """The dev seed's users: one per role (`member` linked to a roster member) and the scoped ones."""
    users = [user(r.value, [r.value], member_id=member_id if r == Role.MEMBER else None) for r in Role]
    users += [user(u.username, [u.role.value], scopes={u.role.value: list(u.scope)}) for u in SCOPED_USERS]
    return users


@pytest.fixture
async def matrix(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[Matrix]:
    state = factories.member(name="Stella State", agency="State")
    usaid = factories.member(name="Uma Usaid", agency="USAID", component="standby")
    mine = factories.member(name="Mia Member", agency="State")
    await factories.add(
        engine, state, usaid, mine, factories.post(), factories.post(code="KBL", country="Afghanistan")
    )
    assert state.id is not None and usaid.id is not None and mine.id is not None
    await factories.add(engine, *demo_users(mine.id))
    other: dict[str, Any] = {"requested_by": "someone.else"}
    later = date.today() + timedelta(days=200)
    ids = {
        OWN_REQUEST: (
            await factories.deployment_rows(
                engine, 1, member_id=state.id, post_code="KBL", requested_by="requester"
            )
        )[0],
        OWN_MEMBER: (await factories.deployment_rows(engine, 1, member_id=mine.id, post_code="KBL", **other))[
            0
        ],
        JUB_USAID: (await factories.deployment_rows(engine, 1, member_id=usaid.id, post_code="JUB", **other))[
            0
        ],
        # Later than OWN_REQUEST: the roster shows the member's earliest running deployment.
        KBL_STATE: (
            await factories.deployment_rows(
                engine, 1, member_id=state.id, post_code="KBL", start=later, **other
            )
        )[0],
        QUIET: (
            await factories.deployment_rows(
                engine, 1, member_id=state.id, post_code="KBL", start=later, **other
            )
        )[0],
    }
    tasks = [
        open_task(
            ids[JUB_USAID], role=role.value, **({"status": "completed"} if role == Role.LOGISTICS else {})
        )
        for role in JUB_TASK_ROLES
    ]
    tasks += [open_task(ids[KBL_STATE], role=r) for r in (Role.CHIEF_OF_MISSION, Role.HOME_AGENCY)]
    tasks += [open_task(ids[QUIET]), open_task(ids[QUIET], role=Role.SECURITY.value, status="cancelled")]
    events = [
        Event(
            key=f"{i}-requested",
            deployment_id=i,
            kind="requested",
            stage=Stage.REQUESTED.value,
            actor="x",
            message="Requested",
        )
        for i in ids.values()
    ]
    orders = {
        name: Document(
            deployment_id=ids[name], kind=TRAVEL_ORDERS, title="Travel orders", body="<p>orders</p>"
        )
        for name in (JUB_USAID, OWN_MEMBER)
    }
    await factories.add(engine, *tasks, *events, *orders.values())
    app = make_app(engine, temporal_client, task_queue)
    async with http_client(app) as http:
        yield Matrix(http, app, ids, {k: d.id or 0 for k, d in orders.items()}, {})


async def test_each_user_reads_and_lists_exactly_what_they_need(matrix: Matrix) -> None:
    """GET one, its documents, the list with its totals and filters, and a write, per user."""
    missing = await matrix.http.get(f"/api/v1/deployments/{NO_SUCH}", headers=await matrix.headers("admin"))
    assert missing.status_code == 404
    seen: dict[str, set[str]] = {}
    listed: dict[str, tuple[set[str], int]] = {}
    at_jub: dict[str, int] = {}
    orders: dict[str, set[str]] = {}
    check_ins: dict[str, dict[str, int]] = {}
    for username in SEES:
        headers = await matrix.headers(username)
        seen[username] = set()
        check_ins[username] = {}
        for name, deployment_id in matrix.ids.items():
            got = await matrix.http.get(f"/api/v1/deployments/{deployment_id}", headers=headers)
            if got.status_code == 200:
                assert [e["kind"] for e in got.json()["timeline"]] == ["requested"]
                seen[username].add(name)
            else:  # as if there were no such deployment, to the byte
                assert (got.status_code, got.content) == (404, missing.content), (username, name)
            write = await matrix.http.post(
                f"/api/v1/deployments/{deployment_id}/check-ins",
                json={"status": "ok", "location": "Post", "note": ""},
                headers=headers,
            )
            check_ins[username][name] = write.status_code
            if write.status_code == 404:
                assert write.content == missing.content
        page = await matrix.http.get("/api/v1/deployments", headers=headers)
        listed[username] = ({matrix.name_of(d["id"]) for d in page.json()["items"]}, page.json()["total"])
        one = await matrix.http.get("/api/v1/deployments?post_code=JUB&limit=1", headers=headers)
        at_jub[username] = one.json()["total"]
        assert len(one.json()["items"]) == min(1, at_jub[username])
        orders[username] = set()
        for name, document_id in matrix.orders.items():
            doc = await matrix.http.get(
                f"/api/v1/deployments/{matrix.ids[name]}/documents/{document_id}", headers=headers
            )
            if doc.status_code == 200:
                assert doc.text == "<p>orders</p>"
                orders[username].add(name)
            else:
                assert doc.status_code == 404, (username, name)

    assert seen == SEES
    assert listed == {u: (names, len(names)) for u, names in SEES.items()}
    assert at_jub == {u: int(JUB_USAID in names) for u, names in SEES.items()}
    assert orders == {u: READS_ORDERS.get(u, set()) for u in SEES}
    assert check_ins == {
        u: {
            name: 409 if name in MAY_CHECK_IN.get(u, set()) else 403 if name in names else 404
            for name in matrix.ids
        }
        for u, names in SEES.items()
    }


async def test_a_hidden_document_answers_as_no_deployment(matrix: Matrix) -> None:
    """A document of a deployment the user cannot see is the 404 of no deployment; one they see
    but may not read is the 404 of no document, as for a document id that does not exist."""
    headers = await matrix.headers("security")
    hidden = await matrix.http.get(
        f"/api/v1/deployments/{matrix.ids[OWN_MEMBER]}/documents/{matrix.orders[OWN_MEMBER]}", headers=headers
    )
    assert (hidden.status_code, hidden.json()) == (404, {"detail": "no deployment has this id"})
    unread = await matrix.http.get(
        f"/api/v1/deployments/{matrix.ids[JUB_USAID]}/documents/{matrix.orders[JUB_USAID]}", headers=headers
    )
    nothing = await matrix.http.get(
        f"/api/v1/deployments/{matrix.ids[JUB_USAID]}/documents/999999", headers=headers
    )
    assert (unread.status_code, unread.json()) == (404, {"detail": "no such document for this deployment"})
    assert (nothing.status_code, nothing.content) == (404, unread.content)


@asynccontextmanager
async def _browser(matrix: Matrix, username: str) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(matrix.app) as browser:
        page = await browser.get("/login")
        signed = await browser.post(
            "/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(page.text)}
        )
        assert signed.status_code == 303, signed.text
        yield browser


def _listed(html: str, matrix: Matrix) -> set[str]:
    return {name for name, i in matrix.ids.items() if f'href="/deployments/{i}"' in html}


@pytest.mark.parametrize("username", ["requester", "member", "com_jub", "travel", "operations"])
async def test_pages_show_and_list_only_what_the_user_may_see(matrix: Matrix, username: str) -> None:
    """The deployment page, its travel orders link, the list, the dashboard and a form's POST."""
    async with _browser(matrix, username) as browser:
        missing = await browser.get(f"/deployments/{NO_SUCH}")
        assert missing.status_code == 404
        shown, linked = set(), set()
        for name, deployment_id in matrix.ids.items():
            page = await browser.get(f"/deployments/{deployment_id}")
            if page.status_code == 200:
                shown.add(name)
                if f"/documents/{matrix.orders.get(name)}" in page.text:
                    linked.add(name)
                continue
            assert (page.status_code, page.text) == (404, missing.text), name
            form = await browser.post(
                f"/deployments/{deployment_id}/cancel",
                data={"reason": "no longer needed", "csrf_token": csrf_of((await browser.get("/")).text)},
            )
            assert (form.status_code, form.text) == (404, missing.text), name
        listing = await browser.get("/deployments")
        dashboard = await browser.get("/")
        document = await browser.get(
            f"/deployments/{matrix.ids[JUB_USAID]}/documents/{matrix.orders[JUB_USAID]}"
        )
    assert shown == SEES[username]
    assert linked == READS_ORDERS.get(username, set())
    assert _listed(listing.text, matrix) == SEES[username]
    assert f'id="deployment-total">{len(SEES[username])} deployment' in listing.text
    assert _listed(dashboard.text, matrix) == SEES[username]
    assert document.status_code == (200 if JUB_USAID in READS_ORDERS.get(username, set()) else 404)


async def test_the_roster_links_only_a_current_deployment_the_user_sees(matrix: Matrix) -> None:
    """The members page names a member's running deployment to those who may see it."""
    async with _browser(matrix, "requester") as browser:
        requester = await browser.get("/members")
    async with _browser(matrix, "admin") as browser:
        admin = await browser.get("/members")
    assert _listed(admin.text, matrix) == {OWN_REQUEST, OWN_MEMBER, JUB_USAID}
    assert _listed(requester.text, matrix) == {OWN_REQUEST}
