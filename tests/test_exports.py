"""The shared exporters: formulas neutralised, headers frozen, CSV and XLSX from the same rows."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from kmvolunteer.core.exports import (
    Column,
    csv_stream,
    neutralise,
    simple_columns,
    xlsx_stream,
)


def test_neutralise_formulas_only():
    assert neutralise("=1+1") == "'=1+1" and neutralise("@SUM") == "'@SUM" and neutralise("-2") == "'-2"
    assert neutralise("+86") == "'+86" and neutralise("\tx") == "'\tx"
    assert neutralise("张明") == "张明" and neutralise(-2) == -2 and neutralise(None) is None


def test_xlsx_and_csv_agree_and_round_trip():
    columns = [
        Column("姓名", lambda r: r[0], 10),
        Column("时长", lambda r: r[1], 8, "0.0"),
        Column("达标率", lambda r: r[2], 8, "0.0%"),
    ]
    items = [('=HYPERLINK("x")', 3.5, 0.5), ("李红", 1, None)]
    sheet = load_workbook(io.BytesIO(b"".join(xlsx_stream([("年度 [一览]", columns, items)])))).active
    assert sheet.title == "年度 _一览_" and sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]] == ["姓名", "时长", "达标率"]
    assert sheet["A2"].value == '\'=HYPERLINK("x")' and sheet["A2"].data_type == "s"
    assert sheet["B2"].value == 3.5 and sheet["B2"].number_format == "0.0"
    assert sheet["C2"].number_format == "0.0%"
    text = b"".join(csv_stream(columns, items)).decode("utf-8")
    assert text.startswith("\ufeff")
    parsed = list(csv.reader(io.StringIO(text[1:])))
    assert parsed == [["姓名", "时长", "达标率"], ['\'=HYPERLINK("x")', "3.5", "0.5"], ["李红", "1", ""]]


def test_simple_columns_read_sequences():
    columns = simple_columns(["a", "b"])
    assert [c.value(("x", "y")) for c in columns] == ["x", "y"]


def test_xlsx_keeps_text_numbers_and_dates_and_names_every_sheet():
    from datetime import date
    from decimal import Decimal

    columns = [
        Column("备注", lambda r: r[0], 20),
        Column("数", lambda r: r[1], 8, "0.0"),
        Column("日期", lambda r: r[2], 12),
        Column("是否", lambda r: r[3], 6),
    ]
    items = [
        ('a<b & "c"\x01', Decimal("2.5"), date(2026, 3, 1), True),
        ("  两端空格  ", float("nan"), None, False),
        ("长" * 40_000, 1, None, None),
    ]
    data = b"".join(xlsx_stream([("同名", columns, items), ("同名", columns, items[:1])]))
    book = load_workbook(io.BytesIO(data))
    assert len(book.sheetnames) == 2 and len(set(book.sheetnames)) == 2
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[2]] == ['a<b & "c"', 2.5, "2026-03-01", True]
    assert [c.value for c in sheet[3]] == ["  两端空格  ", None, None, False]
    assert len(sheet["A4"].value) == 32_767  # Excel's limit for one cell
    assert sheet.column_dimensions["A"].width == 20 and sheet["A1"].font.b
