"""Lessons learned: the after-action reports, searched by text, post and sector.

One query function for both databases: the text match is SQLite FTS5 or PostgreSQL full-text
search (crc.lesson_index), picked by the session's dialect; the rest is the same SQL.
"""

import re
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.lesson_index import FTS_TABLE, PG_REPORT_VECTOR, REPORT_KIND
from crc.tables import Deployment, Member, Post, Task
from web.services.errors import FieldError, InvalidFields

EXCERPT_CHARS = 240
Q_MAX = 200
_WORD = re.compile(r"\w+")
_fts = sa.table(FTS_TABLE, sa.column("task_id"), sa.column("report"))


class Lesson(BaseModel):
    """One after-action report, with no personal data beyond the member's name and the post."""

    deployment_id: str
    member_name: str
    post_code: str
    country: str
    sector: str
    role_title: str
    completed_at: datetime | None
    excerpt: str = Field(description="the part of the report that matches the search (its start without one)")
    report: str


def fts5_match(q: str) -> str | None:
    """An FTS5 query that finds every word of `q` (None: `q` holds no word).

    Each word is quoted, so what a user types is never FTS5 syntax (`"`, `OR`, `NEAR`, `*`, …)."""
    words = _WORD.findall(q)
    return " ".join(f'"{w}"' for w in words) if words else None


def _excerpt(report: str) -> str:
    flat = " ".join(report.split())
    return flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1].rstrip() + "…"


def _report_text() -> sa.ColumnElement[Any]:
    return sa.func.coalesce(col(Task.data)["report"].as_string(), "")


async def search_lessons(
    session: AsyncSession,
    *,
    q: str = "",
    post: str | None = None,
    sector: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Lesson], int]:
    """The completed after-action reports matching the filters, best match (else newest) first."""
    dialect = session.get_bind().dialect.name
    conditions: list[sa.ColumnElement[bool]] = [
        col(Task.kind) == REPORT_KIND,
        col(Task.status) == "completed",
    ]
    if post:
        conditions.append(col(Deployment.post_code) == post)
    if sector:
        conditions.append(col(Deployment.sector) == sector)
    excerpt: sa.ColumnElement[Any] = sa.null()
    rank: sa.ColumnElement[Any] | None = None
    text_join = False
    if q.strip():
        if dialect == "sqlite":
            match = fts5_match(q)
            if match is not None:
                text_join = True
                conditions.append(sa.literal_column(FTS_TABLE).op("MATCH")(sa.bindparam("match", match)))
                excerpt = sa.func.snippet(sa.literal_column(FTS_TABLE), 0, "", "", "…", 24)
                rank = sa.func.bm25(sa.literal_column(FTS_TABLE))  # lower is better
        else:
            # websearch_to_tsquery takes any text (quotes, OR, -) without a syntax error.
            english: sa.ColumnElement[Any] = sa.literal_column("'english'::regconfig")
            query = sa.func.websearch_to_tsquery(english, sa.bindparam("q", q))
            vector: sa.ColumnElement[Any] = sa.literal_column(PG_REPORT_VECTOR)
            conditions.append(vector.op("@@")(query))
            excerpt = sa.func.ts_headline(
                english,
                _report_text(),
                query,
                'StartSel="", StopSel="", MaxWords=40, MinWords=15, ShortWord=2',
            )
            rank = -sa.func.ts_rank(vector, query)
    joined = (
        sa.select(
            col(Task.deployment_id),
            col(Member.name),
            col(Deployment.post_code),
            col(Post.country),
            col(Deployment.sector),
            col(Deployment.role_title),
            col(Task.completed_at),
            _report_text().label("report"),
            excerpt.label("excerpt"),
        )
        .select_from(Task)
        .join(Deployment, col(Deployment.id) == col(Task.deployment_id))
        .join(Member, col(Member.id) == col(Deployment.member_id))
        .join(Post, col(Post.code) == col(Deployment.post_code))
    )
    if text_join:
        joined = joined.join(_fts, _fts.c.task_id == col(Task.id))
    found = joined.where(*conditions)
    total = (await session.exec(select(sa.func.count()).select_from(found.subquery()))).one()
    order = [rank] if rank is not None else []
    # Nine columns, more than SQLModel's select is typed for: the connection runs Core's.
    connection = await session.connection()
    rows = await connection.execute(
        found.order_by(*order, col(Task.completed_at).desc(), col(Task.id)).limit(limit).offset(offset)
    )
    lessons = [
        Lesson(
            deployment_id=r.deployment_id,
            member_name=r.name,
            post_code=r.post_code,
            country=r.country,
            sector=r.sector,
            role_title=r.role_title,
            completed_at=r.completed_at,
            excerpt=" ".join((r.excerpt or "").split()) or _excerpt(r.report),
            report=r.report,
        )
        for r in rows.all()
    ]
    return lessons, int(total)


async def check_post(session: AsyncSession, post: str | None, *, location: str = "query") -> None:
    """A post filter must name a post: an unknown code is a 422, not an empty list."""
    if post and await session.get(Post, post) is None:
        raise InvalidFields([FieldError("post", f"no post has the code {post!r}", post, location)])


async def after_action_report(session: AsyncSession, deployment_id: str) -> Task | None:
    """The deployment's completed after-action report task, if it has one."""
    query = select(Task).where(
        Task.deployment_id == deployment_id, Task.kind == REPORT_KIND, Task.status == "completed"
    )
    return (await session.exec(query.order_by(col(Task.completed_at).desc()))).first()
