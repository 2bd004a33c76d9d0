"""GET /healthz: whether the database and Temporal answer."""

import asyncio
import logging
from datetime import timedelta
from typing import Literal

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlmodel import col

from crc.tables import HealthCheck, utcnow
from web.api.responses import ERRORS
from web.services.errors import RETRY_LATER

logger = logging.getLogger(__name__)

router = APIRouter(tags=["health"])
_TIMEOUT_SECONDS = 3.0


async def _database_ok(request: Request) -> bool:
    """The database answers and takes a write (a read-only or full database is not healthy)."""
    try:
        async with asyncio.timeout(_TIMEOUT_SECONDS), request.app.state.engine.begin() as conn:
            now = utcnow()
            written = await conn.execute(
                sa.update(HealthCheck).where(col(HealthCheck.id) == 1).values(checked_at=now)
            )
            if written.rowcount == 0:
                await conn.execute(sa.insert(HealthCheck).values(id=1, checked_at=now))
    except Exception:
        logger.warning("health check: the database refused a write", exc_info=True)
        return False
    return True


async def _temporal_ok(request: Request) -> bool:
    client = getattr(request.app.state, "temporal_client", None)
    if client is None:
        return False
    try:
        async with asyncio.timeout(_TIMEOUT_SECONDS):
            return bool(await client.service_client.check_health(timeout=timedelta(seconds=_TIMEOUT_SECONDS)))
    except Exception:
        return False


class Health(BaseModel):
    """Whether the app's dependencies answer; when not, which failed."""

    status: Literal["ok", "unavailable"]
    failed: list[Literal["database", "temporal"]] = []
    detail: str | None = None


@router.get(
    "/healthz",
    response_model=Health,
    responses={503: {**ERRORS[503], "model": Health, "description": "The database or Temporal is down"}},
)
async def healthz(request: Request) -> JSONResponse:
    """200 {"status": "ok"} when both answer, else 503 naming what failed."""
    database, temporal = await asyncio.gather(_database_ok(request), _temporal_ok(request))
    failed = [name for name, ok in (("database", database), ("temporal", temporal)) if not ok]
    if failed:
        return JSONResponse(
            {"status": "unavailable", "failed": failed, "detail": f"{' and '.join(failed)} down"},
            status_code=503,
            headers=RETRY_LATER,
        )
    return JSONResponse({"status": "ok"})
