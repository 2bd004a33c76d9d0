"""The roster and the posts: /api/v1/members (search; the admin adds, edits and retires members,
their availability windows and certificates, and exports the roster as CSV) and /api/v1/posts."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from crc.fields import INT32_MAX, IsoDate, Text, WholeNumber
from crc.members import CertificateFields, MemberFields, MemberPatch, RetireFields, WindowFields
from crc.requests import MemberId
from crc.roles import Role
from crc.tables import User
from web.api.responses import BY_ID, documented
from web.deps import CurrentUser, SessionDep, require_roles
from web.filters import AgencyFilter, ComponentFilter, SectorFilter
from web.schemas import CertificatePublic, MemberPublic, Page, PostPublic, WindowPublic
from web.services import members as edits
from web.services.requests import today_utc
from web.services.roster import (
    RosterSearch,
    check_courses,
    list_members,
    list_posts,
    members_public,
    search_roster,
)
from web.services.roster_csv import export_roster

router = APIRouter(tags=["roster"])
AdminUser = Annotated[User, Depends(require_roles(Role.ADMIN.value))]
ADMIN_ONLY = documented(403)
CourseFilter = Annotated[str, Text(32)]
WindowId = Annotated[int, WholeNumber(1, INT32_MAX, "must be an availability window's id")]
LevelFilter = Annotated[int, WholeNumber(0, 5, "must be an ILR level from 0 to 5")]


class MemberQuery:
    """The roster's search, read from the query string."""

    def __init__(
        self,
        q: Annotated[str, Query(max_length=200, description="a part of the name, any case")] = "",
        sector: SectorFilter | None = None,
        component: ComponentFilter | None = None,
        agency: AgencyFilter | None = None,
        language: Annotated[str | None, Query(max_length=40, description="speaks this language")] = None,
        min_level: Annotated[
            LevelFilter | None, Query(description="with language: at least this ILR level")
        ] = None,
        certificate: Annotated[
            CourseFilter | None, Query(description="holds a certificate of this course, valid today")
        ] = None,
        missing_certificate: Annotated[
            CourseFilter | None, Query(description="holds no valid certificate of this course")
        ] = None,
        available_from: Annotated[
            IsoDate | None,
            Query(description="only members free from this day (to available_to, else that day)"),
        ] = None,
        available_to: Annotated[
            IsoDate | None,
            Query(description="only members free up to this day (from available_from, else today)"),
        ] = None,
        include_retired: Annotated[bool, Query(description="also members who retired")] = False,
    ) -> None:
        self.search = RosterSearch(
            name=q,
            sector=sector,
            component=component,
            agency=agency,
            language=language,
            min_level=min_level,
            certificate=certificate,
            missing_certificate=missing_certificate,
            available_from=available_from,
            available_to=available_to,
            include_retired=include_retired,
        )


Search = Annotated[MemberQuery, Depends()]


@router.get("/members")
async def read_members(session: SessionDep, _user: CurrentUser, query: Search) -> Page[MemberPublic]:
    """Roster members matching every filter given; `available` says whether each is free over the
    asked dates (default: today): not in a running deployment, nor on leave or other duties."""
    await check_courses(session, query.search)
    members = await list_members(session, query.search, today=today_utc())
    return Page(items=members, total=len(members))


@router.get(
    "/members.csv",
    responses={200: {"content": {"text/csv": {}}, "description": "The roster as CSV"}, **ADMIN_ONLY},
    response_class=Response,
)
async def export_members(session: SessionDep, _admin: AdminUser, query: Search) -> Response:
    """The members matching the filters as CSV (the columns web.services.roster_csv describes)."""
    await check_courses(session, query.search)
    query.search.check(today_utc())
    members = await search_roster(session, query.search, today=today_utc())
    return Response(
        await export_roster(session, members),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="roster.csv"'},
    )


async def _one(session: SessionDep, member_id: int) -> MemberPublic:
    member = await edits.get_member(session, member_id)
    today = today_utc()
    (public,) = await members_public(session, [member], first=today, last=today, today=today)
    return public


@router.post(
    "/members", status_code=status.HTTP_201_CREATED, responses=ADMIN_ONLY, response_model=MemberPublic
)
async def create_member(body: MemberFields, session: SessionDep, _admin: AdminUser) -> MemberPublic:
    """Add a member to the roster (admin). The email must be one no other member has."""
    member = await edits.create_member(session, body)
    assert member.id is not None
    return await _one(session, member.id)


@router.get("/members/{member_id}", responses=BY_ID)
async def read_member(member_id: MemberId, session: SessionDep, _user: CurrentUser) -> MemberPublic:
    """One member, retired or not; `available` is for today."""
    return await _one(session, member_id)


@router.patch("/members/{member_id}", responses={**ADMIN_ONLY, **BY_ID})
async def update_member(
    member_id: MemberId, body: MemberPatch, session: SessionDep, _admin: AdminUser
) -> MemberPublic:
    """Change the fields given (admin); the rest stay as they are."""
    await edits.update_member(session, member_id, body)
    return await _one(session, member_id)


@router.post("/members/{member_id}/retire", responses={**ADMIN_ONLY, **BY_ID, **documented(409)})
async def retire_member(
    member_id: MemberId, body: RetireFields, session: SessionDep, _admin: AdminUser
) -> MemberPublic:
    """Retire the member from `retired_on` (default today; admin): from that day they are left
    out of searches and cannot be requested. Their deployments and certificates stay."""
    await edits.retire_member(session, member_id, body.retired_on or today_utc())
    return await _one(session, member_id)


@router.post(
    "/members/{member_id}/windows", status_code=status.HTTP_201_CREATED, responses={**ADMIN_ONLY, **BY_ID}
)
async def add_window(
    member_id: MemberId, body: WindowFields, session: SessionDep, _admin: AdminUser
) -> WindowPublic:
    """Record days the member is away, leave or other duties (admin): not available then."""
    return WindowPublic.model_validate(await edits.add_window(session, member_id, body))


@router.delete(
    "/members/{member_id}/windows/{window_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**ADMIN_ONLY, **BY_ID},
    response_class=Response,
)
async def delete_window(
    member_id: MemberId, window_id: WindowId, session: SessionDep, _admin: AdminUser
) -> Response:
    """Remove one of the member's availability windows (admin)."""
    await edits.delete_window(session, member_id, window_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/members/{member_id}/certificates",
    status_code=status.HTTP_201_CREATED,
    responses={**ADMIN_ONLY, **BY_ID, **documented(409)},
)
async def record_certificate(
    member_id: MemberId, body: CertificateFields, session: SessionDep, _admin: AdminUser
) -> CertificatePublic:
    """Record the member's certificate of a course passed on `issued_on` (admin); it replaces the
    one they hold of that course, and expires as the course's validity says."""
    return CertificatePublic.model_validate(await edits.record_certificate(session, member_id, body))


@router.delete(
    "/members/{member_id}/certificates/{course_code}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**ADMIN_ONLY, **BY_ID},
    response_class=Response,
)
async def delete_certificate(
    member_id: MemberId, course_code: str, session: SessionDep, _admin: AdminUser
) -> Response:
    """Remove the member's certificate of a course (admin)."""
    await edits.delete_certificate(session, member_id, course_code)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/posts")
async def read_posts(session: SessionDep, _user: CurrentUser) -> Page[PostPublic]:
    """Every receiving post."""
    posts = await list_posts(session)
    return Page(items=posts, total=len(posts))
