"""Roles people hold, and which of them approve a deployment."""

from enum import StrEnum
from typing import Final


class Role(StrEnum):
    """A role a user holds; tasks name the role that may complete them."""

    REQUESTER = "requester"
    PLANNING = "planning"
    RESOURCE_MANAGEMENT = "resource_management"
    CHIEF_OF_MISSION = "chief_of_mission"
    HOME_AGENCY = "home_agency"
    SECURITY = "security"
    MEDICAL = "medical"
    TRAINING = "training"
    LOGISTICS = "logistics"
    TRAVEL = "travel"
    OPERATIONS = "operations"
    CONFLICT_PREVENTION = "conflict_prevention"
    DIRECTOR = "director"
    MEMBER = "member"
    ADMIN = "admin"


# Offices that approve every request; the home agency joins them for Standby members.
APPROVING_OFFICES: tuple[Role, ...] = (
    Role.PLANNING,
    Role.RESOURCE_MANAGEMENT,
    Role.CHIEF_OF_MISSION,
)

# Who may submit requests and who may cancel any deployment.
REQUEST_ROLES: frozenset[Role] = frozenset({Role.REQUESTER, Role.ADMIN})
CANCEL_ANY_ROLES: frozenset[Role] = frozenset({Role.DIRECTOR, Role.ADMIN})

# Who sees every deployment (need-to-know: others see only those they are a party to or hold a
# task on), and who of those who see one may also read its travel orders.
SEE_ALL_ROLES: frozenset[Role] = frozenset(
    {Role.OPERATIONS, Role.PLANNING, Role.RESOURCE_MANAGEMENT, Role.DIRECTOR, Role.ADMIN}
)
TRAVEL_ORDER_ROLES: frozenset[Role] = frozenset({Role.TRAVEL, Role.OPERATIONS, Role.ADMIN})

# Who keeps the watchlist of at-risk countries, who may read it, and who drafts contingency plans.
WATCHLIST_KEEPERS: frozenset[Role] = frozenset({Role.CONFLICT_PREVENTION, Role.ADMIN})
WATCHLIST_READERS: frozenset[Role] = WATCHLIST_KEEPERS | {Role.PLANNING, Role.DIRECTOR}
PLAN_AUTHORS: frozenset[Role] = frozenset({Role.CONFLICT_PREVENTION, Role.PLANNING, Role.ADMIN})
# Who may change a post's threat level.
THREAT_LEVEL_ROLES: frozenset[Role] = frozenset({Role.OPERATIONS, Role.DIRECTOR, Role.ADMIN})

# An overdue task is escalated to this role, which may then decide it in the office's stead.
ESCALATION_ROLE = Role.DIRECTOR


class ScopeKind(StrEnum):
    """What the scope of a scoped role names."""

    POST = "post"  # post codes: the posts a Chief of Mission speaks for
    AGENCY = "agency"  # agencies (crc.domain.AGENCIES): whose members a home-agency officer releases
    OFFICE = "office"  # roles: the offices whose escalated tasks a director takes over


# Roles a user may hold for part of their reach only (crc.permissions applies the scope); a
# user's role without a scope, and every other role, covers everything ("all").
SCOPED_ROLES: dict[Role, ScopeKind] = {
    Role.CHIEF_OF_MISSION: ScopeKind.POST,
    Role.HOME_AGENCY: ScopeKind.AGENCY,
    Role.DIRECTOR: ScopeKind.OFFICE,
}
SCOPE_ALL: Final = "all"

# How pages and the timeline name each role.
ROLE_LABELS: dict[Role, str] = {
    Role.REQUESTER: "Requester",
    Role.PLANNING: "Planning",
    Role.RESOURCE_MANAGEMENT: "Resource Management",
    Role.CHIEF_OF_MISSION: "Chief of Mission",
    Role.HOME_AGENCY: "Home agency",
    Role.SECURITY: "Security",
    Role.MEDICAL: "Medical",
    Role.TRAINING: "Training",
    Role.LOGISTICS: "Logistics",
    Role.TRAVEL: "Travel",
    Role.OPERATIONS: "Operations",
    Role.CONFLICT_PREVENTION: "Conflict Prevention",
    Role.DIRECTOR: "Director",
    Role.MEMBER: "Member",
    Role.ADMIN: "Admin",
}
