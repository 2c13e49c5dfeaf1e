"""The planners' report as a static website: every page family renders its pages and its exports
(pages/*.py), this module gives them what they share and writes the site.

    bericht/
      index.html                 Überblick
      indikatoren/<id>.html      one page per indicator of the catalogue
      gebiete/<ebene>-<kode>.html  one profile per area (statistical districts, city districts, city)
      sozialindex.html, zuwanderung.html, ziele.html, methodik.html
      downloads/*.xlsx, *.csv    exports of every page family
      static/bericht.css         the one stylesheet (no scripts, fonts or images from elsewhere)

Charts and maps are SVG inside the pages, so a page is one file plus the stylesheet.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import jinja2

from dagster_project import city_profile
from dagster_project.report.hierarchy import CITY, CITY_SLUG
from dagster_project.report import charts
from dagster_project.report.boundaries import load_boundaries
from dagster_project.report.cells import Footnotes, german_date, sentence
from dagster_project.report.exports import Table, write_csv, write_xlsx
from dagster_project.report.maps import Classes, DistrictMap
from dagster_project.report.pdf import WHOLE_REPORT, PrintPart, pdf_printer, print_report
from dagster_project.report.release_data import ReleaseData

HERE = Path(__file__).parent
TITLE = "Bericht zur sozialen Lage"
NAVIGATION = [("Überblick", "index.html"), ("Indikatoren", "indikatoren/index.html"),
              ("Gebiete", "gebiete/index.html"), ("Sozialindex", "sozialindex.html"),
              ("Zuwanderung Südosteuropa", "zuwanderung.html"), ("Ziele und Maßnahmen", "ziele.html"),
              ("Methodik", "methodik.html")]
def area_page(level: str, code: str) -> str:
    """The profile page of an area: gebiete/<slug of its level>-<code>.html (slugs: city profile)."""
    slug = CITY_SLUG if level == CITY else city_profile.current().level(level).slug
    return f"gebiete/{slug}-{code}.html"


@dataclass
class SiteSummary:
    folder: Path
    pages: int
    charts: int
    exports: int
    bytes: int
    seconds: float
    pdfs: int = 0                # 0: no Chromium on this machine (pdf.py)


class Site:
    """What every page family needs: the release data, the map geometry, templates, the writer."""

    def __init__(self, data: ReleaseData, out: Path, district_map: DistrictMap, progress=print,
                 pool: ProcessPoolExecutor | None = None):
        self.data = data
        self.pool = pool
        self.out = out
        self.map = district_map
        self.progress = progress
        self.charts = 0
        self.pages = 0
        self.exports = 0
        self.writing: list[Future] = []    # files being written by the worker processes
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                                      undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        self.env.filters["datum"] = german_date
        self.env.filters["satz"] = sentence
        city = data.city()
        gate = "bestanden" if data.gate_passed() else "mit Fehlern"
        self.globals = {
            "title": TITLE, "release_id": data.release_id,
            "release_date": german_date(data.manifest["zeitpunkt"]), "latest_year": data.latest_year,
            "gate": gate, "navigation": NAVIGATION, "city_name": city["area_name"], "map_note": district_map.note(),
            "pdf": pdf_printer()[0] is not None,
        }

    # -- building blocks ----------------------------------------------------------------------
    def footnotes(self) -> Footnotes:
        return Footnotes()

    def chart(self, chart, description: str) -> str:
        self.charts += 1
        return charts.svg(chart, description)

    def drawn(self, svg: str) -> str:
        """A chart drawn without Vega (small_multiples.py), counted like the others."""
        self.charts += 1
        return svg

    def class_map(self, classes: Classes, title: str, legend_title: str, description: str, root: str,
                  texts: dict[str, str] | None = None, legend_note: str | None = None) -> str:
        """A map of classes: drawn directly on the tile map (names, values and links to the profiles in
        each square), through Vega with boundaries. `root`: the page's way back to the site's root."""
        self.charts += 1
        drawn = self.map.class_map_svg(classes, title, legend_title, description, texts,
                                       lambda code: root + area_page(self.data.hierarchy.lowest, code), legend_note)
        if drawn is not None:
            return drawn
        return charts.svg(self.map.chart(classes, title, legend_title), description)

    def locator(self, members: set[str], description: str) -> str:
        """A locator map with `members` dark: drawn directly on the tile map, through Vega with boundaries."""
        self.charts += 1
        drawn = self.map.locator_svg(members, description)
        if drawn is not None:
            return drawn
        return charts.svg(self.map.chart(Classes({}, [], []), "", "", highlight=members, scale_factor=0.6),
                          description)

    def render_pages(self, function, items: list, *args) -> None:
        """`function(site, item, *args)` for every item: in the worker processes when there are some
        (chart rendering is CPU-bound and holds the interpreter), else here."""
        if self.pool is None:
            for item in items:
                function(self, item, *args)
            return
        done = 0
        for pages, charts_drawn in self.pool.map(_render_in_worker, [(function, item, args) for item in items]):
            self.pages += pages
            self.charts += charts_drawn
            done += 1
            if done % 25 == 0:
                self.progress(f"    {done} von {len(items)} Seiten")

    def write_page(self, path: str, template: str, title: str, fn: Footnotes, active: str,
                   downloads: list[tuple[str, str]] | None = None, **context) -> Path:
        root = "../" * path.count("/")
        downloads = [*self.pdf_links(path, title), *(downloads or [])]
        html = self.env.get_template(template).render(
            site=self.globals, title=title, root=root, fn=fn, active=active, downloads=downloads,
            area_page=area_page, **{**self.level_words, **context})
        target = self.out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
        self.pages += 1
        return target

    @cached_property
    def level_words(self) -> dict[str, str]:
        """What every template may say of the levels (the city profile's words): the lowest level's
        id, label and plural, the top level's label and plural."""
        h = self.data.hierarchy
        return {"lowest_level": h.lowest, "lowest_label": h.label(h.lowest), "lowest_plural": h.plural(h.lowest),
                "top_level": h.top, "top_label": h.label(h.top), "top_plural": h.plural(h.top),
                "level_list": h.words([h.plural(level) for level in h.level_ids[:-1][::-1]]),
                "min_residents": h.profile.social_index_min_residents}

    def pdf_links(self, path: str, title: str) -> list[tuple[str, str]]:
        """The printed versions a page links to: its own (profiles) and the whole report (overview)."""
        if not self.globals["pdf"]:
            return []
        if path == "index.html":
            return [("Gesamter Bericht als PDF (A4)", WHOLE_REPORT)]
        if path.startswith("gebiete/") and path != "gebiete/index.html":
            return [(f"{title} als PDF (A4)", path.removesuffix(".html") + ".pdf")]
        return []

    def print_order(self) -> tuple[list[tuple[str, int]], list[PrintPart]]:
        """The profile pages with their depth in the printed report's bookmarks (the city, then each
        area of the top level at depth 1, each followed by its areas below, depth first) and the
        whole report's other parts in reading order, for pdf.py (the profiles follow the last part,
        "Gebiete")."""
        from dagster_project.report.pages.levels import pages as level_pages

        profiles = [(area_page("city", self.data.city()["area_code"]), 1)]
        profiles += [(area_page(area["area_level"], area["area_code"]), depth)
                     for area, depth in self.data.hierarchy.tree()]
        indicators = [f"indikatoren/{i}.html" for i in self.data.indicators.indicator_id]
        parts = [PrintPart("Überblick", ["index.html"]),
                 PrintPart("Indikatoren", ["indikatoren/index.html", *indicators], page_bookmarks=True),
                 PrintPart("Sozialindex", ["sozialindex.html"]), PrintPart("Zuwanderung", ["zuwanderung.html"]),
                 PrintPart("Ziele und Maßnahmen", ["ziele.html"]), PrintPart("Methodik", ["methodik.html"]),
                 PrintPart("Gebiete", ["gebiete/index.html", *level_pages(self)])]
        return profiles, parts

    def write_exports(self, stem: str, tables: list[Table], notes: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The family's workbook and one CSV per table; returns the download links. Codes of the
        catalogue (fields of action, target groups, funders, indicators) are written as their German
        names: planners read the files, BI tools have the codes in the release."""
        tables = [self.data.with_names(table) for table in tables]
        # link texts in German (the table's name); the files keep ASCII names for every server and share
        links = [("Alle Tabellen (Excel)" if len(tables) > 1 else f"{tables[0].name} (Excel)", f"downloads/{stem}.xlsx")]
        self.write_file(write_xlsx, tables, notes, self.out / "downloads" / f"{stem}.xlsx")
        for table in tables:
            name = f"{stem}_{_slug(table.name)}.csv" if len(tables) > 1 else f"{stem}.csv"
            self.write_file(write_csv, table, self.out / "downloads" / name)
            links.append((f"{table.name} (CSV)", f"downloads/{name}"))
        return links

    def write_file(self, writer, *args) -> None:
        """`writer(*args)` in a worker process when there are some (the pages need not wait for the
        workbooks: openpyxl writes about 100,000 cells a second), else here; build_site waits for all."""
        self.exports += 1
        if self.pool is None:
            writer(*args)
        else:
            self.writing.append(self.pool.submit(writer, *args))

    def release_notes(self) -> list[tuple[str, str]]:
        """Lines of every workbook's notes sheet that say where the numbers come from."""
        return [("Quelle", f"{self.globals['city_name']}, Daten für Taten, Release {self.data.release_id} vom "
                           f"{self.globals['release_date']} (freigegebene Tabellen, Freigabeprüfung "
                           f"{self.globals['gate']})."),
                ("Stichtag", "31.12. des Berichtsjahres (Bestände); Bewegungen im Laufe des Jahres."),
                ("Zahlenformat", "Dezimalkomma; Anteile in Prozent, Raten je 100 bzw. je 1.000 wie angegeben.")]

    def indicator_names(self, ids: str | None) -> str:
        """"elb_rate, sgb2_rate" -> "ELB-Quote, SGB-II-Quote" (the catalogue's German names)."""
        names = dict(zip(self.data.indicators.indicator_id, self.data.indicators.label_de))
        return ", ".join(names.get(i.strip(), i.strip()) for i in str(ids or "").split(",") if i.strip())

    def breaks_note(self) -> list[tuple[str, str]]:
        breaks = self.data.marts["dim_time_series_break"]
        return [(f"Zeitreihenbruch {german_date(b.break_date)}",
                 f"{sentence(b.description_de)} Betroffen: {self.indicator_names(b.affected_indicator_ids)}. "
                 f"Quelle: {sentence(b.source_de)}")
                for b in breaks.itertuples()]


def _slug(text: str) -> str:
    """A file name part: lower case ASCII (umlauts written out, as many servers and shares need)."""
    text = text.lower().translate(str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"}))
    return "".join(c if c.isascii() and c.isalnum() else "_" for c in text).strip("_")


def report_workers() -> int:
    """Processes that draw pages (DFT_REPORT_WORKERS; default: the cores, at most 4; 1: no extra process)."""
    value = os.environ.get("DFT_REPORT_WORKERS", "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"DFT_REPORT_WORKERS={value!r}: erwartet wird eine ganze Zahl ab 1.")
        return int(value)
    return max(1, min(4, os.cpu_count() or 1))


def _open_site(release_folder: Path, out: Path, boundaries: Path | None, progress=print,
               pool: ProcessPoolExecutor | None = None) -> Site:
    data = ReleaseData.open(release_folder)
    districts = data.areas[data.areas.area_level == data.hierarchy.lowest]
    features = load_boundaries(boundaries, list(districts.area_code)) if boundaries else None
    return Site(data, out, DistrictMap(districts, features), progress, pool)


_WORKER_SITE: Site | None = None


def _start_worker(release_folder: Path, out: Path, boundaries: Path | None) -> None:
    global _WORKER_SITE
    _WORKER_SITE = _open_site(release_folder, out, boundaries, progress=lambda _: None)


def _render_in_worker(task: tuple) -> tuple[int, int]:
    function, item, args = task
    site = _WORKER_SITE
    pages, charts_drawn = site.pages, site.charts
    function(site, item, *args)
    return site.pages - pages, site.charts - charts_drawn


def build_site(release_folder: Path, out: Path, boundaries: Path | None = None, progress=print,
               workers: int | None = None) -> SiteSummary:
    """Write the whole report for the release in `release_folder` into `out` (emptied first)."""
    from dagster_project.report.pages import (goals, immigration, indicators, levels, methods, overview, profiles,
                                              social_index)

    started = time.perf_counter()
    workers = report_workers() if workers is None else workers
    pool = None
    if workers > 1:
        # spawn, not fork: the caller may be a Dagster process with threads of its own
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_worker, initargs=(release_folder, out, boundaries))
    try:
        site = _open_site(release_folder, out, boundaries, progress, pool)
        if out.exists():
            shutil.rmtree(out)
        (out / "static").mkdir(parents=True)
        shutil.copy(HERE / "static" / "bericht.css", out / "static" / "bericht.css")
        for family in (overview, indicators, profiles, levels, social_index, immigration, goals, methods):
            begun = time.perf_counter()
            family.build(site)
            progress(f"  Bericht: {family.TITLE} fertig ({time.perf_counter() - begun:.1f} s)")
        for written in site.writing:
            written.result()   # a failed export fails the report
        progress(f"  Bericht: {site.exports} Downloads geschrieben")
    finally:
        if pool is not None:
            pool.shutdown()
    printed = []
    chromium, without = pdf_printer()
    if chromium is None:
        progress(f"  Hinweis: Bericht {without}.")
    else:
        profiles, parts = site.print_order()
        title = f"{TITLE} {site.globals['city_name']} {site.data.latest_year}"
        footer = f"{title} · Stand {site.globals['release_date']} (Release {site.data.release_id})"
        printed = print_report(out, chromium, profiles, parts, title, footer, progress)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return SiteSummary(out, site.pages, site.charts, site.exports, size, time.perf_counter() - started,
                       len(printed))
