"""Error answers: JSON `{"detail": ...}` under /api, friendly HTML pages elsewhere."""

import logging
from http import HTTPStatus

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from limits.errors import StorageError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from crc.tables import User
from web.deps import SessionGone
from web.expiry import session_ended
from web.services.errors import RETRY_LATER, InvalidFields, ServiceError, Unavailable
from web.sessions import session_user
from web.templating import render

logger = logging.getLogger(__name__)
DATABASE_DOWN = "the database is not answering; try again shortly"
LIMITER_DOWN = "the sign-in limiter's storage is not answering; try again shortly"

_FRIENDLY = {
    403: "You do not have permission to do this.",
    404: "There is nothing here.",
    409: "This cannot be done at this point.",
    413: "What was sent is too large.",
    422: "Some of what was sent is not valid.",
    500: "Something went wrong on our side. It has been logged; please try again.",
    503: "A service we depend on is not answering. Please try again shortly.",
}


def wants_json(request: Request) -> bool:
    """True for the API and health check, which answer JSON."""
    path = request.url.path
    return path.startswith("/api/") or path == "/healthz"


async def _page_user(request: Request) -> User | None:
    """The signed-in user, for the navigation on error pages; None if unknown or unreachable."""
    if "session" not in request.scope:
        return None
    try:
        async with request.app.state.sessionmaker() as session:
            return await session_user(
                session, request.session, request.app.state.settings, now=request.app.state.clock()
            )
    except Exception:  # an error page must render even when the database is what failed
        logger.warning("could not load the signed-in user for an error page", exc_info=True)
        return None


async def _error_page(request: Request, status_code: int, detail: object) -> Response:
    return render(
        request,
        "error.html",
        {
            "status_code": status_code,
            "title": HTTPStatus(status_code).phrase,
            "message": _FRIENDLY.get(status_code, ""),
            "detail": detail if isinstance(detail, str) else "",
        },
        user=await _page_user(request),
        status_code=status_code,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if wants_json(request):
        return await http_exception_handler(request, exc)
    if exc.status_code == 401 or isinstance(exc, SessionGone):
        return await session_ended(request, status_code=exc.status_code)
    return await _error_page(request, exc.status_code, exc.detail)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if wants_json(request):
        return await request_validation_exception_handler(request, exc)
    # The page says what to fix, field by field, as the API's 422 does.
    named = "; ".join(f"{error['loc'][-1]}: {error['msg']}" for error in exc.errors())
    return await _error_page(request, 422, named)


async def _service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    headers = RETRY_LATER if isinstance(exc, Unavailable) else None
    if wants_json(request):
        detail = exc.as_detail() if isinstance(exc, InvalidFields) else exc.detail
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers)
    page = await _error_page(request, exc.status_code, exc.detail)
    page.headers.update(headers or {})
    return page


async def _database_error(request: Request, exc: Exception) -> Response:
    # A database that refuses or drops connections is a dependency's failure: 503, try again.
    logger.warning("database error on %s %s: %s", request.method, request.url.path, exc)
    return await _service_error(request, Unavailable(DATABASE_DOWN))


async def _limiter_error(request: Request, exc: Exception) -> Response:
    # Without its counters sign-in cannot be throttled, so it waits rather than going unthrottled.
    logger.warning("rate limit storage error on %s %s: %s", request.method, request.url.path, exc)
    return await _service_error(request, Unavailable(LIMITER_DOWN))


async def _server_error(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if wants_json(request):
        return JSONResponse({"detail": "internal server error"}, status_code=500)
    return await _error_page(request, 500, "")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on the app."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(sa.exc.OperationalError, _database_error)
    app.add_exception_handler(sa.exc.InterfaceError, _database_error)
    app.add_exception_handler(sa.exc.TimeoutError, _database_error)
    app.add_exception_handler(StorageError, _limiter_error)
    app.add_exception_handler(Exception, _server_error)
