"""One row iterator per table feeds CSV, XLSX and the print view, so they can never disagree.

A table is a list of Columns (header + how to get the cell from an item); rows()
turns items into lists of cell values, and the writers below only format them.
"""
from __future__ import annotations

import csv
import io
import tempfile
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Any], Any]
    width: int = 12
    number_format: str | None = None  # e.g. "0.0" for hours, "0.0%" for rates


def rows(columns: list[Column], items: Iterable[Any]) -> Iterator[list[Any]]:
    for item in items:
        yield [column.value(item) for column in columns]


def neutralise(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_stream(columns: list[Column], items: Iterable[Any]) -> Iterator[bytes]:
    """UTF-8 with a BOM, so Excel opens the Chinese text correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([str(c.header) for c in columns])
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    for row in rows(columns, items):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(["" if v is None else neutralise(v) for v in row])
        yield buffer.getvalue().encode("utf-8")


def xlsx_stream(sheets: list[tuple[str, list[Column], Iterable[Any]]], chunk_size: int = 64 * 1024) -> Iterator[bytes]:
    """A workbook written with openpyxl's write-only mode (constant memory), then streamed.

    Each sheet has a frozen header row, column widths and number formats.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for title, columns, items in sheets:
        sheet = workbook.create_sheet(title=title[:31])
        for index, column in enumerate(columns):
            sheet.column_dimensions[_letter(index)].width = column.width
        sheet.freeze_panes = "A2"
        header = []
        for column in columns:
            cell = WriteOnlyCell(sheet, value=str(column.header))
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
        while chunk := handle.read(chunk_size):
            yield chunk


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)
