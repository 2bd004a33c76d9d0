"""The admin's user pages and the set-password page: forms, roles with scope, the link shown once,
disabling, the audit, CSRF and who may open them."""

import html
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from crc.roles import Role
from tests.account_helpers import audit_rows, token_of
from tests.page_alerts import error_summary, page_alerts
from tests.web_helpers import PASSWORD, World, csrf_of, gather, http_client, web_world

NEW_PASSWORD = "Sunflower-Ledger-Harbor-42"
HTMX = {"HX-Request": "true"}


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        yield w


def _link(page: str) -> str:
    found = re.search(r'id="set-password-link" type="text" readonly value="([^"]+)"', page)
    assert found, "no set-password link on the page"
    return html.unescape(found.group(1))


def _usernames(page: str) -> list[str]:
    return re.findall(r'<tr id="user-([^"]+)">', page)


async def _post(browser: httpx.AsyncClient, path: str, data: dict[str, object]) -> httpx.Response:
    token = csrf_of((await browser.get("/")).text)
    return await browser.post(path, data={**data, "csrf_token": token})


async def _create(browser: httpx.AsyncClient, world: World, **fields: object) -> httpx.Response:
    data: dict[str, object] = {
        "username": "avery",
        "email": "avery@crc.example.gov",
        "full_name": "",
        "member_id": str(world.member.id),
        "roles": ["member"],
    }
    data.update(fields)
    return await _post(browser, "/admin/users/new", data)


async def _created_link(browser: httpx.AsyncClient, world: World) -> str:
    """Create the user avery through the form; the link their page shows once."""
    created = await _create(browser, world)
    assert (created.status_code, created.headers["location"]) == (303, "/admin/users/avery"), created.text
    return _link((await browser.get("/admin/users/avery")).text)


async def _set_password(path: str, world: World, password: str, confirm: str | None = None) -> httpx.Response:
    async with http_client(world.app) as stranger:
        form = await stranger.get(path)
        assert form.status_code == 200, form.text
        return await stranger.post(
            path,
            data={
                "password": password,
                "confirm": password if confirm is None else confirm,
                "csrf_token": csrf_of(form.text),
            },
        )


async def test_only_admins_open_the_user_pages_and_see_the_link(world: World) -> None:
    for role in (Role.PLANNING, Role.MEMBER, Role.DIRECTOR):
        async with world.signed_in(role.value) as browser:
            home = await browser.get("/")
            assert 'href="/admin/users"' not in home.text
            for path in ("/admin/users", "/admin/users/new", "/admin/users/planning"):
                assert (await browser.get(path)).status_code == 403
            for path in ("/admin/users/new", "/admin/users/planning", "/admin/users/planning/disable"):
                assert (await _post(browser, path, {"email": "x@y.gov"})).status_code == 403
    async with world.signed_in("admin") as browser:
        home = await browser.get("/")
        assert '<a href="/admin/users" class="usa-nav-link">Users</a>' in home.text
        # No CSRF token: refused, nothing written.
        refused = await browser.post("/admin/users/planning/disable")
        assert refused.status_code == 403
    assert await audit_rows(world, "planning") == []


async def test_scope_choices_read_as_words(world: World) -> None:
    async with world.signed_in("admin") as browser:
        page = (await browser.get("/admin/users/new")).text
    legends = re.findall(r"<legend[^>]*>([^<]*: which [^<]*)</legend>", page)
    assert legends == [
        "Chief of Mission: which posts",
        "Home agency: which agencies",
        "Director: which offices",
    ]
    offices = re.search(r'name="scope_director".*?</fieldset>', page, re.S)
    assert offices is not None and "Resource Management" in offices.group(0)
    assert "resource_management</label>" not in offices.group(0)


async def test_the_list_searches_and_filters_with_an_htmx_fragment(world: World) -> None:
    async with world.signed_in("admin") as browser:
        page = await browser.get("/admin/users")
        assert page.status_code == 200
        assert "<h1>User accounts</h1>" in page.text
        assert _usernames(page.text) == sorted(r.value for r in Role)
        found = await browser.get("/admin/users", params={"q": "Resource"})
        assert _usernames(found.text) == ["resource_management"]
        fragment = await browser.get("/admin/users", params={"role": "director"}, headers=HTMX)
        assert fragment.text.lstrip().startswith('<div id="user-table">')
        assert _usernames(fragment.text) == ["director"]
        assert "HX-Request" in fragment.headers["vary"]
        none = await browser.get("/admin/users", params={"q": "zzz"}, headers=HTMX)
        assert "No users match." in none.text


async def test_create_shows_the_link_once_and_the_member_sets_a_password(world: World) -> None:
    async with world.signed_in("admin") as browser:
        form = await browser.get("/admin/users/new")
        assert f'<option value="{world.member.id}">Avery Quinn (State)</option>' in form.text
        created = await _create(browser, world)
        assert (created.status_code, created.headers["location"]) == (303, "/admin/users/avery")
        shown = await browser.get("/admin/users/avery")
        assert "User created. Set-password link" in shown.text
        url = _link(shown.text)
        assert url.startswith("http://test/set-password/")
        again = await browser.get("/admin/users/avery")
        assert "set-password-link" not in again.text
        assert "No password yet" in again.text
        assert "user.created" in again.text and "user.password_link_issued" in again.text
        # The linked member is no longer offered for another user.
        assert f'<option value="{world.member.id}">' not in (await browser.get("/admin/users/new")).text
    path = "/set-password/" + token_of(url)
    weak = await _set_password(path, world, "password12345")
    assert weak.status_code == 422
    assert error_summary(weak.text) == [
        (
            "password",
            "New password: it is too easy to guess (this is similar to a commonly used password); several "
            "unrelated words make a strong one",
        )
    ]
    named = await _set_password(path, world, "AveryQuinn-2026-x")
    assert error_summary(named.text) == [
        ("password", "New password: do not use your username or name in it (it contains 'avery')")
    ]
    short = await _set_password(path, world, "Sunflower")
    assert error_summary(short.text) == [
        ("password", "New password: use at least 12 characters (this has 9)")
    ]
    mismatch = await _set_password(path, world, NEW_PASSWORD, "Sunflower-Ledger-Harbor-43")
    assert error_summary(mismatch.text) == [
        ("confirm", "Confirm the new password: does not match the new password; type it again")
    ]
    done = await _set_password(path, world, NEW_PASSWORD)
    assert (done.status_code, done.headers["location"]) == (303, "/login")
    used = await http_client(world.app).get(path)
    assert used.status_code == 410
    assert "This link has already been used. Ask an admin for a new link." in used.text
    forged = await http_client(world.app).get(path[:-3] + "abc")
    assert forged.status_code == 404
    assert "This link is not valid. Ask an admin for a new link." in forged.text
    async with http_client(world.app) as member:
        login = await member.get("/login")
        signed = await member.post(
            "/login", data={"username": "avery", "password": NEW_PASSWORD, "csrf_token": csrf_of(login.text)}
        )
        assert signed.status_code == 303
        inbox = await member.get("/inbox")
        assert inbox.status_code == 200
        assert "Avery Quinn" in inbox.text


async def test_the_flash_after_setting_a_password_shows_on_the_sign_in_page(world: World) -> None:
    async with world.signed_in("admin") as browser:
        url = await _created_link(browser, world)
    path = "/set-password/" + token_of(url)
    async with http_client(world.app) as stranger:
        form = await stranger.get(path)
        await stranger.post(
            path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": csrf_of(form.text)}
        )
        login = await stranger.get("/login")
    assert page_alerts(login.text) == [
        ("success", "Your password is set. Sign in with your username and the new password.")
    ]


async def test_form_errors_name_each_field_and_write_nothing(world: World) -> None:
    async with world.signed_in("admin") as browser:
        bad = await _create(
            browser,
            world,
            username="dana",
            email="not-an-email",
            member_id="",
            roles=["chief_of_mission", "planning"],
            scope_chief_of_mission=["NOPE"],
        )
        assert bad.status_code == 422
        assert error_summary(bad.text) == [
            ("email", "Email: must be an email address such as name@agency.gov"),
        ]
        scope = await _create(
            browser,
            world,
            username="dana",
            member_id="",
            roles=["chief_of_mission"],
            scope_chief_of_mission=["NOPE"],
        )
        assert scope.status_code == 422
        assert error_summary(scope.text) == [
            (
                "scope_chief_of_mission",
                f"Scope chief of mission: unknown post NOPE: choose from {world.post.code}",
            )
        ]
        taken = await _create(browser, world, username="planning", member_id="")
        assert taken.status_code == 409
        assert error_summary(taken.text) == [
            ("username", "Username: the username 'planning' is taken; choose another")
        ]
        no_roles = await _create(browser, world, username="dana", member_id="", roles=[])
        assert error_summary(no_roles.text) == [
            ("roles", "Roles: List should have at least 1 item after validation, not 0")
        ]
    assert await audit_rows(world, "dana") == []


async def test_edit_roles_with_scope_and_see_the_audit(world: World) -> None:
    async with world.signed_in("admin") as browser:
        saved = await _post(
            browser,
            "/admin/users/chief_of_mission",
            {
                "full_name": "Demo CoM",
                "email": "com@crc.example.gov",
                "member_id": "",
                "roles": ["chief_of_mission"],
                "scope_chief_of_mission": [world.post.code],
            },
        )
        assert (saved.status_code, saved.headers["location"]) == (303, "/admin/users/chief_of_mission")
        page = await browser.get("/admin/users/chief_of_mission")
        assert page_alerts(page.text) == [("success", "Saved chief_of_mission.")]
        assert f'value="{world.post.code}" checked' in page.text
        assert "user.roles_changed" in page.text
    rows = await audit_rows(world, "chief_of_mission")
    assert [r[1] for r in rows] == ["user.details_changed", "user.roles_changed"]
    assert rows[1][3] == {
        "roles": {
            "before": [{"role": "chief_of_mission", "scope": "all"}],
            "after": [{"role": "chief_of_mission", "scope": [world.post.code]}],
        }
    }


async def test_disable_ends_the_users_session_and_nobody_disables_themselves(world: World) -> None:
    async with world.signed_in("planning") as planning, world.signed_in("admin") as admin:
        assert (await planning.get("/inbox")).status_code == 200
        page = await admin.get("/admin/users/planning")
        assert "data-open-modal" in page.text and "Yes, disable planning" in page.text
        done = await _post(admin, "/admin/users/planning/disable", {})
        assert done.status_code == 303
        assert page_alerts((await admin.get("/admin/users/planning")).text) == [
            ("success", "planning is disabled and signed out everywhere.")
        ]
        gone = await planning.get("/inbox")
        assert (gone.status_code, gone.headers["location"]) == (303, "/login?next=/inbox")
        async with http_client(world.app) as again:
            login = await again.get("/login")
            refused = await again.post(
                "/login",
                data={"username": "planning", "password": PASSWORD, "csrf_token": csrf_of(login.text)},
            )
            assert refused.status_code == 401
        enabled = await _post(admin, "/admin/users/planning/enable", {})
        assert enabled.status_code == 303
        own = await admin.get("/admin/users/admin")
        assert "You cannot disable yourself" in own.text and "data-open-modal" not in own.text
        self_disable = await _post(admin, "/admin/users/admin/disable", {})
        assert self_disable.status_code == 403
        assert "you cannot disable yourself; ask another admin to do it" in self_disable.text
        demote = await _post(
            admin,
            "/admin/users/admin",
            {"email": "admin@crc.example.gov", "roles": ["planning"], "member_id": ""},
        )
        assert demote.status_code == 403
        assert error_summary(demote.text) == [
            ("roles", "Roles: you cannot remove your own admin role; ask another admin to do it")
        ]
    assert [r[1] for r in await audit_rows(world, "planning")] == ["user.disabled", "user.enabled"]
    assert await audit_rows(world, "admin") == []


async def test_reset_gives_a_new_link_and_voids_the_old(world: World) -> None:
    async with world.signed_in("admin") as browser:
        first = await _created_link(browser, world)
        reset = await _post(browser, "/admin/users/avery/password-link", {})
        assert (reset.status_code, reset.headers["location"]) == (303, "/admin/users/avery")
        page = await browser.get("/admin/users/avery")
        second = _link(page.text)
        assert "User created." not in page.text
    assert second != first
    async with http_client(world.app) as stranger:
        old = await stranger.get("/set-password/" + token_of(first))
        assert old.status_code == 410
        assert "This link was replaced by a newer one. Ask an admin for a new link." in old.text
        assert (await stranger.get("/set-password/" + token_of(second))).status_code == 200


async def test_two_racing_uses_of_one_link_set_one_password(world: World) -> None:
    async with world.signed_in("admin") as browser:
        url = await _created_link(browser, world)
    path = "/set-password/" + token_of(url)
    async with http_client(world.app) as first, http_client(world.app) as second:
        forms = [await first.get(path), await second.get(path)]
        answers = await gather(
            *(
                client.post(
                    path,
                    data={
                        "password": password,
                        "confirm": password,
                        "csrf_token": csrf_of(form.text),
                    },
                )
                for client, form, password in zip(
                    (first, second), forms, (NEW_PASSWORD, "Harbor-Lantern-Quilt-58"), strict=True
                )
            )
        )
    assert sorted(a.status_code for a in answers) == [303, 410]
    assert [r[1] for r in await audit_rows(world, "avery")] == [
        "user.created",
        "user.password_link_issued",
        "user.password_set",
    ]
