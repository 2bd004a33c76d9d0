"""Open deployments by country, by stage: the readiness page's map and its table."""

from pydantic import BaseModel, Field
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.stage_counts import StageCount
from crc.stages import TERMINAL, Stage
from crc.tables import Post

OPEN_STAGES: tuple[str, ...] = tuple(str(s) for s in Stage if s not in TERMINAL)


class CountryCount(BaseModel):
    """A country's open deployments (any stage not ended), in all and by stage."""

    country: str
    open: int = Field(ge=1)
    by_stage: dict[str, int] = Field(description="stage: count, in lifecycle order, none left out")


class CountriesPublic(BaseModel):
    """Every country with an open deployment, most first."""

    countries: list[CountryCount]
    total: int = Field(ge=0)


async def open_by_country(session: AsyncSession) -> CountriesPublic:
    """One statement on the counts the database keeps per stage and post (crc.stage_counts),
    joined to the posts by their key: a few dozen rows however many deployments there are."""
    query = (
        select(col(Post.country), col(StageCount.stage), func.sum(StageCount.n))
        .join(Post, col(Post.code) == col(StageCount.post_code))
        .where(col(StageCount.stage).in_(OPEN_STAGES), col(StageCount.n) > 0)
        .group_by(col(Post.country), col(StageCount.stage))
    )
    found: dict[str, dict[str, int]] = {}
    for country, stage, n in (await session.exec(query)).all():
        found.setdefault(country, {})[stage] = int(n)
    countries = [
        CountryCount(
            country=country,
            open=sum(stages.values()),
            by_stage={s: stages[s] for s in OPEN_STAGES if s in stages},
        )
        for country, stages in found.items()
    ]
    countries.sort(key=lambda c: (-c.open, c.country))
    return CountriesPublic(countries=countries, total=sum(c.open for c in countries))
