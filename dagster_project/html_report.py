"""Minimal HTML pages for reports that must work offline: inline CSS, no scripts, no fonts, no
external references of any kind. Numbers are printed in German (`1.234,5`, `17,8 %`, Babel's CLDR
data for de_DE); every number cell carries class="zahl" (right-aligned, and what the tests read)."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from html import escape
from typing import Iterable


GERMAN_SEPARATORS = str.maketrans(",.", ".,")

STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 72em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: .9em; }
th, td { border: 1px solid #bbb; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #eee; } td.zahl { text-align: right; white-space: nowrap; }
.ok { color: #17612b; font-weight: bold; }
.fehler { color: #a30000; font-weight: bold; } .warnung { color: #8a5a00; font-weight: bold; }
.klein { color: #555; font-size: .85em; }
.urteil { font-size: 1.25em; padding: .6em 1em; border: 3px solid; margin: 1em 0; }
.urteil.ok { border-color: #17612b; background: #eef7f0; }
.urteil.fehler { border-color: #a30000; background: #fbeaea; }
.urteil.warnung { border-color: #8a5a00; background: #fdf5e6; }
nav a { margin-right: 1em; }
@media print { body { margin: 1cm; max-width: none; } nav { display: none; } }
"""


@dataclass(frozen=True)
class Number:
    """A number for a report cell: German format, fixed decimals, optional unit (%, ‰, €)."""

    value: float | int | None
    decimals: int = 0
    unit: str = ""

    def __str__(self) -> str:
        return german_number(self.value, self.decimals, self.unit)


def german_number(value: float | int | None, decimals: int = 0, unit: str = "") -> str:
    """`1.234,5`; `17,8 %`; `−3,2` (the minus sign, never `−0,0`); '–' for no value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    value = round(value, decimals) + 0 if isinstance(value, float) else value
    # Python's own format with the separators swapped: the same text as babel's de_DE pattern
    # "#,##0.0…" (tests/test_reports.py compares them), fifty times faster (reports write thousands)
    text = format(abs(value), f",.{max(decimals, 0)}f").translate(GERMAN_SEPARATORS)
    text = "\u2212" + text if value < 0 else text
    return f"{text} {unit}".strip() if unit else text


def german_datetime(value: dt.datetime | str | None) -> str:
    """`30.11.2026, 22:14 Uhr` from a datetime or an ISO string."""
    if value is None or value == "":
        return "–"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.strftime("%d.%m.%Y, %H:%M Uhr")


def _cell(value: object, raw: bool) -> str:
    if isinstance(value, bool):
        return f"<td>{'ja' if value else 'nein'}</td>"
    if isinstance(value, Number):
        return f'<td class="zahl">{escape(str(value))}</td>'
    if isinstance(value, (int, float)):
        return f'<td class="zahl">{escape(german_number(value))}</td>'
    return f"<td>{value if raw else escape(str(value))}</td>"


def table(header: list[str], rows: Iterable[Iterable[object]], raw_columns: set[int] | None = None) -> str:
    raw_columns = raw_columns or set()
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(cell, i in raw_columns) for i, cell in enumerate(row)) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def status(success: bool | None, severity: str) -> str:
    if success is None:
        return '<span class="warnung">nicht gelaufen</span>'
    if success:
        return '<span class="ok">erfüllt</span>'
    if severity == "critical":
        return '<span class="fehler">nicht erfüllt (Fehler, sperrt die Freigabe)</span>'
    return '<span class="warnung">nicht erfüllt (Warnung)</span>'


def verdict(kind: str, text: str) -> str:
    """The one prominent statement of a page: kind is ok, fehler or warnung."""
    return f'<p class="urteil {kind}" id="urteil">{escape(text)}</p>'


def page(title: str, body: str, navigation: dict[str, str] | None = None) -> str:
    nav = ""
    if navigation:
        nav = "<nav>" + "".join(f'<a href="{escape(href)}">{escape(label)}</a>'
                                for label, href in navigation.items()) + "</nav>"
    return (f'<!DOCTYPE html>\n<html lang="de"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
            f"<body>{nav}<h1>{escape(title)}</h1>{body}</body></html>\n")
