"""Submitting a deployment request and amending it after an approver asked for changes."""

import uuid
from datetime import UTC, date, datetime

from pydantic import ValidationError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from crc import names
from crc.db import commit_unless_duplicate, lock_for_write
from crc.permissions import Situation, closed_actions
from crc.progress import Action, WaitingFor
from crc.requests import DeploymentAmend, DeploymentCreate
from crc.settings import Settings
from crc.stages import Stage
from crc.starting import workflow_input
from crc.tables import Deployment, Member, User
from crc.types import Amendment, DeploymentStatus
from web.services.access import check_action_of
from web.services.errors import FieldError, InvalidFields
from web.services.validation import CheckedRequest, check_request
from web.services.visibility import visible_deployment
from web.services.workflow_client import execute_update, start_deployment_workflow

IDEMPOTENCY_KEY_MAX = 200


def today_utc() -> date:
    """Today's date in UTC, the calendar requests are checked against."""
    return datetime.now(UTC).date()


async def _by_idempotency_key(session: AsyncSession, *, username: str, key: str | None) -> Deployment | None:
    if key is None:
        return None
    query = select(Deployment).where(Deployment.requested_by == username, Deployment.idempotency_key == key)
    return (await session.exec(query.execution_options(populate_existing=True))).first()


async def _ensure_started(session: AsyncSession, client: Client, settings: Settings, row: Deployment) -> None:
    member = await session.get(Member, row.member_id)
    assert member is not None  # a foreign key
    await session.commit()  # end the read; hold no connection while Temporal answers
    await start_deployment_workflow(
        client, request=workflow_input(row, member, settings), task_queue=settings.TEMPORAL_TASK_QUEUE
    )


def _new_request(
    request: DeploymentCreate, checked: CheckedRequest, user: User, idempotency_key: str | None
) -> Deployment:
    deployment_id = str(uuid.uuid4())
    return Deployment(
        **request.model_dump(),
        id=deployment_id,
        workflow_id=names.deployment_workflow_id(deployment_id),
        member_agency=checked.member.agency,
        end_date=checked.end_date,
        stage=Stage.REQUESTED,
        status="Submitted",
        # Until its workflow writes: nothing but a cancel is open (an empty list would open all).
        waiting_for=WaitingFor.WORKFLOW,
        closed_actions=closed_actions(Situation(Stage.REQUESTED, WaitingFor.WORKFLOW)),
        requested_by=user.username,
        idempotency_key=idempotency_key,
    )


async def submit_request(
    *,
    session: AsyncSession,
    client: Client,
    settings: Settings,
    user: User,
    request: DeploymentCreate,
    idempotency_key: str | None = None,
) -> tuple[Deployment, bool]:
    """Record a request and start its workflow; (deployment, True when it is new).

    The same Idempotency-Key from the same user yields the one deployment, however many
    requests race: the database's unique constraint decides, not a check beforehand.
    """
    if idempotency_key is not None and len(idempotency_key) > IDEMPOTENCY_KEY_MAX:
        message = f"must be at most {IDEMPOTENCY_KEY_MAX} characters"
        raise InvalidFields([FieldError("idempotency-key", message, location="header")])
    existing = await _by_idempotency_key(session, username=user.username, key=idempotency_key)
    if existing is not None:
        await _ensure_started(session, client, settings, existing)
        return existing, False
    # Requests for one member queue here until the one before commits, so the overlap check
    # below sees it (a row lock on PostgreSQL, the writer lock on SQLite).
    # The member itself, not its id: on PostgreSQL the locked row then answers the checks'
    # session.get(Member) from the identity map, one round trip fewer.
    # Hand the connection back while this request waits for its turn to write: requests queued
    # there must not hold the pool's every connection from those they wait for.
    await session.commit()
    created = False
    async with lock_for_write(session, select(Member).where(Member.id == request.member_id)):
        try:
            checked = await check_request(session, request, today=today_utc())
        except InvalidFields:
            # A racing twin may have committed between our lookup and the checks.
            existing = await _by_idempotency_key(session, username=user.username, key=idempotency_key)
            if existing is None:
                raise
            await session.commit()  # end the read here: a rollback would expire the twin's row
        else:
            row = _new_request(request, checked, user, idempotency_key)
            session.add(row)
            created = await commit_unless_duplicate(session)
    if not created:
        if existing is None:
            existing = await _by_idempotency_key(session, username=user.username, key=idempotency_key)
        if existing is None:  # only the Idempotency-Key's unique key can refuse a new uuid
            raise RuntimeError("a unique key refused a new deployment that no Idempotency-Key explains")
        await _ensure_started(session, client, settings, existing)
        return existing, False

    try:
        await start_deployment_workflow(
            client,
            request=workflow_input(row, checked.member, settings),
            task_queue=settings.TEMPORAL_TASK_QUEUE,
        )
    except BaseException:
        # No half-written requests: without its workflow the row would wait forever.
        await session.delete(row)
        await session.commit()
        raise
    return row, True


async def amend_request(
    *,
    session: AsyncSession,
    client: Client,
    user: User,
    deployment_id: str,
    changes: DeploymentAmend,
    update_id: str | None = None,
) -> Deployment:
    """Send the requester's amendment to the workflow, which opens a new approval round."""
    row = await visible_deployment(session, user, deployment_id)
    check_action_of(Action.AMEND, user, row)
    # Only what changed goes to the workflow (a form sends every field, most unchanged).
    given = {k: v for k, v in changes.changes().items() if v != getattr(row, k)}
    current = {name: getattr(row, name) for name in DeploymentCreate.model_fields}
    try:
        amended = DeploymentCreate.model_validate(current | given)
    except ValidationError as err:  # a field left as it was may break a rule newer than it
        raise InvalidFields.from_validation_error(err) from None
    await check_request(session, amended, today=today_utc(), exclude_deployment_id=row.id)
    amendment = Amendment(user=user.username, comment=changes.comment, **given)
    workflow_id = row.workflow_id
    await session.commit()  # end the read; hold no connection while the workflow works
    await execute_update(
        client,
        workflow_id=workflow_id,
        update=names.UPDATE_AMEND,
        arg=amendment,
        result_type=DeploymentStatus,
        update_id=update_id,
    )
    fresh = await session.get(Deployment, deployment_id, populate_existing=True)
    assert fresh is not None
    return fresh
