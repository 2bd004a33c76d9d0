"""/api/v1/users: the admin lists, creates, changes, disables users and reads their audit."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from crc.roles import Role
from tests.account_helpers import audit_rows, new_user, token_of
from tests.web_helpers import PASSWORD, MovableClock, World, csrf_of, gather, web_world

ADMIN = "admin"
NEW_PASSWORD = "Sunflower-Ledger-Harbor-42"


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        yield w


async def _create(world: World, **overrides: Any) -> dict[str, Any]:
    response = await world.http.post(
        "/api/v1/users", json=new_user(**overrides), headers=await world.headers(ADMIN)
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _patch(world: World, username: str, body: dict[str, Any], as_user: str = ADMIN) -> Any:
    return await world.http.patch(
        f"/api/v1/users/{username}", json=body, headers=await world.headers(as_user)
    )


async def _errors(world: World, body: dict[str, Any]) -> list[tuple[list[Any], str]]:
    response = await world.http.post("/api/v1/users", json=body, headers=await world.headers(ADMIN))
    assert response.status_code == 422, response.text
    return [(e["loc"], e["msg"]) for e in response.json()["detail"]]


async def _set_password(world: World, url: str, password: str = NEW_PASSWORD) -> int:
    """Set a password through the link's page, as the user would (no sign-in needed)."""
    path = "/set-password/" + token_of(url)
    page = await world.http.get(path)
    assert page.status_code == 200, page.text
    done = await world.http.post(
        path, data={"password": password, "confirm": password, "csrf_token": csrf_of(page.text)}
    )
    return done.status_code


async def test_every_route_is_for_admins_only(world: World) -> None:
    routes = [
        ("GET", "/api/v1/users", None),
        ("POST", "/api/v1/users", new_user("nobody")),
        ("GET", "/api/v1/users/planning", None),
        ("PATCH", "/api/v1/users/planning", {"full_name": "X"}),
        ("POST", "/api/v1/users/planning/password-link", None),
        ("GET", "/api/v1/users/planning/audit", None),
        ("POST", "/api/v1/users/planning/sign-out", None),
    ]
    for role in Role:
        if role == Role.ADMIN:
            continue
        headers = await world.headers(role.value)
        for method, path, body in routes:
            response = await world.http.request(method, path, json=body, headers=headers)
            assert (role.value, method, path, response.status_code) == (role.value, method, path, 403)
            assert response.json() == {"detail": "this needs one of the roles: admin"}
    for method, path, body in routes:
        assert (await world.http.request(method, path, json=body)).status_code == 401
    assert await audit_rows(world, "nobody") == []


async def test_create_gives_a_one_time_link_and_is_audited(world: World) -> None:
    body = new_user(
        "dana", roles=[{"role": "chief_of_mission", "scope": [world.post.code]}, {"role": "requester"}]
    )
    response = await world.http.post("/api/v1/users", json=body, headers=await world.headers(ADMIN))
    assert response.status_code == 201, response.text
    created = response.json()
    url = created.pop("set_password_url")
    assert url.startswith("http://test/set-password/")
    # Whether the link was emailed too depends on a mail server (tests/test_mail_delivery.py).
    for volatile in ("created_at", "set_password_expires_at", "set_password_emailed"):
        created.pop(volatile)
    assert created == {
        "username": "dana",
        "full_name": "Dana Kim",
        "email": "dana@crc.example.gov",
        "roles": [
            {"role": "chief_of_mission", "scope": [world.post.code]},
            {"role": "requester", "scope": "all"},
        ],
        "member_id": None,
        "member_name": None,
        "is_active": True,
        "has_password": False,
    }
    rows = await audit_rows(world, "dana")
    assert [r[:3] for r in rows] == [
        ("admin", "user.created", "dana"),
        ("admin", "user.password_link_issued", "dana"),
    ]
    assert rows[0][3] == {
        "email": {"before": None, "after": "dana@crc.example.gov"},
        "full_name": {"before": None, "after": "Dana Kim"},
        "roles": {
            "before": None,
            "after": [
                {"role": "chief_of_mission", "scope": [world.post.code]},
                {"role": "requester", "scope": "all"},
            ],
        },
        "member_id": {"before": None, "after": None},
        "is_active": {"before": None, "after": True},
    }
    assert list(rows[1][3]) == ["expires_at"]
    # No password works before the link is used, not even an empty one.
    for password in ("", "not-a-real-password", PASSWORD):
        refused = await world.http.post("/api/v1/auth/token", data={"username": "dana", "password": password})
        assert refused.status_code in (401, 422)
    # The API's audit says the same as the table.
    audit = await world.http.get("/api/v1/users/dana/audit", headers=await world.headers(ADMIN))
    assert audit.status_code == 200
    assert [(e["actor"], e["action"], e["target"]) for e in audit.json()["items"]] == [r[:3] for r in rows]
    assert audit.json()["total"] == 2


async def test_a_linked_member_gives_the_name_and_the_user_signs_in_after_the_link(world: World) -> None:
    created = await _create(world, username="avery", full_name="", member_id=world.member.id)
    assert (created["full_name"], created["member_id"], created["member_name"]) == (
        "Avery Quinn",
        world.member.id,
        "Avery Quinn",
    )
    assert await _set_password(world, created["set_password_url"]) == 303
    token = await world.http.post("/api/v1/auth/token", data={"username": "avery", "password": NEW_PASSWORD})
    assert token.status_code == 200
    me = await world.http.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
    )
    assert (me.json()["username"], me.json()["member_id"]) == ("avery", world.member.id)
    shown = await world.http.get("/api/v1/users/avery", headers=await world.headers(ADMIN))
    assert shown.json()["has_password"] is True
    assert [r[1] for r in await audit_rows(world, "avery")] == [
        "user.created",
        "user.password_link_issued",
        "user.password_set",
    ]
    assert (await audit_rows(world, "avery"))[2] == (
        "avery",
        "user.password_set",
        "avery",
        {"has_password": {"before": False, "after": True}},
    )


async def test_each_bad_field_gets_a_422_that_names_it(world: World) -> None:
    await _create(world, username="first", member_id=world.member.id)
    assert await _errors(world, new_user(roles=[{"role": "wizard"}])) == [
        (["body", "roles", 0, "role"], "must be one of: " + ", ".join(r.value for r in Role))
    ]
    assert await _errors(world, new_user(roles=[{"role": "chief_of_mission", "scope": ["XXX"]}])) == [
        (["body", "roles", "0", "scope"], f"unknown post XXX: choose from {world.post.code}")
    ]
    agencies = (
        "State, USAID, Agriculture, Commerce, HHS, Homeland Security, Justice, Treasury, Transportation"
    )
    assert await _errors(world, new_user(roles=[{"role": "home_agency", "scope": ["NASA"]}])) == [
        (["body", "roles", "0", "scope"], f"unknown agency NASA: choose from {agencies}")
    ]
    offices = (
        "planning, resource_management, chief_of_mission, home_agency, security, medical, training, "
        "logistics, travel, operations, conflict_prevention"
    )
    assert await _errors(world, new_user(roles=[{"role": "director", "scope": ["admin"]}])) == [
        (["body", "roles", "0", "scope"], f"unknown office admin: choose from {offices}")
    ]
    assert await _errors(world, new_user(roles=[{"role": "planning", "scope": ["JUB"]}])) == [
        (["body", "roles", "0", "scope"], 'the planning role takes no scope: send "all"')
    ]
    assert await _errors(world, new_user(roles=[{"role": "planning"}, {"role": "planning"}])) == [
        (["body", "roles", "1", "role"], "planning is given twice; give each role once")
    ]
    assert await _errors(world, new_user(roles=[])) == [
        (["body", "roles"], "List should have at least 1 item after validation, not 0")
    ]
    assert await _errors(world, new_user(member_id=999999)) == [
        (["body", "member_id"], "no roster member has id 999999")
    ]
    assert await _errors(world, new_user(member_id=world.member.id)) == [
        (["body", "member_id"], "Avery Quinn is already linked to the user first")
    ]
    assert await _errors(world, new_user(email="not an email")) == [
        (["body", "email"], "must be an email address such as name@agency.gov")
    ]
    assert await _errors(world, new_user(username="Bad Name", email="bad@crc.example.gov")) == [
        (
            ["body", "username"],
            "use 2 to 64 lowercase letters, digits, dots, dashes or underscores, starting with a letter "
            "or digit",
        )
    ]
    taken = await world.http.post(
        "/api/v1/users", json=new_user("planning"), headers=await world.headers(ADMIN)
    )
    assert taken.status_code == 409
    assert taken.json() == {"detail": "the username 'planning' is taken; choose another"}
    # Nothing was written by any refused request.
    listed = await world.http.get("/api/v1/users", headers=await world.headers(ADMIN))
    assert listed.json()["total"] == len(Role) + 1
    assert await audit_rows(world, "dkim") == []


async def test_list_searches_by_name_and_filters_by_role(world: World) -> None:
    await _create(world, username="dana", roles=[{"role": "director", "scope": ["planning"]}])
    headers = await world.headers(ADMIN)
    every = (await world.http.get("/api/v1/users", headers=headers)).json()
    assert every["total"] == len(Role) + 1
    assert [u["username"] for u in every["items"]][:4] == [
        "admin",
        "chief_of_mission",
        "conflict_prevention",
        "dana",
    ]
    by_name = (await world.http.get("/api/v1/users", params={"q": "KIM"}, headers=headers)).json()
    assert [u["username"] for u in by_name["items"]] == ["dana"]
    directors = (await world.http.get("/api/v1/users", params={"role": "director"}, headers=headers)).json()
    assert [(u["username"], u["roles"]) for u in directors["items"]] == [
        ("dana", [{"role": "director", "scope": ["planning"]}]),
        ("director", [{"role": "director", "scope": "all"}]),
    ]
    assert (await world.http.get("/api/v1/users/nobody", headers=headers)).status_code == 404


async def test_patch_changes_roles_details_and_member_with_an_audit_row_each(world: World) -> None:
    await _create(world, username="dana")
    response = await _patch(
        world,
        "dana",
        {
            "email": "dana.kim@state.example.gov",
            "roles": [{"role": "home_agency", "scope": ["USAID", "State"]}],
            "member_id": world.standby.id,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["email"], body["roles"], body["member_id"], body["member_name"]) == (
        "dana.kim@state.example.gov",
        [{"role": "home_agency", "scope": ["USAID", "State"]}],
        world.standby.id,
        "Sam Standby",
    )
    rows = await audit_rows(world, "dana")
    assert rows[2:] == [
        (
            "admin",
            "user.details_changed",
            "dana",
            {"email": {"before": "dana@crc.example.gov", "after": "dana.kim@state.example.gov"}},
        ),
        (
            "admin",
            "user.roles_changed",
            "dana",
            {
                "roles": {
                    "before": [{"role": "member", "scope": "all"}],
                    "after": [{"role": "home_agency", "scope": ["USAID", "State"]}],
                }
            },
        ),
        ("admin", "user.member_changed", "dana", {"member_id": {"before": None, "after": world.standby.id}}),
    ]
    # The same values again change nothing and write no audit.
    again = await _patch(
        world, "dana", {"email": "dana.kim@state.example.gov", "member_id": world.standby.id}
    )
    assert again.status_code == 200
    assert len(await audit_rows(world, "dana")) == 5
    # Unlinking the member.
    unlinked = await _patch(world, "dana", {"member_id": None})
    assert (unlinked.status_code, unlinked.json()["member_id"]) == (200, None)
    bad = await _patch(
        world, "dana", {"roles": [{"role": "chief_of_mission", "scope": ["NOPE"]}], "email": "x"}
    )
    assert bad.status_code == 422
    assert [(e["loc"], e["msg"]) for e in bad.json()["detail"]] == [
        (["body", "email"], "must be an email address such as name@agency.gov")
    ]
    bad = await _patch(world, "dana", {"roles": [{"role": "chief_of_mission", "scope": ["NOPE"]}]})
    assert [(e["loc"], e["msg"]) for e in bad.json()["detail"]] == [
        (["body", "roles", "0", "scope"], f"unknown post NOPE: choose from {world.post.code}")
    ]
    assert (await _patch(world, "dana", {"is_active": None})).json()["detail"][0]["loc"] == [
        "body",
        "is_active",
    ]
    assert (await _patch(world, "nobody", {"full_name": "X"})).status_code == 404
    assert len(await audit_rows(world, "dana")) == 6


async def test_disable_ends_tokens_at_once_and_enable_lets_the_user_back(world: World) -> None:
    planning = await world.headers("planning")
    assert (await world.http.get("/api/v1/me", headers=planning)).status_code == 200
    disabled = await _patch(world, "planning", {"is_active": False})
    assert (disabled.status_code, disabled.json()["is_active"]) == (200, False)
    assert (await world.http.get("/api/v1/me", headers=planning)).status_code == 401
    refused = await world.http.post("/api/v1/auth/token", data={"username": "planning", "password": PASSWORD})
    assert refused.status_code == 401
    enabled = await _patch(world, "planning", {"is_active": True})
    assert (enabled.status_code, enabled.json()["is_active"]) == (200, True)
    again = await world.http.post("/api/v1/auth/token", data={"username": "planning", "password": PASSWORD})
    assert again.status_code == 200
    assert await audit_rows(world, "planning") == [
        ("admin", "user.disabled", "planning", {"is_active": {"before": True, "after": False}}),
        ("admin", "user.enabled", "planning", {"is_active": {"before": False, "after": True}}),
    ]


async def test_nobody_removes_their_own_admin_role_or_disables_themselves(world: World) -> None:
    demoted = await _patch(world, ADMIN, {"roles": [{"role": "planning"}]})
    assert demoted.status_code == 403
    assert demoted.json() == {"detail": "you cannot remove your own admin role; ask another admin to do it"}
    disabled = await _patch(world, ADMIN, {"is_active": False})
    assert disabled.json() == {"detail": "you cannot disable yourself; ask another admin to do it"}
    assert disabled.status_code == 403
    # Adding a role to oneself is fine; admin stays.
    more = await _patch(world, ADMIN, {"roles": [{"role": "admin"}, {"role": "planning"}]})
    assert more.status_code == 200
    assert await audit_rows(world, ADMIN) == [
        (
            "admin",
            "user.roles_changed",
            "admin",
            {
                "roles": {
                    "before": [{"role": "admin", "scope": "all"}],
                    "after": [{"role": "admin", "scope": "all"}, {"role": "planning", "scope": "all"}],
                }
            },
        )
    ]


async def test_a_new_link_voids_the_old_one_and_expiry_is_72_hours(world: World) -> None:
    clock = MovableClock()
    world.app.state.clock = clock
    first = await _create(world, username="dana")
    reset = await world.http.post("/api/v1/users/dana/password-link", headers=await world.headers(ADMIN))
    assert reset.status_code == 201
    assert reset.json()["username"] == "dana"
    old = await world.http.get("/set-password/" + token_of(first["set_password_url"]))
    assert old.status_code == 410
    missing = await world.http.post("/api/v1/users/nobody/password-link", headers=await world.headers(ADMIN))
    assert missing.status_code == 404
    fresh = "/set-password/" + token_of(reset.json()["set_password_url"])
    clock.advance(hours=72, seconds=-1)
    assert (await world.http.get(fresh)).status_code == 200
    clock.advance(seconds=1)
    assert (await world.http.get(fresh)).status_code == 410
    assert [r[1] for r in await audit_rows(world, "dana")] == [
        "user.created",
        "user.password_link_issued",
        "user.password_link_issued",
    ]


async def test_racing_creates_make_one_user_and_link_a_member_once(world: World) -> None:
    headers = await world.headers(ADMIN)
    same_name = await gather(
        *(world.http.post("/api/v1/users", json=new_user("dana"), headers=headers) for _ in range(4))
    )
    assert sorted(r.status_code for r in same_name) == [201, 409, 409, 409]
    same_member = await gather(
        *(
            world.http.post(
                "/api/v1/users", json=new_user(f"avery{i}", member_id=world.member.id), headers=headers
            )
            for i in range(4)
        )
    )
    assert sorted(r.status_code for r in same_member) == [201, 422, 422, 422]
    assert [r.json()["detail"][0]["loc"] for r in same_member if r.status_code == 422] == [
        ["body", "member_id"]
    ] * 3
    listed = (await world.http.get("/api/v1/users", params={"q": "a"}, headers=headers)).json()
    linked = [u["username"] for u in listed["items"] if u["member_id"] == world.member.id]
    assert len(linked) == 1
