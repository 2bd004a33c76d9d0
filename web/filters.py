"""Filters by a named value (a stage, a task kind, a sector, ...): a value nobody knows is a 422.

An unknown value would otherwise match nothing and answer an empty list, as if there were none.
The API's filters are optional; a page's are empty for "any".
"""

from datetime import date
from typing import Annotated

from crc.domain import AGENCIES, SECTORS, Component
from crc.fields import A_DATE, BLANK_IS_NONE, OneOf
from crc.stages import Stage
from crc.tasks import TaskKind
from web.services.inbox import SORTS, VIEWS

STAGES = tuple(str(s) for s in Stage)
TASK_KINDS = tuple(str(k) for k in TaskKind)
COMPONENTS = tuple(str(c) for c in Component)

StageFilter = Annotated[str, OneOf(STAGES)]
TaskKindFilter = Annotated[str, OneOf(TASK_KINDS)]
SectorFilter = Annotated[str, OneOf(SECTORS)]
ComponentFilter = Annotated[str, OneOf(COMPONENTS)]
AgencyFilter = Annotated[str, OneOf(AGENCIES)]

PageStage = Annotated[str, OneOf(STAGES, blank=True)]
PageTaskKind = Annotated[str, OneOf(TASK_KINDS, blank=True)]
PageSector = Annotated[str, OneOf(SECTORS, blank=True)]
PageComponent = Annotated[str, OneOf(COMPONENTS, blank=True)]
PageAgency = Annotated[str, OneOf(AGENCIES, blank=True)]
PageInboxSort = Annotated[str, OneOf(SORTS)]
# A date a page's filter was given: empty for none, else a date (YYYY-MM-DD), not silently dropped.
PageDate = Annotated[Annotated[date, A_DATE] | None, BLANK_IS_NONE]
PageInboxView = Annotated[str, OneOf(VIEWS, blank=True)]
