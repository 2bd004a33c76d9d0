"""Close-out: actual deployment-days and their cost, recorded when the deployment completes."""

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.read_model import ReadModelActivities
from activities.rows import require
from crc.costs import estimate_cost
from crc.db import session_factory
from crc.lifecycle import CloseOutRequest, CloseOutResult, completed
from crc.tables import Deployment, Member, Post

# Named, non-retryable: leaving before arriving is a caller's mistake.
ERR_INVALID_DATES = "InvalidDates"


class CloseOutActivities:
    """The deployment's final figures, owned by one database engine."""

    def __init__(self, engine: AsyncEngine, read_model: ReadModelActivities | None = None) -> None:
        self._sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
        # Sends the release notice a close-out carries.
        self._read_model = read_model

    @activity.defn(name="close_out")
    async def close_out(self, request: CloseOutRequest) -> CloseOutResult:
        """Count the days from arrival to departure (both included), cost them, store the cost."""
        days = (request.left_on - request.arrived_on).days + 1
        if days < 1:
            raise ApplicationError(
                f"left on {request.left_on}, before arriving on {request.arrived_on}",
                type=ERR_INVALID_DATES,
                non_retryable=True,
            )
        if request.notice is not None:  # idempotent by its key, like every notice
            assert self._read_model is not None, "a notice needs the read-model's writer"
            await self._read_model.notify_role(request.notice)
        async with self._sessions.begin() as session:
            member = await require(session, Member, request.member_id)
            post = await require(session, Post, request.post_code)
            deployment = await require(session, Deployment, request.deployment_id)
            cost = estimate_cost(
                days=days,
                per_diem_usd=post.per_diem_usd,
                annual_salary_usd=member.annual_salary_usd,
                danger_pay_pct=post.danger_pay_pct,
                post_differential_pct=post.post_differential_pct,
            )
            deployment.cost_actual_usd = cost.total_usd
        result = CloseOutResult(days=days, cost_usd=cost.total_usd)
        if request.completion is not None:  # the move into COMPLETED, telling the figures
            assert self._read_model is not None, "a move needs the read-model's writer"
            await self._read_model.record_stage(completed(result, request.completion))
        return result
