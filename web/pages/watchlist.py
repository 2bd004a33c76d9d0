"""Watchlist pages: countries by risk, one country's history with its assessment form and its
contingency plans, each activated into an operation with one button."""

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import FormData
from starlette.responses import Response

from crc.roles import PLAN_AUTHORS, WATCHLIST_KEEPERS, WATCHLIST_READERS
from crc.tables import User
from crc.watchlist import Assessment, CountryCreate, RiskLevel
from web.deps import SessionDep, SettingsDep, TemporalClientDep, require_page_roles
from web.flash import flash
from web.pages.common import nav, see_other
from web.services import watchlist as service
from web.services.errors import InvalidFields, ServiceError
from web.templating import render

router = APIRouter()
PageReader = Annotated[User, Depends(require_page_roles(*WATCHLIST_READERS))]
PageKeeper = Annotated[User, Depends(require_page_roles(*WATCHLIST_KEEPERS))]
PageAuthor = Annotated[User, Depends(require_page_roles(*PLAN_AUTHORS))]
RISKS = [(r.value, r.value.capitalize()) for r in RiskLevel]
_M = TypeVar("_M", bound=BaseModel)


def _sources(text: str) -> list[dict[str, str]]:
    """Sources typed one a line as "title | address" (a bare address is its own title)."""
    sources = []
    for line in text.splitlines():
        if not line.strip():
            continue
        title, bar, url = line.rpartition("|")
        sources.append({"title": title.strip() if bar else url.strip(), "url": url.strip()})
    return sources


def _parse(model: type[_M], form: FormData, **extra: Any) -> _M:
    """The form as `model`; 422 naming each field (a source by its line) when it does not fit."""
    fields = {
        "risk_level": str(form.get("risk_level", "")),
        "note": str(form.get("note", "")),
        "sources": _sources(str(form.get("sources", ""))),
        **extra,
    }
    try:
        return model.model_validate(fields)
    except ValidationError as err:
        raise InvalidFields.from_validation_error(err) from err


def _errors(err: ServiceError) -> dict[str, str]:
    """Field name -> message for the form's error summary ("sources.0.url" is the sources box)."""
    if isinstance(err, InvalidFields):
        return {e.field.split(".")[0]: e.msg for e in err.errors}
    return {"form": err.detail}


async def _list(
    request: Request,
    session: AsyncSession,
    user: User,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "countries": await service.list_countries(session),
        "risks": RISKS,
        "errors": errors or {},
        "values": values or {},
        "keeper": bool(WATCHLIST_KEEPERS & set(user.roles)),
        **await nav(session, user),
    }
    return render(request, "watchlist.html", context, user=user, status_code=status)


async def _country(
    request: Request,
    session: AsyncSession,
    user: User,
    code: str,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "country": await service.get_country(session, code),
        "risks": RISKS,
        "errors": errors or {},
        "values": values or {},
        "keeper": bool(WATCHLIST_KEEPERS & set(user.roles)),
        "author": bool(PLAN_AUTHORS & set(user.roles)),
        **await nav(session, user),
    }
    return render(request, "watchlist_country.html", context, user=user, status_code=status)


@router.get("/watchlist")
async def watchlist_page(request: Request, session: SessionDep, user: PageReader) -> Response:
    """Every watched country, the highest risk first; Conflict Prevention adds one here."""
    return await _list(request, session, user)


@router.post("/watchlist")
async def add_country(request: Request, session: SessionDep, user: PageKeeper) -> Response:
    """Put a country on the watchlist with its first assessment."""
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    try:
        body = _parse(CountryCreate, form, code=values.get("code", ""), name=values.get("name", ""))
        added = await service.add_country(session, user, body)
    except ServiceError as err:
        return await _list(request, session, user, errors=_errors(err), values=values, status=err.status_code)
    flash(request, f"{added.name} is on the watchlist.")
    return see_other(request, f"/watchlist/{added.code}")


@router.get("/watchlist/{code}")
async def country_page(request: Request, code: str, session: SessionDep, user: PageReader) -> Response:
    """A watched country: its risk history with sources, and its contingency plans."""
    return await _country(request, session, user, code)


@router.post("/watchlist/{code}/assessments")
async def assess(request: Request, code: str, session: SessionDep, user: PageKeeper) -> Response:
    """Append an assessment: the country's risk level becomes the one given."""
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    try:
        body = _parse(Assessment, form)
        country = await service.assess(session, user, code, body)
    except ServiceError as err:
        return await _country(
            request, session, user, code, errors=_errors(err), values=values, status=err.status_code
        )
    flash(request, f"Assessment recorded: {country.name} is at {country.risk_level} risk.")
    return see_other(request, f"/watchlist/{country.code}")


@router.post("/watchlist/{code}/plans/{plan_id}/activate")
async def activate(
    request: Request,
    code: str,
    plan_id: str,
    session: SessionDep,
    client: TemporalClientDep,
    settings: SettingsDep,
    user: PageAuthor,
) -> Response:
    """Start the plan's operation (DRAFT, waiting for its approvals) and open its board."""
    try:
        operation = await service.activate_plan(
            session=session,
            client=client,
            user=user,
            code=code,
            plan_id=plan_id,
            task_queue=settings.TEMPORAL_TASK_QUEUE,
        )
    except ServiceError as err:
        await session.rollback()
        problem = {"form": f"The plan was not activated: {err.detail}"}
        return await _country(request, session, user, code, errors=problem, status=err.status_code)
    flash(request, "Plan activated: the operation waits for the Planning director and Resource Management.")
    return see_other(request, f"/operations/{operation.id}")
