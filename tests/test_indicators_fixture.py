"""Every indicator of the catalogue on a hand-made fixture, through ingest and dbt, against values
counted by hand.

The fixture: 24 persons in 11 households in three statistical districts (050 Nordmarkt and
040 Hafen in city district 02, 450 Sölderholz in city district 07), extracts for 2022 and 2023,
the movements of 2023 and the December (and one November) welfare deliveries of 2023.

    050: H1 P01 (38, RO) P02 (40, RO) P03 (8, RO) P04 (0, born 2023, German + RO)
         H2 P05 (33) P06 (11)                      -> single parent
         H3 P07 (73, TR)   H4 P08 (83, born in RU) H5 P09 (23, German + TR, moved in 2023)
         H6 P10 (28, BG) P11 (4, BG)               -> single parent, moved in from abroad 2023
         P12 secondary residence (not a resident)
    040: H7 P13 (53) P14 (51) P15 (15) P16 (17)    H8 P17 (65, moved 050 -> 040 in 2023)
    450: H9 P18 (63) P19 (61)  H10 P20 (78)
         H11 P21 (43, German + PL) P22 (13)        -> single parent, moved 050 -> 450 in 2023
    2022 only: P30 (450, moved out 2023), P31 (040, died 2023), P32 (050, moved abroad 2023)
"""

from __future__ import annotations

import duckdb
import pytest
from tests.conftest import SPEC_HEADERS, run_pipeline, step_failures, write_file

CITY = "05913000"

# pid, household, birth date, sex, nat1, nat2, birth country, status, district, zuzug, einzug
PERSONS_2023 = [
    ("01", "H1", "10.02.1985", "W", "154", "", "154", "H", "050", "01.03.2016", "01.03.2016"),
    ("02", "H1", "11.03.1983", "M", "154", "", "154", "H", "050", "01.03.2016", "01.03.2016"),
    ("03", "H1", "12.04.2015", "W", "154", "", "000", "H", "050", "", "01.03.2016"),
    ("04", "H1", "10.03.2023", "M", "000", "154", "000", "H", "050", "", "10.03.2023"),
    ("05", "H2", "01.01.1990", "W", "000", "", "000", "H", "050", "", "01.08.2019"),
    ("06", "H2", "02.02.2012", "M", "000", "", "000", "H", "050", "", "01.08.2019"),
    ("07", "H3", "03.03.1950", "M", "163", "", "163", "H", "050", "01.01.1975", "01.01.1990"),
    ("08", "H4", "04.04.1940", "W", "000", "", "160", "H", "050", "01.01.1992", "15.06.2010"),
    ("09", "H5", "05.05.2000", "M", "000", "163", "000", "H", "050", "01.04.2023", "01.04.2023"),
    ("10", "H6", "06.06.1995", "W", "125", "", "125", "H", "050", "15.05.2023", "15.05.2023"),
    ("11", "H6", "07.07.2019", "W", "125", "", "125", "H", "050", "15.05.2023", "15.05.2023"),
    ("12", "H12", "08.08.1998", "M", "000", "", "000", "N", "050", "01.10.2020", "01.10.2020"),
    ("13", "H7", "09.09.1970", "M", "000", "", "000", "H", "040", "", "01.01.2010"),
    ("14", "H7", "10.10.1972", "W", "000", "", "000", "H", "040", "", "01.01.2010"),
    ("15", "H7", "11.11.2008", "M", "000", "", "000", "H", "040", "", "01.01.2010"),
    ("16", "H7", "12.12.2006", "W", "000", "", "000", "H", "040", "", "01.01.2010"),
    ("17", "H8", "13.01.1958", "W", "000", "", "000", "H", "040", "", "01.07.2023"),
    ("18", "H9", "14.02.1960", "M", "000", "", "000", "H", "450", "", "01.05.2000"),
    ("19", "H9", "15.03.1962", "W", "000", "", "000", "H", "450", "", "01.05.2000"),
    ("20", "H10", "16.04.1945", "W", "000", "", "000", "H", "450", "", "01.01.1980"),
    ("21", "H11", "17.05.1980", "M", "000", "152", "000", "H", "450", "", "01.09.2023"),
    ("22", "H11", "18.06.2010", "M", "000", "", "000", "H", "450", "", "01.09.2023"),
]
NOT_IN_2022 = {"04", "09", "10", "11"}
CHANGED_IN_2022 = {  # where they lived on 31.12.2022
    "17": ("050", "01.01.2000"), "21": ("050", "01.01.2015"), "22": ("050", "01.01.2015"),
}
ONLY_2022 = [
    ("30", "H30", "01.01.1990", "M", "000", "", "000", "H", "450", "", "01.01.2010"),
    ("31", "H31", "01.01.1930", "W", "000", "", "000", "H", "040", "", "01.01.1960"),
    ("32", "H32", "01.01.1992", "M", "154", "", "154", "H", "050", "01.06.2022", "01.06.2022"),
]
MOVEMENTS_2023 = [  # pid, event, date, birth, sex, nat, from, to, country
    ("04", "GEBURT", "10.03.2023", "10.03.2023", "M", "000", "", "050", ""),
    ("10", "ZUZUG_AUSLAND", "15.05.2023", "06.06.1995", "W", "125", "", "050", "125"),
    ("11", "ZUZUG_AUSLAND", "15.05.2023", "07.07.2019", "W", "125", "", "050", "125"),
    ("09", "ZUZUG_INLAND", "01.04.2023", "05.05.2000", "M", "000", "", "050", "000"),
    ("17", "UMZUG", "01.07.2023", "13.01.1958", "W", "000", "050", "040", ""),
    ("21", "UMZUG", "01.09.2023", "17.05.1980", "M", "000", "050", "450", ""),
    ("22", "UMZUG", "01.09.2023", "18.06.2010", "M", "000", "050", "450", ""),
    ("30", "FORTZUG_INLAND", "01.02.2023", "01.01.1990", "M", "000", "450", "", "000"),
    ("31", "TOD", "05.06.2023", "01.01.1930", "W", "000", "040", "", ""),
    ("32", "FORTZUG_AUSLAND", "01.08.2023", "01.01.1992", "M", "154", "050", "", "154"),
]
SGB2_2023_12 = [  # case, seq, birth, sex, nationality, district, status, unemployed, type
    ("BG00001", "1", "10.02.1985", "W", "154", "050", "ELB", "J", "PAAR_MIT_KINDERN"),
    ("BG00001", "2", "11.03.1983", "M", "154", "050", "ELB", "N", "PAAR_MIT_KINDERN"),
    ("BG00001", "3", "12.04.2015", "W", "154", "050", "NEF", "N", "PAAR_MIT_KINDERN"),
    ("BG00001", "4", "10.03.2023", "M", "000", "050", "NEF", "N", "PAAR_MIT_KINDERN"),
    ("BG00002", "1", "01.01.1990", "W", "000", "050", "ELB", "J", "ALLEINERZIEHEND"),
    ("BG00002", "2", "02.02.2012", "M", "000", "050", "NEF", "N", "ALLEINERZIEHEND"),
    ("BG00005", "1", "06.06.1995", "W", "125", "050", "ELB", "J", "ALLEINERZIEHEND"),
    ("BG00005", "2", "07.07.2019", "W", "125", "050", "NEF", "N", "ALLEINERZIEHEND"),
    ("BG00003", "1", "17.05.1980", "M", "000", "450", "ELB", "N", "ALLEINERZIEHEND"),
    ("BG00003", "2", "18.06.2010", "M", "000", "450", "NEF", "N", "ALLEINERZIEHEND"),
    ("BG00006", "1", "13.01.1958", "W", "000", "040", "NEF", "N", "SINGLE"),  # 65: not "under 65"
]
SGB2_2023_11_EXTRA = [("BG00099", "1", "01.01.1980", "M", "000", "040", "ELB", "J", "SINGLE")]
SGB12_2023_12 = [  # case, birth, sex, nationality, district, chapter, institution
    ("F00001", "03.03.1950", "M", "163", "050", "4", "N"),
    ("F00002", "04.04.1940", "W", "000", "050", "4", "J"),  # in an institution: not counted
    ("F00003", "16.04.1945", "W", "000", "450", "4", "N"),
    ("F00004", "15.03.1962", "W", "000", "450", "3", "N"),  # chapter 3, 61 years
]
ASYLBLG_2023_12 = [("A00001", "1", "01.01.1990", "M", "475", "050", "GRUND")]


def _extract_line(p) -> str:
    pid, hh, birth, sex, nat1, nat2, bc, status, district, zuzug, einzug = p
    return (f"00000000{pid};Name{pid};Vorname{pid};{birth};{sex};{nat1};{nat2};{bc};{status};"
            f"Teststraße;{pid};{district};{hh}00;{zuzug};{einzug}")


def _extract_2022():
    rows = []
    for p in PERSONS_2023:
        if p[0] in NOT_IN_2022:
            continue
        if p[0] in CHANGED_IN_2022:
            district, einzug = CHANGED_IN_2022[p[0]]
            p = (*p[:8], district, p[9], einzug)
        rows.append(p)
    return rows + ONLY_2022


@pytest.fixture(scope="module")
def fixture_warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("fixture") / "warehouse"
    inbox = root / "inbox"
    write_file(inbox, "einwohner", "einwohner_2022-12-31.csv",
               [SPEC_HEADERS["einwohner"], *map(_extract_line, _extract_2022())])
    write_file(inbox, "einwohner", "einwohner_2023-12-31.csv",
               [SPEC_HEADERS["einwohner"], *map(_extract_line, PERSONS_2023)])
    write_file(inbox, "bewegungen", "bewegungen_2023.csv",
               [SPEC_HEADERS["bewegungen"], *(f"00000000{m[0]};" + ";".join(m[1:]) for m in MOVEMENTS_2023)])
    write_file(inbox, "sgb2", "sgb2_2023-12.csv", [SPEC_HEADERS["sgb2"], *map(";".join, SGB2_2023_12)],
               encoding="cp1252", newline="\r\n")
    write_file(inbox, "sgb2", "sgb2_2023-11.csv",
               [SPEC_HEADERS["sgb2"], *map(";".join, SGB2_2023_12 + SGB2_2023_11_EXTRA)])
    write_file(inbox, "sgb12", "sgb12_2023-12.csv", [SPEC_HEADERS["sgb12"], *map(";".join, SGB12_2023_12)])
    write_file(inbox, "asylblg", "asylblg_2023-12.csv", [SPEC_HEADERS["asylblg"], *map(";".join, ASYLBLG_2023_12)])
    result = run_pipeline(root)
    assert result.success, step_failures(result)
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    yield con
    con.close()


# (numerator, denominator) counted by hand for 2023; denominator None for plain counts
EXPECTED_2023 = {
    ("statistical_district", "050"): {
        "residents": (11, None),
        "share_under_18": (4, 11),            # P03, P04, P06, P11
        "share_65_plus": (2, 11),             # P07, P08
        "youth_dependency_ratio": (4, 5),     # 18-64: P01, P02, P05, P09, P10
        "old_age_dependency_ratio": (2, 5),
        "share_foreign": (6, 11),             # P01, P02, P03, P07, P10, P11 (P04, P09 are German)
        "share_migration_background": (9, 11),  # the 6 foreigners + P04, P09 (dual) + P08 (born abroad)
        "share_eu2": (5, 11),                 # P01, P02, P03 (RO), P10, P11 (BG)
        "share_single_parent_households": (2, 3),  # H2, H6 of H1, H2, H6
        "population_change_pct": (0, 11),     # 11 in 2022 (P17, P21, P22, P32 still there), 11 in 2023
        "net_migration_rate": (-1, 11),       # in: P09, P10, P11; out: P17, P21, P22 (moves), P32
        "mobility_rate": (7, 11),
        "share_residence_5y": (5, 11),        # in their dwelling since 2018 or earlier: P01-P03, P07, P08
        "sgb2_rate": (8, 9),                  # SGB II in 050, all under 65; residents under 65: 9
        "sgb2_child_rate": (4, 4),            # P03, P04, P06, P11 of 4 residents 0-14
        "elb_rate": (4, 5),                   # ELB 15-64: P01, P02, P05, P10
        "unemployment_sgb2_rate": (3, 5),     # P01, P05, P10
        "grusi_old_age_rate": (1, 2),         # F00001 (F00002 is in an institution)
        "min_income_rate": (10, 11),          # 8 SGB II + 1 SGB XII outside institutions + 1 AsylbLG
        "eu2_sgb2_rate": (5, 5),              # SGB II with 125/154 under 65 / EU2 residents under 65
    },
    ("statistical_district", "450"): {
        "residents": (5, None),
        "share_migration_background": (2, 5),  # P21 (German + PL) and P22, a minor in his household
        "share_single_parent_households": (1, 1),
        "population_change_pct": (1, 4),       # P30 left, P21 and P22 came
        "net_migration_rate": (1, 5),          # in: P21, P22; out: P30
        "mobility_rate": (3, 5),
        "grusi_old_age_rate": (1, 1),
        "min_income_rate": (4, 5),             # SGB II P21, P22; SGB XII F00003, F00004
    },
    ("city_district", "02"): {
        "residents": (16, None),
        "net_migration_rate": (0, 16),         # P17 moved within 02: no move at this level
        "mobility_rate": (6, 16),              # in: P09, P10, P11; out: P21, P22 (to 07), P32
        "sgb2_rate": (8, 13),                  # BG00006 (P17) is 65
    },
    ("city", CITY): {
        "residents": (21, None),
        "share_under_18": (7, 21),
        "share_65_plus": (4, 21),
        "youth_dependency_ratio": (7, 10),
        "old_age_dependency_ratio": (4, 10),
        "share_foreign": (6, 21),
        "share_migration_background": (11, 21),
        "share_eu2": (5, 21),
        "share_single_parent_households": (3, 5),
        "population_change_pct": (1, 20),      # 20 + 1 birth + 3 in - 1 death - 2 out = 21
        "net_migration_rate": (1, 21),         # only moves across the city boundary: 3 in, 2 out
        "mobility_rate": (5, 21),
        "share_residence_5y": (12, 21),
        "sgb2_rate": (10, 17),
        "sgb2_child_rate": (5, 5),
        "elb_rate": (5, 12),
        "unemployment_sgb2_rate": (3, 12),     # the November-only recipient does not count
        "grusi_old_age_rate": (2, 4),
        "min_income_rate": (15, 21),           # 11 SGB II (also the 65-year-old) + 3 SGB XII + 1 AsylbLG
        "eu2_sgb2_rate": (5, 5),
    },
}
MULTIPLIER = {"residents": 1, "net_migration_rate": 1000, "mobility_rate": 1000}


def test_city_and_nordmarkt_have_all_twenty_indicators():
    assert len(EXPECTED_2023[("statistical_district", "050")]) == 20
    assert len(EXPECTED_2023[("city", CITY)]) == 20


@pytest.mark.parametrize("area", sorted(EXPECTED_2023), ids=lambda a: f"{a[0]}-{a[1]}")
def test_indicator_values_equal_the_hand_count(fixture_warehouse, area):
    level, code = area
    rows = fixture_warehouse.execute("""
        SELECT indicator_id, numerator, denominator, indicator_value FROM marts.fct_indicator_values
        WHERE reference_year = 2023 AND area_level = ? AND area_code = ?""", [level, code]).fetchall()
    actual = {r[0]: r[1:] for r in rows}
    for indicator, (numerator, denominator) in EXPECTED_2023[area].items():
        got_num, got_den, got_value = actual[indicator]
        assert got_num == numerator, (indicator, got_num, numerator)
        assert got_den == denominator, (indicator, got_den, denominator)
        expected_value = numerator if denominator is None else numerator / denominator * MULTIPLIER.get(indicator, 100)
        assert got_value == pytest.approx(expected_value), indicator


def test_every_indicator_for_every_area_and_year(fixture_warehouse):
    counts = dict(fixture_warehouse.execute("""
        SELECT reference_year, count(DISTINCT indicator_id || area_level || area_code)
        FROM marts.fct_indicator_values GROUP BY 1""").fetchall())
    areas = fixture_warehouse.execute("SELECT count(*) FROM marts.dim_area").fetchone()[0]
    assert areas == 62 + 12 + 1
    # 2022: no previous year, no movements and no welfare delivery -> 10 indicators; 2023: all 20
    assert counts == {2022: 10 * areas, 2023: 20 * areas}


def test_wide_profile_matches_the_long_fact(fixture_warehouse):
    row = fixture_warehouse.execute("""
        SELECT area_name, residents, sgb2_rate, net_migration_rate FROM marts.fct_area_profile
        WHERE area_level = 'statistical_district' AND area_code = '050' AND reference_year = 2023""").fetchone()
    assert row[0] == "Nordmarkt" and row[1] == 11
    assert row[2] == pytest.approx(8 / 9 * 100) and row[3] == pytest.approx(-1 / 11 * 1000)


def test_small_districts_are_listed_but_not_classified(fixture_warehouse):
    rows = fixture_warehouse.execute("SELECT count(*) FROM marts.fct_social_index").fetchone()[0]
    # the social index needs the year two before: none in the fixture
    assert rows == 0


def test_dbt_docs_site_is_built_offline(fixture_warehouse, tmp_path):
    """`make docs`: the dbt documentation site of the built warehouse (on a copy: the fixture
    holds it open) is one page that loads nothing from elsewhere and has its tracker off."""
    import shutil

    from dagster_project.dbt_docs import build_site, offline_problems
    from dagster_project.settings import WarehousePaths

    source = fixture_warehouse.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(source, copy)
    paths = WarehousePaths(tmp_path, copy, tmp_path / "inbox", tmp_path / "quarantine", tmp_path / "release",
                           tmp_path / "reports")
    page = build_site(paths)
    catalog = (page.parent / "catalog.json").read_text(encoding="utf-8")
    assert "fct_indicator_values" in catalog and "fct_social_index" in catalog
    text = page.read_text(encoding="utf-8")
    assert offline_problems(text) == [] and "fct_indicator_values" in text
    assert offline_problems('<script src="https://cdn.example.org/x.js"></script>')   # the check can fail
