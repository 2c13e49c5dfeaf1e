"""Exports of the planners' report (groundwork): German Excel CSV and XLSX read back cell by cell."""

from __future__ import annotations

import math

import pandas as pd
from openpyxl import load_workbook

from dagster_project.report.exports import SUPPRESSED, Table, write_csv, write_xlsx


def _table():
    frame = pd.DataFrame({
        "area_code": ["010", "020", "030"],
        "sgb2_rate": [17.8412, None, 1234.5],
        "sgb2_rate_is_suppressed": [False, True, False],
        "residents": [4012, 95, 1_234_567],
    })
    return Table("SGB-II-Quote", frame, decimals={"sgb2_rate": 1, "residents": 0},
                 suppressed_by={"sgb2_rate": "sgb2_rate_is_suppressed"},
                 labels={"area_code": "Bezirk", "sgb2_rate": "SGB-II-Quote (%)", "residents": "Einwohner"})


def test_csv_opens_in_german_excel(tmp_path):
    path = write_csv(_table(), tmp_path / "sgb2.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")                                   # UTF-8 with BOM
    lines = raw.decode("utf-8-sig").split("\r\n")
    assert lines[0] == "Bezirk;SGB-II-Quote (%);Einwohner"
    assert lines[1] == "010;17,8;4012" and lines[2] == f"020;{SUPPRESSED};95" and lines[3] == "030;1234,5;1234567"
    back = pd.read_csv(path, sep=";", decimal=",", encoding="utf-8-sig", dtype={"Bezirk": str})
    assert back["Einwohner"].tolist() == [4012, 95, 1_234_567]
    assert back["SGB-II-Quote (%)"].tolist() == ["17,8", SUPPRESSED, "1234,5"]   # German Excel reads 17,8 as a number


def test_xlsx_numbers_formats_header_and_notes(tmp_path):
    path = write_xlsx([_table()], [("SGB-II-Quote", "SGB-II-Leistungsberechtigte unter 65 je 100 Einwohner unter 65")],
                      tmp_path / "sgb2.xlsx")
    book = load_workbook(path)
    assert book.sheetnames == ["SGB-II-Quote", "Hinweise"]
    sheet = book["SGB-II-Quote"]
    assert sheet.freeze_panes == "A2" and sheet["A1"].font.bold
    assert [c.value for c in sheet[1]] == ["Bezirk", "SGB-II-Quote (%)", "Einwohner"]
    assert sheet["A2"].value == "010"                                       # codes stay text
    # a number, rounded to the declared decimals (what the page shows), shown as 17,8
    assert sheet["B2"].value == 17.8 and sheet["B2"].number_format == "#,##0.0"
    assert sheet["B3"].value == SUPPRESSED                                  # never the hidden value
    assert sheet["C4"].value == 1_234_567 and sheet["C4"].number_format == "#,##0"
    notes = {row[0]: row[1] for row in book["Hinweise"].iter_rows(min_row=2, values_only=True)}
    assert "Geheimhaltung" in notes[SUPPRESSED] and notes["SGB-II-Quote"].startswith("SGB-II")


def test_numbers_are_written_as_published_never_minus_zero(tmp_path):
    frame = pd.DataFrame({"gebiet": ["A", "B", "C"], "veraenderung": [-0.001, 0.1999999999999993, -1.25]})
    table = Table("Änderungen", frame, decimals={"veraenderung": 2}, labels={"veraenderung": "Veränderung"})
    csv = write_csv(table, tmp_path / "x.csv").read_text(encoding="utf-8-sig").splitlines()
    assert csv[1:] == ["A;0,00", "B;0,20", "C;-1,25"]
    sheet = load_workbook(write_xlsx([table], [], tmp_path / "x.xlsx"))["Änderungen"]
    assert [sheet.cell(row=r, column=2).value for r in (2, 3, 4)] == [0.0, 0.2, -1.25]
    assert math.copysign(1, sheet.cell(row=2, column=2).value) == 1     # not -0.0
