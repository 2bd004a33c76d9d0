"""The board's progress: places filled, deployments by stage in lifecycle order, and the median
days from a plan's line to the request that filled it."""

from datetime import UTC, date, datetime, timedelta

from web.services.operation_progress import Progress, progress
from web.services.operations import DeploymentInPosition, OperationPublic, PositionPublic

PLANNED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _deployment(n: int, stage: str, after_days: float) -> DeploymentInPosition:
    return DeploymentInPosition(
        id=f"d{n}",
        member_id=n,
        member_name=f"Member {n}",
        stage=stage,
        status="",
        requested_at=PLANNED + timedelta(days=after_days),
    )


def _position(count: int, deployments: list[DeploymentInPosition], *, cut: bool = False) -> PositionPublic:
    filled = sum(1 for d in deployments if d.stage not in {"REJECTED", "EXPIRED", "CANCELLED"})
    return PositionPublic.model_construct(
        id=f"p{count}{len(deployments)}",
        sector="rule_of_law",
        role_title="Adviser",
        languages=[],
        component="any",
        start_date=date(2027, 1, 4),
        duration_days=60,
        count=count,
        post_code="JUB",
        cut=cut,
        filled=filled,
        deployment_ids=[d.id for d in deployments],
        deployments=deployments,
        planned_at=PLANNED,
    )


def _operation(*positions: PositionPublic) -> OperationPublic:
    return OperationPublic.model_construct(id="op", positions=list(positions))


def test_progress_counts_stages_in_lifecycle_order_and_the_median_time_to_fill() -> None:
    operation = _operation(
        _position(2, [_deployment(1, "VETTING", 1.0), _deployment(2, "APPROVAL", 4.5)]),
        # A cancelled request fills nothing and does not count towards the time to fill.
        _position(2, [_deployment(3, "CANCELLED", 0.5), _deployment(4, "APPROVAL", 2.0)]),
        _position(5, [_deployment(5, "TRAVEL", 9.0)], cut=True),
    )
    assert progress(operation, PLANNED + timedelta(days=10, hours=6)) == Progress(
        filled=3,
        places=4,
        by_stage=[("APPROVAL", 2), ("VETTING", 1), ("CANCELLED", 1)],
        days_to_fill=2.0,
        longest_open_days=10.2,
    )


def test_progress_of_an_operation_not_staffed_yet() -> None:
    assert progress(_operation(_position(3, [])), PLANNED + timedelta(hours=12)) == Progress(
        filled=0, places=3, by_stage=[], days_to_fill=None, longest_open_days=0.5
    )
