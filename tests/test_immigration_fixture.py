"""Immigration monitoring and retention on a hand-made fixture, through ingest and dbt.

Cohort 2020, arrivals from abroad: A and B (Bulgaria) into 050, C and D (Romania) into 040,
E (German) into 450. A arrives, leaves and arrives again in 2020: one person in the cohort, two
moves in. On 31.12.2021 C is gone; on 31.12.2023 also D and E. No extract for 2025.

    EU2, city:   cohort 4; after 1 year A, B, D = 3 (75 %); after 3 years A, B = 2 (50 %)
    EU2, 050:    cohort 2; 2 and 2          EU2, 040: cohort 2; 1 and 0
    DEUTSCH:     cohort 1; 1 and 0
"""

from __future__ import annotations

import duckdb
import pytest
from tests.conftest import SPEC_HEADERS, run_pipeline, step_failures, write_file

CITY = "05913000"
PEOPLE = {  # pid: (birth, sex, nationality, district, zuzug, einzug)
    "A": ("01.01.1990", "M", "125", "050", "01.09.2020", "01.09.2020"),
    "B": ("02.02.2010", "W", "125", "050", "01.05.2020", "01.05.2020"),
    "C": ("03.03.1985", "W", "154", "040", "01.06.2020", "01.06.2020"),
    "D": ("04.04.1988", "M", "154", "040", "01.07.2020", "01.07.2020"),
    "E": ("05.05.1970", "M", "000", "450", "01.08.2020", "01.08.2020"),
    "Z": ("06.06.1950", "W", "000", "050", "", "01.01.2000"),
    "F": ("07.07.1960", "W", "000", "050", "", "01.02.2021"),
    "G": ("08.08.1965", "M", "000", "050", "", "01.03.2023"),
}
EXTRACTS = {2020: "ABCDEZ", 2021: "ABDEZF", 2023: "ABZFG"}
MOVEMENTS_2020 = [  # pid, event, date, from, to
    ("A", "ZUZUG_AUSLAND", "15.03.2020", "", "050"),
    ("A", "FORTZUG_AUSLAND", "01.05.2020", "050", ""),
    ("A", "ZUZUG_AUSLAND", "01.09.2020", "", "050"),
    ("B", "ZUZUG_AUSLAND", "01.05.2020", "", "050"),
    ("C", "ZUZUG_AUSLAND", "01.06.2020", "", "040"),
    ("D", "ZUZUG_AUSLAND", "01.07.2020", "", "040"),
    ("E", "ZUZUG_AUSLAND", "01.08.2020", "", "450"),
]


def _pid(letter: str) -> str:
    return f"00000{ord(letter):05d}"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("immigration") / "warehouse"
    inbox = root / "inbox"
    for year, members in EXTRACTS.items():
        lines = [SPEC_HEADERS["einwohner"]]
        for letter in members:
            birth, sex, nat, district, zuzug, einzug = PEOPLE[letter]
            lines.append(f"{_pid(letter)};N;V;{birth};{sex};{nat};;{nat};H;S;1;{district};HH{letter}00;{zuzug};{einzug}")
        write_file(inbox, "einwohner", f"einwohner_{year}-12-31.csv", lines)
    lines = [SPEC_HEADERS["bewegungen"]]
    for letter, event, date, von, nach in MOVEMENTS_2020:
        birth, sex, nat, *_ = PEOPLE[letter]
        country = nat if nat != "000" else "129"
        lines.append(f"{_pid(letter)};{event};{date};{birth};{sex};{nat};{von};{nach};{country}")
    write_file(inbox, "bewegungen", "bewegungen_2020.csv", lines)
    result = run_pipeline(root)
    assert result.success, step_failures(result)
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    yield con
    con.close()


@pytest.mark.parametrize("group, level, code, years_after, cohort, retained", [
    ("EU2", "city", CITY, 1, 4, 3),
    ("EU2", "city", CITY, 3, 4, 2),
    ("EU2", "statistical_district", "050", 1, 2, 2),
    ("EU2", "statistical_district", "050", 3, 2, 2),
    ("EU2", "statistical_district", "040", 1, 2, 1),
    ("EU2", "statistical_district", "040", 3, 2, 0),
    ("EU2", "city_district", "02", 3, 4, 2),
    ("DEUTSCH", "city", CITY, 1, 1, 1),
    ("DEUTSCH", "city", CITY, 3, 1, 0),
])
def test_retention_of_the_2020_cohort(warehouse, group, level, code, years_after, cohort, retained):
    row = warehouse.execute("""
        SELECT cohort_size, retained, retention_share FROM marts.fct_immigration_retention
        WHERE cohort_year = 2020 AND monitoring_group = ? AND area_level = ? AND area_code = ? AND years_after = ?
    """, [group, level, code, years_after]).fetchone()
    assert row == (cohort, retained, pytest.approx(100 * retained / cohort))


def test_no_retention_without_the_extract_five_years_on(warehouse):
    assert warehouse.execute(
        "SELECT count(*) FROM marts.fct_immigration_retention WHERE years_after = 5").fetchone()[0] == 0


def test_monitoring_counts_moves_and_stock(warehouse):
    values = dict(warehouse.execute("""
        SELECT measure_id, measure_value FROM marts.fct_immigration_monitoring
        WHERE monitoring_group = 'EU2' AND area_level = 'city' AND reference_year = 2020""").fetchall())
    assert values["stock"] == 4                  # A, B, C, D on 31.12.2020
    assert values["moves_in_abroad"] == 5        # A twice, B, C, D
    assert values["moves_out_abroad"] == 1       # A in May
    assert values["net_migration"] == 4
    assert values["turnover_rate"] == pytest.approx(6 / 4 * 100)
    assert values["share_minors"] == pytest.approx(25.0)  # B (10 years)
    assert values["share_school_age"] == pytest.approx(25.0)
    assert warehouse.execute("""
        SELECT measure_value FROM marts.fct_immigration_monitoring WHERE monitoring_group = 'EU2'
        AND area_level = 'city' AND reference_year = 2021 AND measure_id = 'stock_change'""").fetchone()[0] == -1
