"""Exports a planner can open in Excel without repair: CSV in the German Excel convention
(semicolon, decimal comma, UTF-8 with byte order mark) and XLSX workbooks (openpyxl: number
formats, frozen header, a notes sheet with sources, definitions and the meaning of `•`).

A suppressed value is written as `•` (never a number); the notes say why (statistische
Geheimhaltung). `Table` describes one sheet: the frame, the decimals per number column and which
flag column marks a value column as suppressed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

SUPPRESSED = "•"
SUPPRESSED_NOTE = ("•", "Wert gesperrt (statistische Geheimhaltung): zu kleine Fallzahl, zu kleiner Nenner oder "
                        "Sekundärsperrung gegen Rückrechnung; siehe Methodik, Abschnitt Statistische Geheimhaltung.")


@dataclass
class Table:
    name: str                                     # sheet name (at most 31 characters in Excel)
    frame: pd.DataFrame
    # number column -> decimals, or the name of a column holding each row's decimals (not exported)
    decimals: dict[str, int | str] = field(default_factory=dict)
    suppressed_by: dict[str, str] = field(default_factory=dict)     # value column -> flag column
    labels: dict[str, str] = field(default_factory=dict)            # column -> German header

    def shown(self) -> pd.DataFrame:
        """The frame as it is exported: flag columns dropped, suppressed values as `•`, headers German."""
        out = self.frame.copy()
        for column, flag in self.suppressed_by.items():
            hidden = out[flag].fillna(False).astype(bool)
            out[column] = out[column].astype(object).where(~hidden, SUPPRESSED)
        helpers = set(self.suppressed_by.values()) | {d for d in self.decimals.values() if isinstance(d, str)}
        out = out.drop(columns=sorted(helpers))
        return out.rename(columns=self.labels)

    def row_decimals(self, column: str) -> list[int]:
        """The decimals of `column` in every row."""
        decimals = self.decimals[column]
        if isinstance(decimals, str):
            return [int(d) for d in self.frame[decimals]]
        return [decimals] * len(self.frame)


def write_csv(table: Table, path: Path) -> Path:
    """CSV for German Excel: `;` as separator, `,` as decimal sign, UTF-8 with BOM, rounded."""
    out = table.shown()
    for column in table.decimals:
        header = table.labels.get(column, column)
        # rounded to the declared decimals, never "-0,00"; the ASCII minus stays (Excel reads it as a number)
        out[header] = [v if isinstance(v, str) or pd.isna(v) else f"{round(float(v), d) + 0.0:.{d}f}".replace(".", ",")
                       for v, d in zip(out[header], table.row_decimals(column))]
    for header in out.columns:   # dates as German Excel reads them
        if any(isinstance(v, dt.date) for v in out[header]):
            out[header] = [v.strftime("%d.%m.%Y") if isinstance(v, dt.date) else v for v in out[header]]
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, sep=";", index=False, encoding="utf-8-sig", lineterminator="\r\n")
    return path


def _number_format(decimals: int) -> str:
    return "#,##0" + ("." + "0" * decimals if decimals else "")


def write_xlsx(tables: list[Table], notes: list[tuple[str, str]], path: Path) -> Path:
    """One sheet per table (bold, frozen header; numbers as numbers with their format; `•` where
    suppressed) and a sheet "Hinweise" with sources, definitions and the meaning of `•`. Written
    row by row (openpyxl's write-only mode: three times faster than building every cell first)."""
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for table in tables:
        sheet = workbook.create_sheet(table.name[:31])
        out = table.shown()
        headers = list(out.columns)
        for index, header in enumerate(headers, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = max(10, min(45, len(str(header)) + 2))
        sheet.freeze_panes = "A2"
        sheet.append([_cell(sheet, header, font=bold) for header in headers])
        # per column: the decimals of each row (numbers), or dates shown as 31.12.2023
        decimals = {headers.index(table.labels.get(column, column)): list(table.row_decimals(column))
                    for column in table.decimals}
        dates = {index for index, header in enumerate(headers) if any(isinstance(v, dt.date) for v in out[header])}
        for number, row in enumerate(out.itertuples(index=False)):
            cells = []
            for index, value in enumerate(row):
                value = None if not isinstance(value, str) and pd.isna(value) else (
                    value.item() if hasattr(value, "item") else value)
                if index in decimals and value is not None and not isinstance(value, str):
                    places = decimals[index][number]
                    if isinstance(value, float):   # the value as published, not 0.1999999999999993
                        value = round(value, places) + 0.0
                    cells.append(_cell(sheet, value, number_format=_number_format(places)))
                elif index in dates and isinstance(value, dt.date):
                    cells.append(_cell(sheet, value, number_format="DD.MM.YYYY"))
                else:
                    cells.append(value)
            sheet.append(cells)
    sheet = workbook.create_sheet("Hinweise")
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 110
    sheet.freeze_panes = "A2"
    sheet.append([_cell(sheet, "Begriff", font=bold), _cell(sheet, "Erläuterung", font=bold)])
    for term, text in [*notes, SUPPRESSED_NOTE]:
        sheet.append([term, text])
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(path)
    return path


def _cell(sheet, value, font: Font | None = None, number_format: str | None = None) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    if font is not None:
        cell.font = font
    if number_format is not None:
        cell.number_format = number_format
    return cell
