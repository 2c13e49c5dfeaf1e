"""Numbers as the report shows them: German formats (`1.234,5`, `17,8 %`, `31.12.2024`) and `•` for
a suppressed value, with a footnote that says why.

Every value cell of a page carries `data-cell="<key>"`, and its shown text sits in
`<span class="wert">` (what the tests read and compare with the release).
"""

from __future__ import annotations

import datetime as dt
import math
from html import escape

import pandas as pd
from markupsafe import Markup

from dagster_project.html_report import german_number

SUPPRESSED = "•"
NO_VALUE = "–"
UNSPECIFIED = "gesperrt"
UNSPECIFIED_LABEL = "Wert gesperrt, weil eine Zahl, aus der er berechnet ist, gesperrt ist"


def german_date(value) -> str:
    """`31.12.2024`."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return NO_VALUE
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return value.strftime("%d.%m.%Y")


def is_missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def unit_suffix(unit: str | None) -> str:
    """The unit written after a number: only `%` (17,8 %); other units go into the header."""
    return "%" if unit == "%" else ""


class Footnotes:
    """The suppression reasons used on one page, numbered in the order of first use."""

    def __init__(self, labels: dict[str, str]):
        self.labels = labels
        self.used: list[str] = []

    def mark(self, rule: str | None) -> int:
        rule = rule if isinstance(rule, str) and rule else UNSPECIFIED
        if rule not in self.used:
            self.used.append(rule)
        return self.used.index(rule) + 1

    def items(self) -> list[tuple[int, str, str]]:
        labels = {UNSPECIFIED: UNSPECIFIED_LABEL, **self.labels}
        return [(i, rule, labels.get(rule, rule)) for i, rule in enumerate(self.used, start=1)]

    def value(self, value, decimals: int, unit: str | None = None, suppressed: bool = False,
              rule: str | None = None, key: str | None = None, signed: bool = False) -> Markup:
        """A table cell: the German number, or `•` with the footnote of its suppression rule."""
        attribute = f' data-cell="{escape(key)}"' if key else ""
        if suppressed:
            number = self.mark(rule)
            return Markup(f'<td class="zahl gesperrt"{attribute}><span class="wert">{SUPPRESSED}</span>'
                          f'<sup><a href="#fussnote-{number}">{number}</a></sup></td>')
        if is_missing(value):
            return Markup(f'<td class="zahl"{attribute}><span class="wert">{NO_VALUE}</span></td>')
        text = german_number(float(value), decimals, unit_suffix(unit))
        if signed and float(value) > 0:
            text = "+" + text
        return Markup(f'<td class="zahl"{attribute}><span class="wert">{escape(text)}</span></td>')
