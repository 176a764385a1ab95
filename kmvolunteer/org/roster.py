"""Roster import: read a CSV or XLSX of members, validate every row, then import all or nothing."""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kmvolunteer.auth.models import User
from kmvolunteer.core import audit
from kmvolunteer.core.errors import ServiceError
from kmvolunteer.core.passwords import new_initial_password
from kmvolunteer.core.text import is_mobile, normalize_phone
from kmvolunteer.extensions import db
from kmvolunteer.org.models import Branch, Member, members_changed

# Column key → header names accepted (the template uses the first, Chinese, one).
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "name"),
    "phone": ("手机号", "手机号码", "phone", "mobile"),
    "agency": ("单位", "所在单位", "agency"),
    "branch": ("支部", "所在支部", "党支部", "branch"),
    "post": ("职务", "岗位", "post"),
}
REQUIRED = ("name", "phone", "agency", "branch")
MAX_COLUMNS = 20  # cells beyond this column are not read
XLSX_MAX_PARTS = 100  # a workbook of one sheet has about a dozen
XLSX_MAX_RATIO = 100  # a spreadsheet part packs some 5–20 to one; a bomb a thousand to one
XLSX_RATIO_FROM = 2**20  # ... but a small part may pack tightly
TEMPLATE_EXAMPLE = ("张三", "13812345678", "昆明市民政局", "机关第一党支部", "科员")


@dataclass
class RosterRow:
    line: int
    name: str
    phone: str
    agency: str
    branch_name: str
    post: str
    branch: Branch | None = None


@dataclass
class RosterCheck:
    rows: list[RosterRow] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.problems and bool(self.rows)


@dataclass
class ImportedMember:
    member: Member
    username: str
    password: str


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel stores phone numbers typed as numbers as floats
    return str(value).strip()


def _decode_csv(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ServiceError(_("The CSV file is not in UTF-8 or GBK text."))


def read_table(filename: str, data: bytes) -> list[list[str]]:
    """The file's rows as lists of text cells, header first."""
    if len(data) > current_app.config["ROSTER_MAX_BYTES"]:
        raise ServiceError(_("The file is too large."))
    lower = (filename or "").lower()
    if lower.endswith(".csv"):
        try:
            return [[_cell(c) for c in row] for row in csv.reader(io.StringIO(_decode_csv(data)))]
        except csv.Error as exc:  # a cell over csv.field_size_limit() (128 KiB), or a NUL byte
            raise ServiceError(
                _(
                    "A cell of the CSV file is too long or contains characters that cannot be "
                    "used; nothing was imported."
                )
            ) from exc
    if lower.endswith(".xlsx"):
        if not data.startswith(b"PK"):
            raise ServiceError(_("The file is not a valid XLSX workbook."))
        from openpyxl import load_workbook  # uses defusedxml when installed

        try:
            _check_unpacked_size(data)
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            sheet = workbook.worksheets[0]
            # The sheet's declared size (A1:XFD1048576) is not believed: rows are read one at a time as
            # far as they go, at most the row cap (header and one more, to tell there are too many).
            sheet.reset_dimensions()
            limit = current_app.config["ROSTER_MAX_ROWS"] + 2
            rows = [
                [_cell(c) for c in row] for row in sheet.iter_rows(max_row=limit, max_col=MAX_COLUMNS, values_only=True)
            ]
            workbook.close()
            return rows
        except ServiceError:
            raise
        except Exception as exc:
            raise ServiceError(_("The file is not a valid XLSX workbook.")) from exc
    raise ServiceError(_("Upload a .xlsx or .csv file."))


def _check_unpacked_size(data: bytes) -> None:
    """Refuse a zip bomb before any XML is parsed: too many parts, parts declared or found (by unpacking
    them, a chunk at a time) to be larger than XLSX_MAX_UNPACKED in all, or packed far more tightly
    than a spreadsheet is. A part whose declared size lies fails its checksum (BadZipFile)."""
    limit = current_app.config["ROSTER_XLSX_MAX_UNPACKED"]
    too_large = ServiceError(
        _(
            "The workbook unpacks to more than %(mb)d MB; nothing was imported. Remove "
            "what is not the list of members, or upload it as CSV.",
            mb=limit // 2**20,
        )
    )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = archive.infolist()
        if len(parts) > XLSX_MAX_PARTS:
            raise ServiceError(_("The workbook has too many parts to be a list of members; nothing was imported."))
        if sum(part.file_size for part in parts) > limit:
            raise too_large
        for part in parts:
            if part.file_size > XLSX_RATIO_FROM and part.file_size > XLSX_MAX_RATIO * part.compress_size:
                raise ServiceError(
                    _(
                        "The workbook is packed unusually tightly, as files made to attack a "
                        "site are; nothing was imported. Save it again in Excel, or upload it "
                        "as CSV."
                    )
                )
        unpacked = 0
        for part in parts:
            with archive.open(part) as stream:
                while chunk := stream.read(2**16):
                    unpacked += len(chunk)
                    if unpacked > limit:
                        raise too_large


def _header_map(header: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, title in enumerate(header):
        label = title.strip().lower()
        for key, names in COLUMNS.items():
            if label in {n.lower() for n in names} and key not in found:
                found[key] = index
    return found


def check_roster(table: list[list[str]], branches: list[Branch]) -> RosterCheck:
    """Validate every row against the branches the uploader may fill.

    Problems name the spreadsheet row number (the header is row 1).
    """
    check = RosterCheck()
    rows = [r for r in table if any(c for c in r)]
    if not rows:
        raise ServiceError(_("The file is empty."))
    columns = _header_map(rows[0])
    missing = [COLUMNS[key][0] for key in REQUIRED if key not in columns]
    if missing:
        raise ServiceError(_("The header row lacks the columns: %(cols)s.", cols="、".join(missing)))
    if len(rows) == 1:
        raise ServiceError(_("The file has a header row but no members below it."))
    if len(rows) - 1 > current_app.config["ROSTER_MAX_ROWS"]:
        raise ServiceError(_("The file has more than %(n)d rows.", n=current_app.config["ROSTER_MAX_ROWS"]))

    by_name = {(b.agency.name, b.name): b for b in branches}
    seen_phones: dict[str, int] = {}
    parsed: list[RosterRow] = []
    for line, raw in enumerate(table[1:], start=2):
        if not any(c for c in raw):
            continue

        def get(key: str, raw: list[str] = raw) -> str:
            index = columns.get(key)
            return raw[index].strip() if index is not None and index < len(raw) else ""

        row = RosterRow(line, get("name"), normalize_phone(get("phone")), get("agency"), get("branch"), get("post"))
        reasons = []
        if not row.name:
            reasons.append(_("name is missing"))
        elif len(row.name) > 50:
            reasons.append(_("name is longer than 50 characters"))
        if not row.phone:
            reasons.append(_("phone is missing"))
        elif not is_mobile(row.phone):
            reasons.append(_("phone %(phone)s is not an 11-digit mobile number", phone=row.phone))
        elif row.phone in seen_phones:
            reasons.append(_("phone %(phone)s repeats row %(line)d", phone=row.phone, line=seen_phones[row.phone]))
        else:
            seen_phones[row.phone] = line
        row.branch = by_name.get((row.agency, row.branch_name))
        if row.branch is None:
            reasons.append(
                _(
                    "unknown branch %(agency)s %(branch)s (or not yours to fill)",
                    agency=row.agency,
                    branch=row.branch_name,
                )
            )
        if len(row.post) > 100:
            reasons.append(_("post is longer than 100 characters"))
        if reasons:
            check.problems.append((line, "；".join(reasons)))
        parsed.append(row)

    phones = [r.phone for r in parsed if is_mobile(r.phone)]
    taken = _taken_phones(phones)
    for row in parsed:
        if row.phone in taken:
            check.problems.append(
                (row.line, _("phone %(phone)s already belongs to a member or account", phone=row.phone))
            )
    check.problems.sort()
    check.rows = parsed
    return check


def _taken_phones(phones: list[str]) -> set[str]:
    taken: set[str] = set()
    for start in range(0, len(phones), 500):
        chunk = phones[start : start + 500]
        taken.update(db.session.scalars(select(Member.phone).where(Member.phone.in_(chunk), Member.active.is_(True))))
        taken.update(db.session.scalars(select(User.username).where(User.username.in_(chunk))))
    return taken


def import_roster(check: RosterCheck, *, source: str) -> list[ImportedMember]:
    """Create every member with an account (username = phone). All or nothing: the caller commits."""
    if not check.clean:
        raise ServiceError(_("The file has problems; nothing was imported."))
    imported: list[ImportedMember] = []
    for row in check.rows:
        assert row.branch is not None
        password, password_hash = new_initial_password()
        user = User(
            username=row.phone,
            display_name=row.name,
            password_hash=password_hash,
            must_change_password=True,
            home_area=row.branch.agency.area,
        )
        member = Member(name=row.name, phone=row.phone, post=row.post, branch=row.branch, user=user)
        db.session.add_all([user, member])
        imported.append(ImportedMember(member, row.phone, password))
    # Another import may have taken one of these phones since the check. The message is translated
    # first: after a failed flush, nothing may touch the session (the language is the user's) until
    # the caller rolls back.
    taken = _(
        "Some of these members were added by someone else at the same time; nothing was imported. "
        "Upload the file again to see which."
    )
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise ServiceError(taken) from exc
    members_changed.send(None, member_ids=[item.member.id for item in imported])
    for item in imported:
        audit.record(
            "member.imported",
            item.member,
            scope_path=item.member.branch.agency.area.path,
            summary=f"{item.member.name} {source}",
            after={"name": item.member.name, "branch": item.member.branch.full_name(), "post": item.member.post},
        )
    return imported


def template_rows() -> list[tuple[str, ...]]:
    return [tuple(names[0] for names in COLUMNS.values()), TEMPLATE_EXAMPLE]
