"""The live stack for the browser tests: seeded SQLite, the real Temporal dev server, a worker,
the web app served by uvicorn on a free local port, and Debian's Chromium driven by Playwright.

One stack and one browser serve every test of this package (starting them takes a few seconds)
and stop once its last test is done; each test opens browser contexts of its own and works on
roster members that no other test uses.
"""

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.async_api import Browser, BrowserContext, async_playwright, expect

from crc.db import create_engine, create_sync_engine
from crc.seed import seed_demo
from crc.settings import Settings
from migrations import upgrade
from tests.browser.helpers import (
    DEMO_PASSWORD,
    SLOW_MS,
    UNDO_SECONDS,
    LiveStack,
    guard_outside_requests,
    outside_requests,
)
from tests.conftest import start_dev_server
from tests.web_helpers import terminate_workflows
from web.app import create_app
from worker import build_worker

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
# Set by .ci/run: without Chromium the browser tests must fail, not skip.
REQUIRE_BROWSER = os.environ.get("CRC_REQUIRE_BROWSER") == "1"


class _QuietServer(uvicorn.Server):
    """uvicorn inside the test loop: it must not take over pytest's Ctrl-C handler."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's Chromium; the browser tests skip without it (fail under CRC_REQUIRE_BROWSER=1)."""
    if not CHROMIUM.exists():
        message = (
            f"{CHROMIUM} is missing: install Debian's chromium package (`make test` does so as root "
            "with apt-get); Playwright's own browser downloads are not used"
        )
        if REQUIRE_BROWSER:
            pytest.fail(message + " (CRC_REQUIRE_BROWSER=1 makes this a failure)")
        pytest.skip(message)
    return CHROMIUM


def _guard_every_context(chromium: Browser) -> None:
    """Route every context the tests create through the outside-request guard, however made."""
    new_context = chromium.new_context

    async def guarded_new_context(**options: Any) -> BrowserContext:
        # Service workers would fetch past the context's routes.
        return await guard_outside_requests(await new_context(**{"service_workers": "block", **options}))

    async def unguarded_new_page(**options: Any) -> None:
        # Browser.new_page makes its own context inside Playwright, past the wrapper above.
        raise AssertionError("open pages in browser.new_context() (or signed_in): its routes guard them")

    # setattr: mypy refuses assigning to a method.
    setattr(chromium, "new_context", guarded_new_context)  # noqa: B010
    setattr(chromium, "new_page", unguarded_new_page)  # noqa: B010


@pytest.fixture(scope="package")
async def browser(chromium_path: Path) -> AsyncIterator[Browser]:
    """One headless Chromium for the session; its contexts refuse requests to other hosts."""
    async with async_playwright() as playwright:
        # expect's 5 s default is for a quiet machine; the suite runs these beside the fault tests
        # on 2 cores, where a page may take seconds to settle (a fresh-clone CI run timed out).
        expect.set_options(timeout=SLOW_MS)
        chromium = await playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        _guard_every_context(chromium)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture(autouse=True)
def no_outside_requests() -> Iterator[None]:
    """Fail the test if a page it drove asked another host for anything (the app works offline)."""
    outside_requests.clear()
    yield
    refused, outside_requests[:] = list(outside_requests), []
    assert not refused, "pages asked hosts other than the app's:\n" + "\n".join(refused)


@pytest.fixture(scope="package")
async def live_stack(
    chromium_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[LiveStack]:
    """Seeded database, Temporal dev server, worker and web app on http://127.0.0.1:<free port>."""
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'crc.db'}"
    upgrade(url)
    sync_engine = create_sync_engine(url)
    try:
        assert seed_demo(sync_engine, password=DEMO_PASSWORD) is True
    finally:
        sync_engine.dispose()

    env = await start_dev_server()
    engine = create_engine(url)
    task_queue = f"browser-{uuid.uuid4().hex}"
    worker = build_worker(env.client, engine, task_queue=task_queue)
    worker_run = asyncio.create_task(worker.run())
    settings = Settings(
        CRC_ENV="dev",
        DATABASE_URL=url,
        TEMPORAL_TASK_QUEUE=task_queue,
        CRC_SECRET_KEY=f"browser-tests-{uuid.uuid4().hex}",
        # Page decisions wait out their undo window before the flows go on: shorter than the
        # default 10 s, still long enough to click Undo (the window itself is tested on the
        # time-skipping server, tests/test_decision_undo.py).
        CRC_UNDO_SECONDS=UNDO_SECONDS,
    )
    app = create_app(settings, engine=engine, temporal_client=env.client)
    sock = _free_socket()
    port = sock.getsockname()[1]
    server = _QuietServer(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(30):
            while not server.started:
                if serving.done():
                    serving.result()  # raises what stopped it
                    raise RuntimeError("uvicorn stopped while starting")
                await asyncio.sleep(0.05)
        yield LiveStack(base_url=f"http://127.0.0.1:{port}", engine=engine, temporal=env.client)
    finally:
        server.should_exit = True
        with suppress(Exception):
            await serving
        sock.close()
        await terminate_workflows(engine, env.client)
        await worker.shutdown()
        with suppress(Exception):
            await worker_run
        await engine.dispose()
        await env.shutdown()
