"""Putting the printed report together (pikepdf, on qpdf): Chromium prints two long documents (the
report without the profiles, and every profile one after the other, each on new pages), and this
module cuts each profile's PDF out of the second, puts the whole report together from both,
numbers every page ("Seite i von n", in the footer line Chromium printed) and sets bookmarks
(each part and each profile). So each page is laid out once, not once for its profile and again for the whole
report, and Chromium lays out two documents instead of seventy-six.

Page numbers are set here, not by Chromium: a profile's pages are numbered within its own PDF and
again within the whole report.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pikepdf

FOOTER_BASELINE_PT = 17.0               # the baseline of Chromium's footer line (pdf.py: 14 mm margin, 8 pt)
RIGHT_EDGE_MM = 12                      # the right page margin (pdf.PAGE_MARGINS)
FONT_SIZE_PT = 8
INK = "0.267 g"                         # #444, as the footer's text
# Helvetica's advance widths (Adobe's font metrics, 1/1000 em) of every character of "Seite 12 von 34"
HELVETICA_WIDTHS = {"S": 667, "e": 556, "i": 222, "t": 278, " ": 278, "v": 500, "o": 556, "n": 556,
                    **dict.fromkeys("0123456789", 556)}


@dataclass
class Bookmark:
    level: int          # 0: a part of the report or a profile, 1: a profile within the part "Gebiete"
    title: str
    page: int           # index within the pages it belongs to


@dataclass
class Pages:
    """Pages first..stop-1 of a printed document (open with pikepdf), and the bookmarks pointing
    into them (page indices relative to `first`)."""
    pdf: pikepdf.Pdf
    first: int
    stop: int
    bookmarks: list[Bookmark] = field(default_factory=list)


def open_printed(data: bytes) -> pikepdf.Pdf:
    return pikepdf.open(io.BytesIO(data))


def _bare(text: str) -> str:
    """Without whitespace and hyphens: a PDF reader extracts a broken line in pieces."""
    return re.sub(r"[\s\-\u00ad\x02\ufffe]", "", text)


def page_starts(data: bytes, beginnings: list[str]) -> list[int]:
    """The page on which each of `beginnings` begins, in order: the first page after the one before
    whose text starts with it (each part of a printed document starts on a new page). Raises
    ValueError naming the first one not found (a page that did not print as expected)."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    starts: list[int] = []
    try:
        page = 0
        for beginning in beginnings:
            wanted = _bare(beginning)
            while page < len(document):
                text = document[page].get_textpage().get_text_range()
                page += 1
                if _bare(text).startswith(wanted):
                    starts.append(page - 1)
                    break
            else:
                raise ValueError(f"Im gedruckten Dokument beginnt keine Seite mit „{beginning[:80]}“ "
                                 f"(gefunden: {len(starts)} von {len(beginnings)} Teilen).")
    finally:
        document.close()
    return starts


def ranges(starts: list[int], pages: int) -> list[tuple[int, int]]:
    """Each start up to the next start (the last: up to `pages`)."""
    bounds = [*starts, pages]
    return list(zip(bounds, bounds[1:]))


def number_pages(pdf: pikepdf.Pdf) -> None:
    """"Seite i von n" at the right end of each page's footer line, in Helvetica (a PDF's standard
    font, nothing embedded), marked as an artifact (not part of the text for screen readers)."""
    total = len(pdf.pages)
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica,
                                                Encoding=pikepdf.Name.WinAnsiEncoding))
    for number, page in enumerate(pdf.pages, start=1):
        text = f"Seite {number} von {total}"
        width = sum(HELVETICA_WIDTHS[c] for c in text) * FONT_SIZE_PT / 1000
        right = float(page.mediabox[2]) - RIGHT_EDGE_MM / 25.4 * 72
        name = page.add_resource(font, pikepdf.Name.Font, pikepdf.Name("/DftSeitenzahl"))
        stamp = (f"Q /Artifact BMC q {INK} BT {name} {FONT_SIZE_PT} Tf 1 0 0 1 {right - width:.2f} "
                 f"{FOOTER_BASELINE_PT:.2f} Tm ({text}) Tj ET Q EMC\n").encode("ascii")
        # Chromium's own content inside q … Q: whatever state it leaves does not move the number
        page.contents_add(pikepdf.Stream(pdf, b"q\n"), prepend=True)
        page.contents_add(pikepdf.Stream(pdf, stamp), prepend=False)


def assemble(parts: list[Pages], title: str, target: Path) -> int:
    """One PDF of `parts` in order, numbered, with their bookmarks, titled `title`; returns its pages."""
    out = pikepdf.new()
    with out.open_outline() as outline:
        open_items: list[tuple[int, list]] = [(-1, outline.root)]   # (level, where its children go)
        for part in parts:
            offset = len(out.pages)
            out.add_pages_from(part.pdf, range(part.first, part.stop), forms="strip")
            for mark in part.bookmarks:
                item = pikepdf.OutlineItem(mark.title, offset + mark.page)
                while open_items[-1][0] >= mark.level:
                    open_items.pop()
                open_items[-1][1].append(item)
                open_items.append((mark.level, item.children))
    number_pages(out)
    out.docinfo[pikepdf.Name.Title] = title
    out.docinfo[pikepdf.Name.Producer] = "Daten für Taten (Chromium, pikepdf)"
    target.parent.mkdir(parents=True, exist_ok=True)
    out.save(target)
    return len(out.pages)
