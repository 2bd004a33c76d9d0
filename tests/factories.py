"""Factories for test data: members, posts, deployment rows and workflow requests."""

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from crc.db import session_factory
from crc.domain import ClearanceLevel, Component, ThreatLevel
from crc.names import deployment_workflow_id
from crc.permissions import Situation, closed_actions
from crc.progress import WaitingFor
from crc.stages import TERMINAL, Stage
from crc.tables import Certificate, Course, CourseSession, Deployment, Member, Post, StockItem, User, utcnow
from crc.types import ApprovalPolicy, DeploymentRequest, LifecyclePolicy

DAY = 86400.0
HOUR = 3600.0


def member(**overrides: Any) -> Member:
    """An Active, cleared State member, unless told otherwise."""
    fields: dict[str, Any] = {
        "name": "Avery Quinn",
        "email": "avery.quinn@example.gov",
        "agency": "State",
        "component": Component.ACTIVE.value,
        "sectors": ["rule_of_law"],
        "languages": ["en", "fr"],
        "clearance_level": ClearanceLevel.SECRET.value,
        "clearance_expires": date.today() + timedelta(days=900),
        "medical_expires": date.today() + timedelta(days=900),
        "passport_expires": date.today() + timedelta(days=2000),
        "annual_salary_usd": Decimal("109500.00"),
    }
    fields.update(overrides)
    return Member(**fields)


def post(**overrides: Any) -> Post:
    """A high-threat post with danger pay and a post differential."""
    fields: dict[str, Any] = {
        "code": "JUB",
        "country": "South Sudan",
        "city": "Juba",
        "threat_level": ThreatLevel.HIGH.value,
        "clearance_required": ClearanceLevel.SECRET.value,
        "per_diem_usd": Decimal("250.00"),
        "danger_pay_pct": Decimal("35"),
        "post_differential_pct": Decimal("30"),
        "visa_required": True,
        "clearance_lead_days": 10,
    }
    fields.update(overrides)
    return Post(**fields)


def policy(due_seconds: float = 24 * HOUR, reminder_fraction: float = 0.25) -> ApprovalPolicy:
    """Approval timers: due after `due_seconds`, reminder a fraction before, expiry at twice."""
    return ApprovalPolicy(due_seconds=due_seconds, reminder_before_seconds=due_seconds * reminder_fraction)


async def add(engine: AsyncEngine, *rows: Any) -> None:
    """Insert rows in one transaction and refresh their generated ids."""
    async with session_factory(engine).begin() as session:
        session.add_all(rows)
        await session.flush()
        for row in rows:
            await session.refresh(row)


async def requested_deployment(
    engine: AsyncEngine,
    *,
    component: Component = Component.ACTIVE,
    requested_by: str = "req.user",
    start_in_days: int = 45,
    duration_days: int = 90,
    approval: ApprovalPolicy | None = None,
    lifecycle: LifecyclePolicy | None = None,
    **member_overrides: Any,
) -> DeploymentRequest:
    """A member, a post and a REQUESTED deployment row; returns the workflow's input."""
    m = member(
        component=component.value,
        agency="USAID" if component == Component.STANDBY else "State",
        **member_overrides,
    )
    p = post(code=f"P{uuid.uuid4().hex[:6].upper()}")
    await add(engine, m, p)
    assert m.id is not None
    deployment_id = str(uuid.uuid4())
    start = date.today() + timedelta(days=start_in_days)
    await add(
        engine,
        Deployment(
            id=deployment_id,
            workflow_id=deployment_workflow_id(deployment_id),
            member_id=m.id,
            member_agency=m.agency,
            post_code=p.code,
            sector="rule_of_law",
            role_title="Rule of law adviser",
            start_date=start,
            end_date=start + timedelta(days=duration_days - 1),
            duration_days=duration_days,
            justification="Court reform programme needs an adviser",
            stage=Stage.REQUESTED.value,
            status="Submitted",
            requested_by=requested_by,
            created_at=utcnow(),
            updated_at=utcnow(),
        ),
    )
    return DeploymentRequest(
        deployment_id=deployment_id,
        member_id=m.id,
        member_name=m.name,
        member_component=m.component,
        member_agency=m.agency,
        post_code=p.code,
        sector="rule_of_law",
        role_title="Rule of law adviser",
        start_date=start,
        duration_days=duration_days,
        justification="Court reform programme needs an adviser",
        requested_by=requested_by,
        approval=approval or policy(),
        lifecycle=lifecycle or LifecyclePolicy(),
    )


# --- Lifecycle activities: courses, sessions, stock and bare deployment rows -------------------


def course(code: str, **overrides: Any) -> Course:
    """A course of `code`: five days, certificate valid 60 months, unless told otherwise."""
    fields: dict[str, Any] = {"code": code, "title": f"Course {code}", "days": 5, "validity_months": 60}
    fields.update(overrides)
    return Course(**fields)


def course_session(
    course_code: str, starts_on: date, *, days: int = 5, seats: int = 10, **overrides: Any
) -> CourseSession:
    """A session of a course starting on `starts_on`, `days` long, with free seats."""
    fields: dict[str, Any] = {
        "course_code": course_code,
        "location": "Foreign Service Institute, Arlington, VA",
        "starts_on": starts_on,
        "ends_on": starts_on + timedelta(days=days - 1),
        "seats": seats,
        "seats_taken": 0,
    }
    fields.update(overrides)
    return CourseSession(**fields)


def stock_item(sku: str, quantity: int, *, depot: str = "Washington, DC", **overrides: Any) -> StockItem:
    """`quantity` of one SKU held at a depot."""
    fields: dict[str, Any] = {"depot": depot, "sku": sku, "name": f"Item {sku}", "quantity": quantity}
    fields.update(overrides)
    return StockItem(**fields)


# What a deployment at each stage usually waits for.
USUAL_WAIT = {
    Stage.APPROVAL: WaitingFor.APPROVALS,
    Stage.VETTING: WaitingFor.VETTING_REVIEW,
    Stage.TRAINING: WaitingFor.TRAINING_RESULTS,
    Stage.EQUIPPING: WaitingFor.KIT_RECEIPT,
    Stage.TRAVEL: WaitingFor.COUNTRY_CLEARANCE,
    Stage.DEPLOYED: WaitingFor.CHECK_INS,
    Stage.REDEPLOYMENT: WaitingFor.OUT_PROCESSING,
} | {stage: WaitingFor.NOTHING for stage in TERMINAL}


async def deployment_rows(
    engine: AsyncEngine,
    count: int,
    *,
    member_id: int,
    post_code: str,
    start: date | None = None,
    duration_days: int = 90,
    stage: Stage = Stage.APPROVAL,
    **overrides: Any,
) -> list[str]:
    """`count` deployment read-model rows of one member at one post; their ids."""
    start = start or date.today() + timedelta(days=45)
    ids = [str(uuid.uuid4()) for _ in range(count)]
    fields: dict[str, Any] = {
        "member_id": member_id,
        "post_code": post_code,
        "sector": "rule_of_law",
        "role_title": "Rule of law adviser",
        "start_date": start,
        "end_date": start + timedelta(days=duration_days - 1),
        "duration_days": duration_days,
        "justification": "Court reform programme needs an adviser",
        "stage": stage.value,
        "status": "",
        "requested_by": "req.user",
    }
    fields.update(overrides)
    if "member_agency" not in fields:  # the member's agency, as a request records it
        async with session_factory(engine)() as session:
            member_row = await session.get(Member, member_id)
        fields["member_agency"] = member_row.agency if member_row else ""
    # Progress as the workflow writes it for the stage (crc.permissions decides the actions).
    waiting_for = fields.setdefault("waiting_for", USUAL_WAIT.get(stage, WaitingFor.WORKFLOW).value)
    fields.setdefault("closed_actions", closed_actions(Situation(stage, WaitingFor(waiting_for))))
    await add(
        engine,
        *(Deployment(id=i, workflow_id=deployment_workflow_id(i), **fields) for i in ids),
    )
    return ids


def certificate(member_id: int, course_code: str, issued_on: date, expires_on: date | None) -> Certificate:
    """A member's certificate for a course."""
    return Certificate(
        member_id=member_id, course_code=course_code, issued_on=issued_on, expires_on=expires_on
    )


def user(username: str, *roles: str, scopes: dict[str, list[str]] | None = None, **overrides: Any) -> User:
    """A user with these roles, an address at crc.example.gov and no usable password."""
    fields: dict[str, Any] = {
        "username": username,
        "email": f"{username}@crc.example.gov",
        "password_hash": "!",
        "roles": list(roles),
        "scopes": scopes or {},
    }
    return User(**(fields | overrides))
