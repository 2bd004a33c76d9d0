"""The roster's pages: search, a member's page, and the admin's add, edit, retire, windows,
certificates and CSV import and export."""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import TypeAdapter, ValidationError
from sqlmodel import col, select
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from crc.availability import busy_members
from crc.domain import AGENCIES, LANGUAGE_LEVELS, SECTORS, ClearanceLevel, Component, WindowKind
from crc.fields import A_DATE, BLANK_IS_NONE, Text, WholeNumber
from crc.members import (
    CertificateFields,
    MemberFields,
    MemberPatch,
    WindowFields,
    read_languages,
    write_languages,
)
from crc.requests import MemberId
from crc.roles import REQUEST_ROLES, Role
from crc.tables import Course, Deployment, User
from web.deps import PageUser, SessionDep, require_page_roles
from web.filters import PageAgency, PageComponent, PageDate, PageSector
from web.flash import flash
from web.pages.common import nav, see_other
from web.pages.forms import form_values, parse_values
from web.services import members as edits
from web.services.errors import FieldError, InvalidFields
from web.services.requests import today_utc
from web.services.roster import RosterSearch, certificates_of, check_courses, search_roster, windows_of
from web.services.roster_csv import MAX_BYTES, dry_run, export_roster, import_roster
from web.services.roster_pages import roster_cards
from web.services.visibility import visible_to
from web.templating import page_or_fragment, render

router = APIRouter()
PageAdmin = Annotated[User, Depends(require_page_roles(Role.ADMIN))]
# Who may open a member's page (windows, certificates, deployments): the admin and the offices
# that staff deployments.
PageViewer = Annotated[User, Depends(require_page_roles(Role.ADMIN, Role.PLANNING, Role.RESOURCE_MANAGEMENT))]
VIEWERS = {Role.ADMIN.value, Role.PLANNING.value, Role.RESOURCE_MANAGEMENT.value}
PageText = Annotated[str, Text(200, required=False)]
PageLevel = Annotated[
    Annotated[int, WholeNumber(0, 5, "must be an ILR level from 0 to 5")] | None, BLANK_IS_NONE
]
PageCourse = Annotated[str, Text(32, required=False)]
FORM_FIELDS = (
    "name",
    "email",
    "agency",
    "component",
    "languages",
    "clearance_level",
    "clearance_granted",
    "clearance_expires",
    "medical_expires",
    "passport_expires",
)


def _search(
    q: PageText = "",
    sector: PageSector = "",
    component: PageComponent = "",
    agency: PageAgency = "",
    language: PageText = "",
    min_level: PageLevel = None,
    certificate: PageCourse = "",
    missing_certificate: PageCourse = "",
    available_from: PageDate = None,
    available_to: PageDate = None,
    include_retired: str = "",
) -> RosterSearch:
    return RosterSearch(
        name=q,
        sector=sector or None,
        component=component or None,
        agency=agency or None,
        language=language.strip() or None,
        min_level=min_level,
        certificate=certificate.strip() or None,
        missing_certificate=missing_certificate.strip() or None,
        available_from=available_from,
        available_to=available_to,
        include_retired=include_retired in ("1", "on", "true"),
    )


PageSearch = Annotated[RosterSearch, Depends(_search)]


def _filters(search: RosterSearch) -> dict[str, str]:
    return {
        "q": search.name,
        "sector": search.sector or "",
        "component": search.component or "",
        "agency": search.agency or "",
        "language": search.language or "",
        "min_level": "" if search.min_level is None else str(search.min_level),
        "certificate": search.certificate or "",
        "missing_certificate": search.missing_certificate or "",
        "available_from": search.available_from.isoformat() if search.available_from else "",
        "available_to": search.available_to.isoformat() if search.available_to else "",
        **({"include_retired": "1"} if search.include_retired else {}),
    }


@router.get("/members")
async def members(request: Request, session: SessionDep, user: PageUser, search: PageSearch) -> Response:
    """The roster searched: members with certificates, whether they are free, and the table for htmx."""
    today = today_utc()
    await check_courses(session, search)
    cards = await roster_cards(session, search, user=user, today=today)
    context = {
        "cards": cards,
        "today": today,
        "filters": _filters(search),
        "sectors": SECTORS,
        "components": [str(c) for c in Component],
        "agencies": AGENCIES,
        "levels": LANGUAGE_LEVELS,
        "courses": await _course_codes(session),
        "can_request": bool(REQUEST_ROLES & set(user.roles)),
        "is_admin": Role.ADMIN in user.roles,
        "can_view": bool(VIEWERS & set(user.roles)),
        **await nav(session, user),
    }
    return page_or_fragment(request, "members.html", "partials/member_table.html", context, user=user)


async def _course_codes(session: SessionDep) -> list[str]:
    return list((await session.exec(select(Course.code).order_by(Course.code))).all())


@router.get("/members.csv")
async def members_csv(session: SessionDep, user: PageAdmin, search: PageSearch) -> Response:
    """The roster searched, as CSV (admin)."""
    today = today_utc()
    await check_courses(session, search)
    search.check(today)
    text = await export_roster(session, await search_roster(session, search, today=today))
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="roster.csv"'},
    )


def _values_of(member: Any) -> dict[str, str]:
    values = {
        name: "" if getattr(member, name) is None else str(getattr(member, name)) for name in FORM_FIELDS
    }
    values["languages"] = write_languages(member.languages, member.language_levels)
    return values


def _check_form(values: dict[str, str], sectors: list[str]) -> MemberFields:
    """The member the form describes, or InvalidFields naming every bad field."""
    languages, levels, problems = read_languages(values.get("languages", ""))
    given = {k: v for k, v in values.items() if k != "languages"}
    try:
        fields = edits.check_member(
            given | {"sectors": sectors, "languages": languages, "language_levels": levels}
        )
    except InvalidFields as err:
        raise InvalidFields([FieldError("languages", p) for p in problems[:1]] + err.errors) from None
    if problems:
        raise InvalidFields([FieldError("languages", problems[0])])
    return fields


def _form_errors(err: InvalidFields) -> dict[str, str]:
    found: dict[str, str] = {}
    for e in err.errors:
        name = e.field.split(".")[0]
        found.setdefault("languages" if name == "language_levels" else name, e.msg)
    return found


def _form_context(values: dict[str, str], sectors: list[str], errors: dict[str, str]) -> dict[str, Any]:
    return {
        "values": values,
        "chosen_sectors": sectors,
        "errors": errors,
        "sectors": SECTORS,
        "components": [str(c) for c in Component],
        "agencies": AGENCIES,
        "levels": [str(c) for c in ClearanceLevel],
    }


@router.get("/members/new")
async def new_member_form(request: Request, session: SessionDep, user: PageAdmin) -> Response:
    """The admin's form for a new member."""
    values = dict.fromkeys(FORM_FIELDS, "")
    context = _form_context(values, [], {}) | {"member": None} | await nav(session, user)
    return render(request, "member_form.html", context, user=user)


@router.post("/members/new")
async def add_member(request: Request, session: SessionDep, user: PageAdmin) -> Response:
    """Add the member, or show the form again with a message per bad field."""
    form = await request.form()
    values = form_values(form, FORM_FIELDS)
    sectors = [str(s) for s in form.getlist("sectors")]
    try:
        fields = _check_form(values, sectors)
        member = await edits.create_member(session, fields)
    except InvalidFields as err:
        context = (
            _form_context(values, sectors, _form_errors(err)) | {"member": None} | await nav(session, user)
        )
        return render(request, "member_form.html", context, user=user, status_code=422)
    flash(request, f"Added {member.name} to the roster.")
    return see_other(request, f"/members/{member.id}")


@router.get("/members/import")
async def import_form(request: Request, session: SessionDep, user: PageAdmin) -> Response:
    """Upload a roster CSV for a dry run."""
    context = {"report": None, "csv_text": "", "errors": {}, **await nav(session, user)}
    return render(request, "member_import.html", context, user=user)


async def _upload(form: FormData) -> bytes | None:
    upload = form.get("file")
    if isinstance(upload, UploadFile):
        return await upload.read(MAX_BYTES + 1)
    text = form.get("csv_text")
    return text.encode() if isinstance(text, str) and text else None


@router.post("/members/import")
async def import_members(request: Request, session: SessionDep, user: PageAdmin) -> Response:
    """A dry run of the uploaded CSV (every row's errors, nothing written), or with confirm=1
    the import itself: every row in one transaction, or nothing."""
    form = await request.form()
    data = await _upload(form)
    if not data:
        context = {
            "report": None,
            "csv_text": "",
            "errors": {"file": "choose a CSV file"},
            **await nav(session, user),
        }
        return render(request, "member_import.html", context, user=user, status_code=422)
    confirm = form.get("confirm") == "1"
    report = await (import_roster(session, data) if confirm else dry_run(session, data))
    if confirm and not report.errors:
        flash(request, f"Imported the roster: {report.count('add')} added, {report.count('update')} updated.")
        return see_other(request, "/members")
    context = {
        "report": report,
        "csv_text": data.decode("utf-8-sig", errors="replace") if not report.errors else "",
        "errors": {},
        **await nav(session, user),
    }
    return render(
        request, "member_import.html", context, user=user, status_code=422 if report.errors else 200
    )


@router.get("/members/{member_id}")
async def member_page(
    request: Request, member_id: MemberId, session: SessionDep, user: PageViewer
) -> Response:
    """One member: their fields, windows, certificates, deployments and whether they are free today."""
    return render(request, "member.html", await _member_context(session, user, member_id), user=user)


async def _member_context(
    session: SessionDep,
    user: User,
    member_id: int,
    errors: dict[str, str] | None = None,
    window: dict[str, str] | None = None,
    cert: dict[str, str] | None = None,
) -> dict[str, Any]:
    member = await edits.get_member(session, member_id)
    today = today_utc()
    busy = await busy_members(session, [member_id], first=today, last=today, today=today)
    deployments = (
        await session.exec(
            select(Deployment)
            .where(Deployment.member_id == member_id, visible_to(user))
            .order_by(col(Deployment.start_date).desc())
        )
    ).all()
    return {
        "member": member,
        "today": today,
        "busy": busy.get(member_id),
        "certificates": (await certificates_of(session, [member_id])).get(member_id, []),
        "windows": (await windows_of(session, [member_id])).get(member_id, []),
        "deployments": deployments,
        "is_admin": Role.ADMIN in user.roles,
        "kinds": [str(k) for k in WindowKind],
        "courses": await _course_codes(session),
        "errors": errors or {},
        "window": window or {},
        "cert": cert or {},
        **await nav(session, user),
    }


@router.get("/members/{member_id}/edit")
async def edit_member_form(
    request: Request, member_id: MemberId, session: SessionDep, user: PageAdmin
) -> Response:
    """The admin's form for one member."""
    member = await edits.get_member(session, member_id)
    context = (
        _form_context(_values_of(member), list(member.sectors), {})
        | {"member": member}
        | await nav(session, user)
    )
    return render(request, "member_form.html", context, user=user)


@router.post("/members/{member_id}/edit")
async def edit_member(
    request: Request, member_id: MemberId, session: SessionDep, user: PageAdmin
) -> Response:
    """Save the member, or show the form again with a message per bad field."""
    member = await edits.get_member(session, member_id)
    form = await request.form()
    values = form_values(form, FORM_FIELDS)
    sectors = [str(s) for s in form.getlist("sectors")]
    try:
        fields = _check_form(values, sectors)
        await edits.update_member(session, member_id, MemberPatch.model_validate(fields.model_dump()))
    except InvalidFields as err:
        context = (
            _form_context(values, sectors, _form_errors(err)) | {"member": member} | await nav(session, user)
        )
        return render(request, "member_form.html", context, user=user, status_code=422)
    flash(request, f"Saved {fields.name}.")
    return see_other(request, f"/members/{member_id}")


@router.get("/members/{member_id}/retire")
async def retire_form(
    request: Request, member_id: MemberId, session: SessionDep, user: PageAdmin
) -> Response:
    """Ask the admin to confirm retiring the member."""
    member = await edits.get_member(session, member_id)
    context = {
        "member": member,
        "values": {"retired_on": today_utc().isoformat()},
        "errors": {},
        **await nav(session, user),
    }
    return render(request, "member_retire.html", context, user=user)


RETIRED_ON: TypeAdapter[date | None] = TypeAdapter(Annotated[Annotated[date, A_DATE] | None, BLANK_IS_NONE])


@router.post("/members/{member_id}/retire")
async def retire(request: Request, member_id: MemberId, session: SessionDep, user: PageAdmin) -> Response:
    """Retire the member from the chosen day."""
    member = await edits.get_member(session, member_id)
    form = await request.form()
    values = form_values(form, ("retired_on",))
    try:
        on = RETIRED_ON.validate_python(values["retired_on"]) or today_utc()
    except ValidationError:
        context = {
            "member": member,
            "values": values,
            "errors": {"retired_on": "must be a date (YYYY-MM-DD)"},
            **await nav(session, user),
        }
        return render(request, "member_retire.html", context, user=user, status_code=422)
    await edits.retire_member(session, member_id, on)
    flash(request, f"Retired {member.name} from {on.isoformat()}.")
    return see_other(request, f"/members/{member_id}")


@router.post("/members/{member_id}/windows")
async def add_window(request: Request, member_id: MemberId, session: SessionDep, user: PageAdmin) -> Response:
    """Record days the member is away, or show their page with a message per bad field."""
    form = await request.form()
    values = form_values(form, tuple(WindowFields.model_fields))
    try:
        window = parse_values(WindowFields, values)
        await edits.add_window(session, member_id, window)
    except InvalidFields as err:
        context = await _member_context(session, user, member_id, errors=err.by_field(), window=values)
        return render(request, "member.html", context, user=user, status_code=422)
    flash(request, "Recorded the availability window.")
    return see_other(request, f"/members/{member_id}")


@router.post("/members/{member_id}/windows/{window_id}/delete")
async def delete_window(
    request: Request, member_id: MemberId, window_id: MemberId, session: SessionDep, user: PageAdmin
) -> Response:
    """Remove one of the member's windows."""
    await edits.delete_window(session, member_id, window_id)
    flash(request, "Removed the availability window.")
    return see_other(request, f"/members/{member_id}")


@router.post("/members/{member_id}/certificates")
async def add_certificate(
    request: Request, member_id: MemberId, session: SessionDep, user: PageAdmin
) -> Response:
    """Record a certificate, or show the member's page with a message per bad field."""
    form = await request.form()
    values = form_values(form, tuple(CertificateFields.model_fields))
    try:
        cert = parse_values(CertificateFields, values)
        await edits.record_certificate(session, member_id, cert)
    except InvalidFields as err:
        context = await _member_context(session, user, member_id, errors=err.by_field(), cert=values)
        return render(request, "member.html", context, user=user, status_code=422)
    flash(request, f"Recorded the {cert.course_code} certificate.")
    return see_other(request, f"/members/{member_id}")


@router.post("/members/{member_id}/certificates/{course_code}/delete")
async def delete_certificate(
    request: Request, member_id: MemberId, course_code: str, session: SessionDep, user: PageAdmin
) -> Response:
    """Remove one of the member's certificates."""
    await edits.delete_certificate(session, member_id, course_code)
    flash(request, f"Removed the {course_code} certificate.")
    return see_other(request, f"/members/{member_id}")
