"""An outside reviewer's attack on the published release (tests/release_attack.py).

The attack reads only the release's DuckDB file and discovers every relation from the published
numbers; the unpublished truth (the pipeline's warehouse.duckdb) is used here only to judge its
results. The first two tests show that the attack works on hand-made releases; the others run it on
the release of the shared test warehouse and hold the release to what it promises: no confidential
hidden count can be recovered exactly, and no primary-suppressed cell is narrowed below its protection range (a
hidden 1 or 2 must keep every value in [0, v+3] possible, a hidden -1 or -2 every value in [v-3, 0],
every other primary-suppressed number must stay at least one unit wide).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import duckdb
import pytest

from tests.release_attack import attack, judge, report

YEARS = list(range(2012, 2024))       # twelve years: enough published instances to discover a relation


def _write_release(path: Path, areas: list[tuple], rows: list[tuple]) -> Path:
    """A tiny release: marts.dim_area (with parent columns) and one long fact table of counts."""
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.dim_area (area_level VARCHAR, area_code VARCHAR, area_name VARCHAR, "
                    "parent_area_level VARCHAR, parent_area_code VARCHAR)")
        con.executemany("INSERT INTO marts.dim_area VALUES (?, ?, ?, ?, ?)", areas)
        con.execute("CREATE TABLE marts.fct_counts (indicator_id VARCHAR, area_level VARCHAR, area_code VARCHAR, "
                    "reference_year INTEGER, numerator BIGINT, is_suppressed BOOLEAN)")
        con.execute("COMMENT ON TABLE marts.fct_counts IS 'Anzahlen je Gebiet und Jahr; gesperrt: leer'")
        con.executemany("INSERT INTO marts.fct_counts VALUES (?, ?, ?, ?, ?, ?)", rows)
    finally:
        con.close()
    return path


def _cell(result, indicator: str, area_code: str, year: int):
    found = [c for c in result.cells if dict(c.key).get("indicator_id", indicator) == indicator
             and c.area_code == area_code and c.year == year]
    assert len(found) == 1, found
    return found[0]


def test_the_attack_recovers_a_child_area_from_its_parent_and_sibling(tmp_path):
    areas = [("city", "X", "Stadt", None, None),
             ("district", "A", "Bezirk A", "city", "X"),
             ("district", "B", "Bezirk B", "city", "X")]
    rows = []
    for n, year in enumerate(YEARS):
        a, b = 40 + 7 * n, 25 + 3 * (n % 5)
        hidden = year == 2018
        rows += [("residents", "city", "X", year, a + b, False),
                 ("residents", "district", "A", year, None if hidden else a, hidden),
                 ("residents", "district", "B", year, b, False)]
    db = _write_release(tmp_path / "release.duckdb", areas, rows)
    result = attack(db, time_limit_s=30)
    assert result.relations_by_kind()["hierarchy"] >= 1
    cell = _cell(result, "residents", "A", 2018)
    a_2018 = 40 + 7 * YEARS.index(2018)
    assert cell.exact and cell.lo == a_2018, cell
    assert "hierarchy" in cell.via


def test_the_attack_recovers_a_hidden_age_group_from_the_total(tmp_path):
    areas = [("city", "X", "Stadt", None, None)]
    rows = []
    for n, year in enumerate(YEARS):
        young, mid, old = 100 + 11 * n, 400 + 5 * (n % 4), 150 + 13 * (n % 3)
        hidden = year == 2020
        rows += [("age_0_17", "city", "X", year, young, False),
                 ("age_18_64", "city", "X", year, None if hidden else mid, hidden),
                 ("age_65_plus", "city", "X", year, old, False),
                 ("residents", "city", "X", year, young + mid + old, False)]
    db = _write_release(tmp_path / "release.duckdb", areas, rows)
    result = attack(db, time_limit_s=30)
    assert result.relations_by_kind()["identity"] >= 1
    cell = _cell(result, "age_18_64", "X", 2020)
    assert cell.exact and cell.lo == 400 + 5 * (YEARS.index(2020) % 4), cell
    assert cell.via == {"identity"}


def test_the_attack_reads_a_numerator_off_a_rate_published_in_a_wide_table(tmp_path):
    """The long table hides a share (numerator, denominator, value); a wide table still shows the
    share, and the denominator (the residents) is published: rate x denominator gives the numerator."""
    db = tmp_path / "release.duckdb"
    con = duckdb.connect(str(db))
    try:
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.dim_area (area_level VARCHAR, area_code VARCHAR, "
                    "parent_area_level VARCHAR, parent_area_code VARCHAR)")
        con.execute("INSERT INTO marts.dim_area VALUES ('city', 'X', NULL, NULL)")
        con.execute("CREATE TABLE marts.fct_values (indicator_id VARCHAR, area_level VARCHAR, area_code VARCHAR, "
                    "reference_year INTEGER, numerator BIGINT, denominator BIGINT, indicator_value DOUBLE, "
                    "is_suppressed BOOLEAN)")
        con.execute("CREATE TABLE marts.fct_profile (area_level VARCHAR, area_code VARCHAR, reference_year INTEGER, "
                    "residents BIGINT, share_x DOUBLE, residents_is_suppressed BOOLEAN, "
                    "share_x_is_suppressed BOOLEAN)")
        for n, year in enumerate(YEARS):
            residents, x = 1200 + 17 * n, 30 + 4 * n
            share = round(100 * x / residents, 1)
            hidden = year == 2020
            con.execute("INSERT INTO marts.fct_values VALUES ('residents', 'city', 'X', ?, ?, NULL, ?, false)",
                        [year, residents, residents])
            con.execute("INSERT INTO marts.fct_values VALUES ('share_x', 'city', 'X', ?, ?, ?, ?, ?)",
                        [year, None if hidden else x, None if hidden else residents,
                         None if hidden else share, hidden])
            con.execute("INSERT INTO marts.fct_profile VALUES ('city', 'X', ?, ?, ?, false, false)",
                        [year, residents, share])
    finally:
        con.close()
    result = attack(db, time_limit_s=30)
    assert result.relations_by_kind()["rate"] >= 1
    cell = next(c for c in result.cells if c.column == "numerator" and c.year == 2020)
    x_2020 = 30 + 4 * YEARS.index(2020)
    assert cell.lo <= x_2020 <= cell.hi and cell.width <= 1, cell
    assert "rate" in cell.via


@pytest.fixture(scope="module")
def attack_on_the_release(released_warehouse):
    """The attack on the shared warehouse's current release, judged with the unpublished marts."""
    root, _ = released_warehouse
    current = root / "release" / "current"
    release_db = next(iter(sorted(current.glob("*.duckdb"))))
    result = attack(release_db, time_limit_s=240)
    judged = judge(result, release_db, root / "warehouse.duckdb")
    report(result, judged)
    return result, judged


def test_the_attack_finds_relations_and_claims_nothing_false(attack_on_the_release):
    """The attack itself: it finds the obvious relations, and every interval holds the true value."""
    result, judged = attack_on_the_release
    kinds = result.relations_by_kind()
    assert kinds["hierarchy"] and kinds["same_number"], kinds
    assert result.cells, "the release hides no count at all"
    assert len(judged) >= 0.9 * len(result.cells), "most hidden cells must be found in the truth"
    outside = [j for j in judged if j.outside]
    assert not outside, [f"{j.cell.label()} [{j.cell.lo}, {j.cell.hi}] truth {j.truth}" for j in outside[:10]]
    assert all(c.solved for c in result.cells), "the attack ran out of time"
    assert result.seconds < 240


def test_no_confidential_count_is_recovered_exactly(attack_on_the_release):
    """No primary-suppressed number (a hidden 1 or 2, the non-zero numerator of a rate on a small
    population) is recovered exactly. Other hidden numbers the attack pins down are reported: a
    secondary suppression only protects, a rate's denominator is the population published in
    another row, a hidden 0 is not confidential (zeros are published)."""
    result, judged = attack_on_the_release
    exact = [j for j in judged if j.cell.exact]
    confidential = [j for j in exact if j.primary in ("count", "rate")]
    print(f"exakt zurückgerechnet: {len(exact)} gesperrte Zahlen, davon vertraulich {len(confidential)}; "
          f"übrige nach Art: {dict(Counter(j.primary or 'sekundär' for j in exact if j not in confidential))}")
    by_table = Counter(j.cell.table for j in confidential)
    examples = [f"{j.cell.label()} = {j.cell.lo:g} ({j.primary}; {', '.join(sorted(j.cell.via))})"
                for j in confidential[:8]]
    assert not confidential, (f"{len(confidential)} vertrauliche Zählwerte exakt zurückgerechnet "
                              f"{dict(by_table)}: {examples}")


def test_no_primary_cell_is_narrowed_below_its_protection_range(attack_on_the_release):
    result, judged = attack_on_the_release
    primaries = [j for j in judged if j.primary in ("count", "rate") and j.cell.solved]
    if primaries:
        narrowest = min(primaries, key=lambda j: (j.cell.width, j.cell.lo))
        print(f"engstes Intervall einer Erstsperrung: {narrowest.cell.label()} in "
              f"[{narrowest.cell.lo:g}, {narrowest.cell.hi:g}] (wahr {narrowest.truth:g}; "
              f"{', '.join(sorted(narrowest.cell.via)) or '-'})")
    narrowed = [j for j in judged if j.narrowed]
    by_table = Counter(j.cell.table for j in narrowed)
    examples = [f"{j.cell.label()} in [{j.cell.lo:g}, {j.cell.hi:g}], wahr {j.truth:g} ({j.primary}; "
                f"{', '.join(sorted(j.cell.via))})" for j in sorted(narrowed, key=lambda j: j.cell.width)[:8]]
    assert not narrowed, (f"{len(narrowed)} Erstsperrungen unter ihrem Schutzbereich {dict(by_table)}: "
                          f"{examples}")
