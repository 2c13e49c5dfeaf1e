"""Reading every page and download of the planners' report for words and typography a reader must
not meet: programme identifiers, setting and table names, delivery file names, code words in
capitals, English words, numbers typed wrongly ("..", "-0,00", a hyphen for a minus sign, more
decimals than a report shows, a change without its sign, a number standing alone without its unit)
and chart text under 11 px.

Written from the reader's side: it knows nothing of the report's code or catalogue, it reads the
files as a browser, a spreadsheet program and a PDF reader do (visible text, tooltips and labels
of charts, CSV and XLSX cells, the text of every PDF page).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from openpyxl import load_workbook

# proper names in capitals a German reader knows (sources, laws)
KNOWN_CAPITALS = {"INKAR", "BBSR"}
ENGLISH = ("mart", "marts", "pipeline", "warehouse", "null", "true", "false", "none", "nan", "dataset", "undefined")
RULES = [
    ("Programmbezeichner", re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")),
    ("Einstellung", re.compile(r"\bDFT_[A-Z0-9_]+")),
    ("Lieferungsname", re.compile(r"\b(?:sgb2|sgb12|asylblg|bewegungen|einwohner)(?:_\d{4}(?:-\d{2})?)?(?:\.csv)?\b"
                                  r"|\b\w+_\d{4}(?:-\d{2})?\.csv\b")),
    ("Kennwort in Großbuchstaben", re.compile(r"\b[A-ZÄÖÜ][A-ZÄÖÜ_]{4,}\b")),
    ("englisches Wort", re.compile(r"\b(?:" + "|".join(ENGLISH) + r")\b", re.IGNORECASE)),
    ("doppelter Punkt", re.compile(r"(?<!\.)\.\.(?!\.)")),
    ("minus null", re.compile(r"(?<![\w.,/-])[-−]0(?:,0+)?(?![,\d])")),
    ("Bindestrich als Minus", re.compile(r"(?<![\w.,)\-–])-\d")),
    ("zu viele Nachkommastellen", re.compile(r"\d[.,]\d{5,}")),
    # "Dortmund: 26,7" in a label or tooltip: 26,7 what? (%, je 1.000, Personen …)
    ("Zahl ohne Einheit", re.compile(r"(?<=[A-Za-zÄÖÜäöüß)]): [+−]?\d{1,3}(?:\.\d{3})*,\d+(?![\d,])"
                                     r"(?!\s?(?:%|Prozent|je\b|Personen|Einwohner|Jahre|€|km²))")),
]
CHANGE_HEADER = re.compile(r"Veränderung|Änderung")
NUMBER = re.compile(r"^[+−-]?\d")
SIGNED = re.compile(r"^(?:[+−]\d|0(?:,0+)?(?:\s|$)|[•–]|$)")


@dataclass(frozen=True)
class Finding:
    rule: str
    where: str
    text: str

    def __str__(self) -> str:
        return f"{self.where}: {self.rule}: {self.text}"


def check_text(text: str, where: str) -> list[Finding]:
    found = []
    for rule, pattern in RULES:
        for match in pattern.finditer(text):
            if rule == "Kennwort in Großbuchstaben" and match.group(0) in KNOWN_CAPITALS:
                continue
            context = text[max(0, match.start() - 30):match.end() + 30].replace("\n", " ")
            found.append(Finding(rule, where, f"„{match.group(0)}“ in …{context}…"))
    return found


class _Reader(HTMLParser):
    """Visible text, the texts of tooltips and labels (`title` elements, aria-label, title, alt) and
    the cells of columns headed "Veränderung" and the numbers of rows headed so."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.texts: list[tuple[str, str]] = []
        self.changes: list[str] = []
        self._hidden = 0
        self._in_head = False
        self._headers: list[str] = []
        self._column = -1
        self._cell: list[str] | None = None
        self._header: list[str] | None = None
        self._row_label = ""

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._hidden += 1
        for name, value in attrs:
            if name in ("aria-label", "title", "alt") and value:
                self.texts.append((f"Attribut {name}", value))
        if tag == "table":
            self._headers = []
        elif tag == "thead":
            self._in_head, self._headers = True, []
        elif tag == "tr":
            self._column = -1
            self._row_label = ""
        elif tag == "th" and self._in_head:
            self._header = []
        elif tag in ("th", "td"):          # a row header counts as a column of the body
            self._column += 1
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._hidden -= 1
        elif tag == "thead":
            self._in_head = False
        elif tag == "th" and self._header is not None:
            self._headers.append("".join(self._header).strip())
            self._header = None
        elif tag in ("td", "th") and self._cell is not None:
            text = "".join(self._cell).strip()
            if self._column == 0:
                self._row_label = text
            # a column headed "Veränderung", or a number in a row headed so
            if tag == "td" and 0 <= self._column < len(self._headers) and CHANGE_HEADER.search(self._headers[self._column]):
                self.changes.append(text)
            elif self._column > 0 and CHANGE_HEADER.search(self._row_label) and NUMBER.match(text):
                self.changes.append(text)
            self._cell = None

    def handle_data(self, data):
        if self._hidden or not data.strip():
            return
        self.texts.append(("Text", data))
        if self._header is not None:
            self._header.append(data)
        if self._cell is not None:
            self._cell.append(data)


SMALL_TEXT = re.compile(r'font-size(?:="|:\s*)(\d+(?:\.\d+)?)(?:px)?')


def scan_page(path: Path, name: str) -> list[Finding]:
    text = path.read_text(encoding="utf-8")
    reader = _Reader()
    reader.feed(text)
    small = [Finding("Schrift unter 11 px", name, m.group(0)) for m in SMALL_TEXT.finditer(text)
             if float(m.group(1)) < 11]
    found = [f for kind, text in reader.texts for f in check_text(text, f"{name} ({kind})")]
    found += [Finding("Veränderung ohne Vorzeichen", name, cell) for cell in reader.changes
              if not SIGNED.match(cell.replace("\u00a0", " "))]
    return found + small


def scan_csv(path: Path, name: str) -> list[Finding]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig")), delimiter=";"))
    found = []
    for number, row in enumerate(rows, start=1):
        for column, cell in enumerate(row, start=1):
            if number == 1 or not re.fullmatch(r"-?[\d.,]*", cell):    # headers, texts (numbers are Excel's)
                found += check_text(cell, f"{name} Zeile {number} Spalte {column}")
            elif re.fullmatch(r"-0(?:,0+)?", cell):
                found.append(Finding("minus null", f"{name} Zeile {number} Spalte {column}", cell))
    return found


def scan_xlsx(path: Path, name: str) -> list[Finding]:
    found = []
    for sheet in load_workbook(path).worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                where = f"{name} Blatt {sheet.title} {cell.coordinate}"
                if isinstance(cell.value, str):
                    found += check_text(cell.value, where)
                elif isinstance(cell.value, float):
                    shown = cell.number_format.split(".")[1].count("0") if "." in cell.number_format else 0
                    if cell.number_format == "General" or round(cell.value, shown) != cell.value:
                        found.append(Finding("zu viele Nachkommastellen", where,
                                             f"{cell.value!r} im Format {cell.number_format}"))
    return found


def scan_pdf(path: Path, name: str) -> list[Finding]:
    """The text of every page of a PDF as a PDF reader extracts it (lines joined with spaces)."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(path)
    try:
        return [f for index in range(len(document))
                for f in check_text(re.sub(r"\s+", " ", document[index].get_textpage().get_text_range()),
                                    f"{name} Seite {index + 1}")]
    finally:
        document.close()


def scan_site(site: Path) -> list[Finding]:
    """Every page (text, tooltips, chart labels) and every CSV, XLSX and PDF download of the site."""
    found = []
    for path in sorted(site.rglob("*")):
        name = str(path.relative_to(site))
        if path.suffix == ".html":
            found += scan_page(path, name)
        elif path.suffix == ".csv":
            found += scan_csv(path, name)
        elif path.suffix == ".xlsx":
            found += scan_xlsx(path, name)
        elif path.suffix == ".pdf":
            found += scan_pdf(path, name)
    return found
