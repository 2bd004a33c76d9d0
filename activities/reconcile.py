"""Starts the workflows of deployment rows whose start was lost (a web process that died between
writing the row and starting its workflow), so no request is left without its workflow."""

from datetime import timedelta

from pydantic import BaseModel, Field
from sqlalchemy import exists
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from crc.db import session_factory
from crc.operation_tables import OperationDeployment
from crc.settings import Settings
from crc.stages import Stage
from crc.starting import start_deployment, workflow_input
from crc.tables import Deployment, Member, utcnow


class OrphanSweep(BaseModel):
    """Look at rows still REQUESTED this long after they were written (the web starts at once)."""

    older_than_seconds: float = 60


class OrphanSweepResult(BaseModel):
    """The deployments whose workflows the sweep started."""

    started: list[str] = Field(default_factory=list)


class ReconcileActivities:
    """The sweep, owned by one database engine and one Temporal client."""

    def __init__(self, engine: AsyncEngine, client: Client, settings: Settings, task_queue: str) -> None:
        self._sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
        self._client = client
        self._settings = settings
        self._task_queue = task_queue

    @activity.defn(name="start_orphans")
    async def start_orphans(self, sweep: OrphanSweep) -> OrphanSweepResult:
        """Start the workflow of every REQUESTED row old enough to have lost its start."""
        before = utcnow() - timedelta(seconds=sweep.older_than_seconds)
        query = (
            select(Deployment, Member)
            .join(Member, col(Member.id) == col(Deployment.member_id))
            .where(Deployment.stage == Stage.REQUESTED, col(Deployment.created_at) < before)
            # An operation's deployment is its child: the operation starts it (again, on replay).
            .where(~exists().where(col(OperationDeployment.deployment_id) == col(Deployment.id)))
        )
        async with self._sessions() as session:
            rows = list((await session.exec(query)).all())
        started = []
        for row, member in rows:
            activity.heartbeat(row.id)
            if await self._exists(row.workflow_id):
                continue
            request = workflow_input(row, member, self._settings)
            if await start_deployment(self._client, request, task_queue=self._task_queue):
                activity.logger.warning("started the lost workflow of deployment %s", row.id)
                started.append(row.id)
        return OrphanSweepResult(started=started)

    async def _exists(self, workflow_id: str) -> bool:
        try:
            await self._client.get_workflow_handle(workflow_id).describe()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        return True
