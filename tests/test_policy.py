"""The timers fixed when a workflow starts, from settings: each number pinned."""

from datetime import date

import pytest

from crc.domain import Component
from crc.policy import approval_policy, lifecycle_policy
from crc.readiness import is_call_up
from crc.settings import Settings

HOUR, DAY = 3600, 86400
TODAY = date(2027, 3, 1)


@pytest.mark.parametrize(
    ("component", "call_up", "due", "reminder_before"),
    [
        (Component.ACTIVE, True, 4 * HOUR, 1 * HOUR),  # due in four hours, reminded at three
        (Component.ACTIVE, False, 24 * HOUR, 6 * HOUR),
        (Component.STANDBY, False, 5 * DAY, 1.25 * DAY),
    ],
)
def test_approval_due_times(component: Component, call_up: bool, due: float, reminder_before: float) -> None:
    policy = approval_policy(Settings(CRC_ENV="dev"), component, call_up=call_up)
    assert (policy.due_seconds, policy.reminder_before_seconds, policy.expire_after_due_multiple) == (
        due,
        reminder_before,
        2.0,
    )


def test_check_in_cadence_and_grace() -> None:
    policy = lifecycle_policy(Settings(CRC_ENV="dev"))
    assert (policy.check_in_every_seconds, policy.check_in_grace_seconds) == (7 * DAY, 24 * HOUR)


@pytest.mark.parametrize(
    ("component", "start", "expected"),
    [
        (Component.ACTIVE, date(2027, 3, 1), True),
        (Component.ACTIVE, date(2027, 3, 3), True),  # 48 hours
        (Component.ACTIVE, date(2027, 3, 4), False),
        (Component.STANDBY, date(2027, 3, 1), False),
    ],
)
def test_a_call_up_is_an_active_member_starting_within_48_hours(
    component: Component, start: date, expected: bool
) -> None:
    assert is_call_up(component, start, TODAY) is expected
