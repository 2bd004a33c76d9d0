"""The USWDS layer of the pages: assets served from here only, error summaries tied to their
fields, the early-return wording and its confirmation."""

import re
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from crc.stages import Stage
from tests import factories
from tests.page_alerts import error_summary
from tests.web_helpers import World, csrf_of, request_body, web_world

STATIC = Path(__file__).resolve().parents[1] / "web" / "static"
_REFERENCE = re.compile(r'\s(?:src|href)="([^"]*)"')


@pytest.fixture
async def world(engine: AsyncEngine, temporal_client: Client, task_queue: str) -> AsyncIterator[World]:
    async with web_world(engine, temporal_client, task_queue) as w:
        yield w


def outside_references(page: str) -> list[str]:
    """Every src or href of the page that could reach another host."""
    return [ref for ref in _REFERENCE.findall(page) if not re.match(r"(/(?!/)|#|data:)", ref)]


async def test_pages_load_everything_from_this_site(world: World) -> None:
    signed_out = await world.http.get("/login")
    async with world.signed_in("admin") as browser:
        dashboard = await browser.get("/")
    for page in (signed_out.text, dashboard.text):
        assert outside_references(page) == []
        assert '<link rel="stylesheet" href="/static/uswds/css/uswds.min.css">' in page
        assert '<script src="/static/uswds/js/uswds-init.min.js"></script>' in page
        assert page.rstrip().endswith(
            '<script src="/static/uswds/js/uswds.min.js"></script>\n</body>\n</html>'
        )
        assert "An official website of the United States government" in page
    for path in re.findall(r'(?:src|href)="(/static/[^"#]+)', dashboard.text):
        assert (await world.http.get(path)).status_code == 200, path


def test_the_vendored_css_names_only_files_that_are_here() -> None:
    css = (STATIC / "uswds" / "css" / "uswds.min.css").read_text()
    references = set(re.findall(r"url\(([^)]*)\)", css)) - {""}
    assert references  # fonts and icons
    missing = [ref for ref in references if not (STATIC / "uswds" / "css" / ref).resolve().is_file()]
    assert missing == []
    assert (STATIC / "uswds" / "LICENSE.md").is_file()


async def test_request_form_errors_are_summarized_and_tied_to_their_fields(world: World) -> None:
    async with world.signed_in("requester") as browser:
        form = await browser.get("/deployments/new")
        assert 'id="error-summary"' not in form.text
        data = {
            **{k: str(v) for k, v in request_body(world.member, world.post).items()},
            "csrf_token": csrf_of(form.text),
            "duration_days": "400",
            "justification": "",
        }
        page = (await browser.post("/deployments/new", data=data)).text
    assert [target for target, _ in error_summary(page)] == ["duration_days", "justification"]
    assert error_summary(page)[1] == ("justification", "Justification: must not be empty")
    # Focused on load without script: the summary takes autofocus, and only it.
    assert re.search(r'id="error-summary" tabindex="-1" autofocus role="alert"', page)
    assert page.count("autofocus") == 1
    for name in ("duration_days", "justification"):
        control = re.search(rf'<(?:input|textarea)[^>]* id="{name}"[^>]*>', page)
        assert control, name
        assert 'aria-invalid="true"' in control.group(0)
        described = re.search(r'aria-describedby="([^"]+)"', control.group(0))
        assert described and f"{name}-error" in described.group(1).split()
        assert f'<span class="usa-error-message" id="{name}-error">' in page
    role = re.search(r'<input[^>]* id="role_title"[^>]*>', page)
    assert role and "aria-invalid" not in role.group(0) and "aria-describedby" not in role.group(0)


async def test_the_cancel_button_says_order_early_return_once_deployed(world: World) -> None:
    assert world.member.id is not None
    labels = {}
    for later, stage in enumerate((Stage.TRAVEL, Stage.DEPLOYED)):
        [deployment_id] = await factories.deployment_rows(
            world.engine, 1, member_id=world.member.id, post_code=world.post.code, stage=stage,
            requested_by="requester", start=date.today() + timedelta(days=45 + 200 * later),
        )  # fmt: skip
        async with world.signed_in("requester") as browser:
            page = (await browser.get(f"/deployments/{deployment_id}")).text
        opener = re.search(
            r'<a href="[^"]*" class="usa-button[^"]*" aria-controls="([a-z-]+)" data-open-modal>([^<]+)</a>',
            page,
        )
        assert opener, stage
        labels[stage] = (opener.group(2), opener.group(1))
        # The confirmation the opener names is on the page, and its Yes submits the cancel form.
        modal = page.split(f'<div class="usa-modal" id="{opener.group(1)}"', 1)[1].split("usa-modal__close")[
            0
        ]
        assert 'type="submit" form="cancel-form"' in modal
        assert 'id="cancel-form"' in page
    assert labels == {
        Stage.TRAVEL: ("Cancel deployment", "cancel-modal"),
        Stage.DEPLOYED: ("Order early return", "early-return-modal"),
    }
