"""The FastAPI application: API, pages, health check, static files."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from crc.db import create_engine, session_factory
from crc.settings import Settings, get_settings
from crc.tables import utcnow
from web.api import api_router
from web.api.health import router as health_router
from web.bounds import BodySizeLimit
from web.docs import docs_router
from web.errors import install_error_handlers
from web.idempotency import install_idempotency
from web.live import LiveHub
from web.pages import pages_router
from web.throttle import build_throttle

STATIC_DIR = Path(__file__).parent / "static"

_SECURITY_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"same-origin",
}
# Our pages load nothing from elsewhere (the API docs set a policy of their own, web.docs).
_CSP = (
    b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'self'"
)
_HSTS = b"max-age=31536000; includeSubDomains"
# Pages are never kept by the browser, so Back asks the server again and shows a decision made
# since (the back/forward cache would show the page as it was, buttons and all).
_NO_STORE = b"no-store"
_STATIC = "/static/"


class SecurityHeaders:
    """Adds headers that keep pages from being framed, sniffed or fed foreign scripts."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.headers = dict(_SECURITY_HEADERS)
        if hsts:  # only when cookies are HTTPS-only: the site is then served over HTTPS alone
            self.headers[b"strict-transport-security"] = _HSTS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        # A response's own policy wins (see send_with_headers): the API docs set a looser one.
        wanted = {**self.headers, b"content-security-policy": _CSP}
        path = str(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = {name.lower(): value for name, value in message.get("headers", [])}
                present = set(headers)
                extra = [(k, v) for k, v in wanted.items() if k not in present]
                is_html = headers.get(b"content-type", b"").startswith(b"text/html")
                if is_html and b"cache-control" not in present and not path.startswith(_STATIC):
                    extra.append((b"cache-control", _NO_STORE))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _use_engine(app: FastAPI, engine: AsyncEngine) -> None:
    app.state.engine = engine
    app.state.sessionmaker = session_factory(engine)
    settings: Settings = app.state.settings
    # The clock is read at each call, so a test that moves app.state.clock moves the counters too.
    app.state.throttle = build_throttle(settings.CRC_RATE_LIMIT_STORAGE, engine, lambda: app.state.clock())


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    own_engine = app.state.engine is None
    if own_engine:
        _use_engine(app, create_engine(settings.database_url))
    if app.state.temporal_client is None:
        # Lazy: the web starts even while Temporal is still coming up; /healthz tells.
        app.state.temporal_client = await Client.connect(
            settings.TEMPORAL_ADDRESS,
            namespace=settings.TEMPORAL_NAMESPACE,
            data_converter=pydantic_data_converter,
            lazy=True,
        )
    # One listener per process feeds every open page's stream (web.pages.events).
    app.state.live = LiveHub(app.state.engine)
    await app.state.live.start()
    try:
        yield
    finally:
        await app.state.live.stop()
        if own_engine:
            await app.state.engine.dispose()


def create_app(
    settings: Settings | None = None,
    *,
    engine: AsyncEngine | None = None,
    temporal_client: Client | None = None,
) -> FastAPI:
    """The web app; tests pass their own engine and Temporal client."""
    settings = settings or get_settings()
    # The API docs are routes of ours (web.docs) on vendored assets; outside dev they need an admin.
    public_docs = settings.is_dev or settings.CRC_PUBLIC_API_DOCS
    app = FastAPI(
        title="CRC deployments",
        summary="Civilian Response Corps deployment lifecycles and approvals",
        lifespan=_lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if public_docs else None,
    )
    app.state.settings = settings
    app.state.clock = utcnow
    app.state.engine = None
    app.state.temporal_client = temporal_client
    app.state.live = None  # the lifespan starts it
    if engine is not None:
        _use_engine(app, engine)

    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.CRC_SECRET_KEY,
        https_only=settings.CRC_COOKIE_SECURE,
        same_site="lax",
        # The cookie may live as long as a session can; the session row decides whether it still holds.
        max_age=int(settings.CRC_SESSION_MAX_HOURS * 3600),
        session_cookie="crc_session",
    )
    app.add_middleware(SecurityHeaders, hsts=settings.CRC_COOKIE_SECURE)
    app.add_middleware(BodySizeLimit)
    install_error_handlers(app)
    install_idempotency(app)
    app.include_router(api_router)
    app.include_router(health_router)
    app.include_router(pages_router)
    app.include_router(docs_router(public=public_docs))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
