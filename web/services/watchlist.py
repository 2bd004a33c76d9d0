"""The watchlist: countries and their risk history, and contingency plans activated into operations."""

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from crc.operation_tables import OperationEvent
from crc.operations import OperationCreate, PositionFields
from crc.tables import User, utcnow
from crc.watchlist import RISK_ORDER, Assessment, CountryCreate, PlanCreate, PlanStatus, RiskLevel, Source
from crc.watchlist_tables import ContingencyPlan, WatchlistCountry, WatchlistEntry
from web.services import operations
from web.services.errors import Conflict, NotFound
from web.services.operations import OperationPublic
from web.services.requests import today_utc


class CountryPublic(BaseModel):
    """A watched country with its current risk level."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    risk_level: str
    created_by: str
    created_at: datetime
    updated_at: datetime


class EntryPublic(BaseModel):
    """One assessment of the country's history."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    risk_level: str
    note: str
    sources: list[Source]
    assessed_by: str
    assessed_at: datetime


class PlanPublic(BaseModel):
    """A contingency plan; once activated, `operation_id` names the operation it started."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    country_code: str
    name: str
    post_codes: list[str]
    objective: str
    start_date: date
    end_date: date
    positions: list[PositionFields]
    status: str
    created_by: str
    created_at: datetime
    activated_by: str | None
    activated_at: datetime | None
    operation_id: str | None


class CountryDetail(CountryPublic):
    """A watched country with its risk history (newest first) and its contingency plans."""

    history: list[EntryPublic]
    plans: list[PlanPublic]


def _entry(code: str, user: User, body: Assessment) -> WatchlistEntry:
    return WatchlistEntry(
        country_code=code,
        risk_level=body.risk_level,
        note=body.note,
        sources=[s.model_dump() for s in body.sources],
        assessed_by=user.username,
    )


async def list_countries(session: AsyncSession) -> list[CountryPublic]:
    """Every watched country, the highest risk first, then by name."""
    rows = (await session.exec(select(WatchlistCountry))).all()
    ordered = sorted(rows, key=lambda r: (-RISK_ORDER.get(RiskLevel(r.risk_level), 0), r.name, r.code))
    return [CountryPublic.model_validate(r) for r in ordered]


async def _country(session: AsyncSession, code: str) -> WatchlistCountry:
    row = await session.get(WatchlistCountry, code.strip().upper(), populate_existing=True)
    if row is None:
        raise NotFound("no watched country has this code")
    return row


async def get_country(session: AsyncSession, code: str) -> CountryDetail:
    """A watched country with its history and plans; 404 if it is not on the watchlist."""
    row = await _country(session, code)
    history = (
        await session.exec(
            select(WatchlistEntry)
            .where(WatchlistEntry.country_code == row.code)
            .order_by(col(WatchlistEntry.id).desc())
        )
    ).all()
    plans = (
        await session.exec(
            select(ContingencyPlan)
            .where(ContingencyPlan.country_code == row.code)
            .order_by(col(ContingencyPlan.created_at), col(ContingencyPlan.id))
        )
    ).all()
    return CountryDetail(
        **CountryPublic.model_validate(row).model_dump(),
        history=[EntryPublic.model_validate(h) for h in history],
        plans=[PlanPublic.model_validate(p) for p in plans],
    )


async def add_country(session: AsyncSession, user: User, body: CountryCreate) -> CountryDetail:
    """Put a country on the watchlist with its first assessment; 409 if it is on it already."""
    if await session.get(WatchlistCountry, body.code) is not None:
        raise Conflict(f"{body.code} is on the watchlist already: add an assessment to it instead")
    now = utcnow()
    session.add(
        WatchlistCountry(
            code=body.code,
            name=body.name,
            risk_level=body.risk_level,
            created_by=user.username,
            created_at=now,
            updated_at=now,
        )
    )
    try:
        await session.flush()  # the country first: its entry refers to it
        entry = _entry(body.code, user, body)
        entry.assessed_at = now
        session.add(entry)
        await session.commit()
    except IntegrityError as err:  # added by someone else meanwhile
        await session.rollback()
        raise Conflict(f"{body.code} is on the watchlist already: add an assessment to it instead") from err
    return await get_country(session, body.code)


async def assess(session: AsyncSession, user: User, code: str, body: Assessment) -> CountryDetail:
    """Append an assessment to the country's history; its risk level becomes the country's."""
    row = await _country(session, code)
    entry = _entry(row.code, user, body)
    row.risk_level = body.risk_level
    row.updated_at = entry.assessed_at
    session.add(entry)
    await session.commit()
    return await get_country(session, row.code)


async def create_plan(session: AsyncSession, user: User, code: str, body: PlanCreate) -> PlanPublic:
    """Keep a contingency plan for the country; its posts and dates are checked as an operation's."""
    country = await _country(session, code)
    await operations.check_create(session, body, today_utc())
    row = ContingencyPlan(
        id=str(uuid.uuid4()),
        country_code=country.code,
        name=body.name,
        post_codes=body.post_codes,
        objective=body.objective,
        start_date=body.start_date,
        end_date=body.end_date,
        positions=[p.model_dump(mode="json") for p in body.positions],
        status=PlanStatus.DRAFT,
        created_by=user.username,
    )
    session.add(row)
    await session.commit()
    return PlanPublic.model_validate(row)


async def _plan(session: AsyncSession, code: str, plan_id: str) -> tuple[WatchlistCountry, ContingencyPlan]:
    country = await _country(session, code)
    plan = await session.get(ContingencyPlan, plan_id, populate_existing=True)
    if plan is None or plan.country_code != country.code:
        raise NotFound("the country has no contingency plan with this id")
    return country, plan


async def _set_claim(session: AsyncSession, plan_id: str, *, claim: bool, user: User) -> bool:
    """Mark the plan activated (if still a draft) or back to a draft; whether the row changed."""
    was, now = (PlanStatus.DRAFT, PlanStatus.ACTIVATED) if claim else (PlanStatus.ACTIVATED, PlanStatus.DRAFT)
    changed = await session.exec(
        sa.update(ContingencyPlan)
        .where(col(ContingencyPlan.id) == plan_id, col(ContingencyPlan.status) == was)
        .values(
            status=now,
            activated_by=user.username if claim else None,
            activated_at=utcnow() if claim else None,
        )
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return bool(changed.rowcount == 1)


async def activate_plan(
    *, session: AsyncSession, client: Client, user: User, code: str, plan_id: str, task_queue: str
) -> OperationPublic:
    """Start the plan's operation (DRAFT, awaiting its approvals) and audit it; 409 if activated
    already, 422 naming the field when its dates have passed."""
    country, plan = await _plan(session, code, plan_id)
    if plan.status != PlanStatus.DRAFT:
        raise Conflict("the plan has been activated already")
    body = OperationCreate(
        name=plan.name,
        post_codes=plan.post_codes,
        objective=plan.objective,
        start_date=plan.start_date,
        end_date=plan.end_date,
        positions=[PositionFields.model_validate(p) for p in plan.positions],
    )
    await operations.check_create(session, body, today_utc())
    # One activation only: the draft is claimed by a conditional write before anything starts.
    if not await _set_claim(session, plan.id, claim=True, user=user):
        raise Conflict("the plan has been activated already")
    try:
        operation = await operations.create_operation(
            session=session, client=client, user=user, body=body, task_queue=task_queue
        )
    except BaseException:
        await session.rollback()
        await _set_claim(session, plan.id, claim=False, user=user)
        raise
    await session.exec(
        sa.update(ContingencyPlan)
        .where(col(ContingencyPlan.id) == plan.id)
        .values(operation_id=operation.id)
        .execution_options(synchronize_session=False)
    )
    session.add(
        OperationEvent(
            key=f"operation/{operation.id}/contingency-plan",
            operation_id=operation.id,
            kind="activated",
            actor=user.username,
            message=f"Activated from the contingency plan for {country.name}",
            data={"plan_id": plan.id, "country_code": country.code},
        )
    )
    await session.commit()
    return operation
