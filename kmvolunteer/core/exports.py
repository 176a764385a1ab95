"""One row iterator feeds both CSV and XLSX, so the two can never disagree.

Both writers stream: CSV line by line; XLSX through openpyxl's write-only
workbook into a temporary file that is then sent in chunks, so a city-wide
table never sits in memory. Cells starting with = + - @ (or a tab / carriage
return) are neutralised with a leading quote, so a spreadsheet never runs a
name typed by a user as a formula.
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from datetime import date, datetime
from typing import Any, Iterable, Iterator, Sequence
from urllib.parse import quote

from flask import Response, stream_with_context

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 64 * 1024


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (int, float, date, datetime)):
        return value
    return neutralise(str(value))


def _disposition(filename: str) -> str:
    ascii_name = filename.encode("ascii", "ignore").decode() or "export"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield "\ufeff"  # Excel opens UTF-8 CSV correctly only with a BOM
    writer.writerow([_cell(v) for v in header])
    for row in rows:
        writer.writerow([_cell(v) for v in row])
        if buffer.tell() > CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    body = (line.encode("utf-8") for line in csv_lines(header, rows))
    return Response(stream_with_context(body), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": _disposition(filename)})


def write_xlsx(target: Any, header: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str = "Sheet1",
               widths: Sequence[int] | None = None) -> None:
    """Write the rows to ``target`` (a path or a binary file) with openpyxl's write-only workbook."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    for index, width in enumerate(widths or (), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    head = []
    for value in header:
        cell = WriteOnlyCell(sheet, value=_cell(value))
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=_cell(value))
            if isinstance(cell.value, str):
                cell.number_format = "@"  # phone numbers and serials stay text
            cells.append(cell)
        sheet.append(cells)
    workbook.save(target)


def xlsx_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]], *,
                  title: str = "Sheet1", widths: Sequence[int] | None = None) -> Response:
    """Build the workbook in a temporary file, then stream it and remove the file."""
    handle = tempfile.NamedTemporaryFile(prefix="kmv-export-", suffix=".xlsx", delete=False)
    handle.close()
    try:
        write_xlsx(handle.name, header, rows, title=title, widths=widths)
        size = os.path.getsize(handle.name)
    except Exception:
        os.unlink(handle.name)
        raise

    def chunks() -> Iterator[bytes]:
        try:
            with open(handle.name, "rb") as stream:
                while block := stream.read(CHUNK):
                    yield block
        finally:
            os.unlink(handle.name)

    return Response(chunks(), mimetype=XLSX_MIMETYPE,
                    headers={"Content-Disposition": _disposition(filename), "Content-Length": str(size)})


def export_response(kind: str, filename_stem: str, header: Sequence[str], rows: Iterable[Sequence[Any]], *,
                    title: str = "Sheet1", widths: Sequence[int] | None = None) -> Response:
    """``kind`` is "xlsx" or "csv"; anything else is a ValueError."""
    if kind == "xlsx":
        return xlsx_response(f"{filename_stem}.xlsx", header, rows, title=title, widths=widths)
    if kind == "csv":
        return csv_response(f"{filename_stem}.csv", header, rows)
    raise ValueError(kind)
