"""XLSX export from one row iterator (openpyxl write-only, streamed out in chunks).

The same rows feed the print view, so the paper and the spreadsheet cannot disagree.
Text cells that a spreadsheet would read as a formula (= + - @, and tab/CR) are neutralised.
"""
from __future__ import annotations

import tempfile
from typing import Any, Iterable, Iterator

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 64 * 1024


def safe_cell(value: Any) -> Any:
    """A value safe for a spreadsheet cell: text that looks like a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _width(header: str) -> float:
    return max(8.0, min(40.0, 2.2 * len(header) + 4))


def write_xlsx(title: str, headers: list[str], rows: Iterable[Iterable[Any]], *,
               widths: list[float] | None = None) -> Iterator[bytes]:
    """Yield an XLSX file (one sheet named ``title``, frozen bold header row) in chunks.

    Rows are written as they come (write-only mode keeps memory flat), the
    workbook goes to a temporary file, and the file is streamed out.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(title))
    sheet.freeze_panes = "A2"
    for index, header in enumerate(headers):
        letter = _column_letter(index)
        sheet.column_dimensions[letter].width = widths[index] if widths else _width(header)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=safe_cell(str(header)))
        cell.font = Font(bold=True)
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append([safe_cell(value) for value in row])
    with tempfile.TemporaryFile() as handle:
        workbook.save(handle)
        handle.seek(0)
        while chunk := handle.read(CHUNK):
            yield chunk


def _sheet_title(title: str) -> str:
    cleaned = "".join("_" if c in '[]:*?/\\' else c for c in title).strip("'")
    return (cleaned or "Sheet")[:31]


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def content_disposition(filename: str) -> str:
    """An attachment header that survives non-ASCII (Chinese) file names."""
    from urllib.parse import quote

    ascii_name = "".join(c if c.isascii() and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
