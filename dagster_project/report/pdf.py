"""The report on paper: Chromium prints each area profile to its own PDF (next to its page:
gebiete/<ebene>-<kode>.pdf) and the whole report to one (bericht.pdf), A4, with page numbers.

Chromium is the browser the pages are written for, so the PDF is what a planner gets from
"Drucken" in the browser, without the navigation. Chromium comes from the system's packages
(Debian: `chromium`; another path in DFT_CHROMIUM); without it the report is built without PDFs
(and without links to them) and the run's log says so.

Each page is laid out once: Chromium prints two documents (the report's parts; every profile, each
starting on a new page), and pdf_assembly.py cuts the profiles' PDFs out of the second and puts
the whole report together from both (the profiles last, in the part "Gebiete").

No profile ends with a nearly empty page: Chromium first lays the profiles out without page
breaks, and a profile whose height would leave its last page less than MIN_FILL filled is printed
slightly smaller (down to MIN_SCALE), so that its end moves onto the page before; one that still
ends short is printed again, smaller. The whole report starts each part (Überblick, Indikatoren, …) on a new page; the
pages within a part follow one another without a page break, except the profiles, each of which
is its own PDF's pages.
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

from dagster_project.report.pdf_assembly import Bookmark, Pages, assemble, open_printed, page_starts, ranges
from dagster_project.settings import switch

WHOLE_REPORT = "bericht.pdf"
MIN_FILL = 0.30        # the least share of a page's height that its printed content must reach
MIN_SCALE = 0.85       # the smallest print scale used to pull a short last page onto the one before
PARALLEL = 2           # profile documents printed at the same time (beside the parts: one more tab)
FIT_ROUNDS = 3         # how often profiles with a nearly empty last page are printed again, smaller
PAGE_MARGINS = {"top": "12mm", "bottom": "14mm", "left": "12mm", "right": "12mm"}
PRINT_STYLE = ("section.druckteil { break-before: page; } section.druckteil:first-of-type { break-before: auto; } "
               "div.druckseite.neu { break-before: page; } div.druckseite.neu:first-child { break-before: auto; }")
PROFILE_STYLE = "section.druckprofil { break-before: page; } section.druckprofil:first-of-type { break-before: auto; }"


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


def last_page_fill(document, index: int) -> float:
    """How far down page `index` of a pdfium document its content reaches, as a share of the area
    inside the top and bottom margins (the footer line in the bottom margin does not count)."""
    import numpy as np

    pixels = document[index].render(scale=0.4, grayscale=True).to_numpy()
    if pixels.ndim == 3:
        pixels = pixels[..., 0]
    height = pixels.shape[0]
    top, bottom = round(height * 12 / 297), round(height * (297 - 14) / 297)
    inked = np.flatnonzero((pixels[top:bottom] < 240).any(axis=1))
    return float(inked[-1] + 1) / (bottom - top) if len(inked) else 0.0


def footer_template(text: str) -> str:
    """Chromium's footer line: the report, its date and release on the left; the page number on
    the right is set afterwards (pdf_assembly.py), numbered within each PDF."""
    return ('<div style="font-family: \'DejaVu Sans\', sans-serif; font-size: 8pt; color: #444; width: 100%; '
            f'margin: 0 12mm;"><span>{html.escape(text)}</span></div>')


def _page_content(site: Path, path: str) -> str:
    """The content of a page of the site for print: its <main> without the web footer and links."""
    text = (site / path).read_text(encoding="utf-8")
    match = re.search(r"<main[^>]*>(.*)</main>", text, re.S)
    if match is None:
        raise PdfError(f"{path}: Seite ohne Inhalt (<main>) – kann nicht gedruckt werden.")
    return _without_links(re.sub(r'<footer class="fuss">.*?</footer>', "", match.group(1), flags=re.S))


def _site_header(site: Path) -> str:
    header = re.search(r'<header class="kopf">.*?</header>', (site / "index.html").read_text(encoding="utf-8"), re.S)
    return _without_links(header.group(0)) if header else ""


def _document(title: str, style: str, body: str) -> str:
    return (f'<!DOCTYPE html><html lang="de"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<link rel="stylesheet" href="static/bericht.css"><style>{style}</style></head><body>{body}</body></html>')


@dataclass(frozen=True)
class PrintPart:
    """A part of the printed report: its title (a bookmark), its pages (paths in the site) and
    whether each page starts on a new sheet with a bookmark of its own (the indicators)."""
    title: str
    pages: list[str]
    page_bookmarks: bool = False


def whole_report_document(site: Path, parts: list[PrintPart], title: str) -> str:
    """One HTML document of every page's content, part by part; `title` becomes the PDF's title.
    The site's header once, at the top (the web footer is not printed: the page footer says it)."""
    sections = []
    for part in parts:
        kind = "druckseite neu" if part.page_bookmarks else "druckseite"
        contents = "".join(f'<div class="{kind}">{_page_content(site, path)}</div>' for path in part.pages)
        sections.append(f'<section class="druckteil" aria-label="{html.escape(part.title)}">{contents}</section>')
    return _document(title, PRINT_STYLE, f'{_site_header(site)}<main>{"".join(sections)}</main>')


def profiles_document(site: Path, profiles: list[str], title: str, zoom: list[float] | None = None) -> str:
    """Every profile with the site's header, each starting on a new page, as it prints on its own;
    `zoom`: each profile's size (1.0: as on screen; less pulls a short last page onto the one before)."""
    header = _site_header(site)
    zoom = zoom or [1.0] * len(profiles)
    sections = "".join(f'<section class="druckprofil"{_zoom_style(z)}>{header}<main>{_page_content(site, path)}</main></section>'
                       for path, z in zip(profiles, zoom))
    return _document(title, PROFILE_STYLE, sections)


def _zoom_style(zoom: float) -> str:
    return "" if zoom == 1.0 else f' style="zoom: {zoom}"'


def header_text(site: Path) -> str:
    """The report's title in the site's header: the first text of a printed page that starts with
    the header (the header's release line has its own layer and is read later)."""
    found = re.search(r'<div class="titel">(.*?)</div>', _site_header(site), re.S)
    return _plain_text(found.group(1)) if found else ""


def _plain_text(markup: str) -> str:
    """Markup as a reader sees its text: without tags, entities resolved."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup)).strip()


def _without_links(markup: str) -> str:
    """Links between pages point nowhere on paper (and relative to the page's own folder)."""
    return re.sub(r'\s(?:xlink:)?href="[^"]*"', "", markup)


@dataclass
class _Job:
    """A document for Chromium (its HTML file, its footer line) and, once printed, the PDF."""
    source: Path
    footer: str
    pdf: bytes = b""


# the printable area of an A4 page within PAGE_MARGINS, in CSS pixels (96 per inch)
PRINT_WIDTH_PX = (210 - 12 - 12) / 25.4 * 96
PRINT_HEIGHT_PX = (297 - 12 - 14) / 25.4 * 96
# a profile laid out without page breaks to more than this share of its last page spills over
# when cut into pages (figures and table rows are not split; measured: up to 0.1 of a page)
SPILL_FILL = 0.88


def expected_size(height_px: float) -> float:
    """The size to print a profile at, from its height laid out without page breaks: smaller where
    it would end with a nearly empty page (so that the common case needs no second print)."""
    pages, fill = int(height_px // PRINT_HEIGHT_PX) + 1, (height_px % PRINT_HEIGHT_PX) / PRINT_HEIGHT_PX
    if pages >= 2 and fill < MIN_FILL:
        return smaller_scale(1.0, pages, fill)
    if fill > SPILL_FILL:           # will spill onto a page of its own, nearly empty
        return smaller_scale(1.0, pages + 1, 0.05)
    return 1.0


def smaller_scale(scale: float, pages: int, fill: float) -> float:
    """The size that brings the content of pages-1 full pages and a short one onto pages-1 pages
    (with some room)."""
    return max(MIN_SCALE, round(scale * (pages - 1) / (pages - 1 + fill) * 0.97, 3))


class _Browser:
    """One Chromium for every document of a report (starting it costs about a second)."""

    def __init__(self, chromium: str) -> None:
        self.chromium = chromium

    async def __aenter__(self) -> _Browser:
        from playwright.async_api import async_playwright

        self._playwright = await async_playwright().start()
        try:
            self._browser = await self._playwright.chromium.launch(executable_path=self.chromium)
            self._context = await self._browser.new_context()
        except BaseException:
            await self._playwright.stop()
            raise
        return self

    async def __aexit__(self, *exc) -> None:
        try:
            await self._browser.close()
        finally:
            await self._playwright.stop()

    async def heights(self, source: Path, selector: str) -> list[float]:
        """The height in CSS pixels of every element `selector` of `source`, laid out as printed on
        A4 within PAGE_MARGINS but not cut into pages."""
        page = await self._context.new_page()
        try:
            await page.set_viewport_size({"width": round(PRINT_WIDTH_PX), "height": round(PRINT_HEIGHT_PX)})
            await page.emulate_media(media="print")
            await page.goto(source.as_uri(), wait_until="load")
            return await page.evaluate(
                f"[...document.querySelectorAll({selector!r})].map(e => e.getBoundingClientRect().height)")
        finally:
            await page.close()

    async def print(self, jobs: list[_Job]) -> None:
        """Print `jobs` side by side, one browser tab each (at most PARALLEL at a time)."""
        queue: asyncio.Queue = asyncio.Queue()
        for job in jobs:
            queue.put_nowait(job)

        async def tab() -> None:
            page = await self._context.new_page()
            try:
                while not queue.empty():
                    job = queue.get_nowait()
                    try:
                        await page.goto(job.source.as_uri(), wait_until="load")
                        job.pdf = await page.pdf(format="A4", margin=PAGE_MARGINS, print_background=True,
                                                 display_header_footer=True, header_template="<div></div>",
                                                 footer_template=footer_template(job.footer))
                    except Exception as error:  # Chromium's messages are English and do not say which page
                        raise PdfError(f"PDF von {job.source.name} konnte nicht gedruckt werden: {error}") from error
            finally:
                await page.close()

        await asyncio.gather(*(tab() for _ in range(min(PARALLEL, len(jobs)))))


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


def _heading(site: Path, path: str, element: str = "h1") -> str:
    """A page's heading (h1), or its title (`element` "title"), as a reader sees it."""
    found = re.search(rf"<{element}>(.*?)</{element}>", (site / path).read_text(encoding="utf-8"), re.S)
    if found is None:
        raise PdfError(f"{path}: Seite ohne <{element}> – kann nicht gedruckt werden.")
    return _plain_text(found.group(1))


@dataclass
class _Profile:
    path: str
    heading: str
    depth: int                    # of its bookmark in the whole report (1: below the last part)
    pages: Pages | None = None    # where its pages are, once printed
    zoom: float = 1.0
    fill: float = 1.0


def print_report(site: Path, chromium: str, profiles: list[tuple[str, int]], parts: list[PrintPart],
                 title: str, footer: str, progress=print) -> list[PrintedPdf]:
    """Print every profile page in `profiles` (path, depth of its bookmark below the last part) to
    a PDF next to it, and the whole report to bericht.pdf: the pages of `parts`, the profiles after
    the last part.
    Returns what was printed (pages, size, fill of the last page).

    Chromium prints the parts in one tab; beside it, it measures each profile's height, prints a
    profile that would end on a nearly empty page smaller at once, and prints the profiles (each on
    new pages) in PARALLEL documents; one whose last page is still nearly empty is printed again,
    smaller (up to FIT_ROUNDS times). Then pdf_assembly.py cuts, assembles and numbers. The whole report's last
    page is left as it falls: each of its parts starts on a new page anyway."""
    begun = time.perf_counter()
    header = header_text(site)
    areas = [_Profile(path, _heading(site, path), depth) for path, depth in profiles]
    # Chromium's profile and Playwright's files in a folder of this process (Chromium's socket path
    # must stay short: the system's temporary folder), removed afterwards; what a killed run left
    # there is removed by the next one
    for line in remove_scratch_of_dead_processes():
        progress(f"  Nach einem abgebrochenen Lauf: {line}")
    scratch = Path(tempfile.gettempdir()) / f"{SCRATCH_PREFIX}{os.getpid()}"
    scratch.mkdir(exist_ok=True)
    before = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(scratch)
    sources = []
    try:
        main = _Job(site / ".gesamtbericht.html", footer)
        main.source.write_text(whole_report_document(site, parts, title), encoding="utf-8")
        sources.append(main.source)

        async def print_profiles(browser: _Browser) -> None:
            """Beside the parts: each profile's expected size from its height, then the profiles in
            PARALLEL documents, again smaller where a last page is still nearly empty."""
            probe = site / ".gebietsprofile_hoehen.html"
            probe.write_text(profiles_document(site, [a.path for a in areas], title), encoding="utf-8")
            sources.append(probe)
            for area, height in zip(areas, await browser.heights(probe, "section.druckprofil")):
                area.zoom = expected_size(height)
            todo = areas
            for round_ in range(FIT_ROUNDS + 1):
                shares = [todo[i::PARALLEL] for i in range(PARALLEL) if todo[i::PARALLEL]]
                own = []
                for number, share in enumerate(shares):
                    job = _Job(site / f".gebietsprofile_{round_}_{number}.html", footer)
                    job.source.write_text(profiles_document(site, [a.path for a in share], title,
                                                            [a.zoom for a in share]), encoding="utf-8")
                    sources.append(job.source)
                    own.append((job, share))
                await browser.print([job for job, _ in own])
                todo = [again for job, share in own for again in _place_profiles(job.pdf, share, header)]
                if not todo:
                    break
                progress(f"  Bericht: {len(todo)} Profile enden mit einer fast leeren Seite und werden kleiner gedruckt")

        async def print_all() -> None:
            async with _Browser(chromium) as browser:
                await asyncio.gather(browser.print([main]), print_profiles(browser))

        asyncio.run(print_all())
        progress(f"  Bericht: gedruckt ({time.perf_counter() - begun:.1f} s), PDF werden zusammengestellt")
        results = [PrintedPdf(site / Path(a.path).with_suffix(".pdf"), 0, a.zoom, a.fill) for a in areas]
        for area, result in zip(areas, results):
            result.pages = assemble([area.pages], _heading(site, area.path, "title"), result.path)
        whole = _parts_with_bookmarks(main.pdf, parts, site, header)
        whole += [Pages(a.pages.pdf, a.pages.first, a.pages.stop, [Bookmark(a.depth, a.heading, 0)]) for a in areas]
        pages = assemble(whole, title, site / WHOLE_REPORT)
        results.insert(0, PrintedPdf(site / WHOLE_REPORT, pages, 1.0, 1.0))
    except ValueError as error:
        raise PdfError(str(error)) from error
    finally:
        if before is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = before
        for source in sources:
            source.unlink(missing_ok=True)
        shutil.rmtree(scratch, ignore_errors=True)
    progress(f"  Bericht: PDF fertig ({len(results) - 1} Gebiete und der Gesamtbericht mit {pages} Seiten, "
             f"{time.perf_counter() - begun:.1f} s)")
    return results


def _parts_with_bookmarks(pdf: bytes, parts: list[PrintPart], site: Path, header: str) -> list[Pages]:
    """The pages of each part in the printed document of the parts, with a bookmark for the part
    and, where each page starts a new sheet, one for each of its pages after the first."""
    marks = []    # (part, level, title, how its first printed page begins)
    for number, part in enumerate(parts):
        first = _heading(site, part.pages[0])
        marks.append((number, 0, part.title, f"{header} {first}" if number == 0 else first))
        if part.page_bookmarks:
            marks += [(number, 1, heading, heading) for heading in (_heading(site, path) for path in part.pages[1:])]
    starts = page_starts(pdf, [beginning for *_, beginning in marks])
    document = open_printed(pdf)
    part_starts = [start for start, (_, level, _, _) in zip(starts, marks) if level == 0]
    out = []
    for number, (first, stop) in enumerate(ranges(part_starts, len(document.pages))):
        out.append(Pages(document, first, stop, [Bookmark(level, title, start - first) for start, (part, level, title, _)
                                                 in zip(starts, marks) if part == number]))
    return out


def _place_profiles(pdf: bytes, printed: list[_Profile], header: str) -> list[_Profile]:
    """Find each of `printed` in `pdf` (a document of these profiles) and note its pages and how
    far its last page is filled; returns those to print again smaller (a last page less than
    MIN_FILL filled, and still room to shrink), each with its smaller size."""
    import pypdfium2 as pdfium

    document = open_printed(pdf)
    spans = ranges(page_starts(pdf, [f"{header} {a.heading}" for a in printed]), len(document.pages))
    reader = pdfium.PdfDocument(pdf)
    again = []
    try:
        for area, (first, stop) in zip(printed, spans):
            area.pages = Pages(document, first, stop, [Bookmark(0, area.heading, 0)])
            area.fill = last_page_fill(reader, stop - 1) if stop - first >= 2 else 1.0
            if area.fill < MIN_FILL and area.zoom > MIN_SCALE:
                area.zoom = smaller_scale(area.zoom, stop - first, area.fill)
                again.append(area)
    finally:
        reader.close()
    return again
