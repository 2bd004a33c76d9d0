"""Safe retries: an API request sent with an Idempotency-Key is done once; its retries get its answer.

Like Stripe's keys and the IETF draft "The Idempotency-Key HTTP Header Field": the same key from the
same user with the same request answers what the first answered (status and body), the same key
with another request is a 422, and a retry while the first is still running is a 409. Answers are
kept 24 hours in one table (`IdempotentResponse`), written before the first answer leaves, so a
client whose connection dropped can retry and learn what happened.

Two parts: `idempotent`, a route dependency that reserves the key (or answers from it), and
`IdempotentResponses`, a middleware that stores the route's answer in the reservation.
"""

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, FastAPI, Header, Request
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crc.db import commit_unless_duplicate
from crc.tables import IdempotentResponse, utcnow
from web.deps import CurrentUser
from web.services.errors import Conflict, FieldError, InvalidFields
from web.services.requests import IDEMPOTENCY_KEY_MAX

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
KEPT_FOR = timedelta(hours=24)
# A reservation whose request never finished (its process died) is taken over after this long; no
# request takes nearly as long (a Temporal update waits at most a minute before a 503).
IN_PROGRESS_LEASE = timedelta(minutes=5)
REPLAYED_HEADER = "Idempotent-Replayed"

IN_PROGRESS = f"a request with this {HEADER} is still in progress; retry once it has answered"
REUSED = f"this {HEADER} was already used for a different request; send a new key for a new request"
DESCRIPTION = (
    "A key of your choosing (at most 200 characters, e.g. a UUID) that makes a retry safe: the "
    "same key with the same request within 24 hours answers what the first answered, without "
    "doing it again; the same key with a different request is a 422, and while the first is "
    "still in progress a 409."
)
_STATE_KEY = "crc_idempotency"


@dataclass
class _Slot:
    """Where the dependency leaves its reservation for the middleware, per request."""

    reservation_id: int | None = None


class Replay(Exception):
    """The stored answer to a request already done; sent again as it was."""

    def __init__(self, status_code: int, body: str) -> None:
        super().__init__(status_code)
        self.status_code = status_code
        self.body = body


def request_fingerprint(method: str, target: str, body: bytes) -> str:
    """What identifies a request under its key: method, path and query, and body."""
    # JSON is compared by meaning, so a retry that orders its keys differently is the same request.
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    digest = hashlib.sha256(f"{method} {target}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


def _sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return sessions


async def _insert(session: AsyncSession, row: IdempotentResponse) -> bool:
    session.add(row)
    return await commit_unless_duplicate(session)


async def _take_over(session: AsyncSession, row_id: int, created_at: datetime, now: datetime) -> bool:
    """Claim an abandoned reservation; False when another retry claimed it first."""
    claimed = await session.exec(
        update(IdempotentResponse)
        .where(
            col(IdempotentResponse.id) == row_id,
            col(IdempotentResponse.status_code).is_(None),
            col(IdempotentResponse.created_at) == created_at,
        )
        .values(created_at=now)
    )
    await session.commit()
    return bool(claimed.rowcount == 1)


async def _reserve(session: AsyncSession, username: str, key: str, method_path: str, digest: str) -> int:
    """The id of this request's reservation of the key; raises Replay, Conflict or InvalidFields."""
    now = utcnow()
    await session.exec(delete(IdempotentResponse).where(col(IdempotentResponse.created_at) < now - KEPT_FOR))
    await session.commit()
    for _ in range(3):  # a reservation released (its request failed) between our insert and read
        row = IdempotentResponse(
            username=username, key=key, method_path=method_path, request_hash=digest, created_at=now
        )
        if await _insert(session, row):
            assert row.id is not None
            return row.id
        query = select(IdempotentResponse).where(
            IdempotentResponse.username == username, IdempotentResponse.key == key
        )
        first = (await session.exec(query.execution_options(populate_existing=True))).first()
        if first is None:
            continue
        assert first.id is not None
        if (first.method_path, first.request_hash) != (method_path, digest):
            raise InvalidFields([FieldError(HEADER.lower(), REUSED, location="header")])
        if first.status_code is not None:
            raise Replay(first.status_code, first.body or "")
        if first.created_at < now - IN_PROGRESS_LEASE and await _take_over(
            session, first.id, first.created_at, now
        ):
            return first.id
        raise Conflict(IN_PROGRESS)
    raise Conflict(IN_PROGRESS)


def update_id_for(username: str, key: str, method_path: str) -> str:
    """The Temporal update id of a keyed request: the same for every retry of it."""
    digest = hashlib.sha256("\0".join((username, key, method_path)).encode()).hexdigest()
    return f"idempotent-{digest[:40]}"


async def idempotent(
    request: Request,
    user: CurrentUser,
    idempotency_key: Annotated[
        str | None,
        Header(alias=HEADER, min_length=1, max_length=IDEMPOTENCY_KEY_MAX, description=DESCRIPTION),
    ] = None,
) -> str | None:
    """A route dependency: do this request once per key; a retry is answered from the first.

    Gives the update id to send to the workflow (None without a key). A retry whose first attempt
    reached the workflow but answered 5xx (so nothing was kept here) sends the same update id, and
    Temporal answers it with the first attempt's outcome instead of doing it again.
    """
    if idempotency_key is None:
        return None
    slot = request.scope.get("state", {}).get(_STATE_KEY)
    if not isinstance(slot, _Slot):
        raise RuntimeError("IdempotentResponses middleware is not installed")
    target = f"{request.url.path}?{request.url.query}" if request.url.query else request.url.path
    digest = request_fingerprint(request.method, target, await request.body())
    method_path = f"{request.method} {request.url.path}"
    async with _sessions(request)() as session:
        slot.reservation_id = await _reserve(session, user.username, idempotency_key, method_path, digest)
    return update_id_for(user.username, idempotency_key, method_path)


# The update id a route passes to the workflow; the dependency also makes the route idempotent.
UpdateId = Annotated[str | None, Depends(idempotent)]


async def _finish(
    sessions: async_sessionmaker[AsyncSession], reservation_id: int, status: int, body: bytes
) -> None:
    async with sessions() as session:
        if status < 500:
            await session.exec(
                update(IdempotentResponse)
                .where(col(IdempotentResponse.id) == reservation_id)
                .values(status_code=status, body=body.decode("utf-8", errors="replace"))
            )
        else:
            # A failure on our side (or a dependency's, 503) is not an answer to keep: free the
            # key, so the retry the 503 asks for runs again.
            await session.exec(delete(IdempotentResponse).where(col(IdempotentResponse.id) == reservation_id))
        await session.commit()


class IdempotentResponses:
    """Stores the answer of a request that reserved its Idempotency-Key, before it is sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        slot = _Slot()
        scope.setdefault("state", {})[_STATE_KEY] = slot
        held: list[Message] = []
        body = bytearray()
        finished = False

        async def send_after_storing(message: Message) -> None:
            nonlocal finished
            if slot.reservation_id is None:
                await send(message)
                return
            held.append(message)
            if message["type"] == "http.response.body":
                body.extend(message.get("body", b""))
                if not message.get("more_body", False):
                    await self._store(scope, slot.reservation_id, held[0]["status"], bytes(body))
                    finished = True
                    for each in held:
                        await send(each)

        try:
            await self.app(scope, receive, send_after_storing)
        finally:
            if slot.reservation_id is not None and not finished:
                # No answer came (the app raised): the key is free again for a retry.
                await self._store(scope, slot.reservation_id, 500, b"")

    @staticmethod
    async def _store(scope: Scope, reservation_id: int, status: int, body: bytes) -> None:
        try:
            await _finish(scope["app"].state.sessionmaker, reservation_id, status, body)
        except Exception:  # the answer still goes out; the reservation lapses after its lease
            logger.warning("could not store the answer for an Idempotency-Key", exc_info=True)


async def _replay(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Replay)
    return Response(
        exc.body,
        status_code=exc.status_code,
        media_type="application/json",
        headers={REPLAYED_HEADER: "true"},
    )


def install_idempotency(app: FastAPI) -> None:
    """Add the middleware and the handler that sends stored answers again."""
    app.add_middleware(IdempotentResponses)
    app.add_exception_handler(Replay, _replay)
