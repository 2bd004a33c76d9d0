"""The roster as CSV: export, and an import that is checked row by row (a dry run) before it writes
every row in one transaction, or nothing.

Columns (header row first; cells with several values separate them with ";"):
name, email, agency, component, sectors (rule_of_law;security_sector), languages (a language
and its ILR level, fr:3;ar:2, or a language alone), clearance_level, clearance_granted,
clearance_expires, medical_expires, passport_expires (YYYY-MM-DD or empty), certificates (course
and the day it was passed, FACT:2026-01-15;CRC-ORIENT:2025-06-01), retired_on (empty while on
the roster). A row whose email a member has updates that member; any other row adds a member.
An import never removes certificates or members that the file leaves out.
"""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from crc.fields import A_DATE
from crc.members import CertificateFields, read_languages, write_languages
from crc.tables import Certificate, Course, Member
from web.services.errors import InvalidFields
from web.services.members import apply_fields, certificate_row, check_member, email_owner, member_values
from web.services.roster import certificates_of

COLUMNS: tuple[str, ...] = (
    "name",
    "email",
    "agency",
    "component",
    "sectors",
    "languages",
    "clearance_level",
    "clearance_granted",
    "clearance_expires",
    "medical_expires",
    "passport_expires",
    "certificates",
    "retired_on",
)
# Under the pages' form limit (web.bounds.MAX_FORM_BODY_BYTES, 256 KB), which the upload and the
# confirmation (the file sent back as multipart text) both meet: about a thousand members.
MAX_BYTES = 240 * 1024
MAX_ROWS = 5000
_DATE: TypeAdapter[date] = TypeAdapter(Annotated[date, A_DATE])
# The model's fields that a column holds under another name.
_COLUMN_OF = {"language_levels": "languages"}


@dataclass(frozen=True)
class RowError:
    """What is wrong with one cell: the row as a spreadsheet numbers it (the header is 1)."""

    row: int
    column: str
    message: str


@dataclass
class RowPlan:
    """What importing one row would do: "add", "update" or "unchanged" (when it has no errors)."""

    row: int
    email: str
    name: str
    action: str = ""
    member: Member | None = None
    values: dict[str, Any] = field(default_factory=dict)
    certificates: list[CertificateFields] = field(default_factory=list)


@dataclass
class ImportReport:
    """The dry run: every row's plan and every error; nothing is written while there are errors."""

    rows: list[RowPlan] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def count(self, action: str) -> int:
        """How many rows would do this."""
        return sum(1 for r in self.rows if r.action == action)


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def _languages(cell: str, row: int, errors: list[RowError]) -> tuple[list[str], dict[str, Any]]:
    languages, levels, problems = read_languages(cell)
    errors.extend(RowError(row, "languages", p) for p in problems)
    return languages, levels


def _certificates(cell: str, row: int, errors: list[RowError]) -> list[CertificateFields]:
    found = []
    for part in _split(cell):
        code, _, issued = part.partition(":")
        try:
            found.append(CertificateFields(course_code=code.strip(), issued_on=issued.strip()))  # type: ignore[arg-type]
        except ValidationError:
            errors.append(
                RowError(row, "certificates", f"{part}: write a course code and a date, FACT:2026-01-15")
            )
    return found


def _retired_on(cell: str, row: int, errors: list[RowError]) -> date | None:
    if not cell.strip():
        return None
    try:
        return _DATE.validate_python(cell.strip())
    except ValidationError:
        errors.append(RowError(row, "retired_on", "must be a date (YYYY-MM-DD) or empty"))
        return None


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection): the export
# puts a quote before it, which spreadsheets hide, and the import takes it off again.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def _unsafe(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(_FORMULA_START) else cell


def _cells(record: dict[str, str | None]) -> dict[str, str]:
    return {name: _unsafe((record.get(name) or "").strip()) for name in COLUMNS}


def _read(data: bytes, report: ImportReport) -> list[tuple[int, dict[str, str]]]:
    if len(data) > MAX_BYTES:
        report.errors.append(
            RowError(1, "", f"the file is larger than {MAX_BYTES // 1024} KB; import it in parts")
        )
        return []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        report.errors.append(RowError(1, "", "the file is not UTF-8 text; save it as CSV UTF-8"))
        return []
    if "\x00" in text:
        report.errors.append(RowError(1, "", "the file holds NUL characters; save it as CSV UTF-8"))
        return []
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS]
    report.errors.extend(RowError(1, c, "the header has no such column") for c in missing)
    report.errors.extend(
        RowError(1, c, f"unknown column; the columns are {', '.join(COLUMNS)}") for c in unknown
    )
    if missing or unknown:
        return []
    rows = []
    for number, record in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            report.errors.append(RowError(number, "", f"a file holds at most {MAX_ROWS} members"))
            break
        if None in record:  # more cells than the header names
            report.errors.append(RowError(number, "", "the row has more cells than the header"))
            continue
        rows.append((number, _cells(record)))
    return rows


async def dry_run(session: AsyncSession, data: bytes) -> ImportReport:
    """Check every row and work out what it would do; writes nothing."""
    report = ImportReport()
    rows = _read(data, report)
    courses = set((await session.exec(select(Course.code))).all())
    seen: dict[str, int] = {}
    for number, cells in rows:
        plan = RowPlan(row=number, email=cells["email"], name=cells["name"])
        report.rows.append(plan)
        errors: list[RowError] = []
        languages, levels = _languages(cells["languages"], number, errors)
        values: dict[str, Any] = {
            **{
                name: cells[name]
                for name in COLUMNS
                if name not in ("sectors", "languages", "certificates", "retired_on")
            },
            "sectors": _split(cells["sectors"]),
            "languages": languages,
            "language_levels": levels,
        }
        certificates = _certificates(cells["certificates"], number, errors)
        errors.extend(
            RowError(number, "certificates", f"{c.course_code}: no course has this code")
            for c in certificates
            if c.course_code not in courses
        )
        retired_on = _retired_on(cells["retired_on"], number, errors)
        try:
            checked = check_member(values)
        except InvalidFields as err:
            for e in err.errors:
                name = e.field.split(".")[0]
                errors.append(RowError(number, _COLUMN_OF.get(name, name), e.msg))
            checked = None
        key = cells["email"].lower()
        if key in seen:
            errors.append(RowError(number, "email", f"row {seen[key]} has this email too"))
        elif key:
            seen[key] = number
        report.errors.extend(errors)
        if errors or checked is None:
            continue
        plan.values = checked.model_dump() | {"retired_on": retired_on}
        plan.certificates = certificates
        member = await email_owner(session, checked.email)
        plan.member = member
        plan.action = "add" if member is None else await _change(session, member, plan)
    report.errors.sort(key=lambda e: (e.row, COLUMNS.index(e.column) if e.column in COLUMNS else -1))
    return report


async def _change(session: AsyncSession, member: Member, plan: RowPlan) -> str:
    current = member_values(member) | {"retired_on": member.retired_on}
    held = {
        c.course_code: c.issued_on
        for c in (await certificates_of(session, [member.id or 0])).get(member.id or 0, [])
    }
    same_certs = all(held.get(c.course_code) == c.issued_on for c in plan.certificates)
    return "unchanged" if current == plan.values and same_certs else "update"


async def import_roster(session: AsyncSession, data: bytes) -> ImportReport:
    """Write every row in one transaction, or (with any error) nothing: the report says which."""
    report = await dry_run(session, data)
    if report.errors:
        await session.rollback()
        return report
    try:
        for plan in report.rows:
            if plan.action == "unchanged":
                continue
            member = plan.member or Member(**plan.values)
            member.retired_on = plan.values["retired_on"]
            checked = check_member({k: v for k, v in plan.values.items() if k != "retired_on"})
            apply_fields(member, checked)
            session.add(member)
            await session.flush()
            assert member.id is not None
            for cert in plan.certificates:
                await certificate_row(session, member.id, cert)
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return report


async def export_roster(session: AsyncSession, members: Sequence[Member]) -> str:
    """The members as CSV text, in the columns an import reads."""
    ids = [m.id for m in members if m.id is not None]
    certs = await certificates_of(session, ids)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for m in members:
        held: list[Certificate] = certs.get(m.id or 0, [])
        writer.writerow(
            _safe(cell)
            for cell in [
                m.name,
                m.email,
                m.agency,
                m.component,
                ";".join(m.sectors),
                write_languages(m.languages, m.language_levels),
                m.clearance_level,
                *(
                    d.isoformat() if d else ""
                    for d in (m.clearance_granted, m.clearance_expires, m.medical_expires, m.passport_expires)
                ),
                ";".join(f"{c.course_code}:{c.issued_on.isoformat()}" for c in held),
                m.retired_on.isoformat() if m.retired_on else "",
            ]
        )
    return out.getvalue()
