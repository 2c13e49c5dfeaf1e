"""The planners' report of the shared release (made by the main job): every page and export is
there, numbers on the pages and in the workbook are the release's, suppressed cells show `•`, the
site refers to nothing outside itself, and a boundary file with the wrong codes is refused."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from openpyxl import load_workbook

from dagster_project.report.boundaries import BoundaryError, load_boundaries
from dagster_project.report.build import publish_report
from dagster_project.report.charts import svg
from dagster_project.report.maps import DistrictMap, classify
from dagster_project.report.site import area_page
from tests.report_pages import german_number, value_cells

LEVEL_SLUG = {"statistical_district": "bezirk", "city_district": "stadtbezirk", "city": "stadt"}


@pytest.fixture(scope="module")
def release(report_site) -> Path:
    return report_site.parent


@pytest.fixture(scope="module")
def released(release) -> dict[str, pd.DataFrame]:
    con = duckdb.connect(str(release / "warehouse.duckdb"), read_only=True)
    try:
        return {name: con.execute(f"SELECT * FROM marts.{name}").df()
                for name in ("fct_indicator_values", "dim_area", "dim_indicator")}
    finally:
        con.close()


def test_the_site_has_every_page_and_export_inside_the_release(release, released):
    site = release / "bericht"
    for page in ("index.html", "sozialindex.html", "zuwanderung.html", "ziele.html", "methodik.html",
                 "indikatoren/index.html", "gebiete/index.html"):
        assert (site / page).is_file(), page
    indicators = sorted(p.stem for p in (site / "indikatoren").glob("*.html") if p.stem != "index")
    assert indicators == sorted(released["dim_indicator"].indicator_id) and len(indicators) == 20
    areas = released["dim_area"]
    profiles = sorted(p.name for p in (site / "gebiete").glob("*.html") if p.stem != "index")
    assert profiles == sorted(Path(area_page(a.area_level, a.area_code)).name for a in areas.itertuples())
    assert len(profiles) == 75 == 62 + 12 + 1
    for stem in ("uebersicht", "indikatoren", "gebiete", "sozialindex", "zuwanderung", "ziele_massnahmen"):
        assert (site / "downloads" / f"{stem}.xlsx").is_file(), stem
    # file names a web server or Windows share serves as they are: ASCII only
    assert all(path.name.isascii() for path in site.rglob("*")), [p.name for p in site.rglob("*") if not p.name.isascii()]
    stamp = json.loads((site / "erzeugung.json").read_text(encoding="utf-8"))
    # 102 pages and a page per area level (ebenen/: statistical and city districts)
    assert sorted(p.name for p in (site / "ebenen").glob("*.html")) == ["bezirk.html", "stadtbezirk.html"]
    assert stamp["release_id"] == release.name and stamp["seiten"] == 104
    # read-only like the rest of the release, and a second `make report` leaves it as it is
    assert not (site / "index.html").stat().st_mode & 0o222
    again = publish_report(release.parent.parent, progress=lambda _: None)
    assert not again.built


def test_the_site_refers_to_nothing_outside_itself(release):
    site = release / "bericht"
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        # the only absolute URLs allowed are XML namespaces inside the SVG
        for url in re.findall(r'(?:href|src|action)\s*=\s*"([^"]*)"', text):
            assert not re.match(r"[a-z]+:", url) or url.startswith("#"), (page, url)
            target = (page.parent / url.split("#")[0]).resolve() if url and not url.startswith("#") else None
            assert target is None or target.exists(), (page.name, url)
        # url(#…) names a pattern inside the same SVG (hatching of suppressed map tiles); nothing else
        assert "<script" not in text and "@import" not in text and not re.search(r"url\((?!#)", text), page
        ids = re.findall(r'\sid="([^"]+)"', text)
        assert len(ids) == len(set(ids)), (page.name, sorted(i for i in ids if ids.count(i) > 1))
        assert "<svg" in text or page.name in {"methodik.html"} or page.parent.name in {"gebiete", "indikatoren"} \
            and page.stem == "index", page


def _cells(released, seed: int = 20261201) -> pd.DataFrame:
    """20 cells of the latest year picked at random: suppressed ones among them if there are any."""
    values = released["fct_indicator_values"]
    latest = values[values.reference_year == values.reference_year.max()]
    hidden = latest[latest.is_suppressed.astype(bool)]
    shown = latest[~latest.is_suppressed.astype(bool)]
    picks = min(6, len(hidden))
    rng = random.Random(seed)
    rows = rng.sample(range(len(hidden)), picks) if picks else []
    chosen = [hidden.iloc[i] for i in rows] + [shown.iloc[i] for i in rng.sample(range(len(shown)), 20 - picks)]
    return pd.DataFrame(chosen)


def test_twenty_random_cells_on_the_page_and_in_the_workbook_are_the_releases(release, released):
    cells = _cells(released)
    assert len(cells) == 20 and cells.is_suppressed.astype(bool).sum() >= 1
    site = release / "bericht"
    sheet = load_workbook(site / "downloads" / "indikatoren.xlsx", read_only=True)["Indikatorwerte"]
    rows = sheet.iter_rows(values_only=True)
    header = list(next(rows))
    at = {name: header.index(name) for name in ("Indikator", "Gebietskode", "Jahr", "Wert", "Zähler")}
    workbook = {(r[at["Indikator"]], r[at["Gebietskode"]], r[at["Jahr"]]): (r[at["Wert"]], r[at["Zähler"]]) for r in rows}
    names = dict(zip(released["dim_indicator"].indicator_id, released["dim_indicator"].label_de))
    for cell in cells.itertuples():
        key = f"{cell.indicator_id}|{cell.area_code}|{cell.reference_year}"
        page = value_cells(site / area_page(cell.area_level, cell.area_code))
        shown = page[key]
        in_book, numerator = workbook[(names[cell.indicator_id], cell.area_code, int(cell.reference_year))]
        if cell.is_suppressed:
            assert shown == "•", (key, shown)
            assert in_book == "•" and numerator == "•", (key, in_book, numerator)
        else:
            assert german_number(shown) == pytest.approx(float(cell.indicator_value), abs=1e-9), (key, shown)
            assert in_book == pytest.approx(float(cell.indicator_value), abs=1e-9), (key, in_book)
        # the indicator page shows the same value for the statistical districts and upper levels
        indicator_page = value_cells(site / "indikatoren" / f"{cell.indicator_id}.html")
        assert indicator_page.get(key, shown) == shown


def test_no_suppressed_cell_shows_a_number_anywhere(release, released):
    values = released["fct_indicator_values"]
    hidden = values[values.is_suppressed.astype(bool)]
    keys = {f"{r.indicator_id}|{r.area_code}|{r.reference_year}" for r in hidden.itertuples()}
    site = release / "bericht"
    seen = 0
    for page in [*site.glob("gebiete/*.html"), *site.glob("indikatoren/*.html")]:
        for key, text in value_cells(page).items():
            if key in keys:
                assert text == "•", (page.name, key, text)
                seen += 1
    assert seen >= len(hidden.query("reference_year == reference_year.max()")) > 0


def _districts(released) -> pd.DataFrame:
    areas = released["dim_area"]
    return areas[areas.area_level == "statistical_district"]


def _squares(districts: pd.DataFrame, codes: list[str]) -> dict:
    """A boundary file of small squares around the centroids, outer rings counter-clockwise (RFC 7946)."""
    features = []
    for code, (lat, lon) in zip(codes, zip(districts.centroid_lat, districts.centroid_lon)):
        d = 0.004
        ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d], [lon - d, lat - d]]
        features.append({"type": "Feature", "properties": {"statistical_district_code": code},
                         "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return {"type": "FeatureCollection", "features": features}


def test_a_boundary_file_with_the_wrong_codes_is_refused_naming_them(released, tmp_path):
    districts = _districts(released)
    codes = list(districts.area_code)
    wrong = [*codes[:-2], "999", codes[0]]
    path = tmp_path / "bezirke.geojson"
    path.write_text(json.dumps(_squares(districts, wrong)), encoding="utf-8")
    with pytest.raises(BoundaryError) as refused:
        load_boundaries(path, codes)
    message = str(refused.value)
    assert f"es fehlen die Gebiete {codes[-2]}, {codes[-1]}" in message
    assert "unbekannt sind die Kodes 999" in message and f"mehrfach vorhanden: {codes[0]}" in message
    projected = _squares(districts, codes)
    projected["features"][3]["geometry"]["coordinates"][0][0] = [391234.5, 5709876.0]   # UTM, not WGS 84
    path.write_text(json.dumps(projected), encoding="utf-8")
    with pytest.raises(BoundaryError, match="WGS 84"):
        load_boundaries(path, codes)


def test_a_boundary_file_with_the_right_codes_draws_every_district(released, tmp_path):
    districts = _districts(released)
    codes = list(districts.area_code)
    path = tmp_path / "bezirke.geojson"
    path.write_text(json.dumps(_squares(districts, codes)), encoding="utf-8")
    features = load_boundaries(path, codes)
    # wound for d3-geo: outer rings clockwise (negative planar area)
    ring = features[0]["geometry"]["coordinates"][0]
    assert sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:])) < 0
    values = pd.DataFrame({"area_code": codes, "wert": range(len(codes)), "is_suppressed": False})
    drawn = svg(DistrictMap(districts, features).chart(classify(values, 0), "Test", "Klasse"), "Testkarte")
    marks = re.search(r'<g class="mark-shape role-mark[^"]*"[^>]*>(.*?)</g>', drawn).group(1)
    shapes = re.findall(r"<path[^>]*>", marks)
    assert len(shapes) == 62
    # a district wound the wrong way is drawn as the whole world minus itself: as wide as the map
    for shape in shapes:
        numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", re.search(r'd="([^"]+)"', shape).group(1))]
        assert max(numbers[0::2]) - min(numbers[0::2]) < 60, shape[:120]
    assert "Gebietsgrenzen der Stadt" in drawn and "schematische" not in drawn


def test_every_schematic_map_says_so(release):
    site = release / "bericht"
    for page in ("index.html", "sozialindex.html", "indikatoren/sgb2_rate.html"):
        assert "schematische Darstellung" in (site / page).read_text(encoding="utf-8"), page


def test_a_release_without_planning_data_still_gets_its_pages(release, tmp_path):
    """A city that keeps no goals, measures, comparison or retention yet: the pages say so instead of
    failing (the first small sample, without a year before, failed on an empty social index)."""
    import shutil

    from dagster_project.report.maps import DistrictMap
    from dagster_project.report.pages import goals, immigration, overview, profiles, social_index
    from dagster_project.report.release_data import ReleaseData
    from dagster_project.report.site import Site

    copy = tmp_path / "release"
    shutil.copytree(release, copy, ignore=shutil.ignore_patterns("bericht", "parquet"))
    for path in [copy, *copy.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    con = duckdb.connect(str(copy / "warehouse.duckdb"))
    for mart in ("fct_goal_achievement", "fct_measure_coverage", "fct_measure_gaps", "fct_measure_overlaps",
                 "fct_funding_programmes", "fct_municipal_comparison", "fct_immigration_retention", "dim_measure",
                 "fct_social_index"):
        con.execute(f"DELETE FROM marts.{mart}")
    con.close()
    data = ReleaseData.open(copy)
    out = tmp_path / "bericht"
    site = Site(data, out, DistrictMap(data.areas[data.areas.area_level == "statistical_district"]))
    for family in (overview, social_index, immigration, goals):
        family.build(site)
    profiles.page(site, data.areas.iloc[-1].to_dict(), [])
    assert "Keine Ziele in den Planungsdaten" in (out / "ziele.html").read_text(encoding="utf-8")
    profile = (out / area_page(data.areas.iloc[-1].area_level, data.areas.iloc[-1].area_code)).read_text(encoding="utf-8")
    assert "Keine laufende Maßnahme" in profile and "Nicht klassifiziert" in profile


def _measure_rows(page: Path) -> list[list[str]]:
    """The rows of the table under "Maßnahmen im Gebiet" as a reader sees them (cell texts)."""
    text = page.read_text(encoding="utf-8")
    section = text.split("<h2>Maßnahmen im Gebiet</h2>", 1)[1].split("<h3>", 1)[0]
    body = section.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in section else ""
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)]


def test_every_profile_lists_the_measures_the_coverage_counts(release, released):
    """For all 75 areas: a statistical district lists as many measures as the coverage mart counts
    for it; a city district and the city list exactly the fields of action the coverage has a
    measure in for any of their districts."""
    con = duckdb.connect(str(release / "warehouse.duckdb"), read_only=True)
    try:
        coverage = con.execute("SELECT c.statistical_district_code, f.field_of_action_de, c.active_measures "
                               "FROM marts.fct_measure_coverage c JOIN marts.dim_field_of_action f USING "
                               "(field_of_action_id) WHERE c.reference_year = (SELECT max(reference_year) "
                               "FROM marts.fct_measure_coverage)").df()
        funded = con.execute("SELECT sum(active_measures) FROM marts.fct_funding_programmes WHERE reference_date = "
                             "(SELECT max(reference_date) FROM marts.fct_funding_programmes)").fetchone()[0]
    finally:
        con.close()
    # the city's profile and the funding table count the same running measures
    assert len(_measure_rows(release / "bericht" / area_page("city", "05913000"))) == funded
    areas = released["dim_area"]
    districts = areas[areas.area_level == "statistical_district"]
    site = release / "bericht"
    checked = 0
    for area in areas.itertuples():
        rows = _measure_rows(site / area_page(area.area_level, area.area_code))
        if area.area_level == "statistical_district":
            members = {area.area_code}
        elif area.area_level == "city_district":
            members = set(districts[districts.city_district_code == area.area_code].area_code)
        else:
            members = set(districts.area_code)
        own = coverage[coverage.statistical_district_code.isin(members) & (coverage.active_measures > 0)]
        if area.area_level == "statistical_district":
            assert len(rows) == int(own.active_measures.sum()), (area.area_code, rows)
        assert {row[1] for row in rows} == set(own.field_of_action_de), (area.area_code, rows)
        checked += 1
    assert checked == len(areas) == 75


def test_a_city_district_profile_compares_all_its_statistical_districts(release, released):
    areas = released["dim_area"]
    districts = areas[areas.area_level == "statistical_district"]
    site = release / "bericht"
    for area in areas[areas.area_level == "city_district"].itertuples():
        text = (site / area_page("city_district", area.area_code)).read_text(encoding="utf-8")
        section = text.split("<h2>Statistische Bezirke im Vergleich</h2>", 1)[1].split("</table>", 1)[0]
        links = set(re.findall(r'href="\.\./(gebiete/[^"]+)"', section))
        members = districts[districts.city_district_code == area.area_code].area_code
        assert {area_page("statistical_district", code) for code in members} <= links, area.area_code
        assert len(re.findall(r"<tr", section)) == len(members) + 3      # header, members, city district, city


def test_a_time_series_break_reads_the_same_on_every_page_and_in_the_workbooks(release):
    """The text of a break on an indicator page (after its date) is the text the workbooks' notes give
    for that date, and no break text points elsewhere ("wie oben") or runs into its source without a
    full stop. Read from the pages and workbooks only."""
    from html import unescape

    site = release / "bericht"
    on_pages: dict[str, set[str]] = {}
    for page in (site / "indikatoren").glob("*.html"):
        for match in re.finditer(r'<p class="bruch"><strong>Zeitreihenbruch am ([\d.]+) [^<]*</strong>(.*?)</p>',
                                 page.read_text(encoding="utf-8"), re.S):
            text = unescape(re.sub(r"<[^>]+>", "", match.group(2))).strip()
            on_pages.setdefault(match.group(1), set()).add(text.split(" Quelle: ")[0])
            assert "wie oben" not in text and re.search(r"[.!?] Quelle: ", text), (page.name, text)
    assert on_pages, "keine Indikatorseite zeigt einen Zeitreihenbruch"
    notes = {}
    for workbook in (site / "downloads").glob("*.xlsx"):
        sheet = load_workbook(workbook, read_only=True)["Hinweise"]
        for key, value, *_ in sheet.iter_rows(values_only=True):
            if isinstance(key, str) and key.startswith("Zeitreihenbruch "):
                notes.setdefault(key.removeprefix("Zeitreihenbruch "), set()).add(value)
    for date, texts in on_pages.items():
        assert len(texts) == 1, (date, texts)   # one break, one text on every page it touches
        assert notes.get(date), date
        for note in notes[date]:
            assert note.startswith(next(iter(texts))), (date, note)
