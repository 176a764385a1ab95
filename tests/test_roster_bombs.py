"""Upload bombs (issue 13, item 11): a roster file is refused within 1 s and 50 MB, whatever it declares.

The bomb files are generated here: a sheet declaring A1:XFD1048576, a sharedStrings.xml bomb, a zip
member whose declared size lies, a deeply compressed member, and too many members.
"""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zipfile

import pytest

from kmvolunteer.core.errors import ServiceError
from kmvolunteer.org import roster
from tests.conftest import row_count

HEADER = ["姓名", "手机号", "单位", "支部", "职务"]
MB = 1024 * 1024

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)
SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<dimension ref="{dimension}"/><sheetData>'
)
SHEET_TAIL = "</sheetData></worksheet>"
EMPTY_STRINGS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="0" uniqueCount="0"/>'
)


def _row(number: int, cells: list[str]) -> str:
    inline = "".join(
        f'<c r="{chr(65 + i)}{number}" t="inlineStr"><is><t>{text}</t></is></c>' for i, text in enumerate(cells)
    )
    return f'<row r="{number}">{inline}</row>'


def _workbook(
    sheet: str | bytes, shared: str | bytes = EMPTY_STRINGS, *, level: int = 6, extra: int = 0, chunks: int = 1
) -> bytes:
    """An XLSX written by hand; ``sheet`` and ``shared`` are written ``chunks`` times over (a bomb
    grows in the compressor, never in this process's memory), ``extra`` adds empty members."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        for name, body in (("xl/worksheets/sheet1.xml", sheet), ("xl/sharedStrings.xml", shared)):
            with archive.open(name, "w") as member:
                if isinstance(body, str):
                    member.write(body.encode())
                else:  # (head, repeated, tail)
                    head, repeated, tail = body
                    member.write(head)
                    for _ in range(chunks):
                        member.write(repeated)
                    member.write(tail)
        for index in range(extra):
            archive.writestr(f"xl/media/empty{index}.xml", "")
    return buffer.getvalue()


def _lie_about_size(data: bytes, name: str, declared: int) -> bytes:
    """The same zip, its central directory and local header claiming ``name`` is ``declared`` bytes."""
    raw = bytearray(data)
    encoded = name.encode()
    local = raw.find(b"PK\x03\x04")
    while local != -1:
        name_length = struct.unpack_from("<H", raw, local + 26)[0]
        if bytes(raw[local + 30 : local + 30 + name_length]) == encoded:
            struct.pack_into("<I", raw, local + 22, declared)
        local = raw.find(b"PK\x03\x04", local + 4)
    central = raw.find(b"PK\x01\x02")
    while central != -1:
        name_length = struct.unpack_from("<H", raw, central + 28)[0]
        if bytes(raw[central + 46 : central + 46 + name_length]) == encoded:
            struct.pack_into("<I", raw, central + 24, declared)
        central = raw.find(b"PK\x01\x02", central + 4)
    return bytes(raw)


GOOD_ROWS = _row(1, HEADER) + _row(2, ["赵一", "13911110001", "五华区民政局", "机关党支部", "科员"])


def dimension_bomb() -> bytes:
    """5 KB that declares the whole sheet, 16,384 columns by 1,048,576 rows, in use."""
    return _workbook(SHEET_HEAD.format(dimension="A1:XFD1048576") + GOOD_ROWS + SHEET_TAIL)


def far_row_bomb() -> bytes:
    """A header, then one cell at the last row and column: everything in between is 'empty rows'."""
    return _workbook(
        SHEET_HEAD.format(dimension="A1:XFD1048576")
        + _row(1, HEADER)
        + '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
        + SHEET_TAIL
    )


def shared_strings_bomb() -> bytes:
    """~60 KB of zip whose sharedStrings.xml unpacks to 24 MB of short strings, over a million of
    them (the bomb seen was 600 KB for 600 MB: made smaller here to be made quickly)."""
    head = (
        b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    )
    return _workbook(
        SHEET_HEAD.format(dimension="A1:E2") + GOOD_ROWS + SHEET_TAIL,
        (head, b"<si><t>ab</t></si>" * (MB // 18), b"</sst>"),
        level=9,
        chunks=24,
    )


def deep_member_bomb() -> bytes:
    """A sheet of a modest 4 MB, but blank space compressed a thousand to one, as bombs are."""
    head = (SHEET_HEAD.format(dimension="A1:E2") + GOOD_ROWS).encode()
    return _workbook((head, b" " * MB, SHEET_TAIL.encode()), level=9, chunks=4)


def lying_size_bomb() -> bytes:
    """The sheet says it is 2 KB; it unpacks to 16 MB."""
    head = (SHEET_HEAD.format(dimension="A1:E2") + GOOD_ROWS).encode()
    honest = _workbook((head, b" " * MB, SHEET_TAIL.encode()), level=9, chunks=16)
    return _lie_about_size(honest, "xl/worksheets/sheet1.xml", 2048)


def many_members_bomb() -> bytes:
    return _workbook(SHEET_HEAD.format(dimension="A1:E2") + GOOD_ROWS + SHEET_TAIL, extra=300)


def _measure(call):
    """(result or ServiceError, seconds, peak bytes of Python memory) of call()."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = call()
    except ServiceError as exc:
        result = exc
    finally:
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return result, seconds, peak


BOMBS = [
    (shared_strings_bomb, "unpacks to more than"),
    (deep_member_bomb, "packed unusually tightly"),
    (lying_size_bomb, "not a valid XLSX"),
    (many_members_bomb, "too many parts"),
]


@pytest.mark.parametrize("bomb, message", BOMBS)
def test_bombs_are_refused_within_1_s_and_50_mb(app, english, bomb, message):
    data = bomb()
    assert len(data) < app.config["ROSTER_MAX_BYTES"]
    with app.test_request_context():
        result, seconds, peak = _measure(lambda: roster.read_table("bomb.xlsx", data))
    assert isinstance(result, ServiceError), result
    assert message in result.message
    assert seconds < 1, seconds
    assert peak < 50 * MB, peak


@pytest.mark.parametrize("bomb", [dimension_bomb, far_row_bomb])
def test_a_sheet_declaring_every_cell_is_read_only_as_far_as_it_goes(app, bomb):
    """The declared size of a sheet is ignored: rows and columns are capped, rows read one by one."""
    data = bomb()
    assert len(data) < 10_000
    with app.test_request_context():
        result, seconds, peak = _measure(lambda: roster.read_table("bomb.xlsx", data))
    assert not isinstance(result, ServiceError), result.message
    assert seconds < 1, seconds
    assert peak < 50 * MB, peak
    assert result[0][:5] == HEADER
    assert len(result) <= app.config["ROSTER_MAX_ROWS"] + 2
    assert max(len(row) for row in result) <= roster.MAX_COLUMNS


def test_too_many_real_rows_are_refused(app, english, world):
    rows = "".join(_row(n, ["x", "13911110001", "a", "b", ""]) for n in range(2, app.config["ROSTER_MAX_ROWS"] + 3))
    data = _workbook(SHEET_HEAD.format(dimension="A1:E9") + _row(1, HEADER) + rows + SHEET_TAIL)
    with pytest.raises(ServiceError) as excinfo:
        roster.check_roster(roster.read_table("r.xlsx", data), [world.branch])
    assert "more than" in excinfo.value.message


def test_a_hand_written_workbook_still_imports(app, world):
    data = _workbook(SHEET_HEAD.format(dimension="A1:E2") + GOOD_ROWS + SHEET_TAIL)
    check = roster.check_roster(roster.read_table("r.xlsx", data), [world.branch])
    assert check.clean and [r.phone for r in check.rows] == ["13911110001"]


@pytest.mark.parametrize("bomb, message", BOMBS)
def test_a_bomb_uploaded_over_http_gets_a_message_and_imports_nothing(world, login, english, bomb, message):
    user = login("branch_secretary")
    user.get("/roster/import")
    before = row_count()
    response = user.post(
        "/roster/import", {"file": (io.BytesIO(bomb()), "bomb.xlsx")}, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert row_count() == before
