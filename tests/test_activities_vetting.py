"""Vetting checks against the roster: clearance, medical and passport, with their boundaries."""

from datetime import date
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.vetting import VettingActivities
from crc.db import session_factory
from crc.domain import ClearanceLevel
from crc.lifecycle import RecordRenewal, VettingCheck, VettingFailure, VettingReport, VettingRequest
from crc.tables import Member
from tests.factories import add, member, post

END = date(2027, 3, 1)
SIX_MONTHS_AFTER_END = date(2027, 9, 1)


async def _vet(
    engine: AsyncEngine, waived: list[VettingCheck] | None = None, **member_fields: Any
) -> VettingReport:
    """Vet a member (the factory's, with `member_fields`) for a SECRET post until END."""
    fields: dict[str, Any] = {
        "clearance_level": ClearanceLevel.SECRET.value,
        "clearance_expires": END,
        "medical_expires": END,
        "passport_expires": SIX_MONTHS_AFTER_END,
    }
    fields.update(member_fields)
    m, p = member(**fields), post(code="JUB", clearance_required=ClearanceLevel.SECRET.value)
    await add(engine, m, p)
    assert m.id is not None
    request = VettingRequest(
        deployment_id="d-1", member_id=m.id, post_code=p.code, end_date=END, waived=waived or []
    )
    return await ActivityEnvironment().run(VettingActivities(engine).vet_member, request)


async def test_valid_through_the_end_date_passes_every_check(engine: AsyncEngine) -> None:
    assert await _vet(engine) == VettingReport(failures=[])


async def test_higher_clearance_than_required_passes(engine: AsyncEngine) -> None:
    assert await _vet(engine, clearance_level=ClearanceLevel.TOP_SECRET.value) == VettingReport()


async def test_lower_clearance_fails_for_security(engine: AsyncEngine) -> None:
    report = await _vet(engine, clearance_level=ClearanceLevel.CONFIDENTIAL.value)
    assert report.failures == [
        VettingFailure(
            check=VettingCheck.CLEARANCE,
            role="security",
            reason="Security clearance is confidential; post JUB requires secret",
            required_level="secret",
        )
    ]


async def test_clearance_expiring_the_day_before_the_end_fails(engine: AsyncEngine) -> None:
    report = await _vet(engine, clearance_expires=date(2027, 2, 28))
    assert report.failures == [
        VettingFailure(
            check=VettingCheck.CLEARANCE,
            role="security",
            reason="Security clearance expires 2027-02-28, before the end date 2027-03-01",
            required_level="secret",
        )
    ]


async def test_clearance_without_expiry_fails(engine: AsyncEngine) -> None:
    report = await _vet(engine, clearance_expires=None)
    assert report.failures == [
        VettingFailure(
            check=VettingCheck.CLEARANCE,
            role="security",
            reason="Security clearance has no expiry date on record",
            required_level="secret",
        )
    ]


async def test_post_requiring_no_clearance_accepts_none(engine: AsyncEngine) -> None:
    m = member(clearance_level=ClearanceLevel.NONE.value, clearance_expires=None)
    p = post(code="DIL", clearance_required=ClearanceLevel.NONE.value)
    await add(engine, m, p)
    assert m.id is not None
    request = VettingRequest(deployment_id="d-1", member_id=m.id, post_code="DIL", end_date=END)
    report = await ActivityEnvironment().run(VettingActivities(engine).vet_member, request)
    assert [f.check for f in report.failures] == []


async def test_medical_expiring_before_the_end_fails_for_medical(engine: AsyncEngine) -> None:
    report = await _vet(engine, medical_expires=date(2027, 1, 10))
    assert report.failures == [
        VettingFailure(
            check=VettingCheck.MEDICAL,
            role="medical",
            reason="Medical clearance expires 2027-01-10, before the end date 2027-03-01",
        )
    ]


async def test_medical_without_expiry_fails(engine: AsyncEngine) -> None:
    report = await _vet(engine, medical_expires=None)
    assert report.failures == [
        VettingFailure(
            check=VettingCheck.MEDICAL,
            role="medical",
            reason="Medical clearance has no expiry date on record",
        )
    ]


async def test_passport_valid_exactly_six_months_past_the_end_passes(engine: AsyncEngine) -> None:
    assert await _vet(engine, passport_expires=SIX_MONTHS_AFTER_END) == VettingReport()


async def test_passport_one_day_short_of_six_months_fails_for_security(engine: AsyncEngine) -> None:
    report = await _vet(engine, passport_expires=date(2027, 8, 31))
    assert report.failures == [
        VettingFailure(
            check=VettingCheck.PASSPORT,
            role="security",
            reason=(
                "Passport expires 2027-08-31; it must be valid until 2027-09-01, "
                "six months past the end date 2027-03-01"
            ),
        )
    ]


async def test_passport_without_expiry_fails(engine: AsyncEngine) -> None:
    report = await _vet(engine, passport_expires=None)
    assert [(f.check, f.reason) for f in report.failures] == [
        (VettingCheck.PASSPORT, "Passport has no expiry date on record")
    ]


async def test_every_failure_reported_in_check_order(engine: AsyncEngine) -> None:
    report = await _vet(
        engine,
        clearance_expires=date(2026, 1, 1),
        medical_expires=date(2026, 1, 1),
        passport_expires=date(2026, 1, 1),
    )
    assert [(f.check, f.role) for f in report.failures] == [
        (VettingCheck.CLEARANCE, "security"),
        (VettingCheck.MEDICAL, "medical"),
        (VettingCheck.PASSPORT, "security"),
    ]


async def test_waived_checks_are_skipped(engine: AsyncEngine) -> None:
    report = await _vet(
        engine,
        waived=[VettingCheck.CLEARANCE, VettingCheck.PASSPORT],
        clearance_expires=date(2026, 1, 1),
        medical_expires=date(2026, 1, 1),
        passport_expires=date(2026, 1, 1),
    )
    assert [f.check for f in report.failures] == [VettingCheck.MEDICAL]


async def test_unknown_member_is_a_non_retryable_missing_row(engine: AsyncEngine) -> None:
    await add(engine, post(code="JUB"))
    request = VettingRequest(deployment_id="d-1", member_id=999, post_code="JUB", end_date=END)
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(VettingActivities(engine).vet_member, request)
    assert (raised.value.type, raised.value.non_retryable) == ("MissingRow", True)


@pytest.mark.parametrize(
    ("check", "field"),
    [
        (VettingCheck.CLEARANCE, "clearance_expires"),
        (VettingCheck.MEDICAL, "medical_expires"),
        (VettingCheck.PASSPORT, "passport_expires"),
    ],
)
async def test_record_renewal_sets_the_members_expiry(
    engine: AsyncEngine, check: VettingCheck, field: str
) -> None:
    m = member(
        clearance_expires=date(2026, 1, 1),
        medical_expires=date(2026, 1, 1),
        passport_expires=date(2026, 1, 1),
    )
    await add(engine, m)
    assert m.id is not None
    renewal = RecordRenewal(member_id=m.id, check=check, valid_until=date(2029, 6, 30))
    await ActivityEnvironment().run(VettingActivities(engine).record_renewal, renewal)
    async with session_factory(engine)() as session:
        stored = await session.get(Member, m.id)
    assert stored is not None
    expiries = {f: getattr(stored, f) for f in ("clearance_expires", "medical_expires", "passport_expires")}
    assert expiries == {
        f: date(2029, 6, 30) if f == field else date(2026, 1, 1)
        for f in ("clearance_expires", "medical_expires", "passport_expires")
    }


async def test_no_clearance_fails_for_security(engine: AsyncEngine) -> None:
    report = await _vet(engine, clearance_level=ClearanceLevel.NONE.value, clearance_expires=None)
    assert report.failures == [
        VettingFailure(
            check=VettingCheck.CLEARANCE,
            role="security",
            reason="No security clearance; post JUB requires secret",
            required_level="secret",
        )
    ]


async def test_an_unknown_clearance_level_fails_rather_than_erring(engine: AsyncEngine) -> None:
    report = await _vet(engine, clearance_level="cosmic")
    assert report.failures == [
        VettingFailure(
            check=VettingCheck.CLEARANCE,
            role="security",
            reason="Security clearance level 'cosmic' is not a known level",
            required_level="secret",
        )
    ]
