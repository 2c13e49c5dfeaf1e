"""Reading the planners' report as a reader does: the text shown in value cells, German numbers."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path


class ValueCells(HTMLParser):
    """Collects the shown text of every `<td data-cell=...>` (its `<span class="wert">`)."""

    def __init__(self):
        super().__init__()
        self.cells: dict[str, str] = {}
        self._key = None
        self._in_value = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "td" and "data-cell" in attrs:
            self._key = attrs["data-cell"]
            self.cells.setdefault(self._key, "")
        elif tag == "span" and attrs.get("class") == "wert" and self._key is not None:
            self._in_value = True

    def handle_endtag(self, tag):
        if tag == "span":
            self._in_value = False
        elif tag == "td":
            self._key = None

    def handle_data(self, data):
        if self._in_value and self._key is not None:
            self.cells[self._key] += data


def value_cells(page: Path) -> dict[str, str]:
    parser = ValueCells()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.cells


def german_number(text: str) -> float:
    """`1.234,5`, `17,8 %`, `+0,3`, `-1,1` -> float (written here, not taken from the product)."""
    text = text.replace("%", "").replace("\u00a0", "").replace("\u2212", "-").strip()
    return float(text.replace(".", "").replace(",", "."))
