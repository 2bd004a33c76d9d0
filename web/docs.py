"""The API docs: /docs (Swagger UI) and /redoc, served with their assets from the app, and outside
dev /openapi.json too, for a signed-in admin only."""

import base64
import hashlib
import re

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from crc.roles import Role
from crc.tables import User
from web.deps import NowDep, SessionDep, SettingsDep, token_user
from web.sessions import session_user

OPENAPI_URL = "/openapi.json"
# Vendored by scripts/vendor-api-docs.sh (pinned versions there): nothing comes from a CDN, so the
# docs render on an offline or government network.
_VENDOR = "/static/vendor"
SWAGGER_JS_URL = f"{_VENDOR}/swagger-ui/swagger-ui-bundle.js"
SWAGGER_CSS_URL = f"{_VENDOR}/swagger-ui/swagger-ui.css"
FAVICON_URL = f"{_VENDOR}/swagger-ui/favicon-32x32.png"
REDOC_JS_URL = f"{_VENDOR}/redoc/redoc.standalone.js"
# Our thin layer over Swagger UI's styles: contrast that meets WCAG 2.1 AA.
SWAGGER_OVERRIDES_URL = "/static/api-docs.css"

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _script_hashes(html: str) -> str:
    """CSP sources that allow exactly the inline scripts of this page (Swagger UI starts from one)."""
    digests = (hashlib.sha256(body.encode()).digest() for body in _INLINE_SCRIPT.findall(html))
    return " ".join(f"'sha256-{base64.b64encode(digest).decode()}'" for digest in digests)


def _accessible(response: HTMLResponse, *, stylesheet: str | None = None) -> HTMLResponse:
    """FastAPI's docs page with the language named (screen readers need it) and our styles last."""
    html = bytes(response.body).decode().replace("<html>", '<html lang="en">', 1)
    if stylesheet:
        html = html.replace(
            "</head>", f'<link type="text/css" rel="stylesheet" href="{stylesheet}">\n</head>', 1
        )
    return HTMLResponse(html)


def _same_origin_only(response: HTMLResponse) -> HTMLResponse:
    """Give a docs page a policy that lets it load from this app alone.

    Both UIs set styles inline and ReDoc runs its search in a worker made from a blob; their
    scripts are our vendored files plus Swagger UI's inline start-up script, allowed by its hash.
    """
    scripts = " ".join(filter(None, ["'self'", _script_hashes(bytes(response.body).decode())]))
    response.headers["content-security-policy"] = (
        f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'self'"
    )
    return response


def swagger_ui_page(title: str) -> HTMLResponse:
    """Swagger UI on the vendored assets."""
    page = get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title=f"{title} - Swagger UI",
        swagger_js_url=SWAGGER_JS_URL,
        swagger_css_url=SWAGGER_CSS_URL,
        swagger_favicon_url=FAVICON_URL,
        swagger_ui_parameters={
            # Otherwise Swagger UI sends the schema's address to validator.swagger.io.
            "validatorUrl": None,
            # Deep links put a link inside each operation's toggle button: nested controls that
            # screen readers cannot reach (axe-core's nested-interactive).
            "deepLinking": False,
        },
    )
    return _same_origin_only(_accessible(page, stylesheet=SWAGGER_OVERRIDES_URL))


def redoc_page(title: str) -> HTMLResponse:
    """ReDoc on the vendored bundle, without Google's fonts."""
    page = get_redoc_html(
        openapi_url=OPENAPI_URL,
        title=f"{title} - ReDoc",
        redoc_js_url=REDOC_JS_URL,
        redoc_favicon_url=FAVICON_URL,
        with_google_fonts=False,
    )
    return _same_origin_only(_accessible(page))


async def require_admin_for_docs(
    request: Request, session: SessionDep, settings: SettingsDep, now: NowDep
) -> User:
    """An admin signed in by bearer token or page session (401 if nobody, 403 if not an admin)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        found = await token_user(session, settings, token, now)
        user = found[0] if found else None
    else:
        user = await session_user(session, request.session, settings, now=now)
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "sign in first", headers={"WWW-Authenticate": "Bearer"}
        )
    if Role.ADMIN.value not in user.roles:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the API docs need the admin role")
    return user


def docs_router(*, public: bool) -> APIRouter:
    """/docs and /redoc; unless public, behind an admin and with /openapi.json (else FastAPI's)."""
    router = APIRouter(
        include_in_schema=False, dependencies=[] if public else [Depends(require_admin_for_docs)]
    )

    if not public:

        @router.get(OPENAPI_URL)
        async def openapi_schema(request: Request) -> JSONResponse:
            """The OpenAPI schema."""
            return JSONResponse(request.app.openapi())

    @router.get("/docs")
    async def swagger_ui(request: Request) -> HTMLResponse:
        """Swagger UI."""
        return swagger_ui_page(request.app.title)

    @router.get("/redoc")
    async def redoc(request: Request) -> HTMLResponse:
        """ReDoc."""
        return redoc_page(request.app.title)

    return router
