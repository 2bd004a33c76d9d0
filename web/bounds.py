"""What a request may carry: ids the database holds, text it can store, a body of sane size.

Refused in words (a 422 naming the field in FastAPI's shape, a 413 for the body), never with the
database's or Temporal's error.
"""

import re
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crc.fields import INT32_MAX, WholeNumber

# 64 KB, as issue 9 asks, far below what would tie up a worker or Temporal (2 MB per payload). It
# holds the largest JSON body the API takes, a 20,000-character report, in any script of up to three
# UTF-8 bytes a character (60 KB); one written in four-byte characters (emoji) or sent \u-escaped
# meets this limit (413) before the 20,000 characters.
MAX_BODY_BYTES = 64 * 1024
# A page's form is percent-encoded: each character of a 20,000-character after-action report can
# take up to 12 bytes (4 UTF-8 bytes, each as %XX), 240 KB. So form posts to the pages, and only
# they, may send up to 256 KB; the API's forms (the token endpoint) stay at 64 KB.
MAX_FORM_BODY_BYTES = 256 * 1024
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def too_large(limit: int) -> str:
    """What a 413 says for a body over `limit` bytes."""
    return f"the request body is larger than {limit // 1024} KB; send less"


BODY_TOO_LARGE = too_large(MAX_BODY_BYTES)
FORM_BODY_TOO_LARGE = too_large(MAX_FORM_BODY_BYTES)


def _limit(scope: Scope) -> int:
    if str(scope.get("path", "")).startswith("/api/"):
        return MAX_BODY_BYTES
    content_type = Headers(scope=scope).get("content-type", "")
    return MAX_FORM_BODY_BYTES if content_type.startswith(_FORM_TYPES) else MAX_BODY_BYTES


def _declared_length(scope: Scope, limit: int) -> int:
    length = Headers(scope=scope).get("content-length", "")
    if not (length.isascii() and length.isdigit()):
        return 0  # none, or not a number: the body is counted as it arrives
    try:
        return int(length)
    except ValueError:  # more digits than int() takes: larger than any limit
        return limit + 1


# Not FastAPI's `max_body_size`: Starlette's limit answers a declared Content-Length over it in plain
# text, over whatever the app answered. This one raises where the app reads the body, so the app's
# error handlers answer (JSON under /api, a page elsewhere).
class BodySizeLimit:
    """Refuses a request body over its limit (MAX_BODY_BYTES, or MAX_FORM_BODY_BYTES) with a 413."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = _limit(scope)
        declared = _declared_length(scope, limit)
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            if declared > limit:  # refused before a byte of it is read
                raise HTTPException(413, too_large(limit))
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))  # a body sent in chunks has no length
                if received > limit:
                    raise HTTPException(413, too_large(limit))
            return message

        await self.app(scope, receive_within_limit, send)


DocumentId = Annotated[int, WholeNumber(1, INT32_MAX, "must be a document's id")]

# PostgreSQL text cannot hold NUL, and UTF-8 (the database's, Temporal's payloads) has no place for
# an unpaired surrogate, which a JSON string's \ud800 escape can carry.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE = "must not contain NUL or unpaired surrogate characters"

Loc = tuple[str | int, ...]


def _unstorable(value: Any, loc: Loc) -> Iterator[Loc]:
    """Where in `value` each text is that cannot be stored, keys of objects included."""
    if isinstance(value, str):
        if _UNSTORABLE.search(value):
            yield loc
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _unstorable(key, (*loc, key))
            yield from _unstorable(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unstorable(item, (*loc, index))


def _in_pairs(pairs: list[tuple[str, Any]], place: str) -> Iterator[Loc]:
    for name, value in pairs:
        yield from _unstorable(name, (place, name))
        yield from _unstorable(value, (place, name))


async def _in_body(request: Request) -> list[Loc]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(_FORM_TYPES):
        form = await request.form()
        return list(_in_pairs([(k, v) for k, v in form.multi_items() if isinstance(v, str)], "body"))
    if "json" in content_type:
        try:
            return list(_unstorable(await request.json(), ("body",)))
        except ValueError:  # the route's own parsing answers for malformed JSON
            return []
    return []


async def refuse_unstorable_text(request: Request) -> None:
    """A router dependency: 422 naming each path, query, form or JSON field holding such text."""
    found = [
        *_in_pairs(list(request.path_params.items()), "path"),
        *_in_pairs(request.query_params.multi_items(), "query"),
        *await _in_body(request),
    ]
    if found:
        # No "input": the answer could not carry an unpaired surrogate either.
        raise RequestValidationError(
            [{"type": "value_error", "loc": loc, "msg": UNSTORABLE} for loc in found]
        )
