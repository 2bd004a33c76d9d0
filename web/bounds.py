"""What a request may carry: ids the database holds, text it can store, a body of sane size.

Refused in words (a 422 naming the field in FastAPI's shape, a 413 for the body), never with the
database's or Temporal's error.
"""

import re
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

from crc.fields import INT32_MAX, WholeNumber

DocumentId = Annotated[int, WholeNumber(1, INT32_MAX, "must be a document's id")]

# PostgreSQL text cannot hold NUL, and UTF-8 (the database's, Temporal's payloads) has no place for
# an unpaired surrogate, which a JSON string's \ud800 escape can carry.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE = "must not contain NUL or unpaired surrogate characters"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

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
