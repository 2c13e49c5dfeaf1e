"""The report on paper: Chromium prints each area profile to its own PDF (next to its page:
gebiete/<ebene>-<kode>.pdf) and the whole report to one (bericht.pdf), A4, with page numbers.

Chromium is the browser the pages are written for, so the PDF is what a planner gets from
"Drucken" in the browser, without the navigation. Chromium comes from the system's packages
(Debian: `chromium`; another path in DFT_CHROMIUM); without it the report is built without PDFs
(and without links to them) and the run's log says so.

No page stays nearly empty: a document whose last page would be less than MIN_FILL filled is
printed again slightly smaller (down to MIN_SCALE), so that its end moves onto the page before.
The whole report starts each part (Überblick, Indikatoren, Gebiete, …) on a new page; the pages
within a part follow one another without a page break, so that no short page ends every profile.
"""

from __future__ import annotations

import asyncio
import html
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from dagster_project.settings import switch

WHOLE_REPORT = "bericht.pdf"
MIN_FILL = 0.30        # the least share of a page's height that its printed content must reach
MIN_SCALE = 0.85       # the smallest print scale used to pull a short last page onto the one before
PARALLEL = 2           # documents printed at the same time
PAGE_MARGINS = {"top": "12mm", "bottom": "14mm", "left": "12mm", "right": "12mm"}
PRINT_STYLE = "section.druckteil { break-before: page; } section.druckteil:first-of-type { break-before: auto; }"


class PdfError(RuntimeError):
    """Printing a PDF failed; the message names the page and what Chromium said."""


def pdf_enabled() -> bool:
    """DFT_REPORT_PDF=0 builds the report without PDFs (faster; servers that only serve the pages)."""
    return switch("DFT_REPORT_PDF", "PDF-Fassungen drucken")


def find_chromium() -> str | None:
    """DFT_CHROMIUM, else `chromium` (Debian) or `chromium-browser` on the PATH; None: no PDFs."""
    configured = os.environ.get("DFT_CHROMIUM", "").strip()
    if configured:
        if not Path(configured).is_file():
            raise FileNotFoundError(f"DFT_CHROMIUM={configured!r}: diese Datei gibt es nicht.")
        return configured
    return shutil.which("chromium") or shutil.which("chromium-browser")


def pdf_printer() -> tuple[str | None, str]:
    """The Chromium that prints the PDFs, or None and why there are none (German, for the log)."""
    if not pdf_enabled():
        return None, "ohne PDF-Fassungen (DFT_REPORT_PDF=0)"
    chromium = find_chromium()
    if chromium is None:
        return None, ("ohne PDF-Fassungen: Chromium nicht gefunden (Debian: apt-get install chromium; "
                      "anderer Pfad: DFT_CHROMIUM)")
    return chromium, ""


@dataclass
class PrintedPdf:
    path: Path
    pages: int
    scale: float
    last_page_fill: float      # how far down the last page its content reaches (0..1)


def pages_and_fill(pdf: bytes, measure_fill: bool) -> tuple[int, float]:
    """The number of pages of `pdf` and, with `measure_fill` and more than one page, how far down
    the last page its content reaches, as a share of the area inside the top and bottom margins
    (the page number in the bottom margin does not count); 1.0 where not measured."""
    import numpy as np
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        pages = len(document)
        if not measure_fill or pages < 2:
            return pages, 1.0
        pixels = document[pages - 1].render(scale=0.4, grayscale=True).to_numpy()
    finally:
        document.close()
    if pixels.ndim == 3:
        pixels = pixels[..., 0]
    height = pixels.shape[0]
    top, bottom = round(height * 12 / 297), round(height * (297 - 14) / 297)
    inked = np.flatnonzero((pixels[top:bottom] < 240).any(axis=1))
    return pages, float(inked[-1] + 1) / (bottom - top) if len(inked) else 0.0


def footer_template(text: str) -> str:
    return ('<div style="font-family: \'DejaVu Sans\', sans-serif; font-size: 8pt; color: #444; width: 100%; '
            'margin: 0 12mm; display: flex; justify-content: space-between;">'
            f'<span>{html.escape(text)}</span>'
            '<span>Seite <span class="pageNumber"></span> von <span class="totalPages"></span></span></div>')


def whole_report_document(site: Path, parts: list[tuple[str, list[str]]], title: str) -> str:
    """One HTML document of every page's content, part by part (`parts`: title, page paths); `title`
    becomes the PDF's title."""
    sections = []
    for part_title, paths in parts:
        contents = []
        for path in paths:
            text = (site / path).read_text(encoding="utf-8")
            match = re.search(r"<main[^>]*>(.*)</main>", text, re.S)
            if match is None:
                raise PdfError(f"{path}: Seite ohne Inhalt (<main>) – kann nicht in den Gesamtbericht.")
            body = re.sub(r'<footer class="fuss">.*?</footer>', "", match.group(1), flags=re.S)
            body = _without_links(body)
            contents.append(f'<div class="druckseite">{body}</div>')
        sections.append(f'<section class="druckteil" aria-label="{html.escape(part_title)}">{"".join(contents)}</section>')
    # the site's header once, at the top (the web footer is not printed: the page footer says it)
    header = re.search(r'<header class="kopf">.*?</header>', (site / "index.html").read_text(encoding="utf-8"), re.S)
    header_html = _without_links(header.group(0)) if header else ""
    return (f'<!DOCTYPE html><html lang="de"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<link rel="stylesheet" href="static/bericht.css"><style>{PRINT_STYLE}</style></head><body>'
            f'{header_html}<main>{"".join(sections)}</main></body></html>')


def _without_links(markup: str) -> str:
    """Links between pages point nowhere on paper (and relative to the page's own folder)."""
    return re.sub(r'\s(?:xlink:)?href="[^"]*"', "", markup)


async def _print_all(chromium: str, jobs: list[tuple[Path, Path, str, bool]], progress) -> list[PrintedPdf]:
    """Print `jobs` (source page, target PDF, footer text, whether it is a profile) with PARALLEL
    browser tabs, each reused for the next document. A profile's short last page is pulled onto the
    page before, and a profile is tagged for screen readers; the whole report is not (a quarter
    faster and less than half the size; its pages are the web pages, accessible there)."""
    from playwright.async_api import async_playwright

    printed: list[PrintedPdf] = []
    queue: asyncio.Queue = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)

    async def print_one(page, source: Path, target: Path, footer: str, profile: bool) -> None:
        try:
            await page.goto(source.as_uri(), wait_until="load")
            scale = 1.0
            while True:
                pdf = await page.pdf(format="A4", margin=PAGE_MARGINS, scale=scale, print_background=True,
                                     display_header_footer=True, header_template="<div></div>",
                                     footer_template=footer_template(footer), outline=True, tagged=profile)
                pages, fill = pages_and_fill(pdf, measure_fill=profile)
                if fill >= MIN_FILL or scale <= MIN_SCALE:
                    break
                # the content of n-1 full pages and a short one, onto n-1 pages (with some room)
                scale = max(MIN_SCALE, round(scale * (pages - 1) / (pages - 1 + fill) * 0.97, 3))
        except Exception as error:  # Chromium's messages are English and do not say which page
            raise PdfError(f"PDF von {source.name} konnte nicht gedruckt werden: {error}") from error
        target.write_bytes(pdf)
        printed.append(PrintedPdf(target, pages, scale, fill))
        if len(printed) % 25 == 0:
            progress(f"    {len(printed)} von {len(jobs)} PDF gedruckt")

    async def tab(context) -> None:
        page = await context.new_page()
        try:
            while not queue.empty():
                await print_one(page, *queue.get_nowait())
        finally:
            await page.close()

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium)
        try:
            context = await browser.new_context()
            await asyncio.gather(*(tab(context) for _ in range(PARALLEL)))
        finally:
            await browser.close()
    return printed


SCRATCH_PREFIX = "dft_bericht_pdf_"   # + the printing process's id


def remove_scratch_of_dead_processes() -> list[str]:
    """Remove the temporary folders of PDF printing whose process is gone (a killed run); returns
    what was removed, in German."""
    from dagster_project.run_recovery import process_start_time   # None: no such living process

    removed = []
    for folder in sorted(Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*")):
        pid = folder.name.removeprefix(SCRATCH_PREFIX)
        if not pid.isdigit() or process_start_time(int(pid)) is not None:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(f"temporärer Ordner des PDF-Drucks {folder} gelöscht")
    return removed


def print_report(site: Path, chromium: str, profiles: list[str], parts: list[tuple[str, list[str]]],
                 title: str, footer: str, progress=print) -> list[PrintedPdf]:
    """Print every profile page in `profiles` to a PDF next to it, and the whole report (`parts`)
    to bericht.pdf. Returns what was printed (pages, scale, fill of the last page). The whole
    report's last page is left as it falls: each of its parts starts on a new page anyway."""
    begun = time.perf_counter()
    whole_source = site / ".gesamtbericht.html"
    whole_source.write_text(whole_report_document(site, parts, title), encoding="utf-8")
    # Chromium's profile and Playwright's files in a folder of this process (Chromium's socket path
    # must stay short: the system's temporary folder), removed afterwards; what a killed run left
    # there is removed by the next one
    for line in remove_scratch_of_dead_processes():
        progress(f"  Nach einem abgebrochenen Lauf: {line}")
    scratch = Path(tempfile.gettempdir()) / f"{SCRATCH_PREFIX}{os.getpid()}"
    scratch.mkdir(exist_ok=True)
    before = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(scratch)
    try:
        # the long whole report first, the profiles meanwhile in the other tab
        jobs = [(whole_source, site / WHOLE_REPORT, footer, False)]
        jobs += [(site / path, site / Path(path).with_suffix(".pdf"), footer, True) for path in profiles]
        printed = asyncio.run(_print_all(chromium, jobs, progress))
    finally:
        if before is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = before
        whole_source.unlink(missing_ok=True)
        shutil.rmtree(scratch, ignore_errors=True)
    whole = next(p for p in printed if p.path.name == WHOLE_REPORT)
    progress(f"  Bericht: PDF fertig ({len(printed) - 1} Gebiete und der Gesamtbericht mit {whole.pages} Seiten, "
             f"{time.perf_counter() - begun:.1f} s)")
    return printed
