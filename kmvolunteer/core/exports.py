"""One row iterator per table feeds CSV, XLSX and the print view, so they can never disagree.

A table is a list of Columns (a header and how to get the cell from an item); ``rows()``
turns items into lists of cell values and the writers below only format them. Both
writers stream: CSV line by line, XLSX through openpyxl's write-only workbook into a
temporary file that is then sent in chunks, so a city-wide table never sits in memory.
Text a spreadsheet would run as a formula (= + - @, tab, CR) gets a leading apostrophe.
"""
from __future__ import annotations

import csv
import io
import tempfile
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Sequence
from urllib.parse import quote

from flask import Response, stream_with_context

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Column:
    header: Any  # str or a lazy translation
    value: Callable[[Any], Any]
    width: float = 12
    number_format: str | None = None  # e.g. "0.0" for hours, "0.0%" for rates


def simple_columns(headers: Sequence[Any], widths: Sequence[float] | None = None) -> list[Column]:
    """Columns over rows that are already sequences of cell values."""
    widths = widths or [max(8.0, min(40.0, 2.2 * len(str(h)) + 4)) for h in headers]
    return [Column(h, lambda row, i=i: row[i], w) for i, (h, w) in enumerate(zip(headers, widths))]


def rows(columns: Sequence[Column], items: Iterable[Any]) -> Iterator[list[Any]]:
    for item in items:
        yield [column.value(item) for column in columns]


def neutralise(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_stream(columns: Sequence[Column], items: Iterable[Any]) -> Iterator[bytes]:
    """UTF-8 with a BOM, so Excel opens the Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([str(c.header) for c in columns])
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    for row in rows(columns, items):
        writer.writerow(["" if v is None else neutralise(v) for v in row])
        if buffer.tell() > CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def xlsx_stream(sheets: Sequence[tuple[str, Sequence[Column], Iterable[Any]]]) -> Iterator[bytes]:
    """A workbook with one sheet per table: bold frozen header row, widths, number formats."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for title, columns, items in sheets:
        sheet = workbook.create_sheet(title=_sheet_title(title))
        for index, column in enumerate(columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = column.width
        sheet.freeze_panes = "A2"
        header = []
        for column in columns:
            cell = WriteOnlyCell(sheet, value=neutralise(str(column.header)))
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        formats = [c.number_format for c in columns]
        for row in rows(columns, items):
            cells = []
            for value, number_format in zip(row, formats):
                if number_format and isinstance(value, (int, float)):
                    cell = WriteOnlyCell(sheet, value=value)
                    cell.number_format = number_format
                    cells.append(cell)
                else:
                    cells.append(neutralise(value))
            sheet.append(cells)
    with tempfile.TemporaryFile() as handle:
        workbook.save(handle)
        handle.seek(0)
        while chunk := handle.read(CHUNK):
            yield chunk


def content_disposition(filename: str) -> str:
    """An attachment header that survives Chinese file names."""
    ascii_name = "".join(c if c.isascii() and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def export_response(kind: str, filename_stem: str, columns: Sequence[Column], items: Iterable[Any], *,
                    title: str = "Sheet1") -> Response:
    """A streamed download of one table: ``kind`` is "xlsx" or "csv" (anything else is a ValueError)."""
    if kind == "xlsx":
        body, mimetype = xlsx_stream([(title, columns, items)]), XLSX_MIMETYPE
    elif kind == "csv":
        body, mimetype = csv_stream(columns, items), "text/csv; charset=utf-8"
    else:
        raise ValueError(kind)
    return Response(stream_with_context(body), mimetype=mimetype,
                    headers={"Content-Disposition": content_disposition(f"{filename_stem}.{kind}")})


def _sheet_title(title: str) -> str:
    cleaned = "".join("_" if c in "[]:*?/\\" else c for c in str(title)).strip("'")
    return (cleaned or "Sheet")[:31]
