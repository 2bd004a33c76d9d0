"""A change of a post's threat level: the request Operations sends, and the signal every open
deployment at the post receives to re-evaluate what depends on it (kit, training, clearance,
danger pay)."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field

from crc.domain import ClearanceLevel, ThreatLevel
from crc.fields import OneOf, Text

PATCH_THREAT_CHANGE = "crc-threat-change"
REASON_MAX = 2000

Threat = Annotated[str, OneOf(tuple(ThreatLevel))]
Clearance = Annotated[str, OneOf(tuple(ClearanceLevel))]
DangerPay = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]


class ThreatLevelChange(BaseModel):
    """A post's new threat level and why; the rules that go with it may change in the same step."""

    threat_level: Threat
    reason: Annotated[str, Text(REASON_MAX)]
    clearance_required: Clearance | None = None  # none given: as it was
    danger_pay_pct: DangerPay | None = None  # none given: as it was


class ThreatChange(BaseModel):
    """The signal: the post's rules as they now stand, and who changed them when."""

    key: str  # the change's id: tasks it opens are keyed by it (the same on every replay)
    post_code: str
    previous: str
    threat_level: str
    clearance_raised: bool = False  # the post now requires a higher clearance than before
    danger_pay_changed: bool = False
    changed_by: str
    changed_by_name: str
    reason: str
    at: datetime
