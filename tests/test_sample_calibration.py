"""The default sample, at Dortmund scale, meets the published figures it is calibrated to.

Every figure is counted here from the written delivery files, and compared with the published
value from Dortmund's profile (cities/dortmund/seeds/ref_published_figures.csv)."""

from __future__ import annotations

import csv

import duckdb
import pytest

from dagster_project.contracts import SEED_DIR
from dagster_project.settings import REPO_ROOT
from sample_deliveries.__main__ import generate

YEARS = [2015, 2018, 2022, 2023]
DORTMUND = REPO_ROOT / "cities" / "dortmund" / "seeds"


@pytest.fixture(scope="module")
def dortmund(tmp_path_factory):
    out = tmp_path_factory.mktemp("dortmund") / "inbox"
    generate(out, YEARS, scale=1.0, seed=42, progress=lambda _: None, registers={"einwohner", "bewegungen", "sgb2"})
    con = duckdb.connect()
    for year in YEARS:
        con.execute(f"""
            CREATE TABLE e{year} AS
            SELECT *, {year} - CAST(right(GEBURTSDATUM, 4) AS INTEGER) AS age
            FROM read_csv('{out}/einwohner/einwohner_{year}-12-31.csv', delim=';', header=true,
                          all_varchar=true, encoding='{"latin-1" if year <= 2018 else "utf-8"}')
            WHERE WOHNUNGSSTATUS = 'H'""")
    con.execute(f"""CREATE TABLE sgb2 AS SELECT *, 2023 - CAST(right(GEBURTSDATUM, 4) AS INTEGER) AS age
                    FROM read_csv('{out}/sgb2/sgb2_2023-12.csv', delim=';', header=true, all_varchar=true,
                                  encoding='latin-1')""")
    movements = " UNION ALL ".join(
        f"""SELECT EREIGNIS, STAATSANGEHOERIGKEIT_1 FROM read_csv(
                '{out}/bewegungen/bewegungen_{year}.csv', delim=';', header=true, all_varchar=true,
                encoding='{"latin-1" if year <= 2018 else "utf-8"}')"""
        for year in YEARS)
    con.execute(f"""CREATE TABLE movements AS
                    SELECT m.EREIGNIS AS event, coalesce(n.monitoring_group, 'SONSTIGE') AS monitoring_group
                    FROM ({movements}) AS m
                    LEFT JOIN read_csv('{SEED_DIR / "ref_nationalities.csv"}', all_varchar=true) AS n
                      ON m.STAATSANGEHOERIGKEIT_1 = n.nationality_code""")
    # the statistical districts and their city districts, from Dortmund's area list
    con.execute(f"""CREATE TABLE districts AS
                    SELECT area_code AS statistical_district_code, parent_area_code AS city_district_code
                    FROM read_csv('{DORTMUND / "ref_areas.csv"}', all_varchar=true)
                    WHERE area_level = 'statistical_district'""")
    yield con
    con.close()


def published(year: int, area: str, measure: str) -> float:
    with (DORTMUND / "ref_published_figures.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if (row["reference_date"], row["area_code"], row["measure"]) == (f"{year}-12-31", area, measure):
                return float(row["value"])
    raise KeyError((year, area, measure))


def count(con, sql: str) -> float:
    return con.execute(sql).fetchone()[0]


def close(actual: float, expected: float, tolerance: float) -> bool:
    return abs(actual - expected) <= tolerance * expected


def test_city_residents(dortmund):
    for year in (2022, 2023):
        assert close(count(dortmund, f"SELECT count(*) FROM e{year}"),
                     published(year, "05913000", "residents_main_residence"), 0.005)


def test_city_districts_2023(dortmund):
    for code in ("02", "03", "09", "11"):
        actual = count(dortmund, f"""SELECT count(*) FROM e2023 e JOIN districts d
                                      ON e.STAT_BEZIRK = d.statistical_district_code
                                      WHERE d.city_district_code = '{code}'""")
        assert close(actual, published(2023, code, "residents_main_residence"), 0.02), code


def test_bulgarian_and_romanian_residents(dortmund):
    for year in (2015, 2018):
        for code, measure in (("125", "residents_bulgarian"), ("154", "residents_romanian")):
            actual = count(dortmund, f"SELECT count(*) FROM e{year} WHERE STAATSANGEHOERIGKEIT_1 = '{code}'")
            assert close(actual, published(year, "05913000", measure), 0.03), (year, code, actual)
    eu2 = count(dortmund, "SELECT count(*) FROM e2023 WHERE STAATSANGEHOERIGKEIT_1 IN ('125', '154')")
    assert close(eu2, published(2023, "05913000", "residents_eu2"), 0.03)


def test_eu2_concentrated_in_innenstadt_nord(dortmund):
    nordmarkt = count(dortmund, "SELECT count(*) FROM e2018 WHERE STAATSANGEHOERIGKEIT_1 IN ('125','154') "
                                "AND STAT_BEZIRK = '050'")
    assert close(nordmarkt, published(2018, "050", "residents_eu2_approx"), 0.15)  # 'about 2,600'
    nord = count(dortmund, "SELECT count(*) FROM e2018 WHERE STAATSANGEHOERIGKEIT_1 IN ('125','154') "
                           "AND STAT_BEZIRK IN ('040', '050', '060')")
    assert close(nord, published(2018, "02", "residents_eu2_approx"), 0.15)  # 'about 4,750'


def test_foreign_shares_of_nordmarkt_and_soelderholz(dortmund):
    def share(code):
        return count(dortmund, f"""SELECT 100 * avg(CASE WHEN STAATSANGEHOERIGKEIT_1 <> '000'
                                   AND coalesce(STAATSANGEHOERIGKEIT_2, '') <> '000' THEN 1 ELSE 0 END)
                                   FROM e2023 WHERE STAT_BEZIRK = '{code}'""")
    assert abs(share("050") - published(2023, "050", "share_foreign_pct")) <= 3.0
    assert abs(share("450") - published(2023, "450", "share_foreign_pct")) <= 1.5


def test_share_65_plus_2023(dortmund):
    share = count(dortmund, "SELECT 100 * avg(CASE WHEN age >= 65 THEN 1 ELSE 0 END) FROM e2023")
    assert abs(share - published(2023, "05913000", "share_65plus_pct")) <= 1.0


def test_social_gradient_of_sgb2(dortmund):
    rates = dict(dortmund.execute("""
        WITH r AS (SELECT STAT_BEZIRK, count(*) AS n FROM e2023 WHERE age < 65 GROUP BY 1),
             s AS (SELECT STAT_BEZIRK, count(*) AS n FROM sgb2 WHERE age < 65 GROUP BY 1)
        SELECT r.STAT_BEZIRK, 100.0 * coalesce(s.n, 0) / r.n FROM r LEFT JOIN s USING (STAT_BEZIRK)
    """).fetchall())
    city = count(dortmund, "SELECT 100.0 * (SELECT count(*) FROM sgb2 WHERE age < 65) / "
                           "(SELECT count(*) FROM e2023 WHERE age < 65)")
    assert 16.5 <= city <= 18.5
    for code in ("040", "050", "060"):  # Hafen, Nordmarkt, Borsigplatz
        assert 35 <= rates[code] <= 45, (code, rates[code])
    southern = [c for c in rates if c[0] in "4569"]  # Aplerbeck, Hörde, Hombruch, and the south
    assert min(rates[c] for c in southern) < 5
    assert max(rates, key=rates.get) in ("040", "050", "060")
    children = count(dortmund, "SELECT 100.0 * (SELECT count(*) FROM sgb2 WHERE age < 15) / "
                               "(SELECT count(*) FROM e2023 WHERE age < 15)")
    assert children > city + 5


def test_households_with_children_and_single_parents(dortmund):
    single_parent_share = count(dortmund, """
        WITH h AS (SELECT HAUSHALT, sum(CASE WHEN age >= 18 THEN 1 ELSE 0 END) AS adults,
                          sum(CASE WHEN age < 18 THEN 1 ELSE 0 END) AS minors
                   FROM e2023 GROUP BY 1)
        SELECT 100.0 * count(*) FILTER (WHERE adults = 1 AND minors > 0) / count(*) FILTER (WHERE minors > 0)
        FROM h""")
    assert 12 <= single_parent_share <= 35


def test_every_monitoring_group_moves_across_the_city_boundary_both_ways(dortmund):
    """Each monitoring group has arrivals and departures from/to abroad and from/to the rest of
    Germany (no monitoring series constant zero), at plausible shares for the groups the
    planners watch most (assumptions in docs/methodology.md "Beispiel-Lieferungen")."""
    flows = {(group, event): n for group, event, n in dortmund.execute(
        "SELECT monitoring_group, event, count(*) FROM movements GROUP BY ALL").fetchall()}
    groups = {group for group, _ in flows}
    assert {"EU2", "UKRAINE", "ASYLHERKUNFT", "DEUTSCH", "TUERKEI", "EU_SONSTIGE"} <= groups
    for group in groups:
        for event in ("ZUZUG_AUSLAND", "ZUZUG_INLAND", "FORTZUG_AUSLAND", "FORTZUG_INLAND"):
            assert flows.get((group, event), 0) > 0, (group, event)

    def inland_share(group):
        inland, abroad = flows[(group, "ZUZUG_INLAND")], flows[(group, "ZUZUG_AUSLAND")]
        return inland / (inland + abroad)
    assert 0.10 <= inland_share("EU2") <= 0.40
    assert 0.40 <= inland_share("ASYLHERKUNFT") <= 0.80
    assert 0.10 <= inland_share("UKRAINE") <= 0.50
