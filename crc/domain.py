"""Domain vocabulary of the Civilian Response Corps: components, agencies, levels."""

from enum import StrEnum


class Component(StrEnum):
    """CRC-A deploy within 48 hours; CRC-S within 30 days and only with agency consent."""

    ACTIVE = "active"
    STANDBY = "standby"


class ThreatLevel(StrEnum):
    """A post's threat level; high and critical posts need ballistic protection."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class ClearanceLevel(StrEnum):
    """Security clearance levels, ordered from lowest to highest."""

    NONE = "none"
    CONFIDENTIAL = "confidential"
    SECRET = "secret"  # noqa: S105 - a clearance level, not a credential
    TOP_SECRET = "top_secret"  # noqa: S105

    @property
    def rank(self) -> int:
        """Position in the order, so levels can be compared."""
        return list(ClearanceLevel).index(self)


class WindowKind(StrEnum):
    """Why a member is away for an availability window."""

    LEAVE = "leave"
    OTHER_DUTY = "other_duty"


# Language proficiency on the ILR scale: 0 (none) to 5 (functionally native).
LANGUAGE_LEVELS: tuple[int, ...] = (0, 1, 2, 3, 4, 5)

AGENCIES: tuple[str, ...] = (
    "State",
    "USAID",
    "Agriculture",
    "Commerce",
    "HHS",
    "Homeland Security",
    "Justice",
    "Treasury",
    "Transportation",
)

SECTORS: tuple[str, ...] = (
    "rule_of_law",
    "transitional_governance",
    "economic_stabilization",
    "essential_services",
    "security_sector",
    "strategic_communication",
)

MIN_DURATION_DAYS = 1
MAX_DURATION_DAYS = 365
# The longest the workflow holds a decision so that its maker may undo it.
MAX_UNDO_SECONDS = 60
# Standby members deploy within 30 days: a sooner start needs an urgent justification.
STANDBY_NOTICE_DAYS = 30
# Post (hardship) differential is paid only after this many days on detail.
POST_DIFFERENTIAL_AFTER_DAYS = 42

# Course codes (crc.tables.Course.code): FACT and orientation for everyone, plus a briefing
# per post, `briefing_course_code(post_code)`. The dev seed creates these courses.
COURSE_FACT = "FACT"
COURSE_ORIENTATION = "CRC-ORIENT"
# FACT is required abroad for this many cumulative days in 12 months.
FACT_REQUIRED_AFTER_DAYS = 90


def briefing_course_code(post_code: str) -> str:
    """The code of the country pre-deployment briefing for a post."""
    return f"PDB-{post_code}"


# Kit SKUs held in depot stock (crc.tables.StockItem.sku).
SKU_INDIVIDUAL_KIT = "KIT-INDIVIDUAL"
SKU_BALLISTIC_VEST = "VEST-BALLISTIC"
SKU_HELMET = "HELMET"
SKU_MEDICAL_KIT = "MEDKIT-TEAM"
SKU_SATELLITE_PHONE = "SATPHONE"
