"""Need-to-know reads: crc.permissions.can_see for one deployment, and as SQL for every list.

A deployment the user may not see answers exactly as one that does not exist, so nothing tells
that it does.
"""

import sqlalchemy as sa
from sqlalchemy import ColumnElement
from sqlalchemy.orm import aliased
from sqlmodel import and_, col, exists, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.lifecycle_tables import TRAVEL_ORDERS, Document
from crc.permissions import can_read_travel_orders, can_see
from crc.roles import SCOPED_ROLES, SEE_ALL_ROLES, Role, ScopeKind
from crc.tables import Deployment, Task, User
from crc.tasks import on_behalf_kinds, spec_of
from web.services.access import actor_of, parties_of
from web.services.errors import NotFound

NO_DEPLOYMENT = "no deployment has this id"
NO_DOCUMENT = "no such document for this deployment"
# Tasks that make their role's holders party to the deployment: those it has, or had, to decide.
SEEN_TASK_STATUSES = ("open", "completed")
# Where the read-model keeps what a post or agency scope is checked against (crc.permissions'
# scope_value: the Parties fields of the same names).
SCOPED_COLUMNS = {ScopeKind.POST: Deployment.post_code, ScopeKind.AGENCY: Deployment.member_agency}
# The tasks EXISTS looks through, aliased so that it correlates only with Deployment, also inside
# a query over Task itself (the dashboard's overdue tasks).
_HELD = aliased(Task, name="held_task")


def _task_role_in_scope(user: User, role: Role) -> ColumnElement[bool]:
    """A task of `role` on the outer deployment, within the user's scope as that role."""
    kind, scope = SCOPED_ROLES.get(role), user.scopes.get(role)
    same_role = col(_HELD.role) == role
    if kind is None or scope is None or kind not in SCOPED_COLUMNS:
        return same_role
    return and_(same_role, col(SCOPED_COLUMNS[kind]).in_(scope))


def visible_to(user: User) -> ColumnElement[bool]:
    """The deployments the user may see, as one SQL condition on Deployment (crc.permissions.can_see)."""
    if SEE_ALL_ROLES.intersection(user.roles):
        return sa.true()
    ways: list[ColumnElement[bool]] = [col(Deployment.requested_by) == user.username]
    if user.member_id is not None:
        ways.append(col(Deployment.member_id) == user.member_id)
    offices = [Role(r) for r in user.roles if r in Role._value2member_map_ and r != Role.MEMBER]
    if offices:
        # One EXISTS per row on the task index, rather than a check per row in Python.
        held_roles = [_task_role_in_scope(user, role) for role in offices]
        behalf = on_behalf_kinds(offices)
        if behalf:  # the member's tasks the user's office completes for them
            held_roles.append(and_(col(_HELD.role) == Role.MEMBER, col(_HELD.kind).in_(behalf)))
        held = exists().where(
            col(_HELD.deployment_id) == col(Deployment.id),
            col(_HELD.status).in_(SEEN_TASK_STATUSES),
            or_(*held_roles),
        )
        ways.append(held)
    if Role.TRAVEL in user.roles:
        ways.append(_travel_orders_issued())
    return or_(*ways)


def _travel_orders_issued() -> ColumnElement[bool]:
    # Travel books every journey in an activity, with no task of its own unless a booking is
    # refused: the travel orders it issued make the deployment its work, and the orders its to read.
    return exists().where(
        col(Document.deployment_id) == col(Deployment.id), col(Document.kind) == TRAVEL_ORDERS
    )


async def working_roles_of(session: AsyncSession, deployment_id: str) -> set[str]:
    """The roles with work on the deployment: those of its open or completed tasks, and Travel
    once its travel orders are issued (as visible_to has them)."""
    query = (
        select(Task.role, Task.kind)
        .where(Task.deployment_id == deployment_id, col(Task.status).in_(SEEN_TASK_STATUSES))
        .distinct()
    )
    roles: set[str] = set()
    for role, kind in (await session.exec(query)).all():
        roles.add(role)
        behalf = spec_of(kind).on_behalf if role == Role.MEMBER else None
        if behalf is not None:  # the office that completes the member's task for them
            roles.add(behalf)
    orders = select(Document.id).where(
        Document.deployment_id == deployment_id, Document.kind == TRAVEL_ORDERS
    )
    if (await session.exec(orders.limit(1))).first() is not None:
        roles.add(Role.TRAVEL)
    return roles


async def user_can_see(session: AsyncSession, user: User, deployment: Deployment) -> bool:
    """True when the user may see the deployment."""
    actor, parties = actor_of(user), parties_of(deployment)
    if can_see(actor, parties, ()):
        return True  # no need to read its tasks
    return can_see(actor, parties, await working_roles_of(session, deployment.id))


async def visible_deployment(session: AsyncSession, user: User, deployment_id: str) -> Deployment:
    """The deployment, fresh from the database; 404 if there is none or the user may not see it."""
    row = await session.get(Deployment, deployment_id, populate_existing=True)
    if row is None or not await user_can_see(session, user, row):
        raise NotFound(NO_DEPLOYMENT)
    return row


def may_read_document(user: User, deployment: Deployment, document: Document) -> bool:
    """True when the user, who sees the deployment, may read this document of it."""
    if document.kind == TRAVEL_ORDERS:
        return can_read_travel_orders(actor_of(user), parties_of(deployment))
    return True


async def visible_document(
    session: AsyncSession, user: User, deployment_id: str, document_id: int
) -> Document:
    """A document of a deployment the user may see and read; 404 otherwise, alike in every case."""
    deployment = await visible_deployment(session, user, deployment_id)
    document = await session.get(Document, document_id)
    if document is None or document.deployment_id != deployment_id:
        raise NotFound(NO_DOCUMENT)
    if not may_read_document(user, deployment, document):
        raise NotFound(NO_DOCUMENT)
    return document
