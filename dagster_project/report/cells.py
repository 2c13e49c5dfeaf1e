"""Numbers as the report shows them: German formats (`1.234,5`, `17,8 %`, `31.12.2024`) and `•` for
a suppressed value, with one neutral footnote (never the rule: it would tell the value).

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
from dagster_project.release.disclosure import NEUTRAL_MARK_DE

SUPPRESSED = "•"
NO_VALUE = "–"
SUPPRESSED_LABEL = "der Wert wird zum Schutz von Einzelangaben nicht veröffentlicht"


def neutral_marks(is_suppressed: pd.Series) -> pd.Series:
    """The export column "Geheimhaltung": the same neutral mark for every suppressed cell."""
    return is_suppressed.fillna(False).astype(bool).map({True: NEUTRAL_MARK_DE, False: ""})


def german_date(value) -> str:
    """`31.12.2024`."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return NO_VALUE
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return value.strftime("%d.%m.%Y")


def is_missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def sentence(text: str) -> str:
    """A catalogue text as a sentence: one full stop at the end (texts ending in "31.12." keep theirs)."""
    text = str(text).strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def unit_suffix(unit: str | None) -> str:
    """The unit written after a number: only `%` (17,8 %); other units go into the header."""
    return "%" if unit == "%" else ""


class Footnotes:
    """The one footnote of a page's suppressed values. Every suppressed value carries the same
    neutral mark, whatever rule hid it: a reason such as "1 or 2" would tell the value."""

    def __init__(self):
        self.used = False

    def mark(self) -> int:
        self.used = True
        return 1

    def items(self) -> list[tuple[int, str, str]]:
        return [(1, "gesperrt", SUPPRESSED_LABEL)] if self.used else []

    def value(self, value, decimals: int, unit: str | None = None, suppressed: bool = False,
              key: str | None = None, signed: bool = False, after: str | None = None) -> Markup:
        """A table cell: the German number, or `•` with the page's footnote on secrecy; `after`: a
        small note behind the number (e.g. its year)."""
        attribute = f' data-cell="{escape(key)}"' if key else ""
        if suppressed:
            number = self.mark()
            return Markup(f'<td class="zahl gesperrt"{attribute}><span class="wert">{SUPPRESSED}</span>'
                          f'<sup><a href="#fussnote-{number}">{number}</a></sup></td>')
        if is_missing(value):
            return Markup(f'<td class="zahl"{attribute}><span class="wert">{NO_VALUE}</span></td>')
        text = german_number(float(value), decimals, unit_suffix(unit))   # "−" and never "−0,00"
        if signed and round(float(value), decimals) > 0:
            text = "+" + text
        note = f' <span class="klein">({escape(after)})</span>' if after else ""
        return Markup(f'<td class="zahl"{attribute}><span class="wert">{escape(text)}</span>{note}</td>')
