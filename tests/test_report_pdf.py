"""The report's PDFs as a planner gets them: read with a PDF library (pdfium), not from the code that
printed them. Every profile page links to its PDF; every page of every profile PDF and of the whole
report carries "Seite i von n"; no page of a profile is less than 30 % filled; the whole report
contains every profile, each with a bookmark at its pages; every header and value of a profile's tables is printed (nothing cut at the
page's edge) and no PDF is shrunk to a type size a committee cannot read. In CI (CI set) a missing Chromium is a failure; elsewhere the module skips
and says so (without Chromium the report has no PDFs)."""

from __future__ import annotations

import ctypes
import math
import re
import statistics
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
import pytest

from tests.chromium import require_chromium

CHROMIUM = require_chromium("PDF-Test")

A4_HEIGHT_MM = 297
READABLE_PT = 6.5          # the median type size of a PDF's characters, as printed
TEXT_BAND_MM = (10, 20)   # the content area ends before the bottom 20 mm (page numbers live there)


def profile_pages(site: Path) -> list[Path]:
    return sorted(p for p in (site / "gebiete").glob("*.html") if p.name != "index.html")


def texts(pdf: Path) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [document[i].get_textpage().get_text_range() for i in range(len(document))]
    finally:
        document.close()


def filled(pdf: Path) -> list[float]:
    """Per page: the lowest inked row above the page-number band, as a share of the page height
    between the top band and that band."""
    document = pdfium.PdfDocument(pdf)
    shares = []
    try:
        for i in range(len(document)):
            image = document[i].render(scale=0.5, grayscale=True).to_numpy()
            image = image[..., 0] if image.ndim == 3 else image
            mm = image.shape[0] / A4_HEIGHT_MM
            top, bottom = int(TEXT_BAND_MM[0] * mm), int((A4_HEIGHT_MM - TEXT_BAND_MM[1]) * mm)
            rows = np.flatnonzero((image[top:bottom] < 200).any(axis=1))
            shares.append((rows[-1] + 1) / (bottom - top) if len(rows) else 0.0)
    finally:
        document.close()
    return shares


def type_size(pdf: Path) -> float:
    """Median size in points of the printed characters (font size times the text matrix's scale)."""
    document = pdfium.PdfDocument(pdf)
    sizes = []
    try:
        matrix = pdfium_raw.FS_MATRIX()
        for i in range(len(document)):
            text = document[i].get_textpage()
            for k in range(0, pdfium_raw.FPDFText_CountChars(text.raw), 7):   # every 7th: a median needs no more
                if chr(pdfium_raw.FPDFText_GetUnicode(text.raw, k)).isspace():
                    continue
                pdfium_raw.FPDFText_GetMatrix(text.raw, k, ctypes.byref(matrix))
                sizes.append(pdfium_raw.FPDFText_GetFontSize(text.raw, k)
                             * math.sqrt(abs(matrix.a * matrix.d - matrix.b * matrix.c)))
    finally:
        document.close()
    return statistics.median(sizes)


def page_numbers(pages: list[str]) -> list[tuple[int, int]]:
    found = []
    for text in pages:
        match = re.findall(r"Seite (\d+) von (\d+)", text)
        found.append(tuple(map(int, match[-1])) if match else None)
    return found


def test_every_profile_links_to_its_pdf_and_the_overview_to_the_whole_report(report_site):
    for page in profile_pages(report_site):
        links = re.findall(r'href="([^"]+\.pdf)"', page.read_text(encoding="utf-8"))
        assert len(links) == 1, page.name
        assert (page.parent / links[0]).resolve() == page.with_suffix(".pdf").resolve(), page.name
        assert (page.parent / links[0]).is_file()
    overview = (report_site / "index.html").read_text(encoding="utf-8")
    assert re.findall(r'href="([^"]+\.pdf)"', overview) == ["bericht.pdf"]
    assert (report_site / "bericht.pdf").is_file()


def test_profile_pdfs_have_page_numbers_and_no_nearly_empty_page(report_site):
    pdfs = [page.with_suffix(".pdf") for page in profile_pages(report_site)]
    assert len(pdfs) >= 20
    least = []
    for pdf in pdfs:
        pages = texts(pdf)
        assert page_numbers(pages) == [(i, len(pages)) for i in range(1, len(pages) + 1)], pdf.name
        title = re.search(r"<h1>([^<]+)</h1>", pdf.with_suffix(".html").read_text(encoding="utf-8")).group(1)
        assert title.replace("&amp;", "&") in pages[0].replace("\r\n", " ").replace("\n", " "), pdf.name
        fills = filled(pdf)
        least.append((min(fills), pdf.name))
    assert min(least)[0] >= 0.30, sorted(least)[:5]


def test_the_whole_report_is_numbered_and_holds_every_profile(report_site):
    pages = texts(report_site / "bericht.pdf")
    assert page_numbers(pages) == [(i, len(pages)) for i in range(1, len(pages) + 1)]
    text = " ".join(page.replace("\r\n", " ").replace("\n", " ") for page in pages)
    for page in [report_site / "index.html", report_site / "ziele.html", *profile_pages(report_site)]:
        title = re.search(r"<h1>([^<]+)</h1>", page.read_text(encoding="utf-8")).group(1).replace("&amp;", "&")
        assert title in text, page.name


def _without_page_number(text: str) -> str:
    return re.sub(r"Seite \d+ von \d+", "", text).strip()


def test_the_whole_report_has_a_bookmark_per_profile_and_indicator_at_its_pages(report_site):
    """A reader of bericht.pdf jumps to a profile by its bookmark and finds there the pages of the
    profile's own PDF (the same text, numbered within the whole report), and to an indicator's page
    by its bookmark."""
    whole = pdfium.PdfDocument(report_site / "bericht.pdf")
    try:
        marks = {mark.get_title(): mark.get_dest().get_index() for mark in whole.get_toc()}
    finally:
        whole.close()
    whole_pages = texts(report_site / "bericht.pdf")
    for page in profile_pages(report_site):
        title = re.search(r"<h1>([^<]+)</h1>", page.read_text(encoding="utf-8")).group(1).replace("&amp;", "&")
        assert title in marks, page.name
        own = texts(page.with_suffix(".pdf"))
        shown = whole_pages[marks[title]:marks[title] + len(own)]
        assert [_without_page_number(t) for t in shown] == [_without_page_number(t) for t in own], page.name
    for page in sorted((report_site / "indikatoren").glob("*.html")):
        if page.name == "index.html":
            continue
        title = re.search(r"<h1>([^<]+)</h1>", page.read_text(encoding="utf-8")).group(1).replace("&amp;", "&")
        assert title in marks, page.name           # each indicator starts a page of its own, with a bookmark
        assert _bare(whole_pages[marks[title]]).startswith(_bare(title)), page.name


def missing_from_pdf(page: Path) -> list[str]:
    """The table headers and the numbers of value cells a reader sees on the page that its PDF lacks
    (compared without whitespace and hyphens: the PDF breaks lines where the page does not)."""
    from html import unescape

    markup = page.read_text(encoding="utf-8")
    wanted = [unescape(re.sub(r"<[^>]+>", "", m)) for m in re.findall(r"<th[^>]*>(.*?)</th>", markup, re.S)]
    wanted += [unescape(m) for m in re.findall(r'data-cell="[^"]*"><span class="wert">([^<]*)</span>', markup)]
    printed = _bare("".join(texts(page.with_suffix(".pdf"))))
    return [text for text in wanted if _bare(text) not in printed]


def _bare(text: str) -> str:
    """Without whitespace and hyphens (a line broken at "Alt-Scharnhorst" is extracted in pieces)."""
    return re.sub(r"[\s\-\u00ad\x02\ufffe]", "", text)


def test_every_header_and_value_of_a_profile_is_printed(report_site):
    """Nothing is cut: a table wider than the page loses its right columns on paper."""
    missing = {page.name: lost[:5] for page in profile_pages(report_site) if (lost := missing_from_pdf(page))}
    assert not missing


def test_no_pdf_is_shrunk_below_readable_type(report_site):
    """Chromium shrinks a whole document to fit its widest element: the type of every page goes down."""
    pdfs = [report_site / "bericht.pdf", *(page.with_suffix(".pdf") for page in profile_pages(report_site))]
    small = {pdf.name: round(size, 1) for pdf in pdfs if (size := type_size(pdf)) < READABLE_PT}
    assert not small


@pytest.mark.parametrize("planted", ["empty_last_page", "no_numbers", "too_wide"])
def test_the_checks_see_a_bad_pdf(report_site, tmp_path, planted):
    """A profile printed badly (a last page with one line; no page numbers) fails the checks above."""
    from playwright.sync_api import sync_playwright

    source = profile_pages(report_site)[0]
    bad = tmp_path / source.name
    html = source.read_text(encoding="utf-8").replace('href="../static/', f'href="{report_site.as_uri()}/static/')
    if planted == "empty_last_page":
        html = html.replace("</main>", '<p style="break-before: page">Nachtrag</p></main>')
    if planted == "too_wide":   # a table wider than the page: cut at the edge, or the page shrunk
        html = html.replace("</main>", '<table><tr>' + '<td>Spaltenbreite</td>' * 40 + '</tr></table></main>')
    bad.write_text(html, encoding="utf-8")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page()
        page.goto(bad.as_uri())
        footer = "<div></div>" if planted == "no_numbers" else (
            '<div style="font-size:8pt">Seite <span class="pageNumber"></span> von <span class="totalPages"></span></div>')
        bad.with_suffix(".pdf").write_bytes(page.pdf(format="A4", display_header_footer=True, header_template="<div></div>",
                                                     footer_template=footer, margin={"top": "14mm", "bottom": "16mm"}))
        browser.close()
    pdf = bad.with_suffix(".pdf")
    if planted == "empty_last_page":
        assert min(filled(pdf)) < 0.30
    elif planted == "too_wide":
        assert type_size(pdf) < READABLE_PT or missing_from_pdf(bad)
    else:
        assert None in page_numbers(texts(pdf))
