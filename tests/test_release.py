"""Release gate, write-audit-publish, disclosure control and the audit record."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dagster_project.quality.gate import run_suite
from dagster_project.quality.suites import load_suites
from dagster_project.release.disclosure import DisclosureRules, apply_disclosure_control
from dagster_project.release import publish
from dagster_project.release.publish import publish_release
from dagster_project.settings import REPO_ROOT
from tests.conftest import SPEC_HEADERS, run_pipeline, write_file

RULES = DisclosureRules(min_count=3, min_rate_denominator=100, min_rate_numerator=3, secondary_suppression=True)

def _frame(rows):
    return pd.DataFrame(rows, columns=["indicator_id", "area_level", "area_code", "reference_year", "numerator",
                                       "denominator", "indicator_value"])


def test_primary_rules_and_zeros():
    values = _frame([
        ("count_x", "statistical_district", "a1", 2023, 0, None, 0),     # zero stays
        ("count_x", "statistical_district", "a2", 2023, 2, None, 2),     # count 2
        ("count_x", "statistical_district", "a3", 2023, 1, None, 1),     # count 1
        ("share_x", "statistical_district", "b1", 2023, 5, 99, 5.05),    # denominator < 100
        ("share_x", "statistical_district", "b2", 2023, 0, 150, 0),      # 0 of 150: released
        ("net_y", "statistical_district", "b2", 2023, -2, 150, -13.3),   # |numerator| 2
        ("net_y", "statistical_district", "a1", 2023, 7, 150, 46.7),
    ])
    released, log = apply_disclosure_control(values, RULES)
    rules = {k: (None if pd.isna(v) else v)
             for k, v in zip(zip(released.indicator_id, released.area_code), released.suppression_rule)}
    assert rules[("count_x", "a1")] is None and released.loc[0, "indicator_value"] == 0
    assert rules[("count_x", "a2")] == rules[("count_x", "a3")] == "zaehlwert_1_oder_2"
    assert rules[("share_x", "b1")] == "nenner_unter_100"
    assert rules[("share_x", "b2")] is None
    assert rules[("net_y", "b2")] == "zaehler_1_oder_2" and rules[("net_y", "a1")] is None
    hidden = released[released.is_suppressed]
    assert hidden[["numerator", "denominator", "indicator_value"]].isna().all().all()
    assert len(log) == len(hidden) == 4


def _released(root):
    con = duckdb.connect(str(root / "release" / "current" / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute("SELECT * FROM marts.fct_indicator_values").df()
    finally:
        con.close()


def suppression_rules(root: Path, mart: str) -> dict:
    """The rule of each suppressed cell of a mart, from the auditors' file (never in the release)."""
    from dagster_project.release.store import ReleaseStore

    release_id = ReleaseStore(root / "release").current_id()
    cells = pd.read_parquet(root / "pruefakten" / release_id / "gesperrte_zellen.parquet")
    cells = cells[cells.mart == mart]
    return dict(zip(zip(cells.indicator_id, cells.area_level, cells.area_code, cells.reference_year.astype(int)),
                    cells.suppression_rule))


def test_release_has_no_small_cells_and_nothing_recoverable(released_warehouse):
    root, _ = released_warehouse
    released = _released(root)
    shown = released[~released.is_suppressed]
    counts = shown[shown.denominator.isna()]
    assert not counts.indicator_value.isin([1, 2]).any()
    rates = shown[shown.denominator.notna()]
    assert (rates.denominator >= 100).all()
    assert not rates.numerator.abs().isin([1, 2]).any()
    assert released.is_suppressed.sum() > 0
    # no primary cell equals a released total minus the released cells it adds up with (a secondary
    # cell is not confidential: it only protects; it may coincide when its hidden siblings are zeros)
    truth = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    candidate = truth.execute("SELECT * FROM marts.fct_indicator_values").df()
    areas = truth.execute("SELECT * FROM marts.dim_area").df()
    additive = set(truth.execute("SELECT indicator_id FROM reference.indicator_catalogue WHERE is_additive").df().indicator_id)
    truth.close()
    true_numerator = candidate.set_index(["indicator_id", "area_level", "area_code", "reference_year"]).numerator
    rules = suppression_rules(root, "fct_indicator_values")
    rel = released.set_index(["indicator_id", "area_level", "area_code", "reference_year"])
    children_of = areas.dropna(subset=["parent_area_level"]).groupby(["parent_area_level", "parent_area_code"])
    # a numerator that is negative somewhere it is published (a change, a balance) gives no bound from
    # a sum of several hidden cells: hidden -2, -6 and +8 add up to 0, and a hidden +2 beside them then
    # "equals" the difference by chance; such a cell is recoverable only when it is hidden alone
    signed = set(shown[shown.numerator < 0].indicator_id)
    checked = 0
    for (indicator, year) in {(i, y) for i, y in zip(released.indicator_id, released.reference_year) if i in additive}:
        for (parent_level, parent_code), kids in children_of:
            parent = (indicator, parent_level, parent_code, year)
            if parent not in rel.index or rel.loc[parent, "is_suppressed"]:
                continue
            keys = [(indicator, level, code, year) for level, code in zip(kids.area_level, kids.area_code)]
            keys = [k for k in keys if k in rel.index]
            hidden = [k for k in keys if rel.loc[k, "is_suppressed"]]
            if not hidden:
                continue
            difference = rel.loc[parent, "numerator"] - sum(rel.loc[k, "numerator"] for k in keys if k not in hidden)
            if indicator in signed and len(hidden) > 1:
                continue
            for k in hidden:
                checked += 1
                if true_numerator[k] != 0 and rules.get(k) != "sekundaer":
                    assert difference != true_numerator[k], f"{k} recoverable from {parent}"
    assert checked > 0


def test_a_curious_readers_subtractions_recover_no_primary_cell(released_warehouse):
    """The attacks a reader makes with a few lines of SQL, computed here independently of the
    audit's linear programs: (1) where exactly one monitoring group's stock is suppressed and the
    area's residents are published, the hidden stock is residents minus the other groups; (2)
    where exactly one statistical district is suppressed and its city district published, the
    hidden value is the difference. Neither may give a primary cell's true count (`tried`: the
    groups with a suppressed cell that the reader looks at)."""
    root, _ = released_warehouse
    rel = duckdb.connect(str(root / "release" / "current" / "warehouse.duckdb"), read_only=True)
    truth = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        monitoring = rel.execute("SELECT * FROM marts.fct_immigration_monitoring").df()
        residents = rel.execute("SELECT area_level, area_code, reference_year, numerator AS residents "
                                "FROM marts.fct_indicator_values WHERE indicator_id = 'residents' "
                                "AND NOT is_suppressed").df()
        true_stock = truth.execute("SELECT area_level, area_code, reference_year, monitoring_group, numerator "
                                   "FROM marts.fct_immigration_monitoring WHERE measure_id = 'stock'").df()
        areas = truth.execute("SELECT * FROM marts.dim_area").df()
    finally:
        rel.close()
        truth.close()
    primary = {"zaehlwert_1_oder_2", "zaehler_1_oder_2", "nenner_unter_100"}
    rules = suppression_rules(root, "fct_immigration_monitoring")
    true = true_stock.set_index(["area_level", "area_code", "reference_year", "monitoring_group"]).numerator
    stock = monitoring[monitoring.measure_id == "stock"].merge(residents, on=["area_level", "area_code",
                                                                            "reference_year"])
    tried = recovered = 0
    for _, part in stock.groupby(["area_level", "area_code", "reference_year"]):
        hidden = part[part.is_suppressed]
        tried += len(hidden) > 0
        if len(hidden) != 1:
            continue
        cell = hidden.iloc[0]
        guess = cell.residents - part.numerator.sum()
        key = (cell.area_level, cell.area_code, cell.reference_year, cell.monitoring_group)
        recovered += rules.get((f"stock|{cell.monitoring_group}", *key[:3])) in primary and guess == true[key]
    # (2) along the hierarchy, every monitoring measure and group
    kids = areas.dropna(subset=["parent_area_level"])
    parent_of = dict(zip(zip(kids.area_level, kids.area_code), zip(kids.parent_area_level, kids.parent_area_code)))
    monitoring["parent"] = [parent_of.get(k) for k in zip(monitoring.area_level, monitoring.area_code)]
    shown = monitoring.set_index(["measure_id", "monitoring_group", "area_level", "area_code", "reference_year"])
    for (measure, group, year, parent), part in monitoring.dropna(subset=["parent"]).groupby(
            ["measure_id", "monitoring_group", "reference_year", "parent"]):
        hidden = part[part.is_suppressed]
        top = shown.numerator.get((measure, group, parent[0], parent[1], year))
        if top is None or pd.isna(top) or measure in {"net_migration", "stock_change"}:
            continue
        tried += len(hidden) > 0
        if len(hidden) != 1:
            continue
        cell = hidden.iloc[0]
        if rules.get((f"stock|{group}", cell.area_level, cell.area_code, year)) in primary and measure == "stock":
            recovered += top - part.numerator.sum() == true[(cell.area_level, cell.area_code, year, group)]
    assert tried > 0 and recovered == 0


def test_no_monitoring_series_is_constant_zero_at_city_level(released_warehouse):
    """Every monitoring measure of every group that lives in the city has a value other than 0 in
    some year at city level: a series that is 0 in every year would show planners a flow the
    sample never produced (and tell a reader that its suppressed cells are 0 as well). Judged where a
    series has two years or more (the change to the previous year has one in this two-year sample;
    the default generator at Dortmund scale is counted from its delivery files in
    test_sample_calibration.py)."""
    root, _ = released_warehouse
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        series = con.execute("""
            SELECT monitoring_group, measure_id, max(abs(coalesce(measure_value, 0))) AS largest
            FROM marts.fct_immigration_monitoring
            WHERE area_level = 'city'
              AND monitoring_group IN (SELECT monitoring_group FROM marts.fct_immigration_monitoring
                                       WHERE area_level = 'city' AND measure_id = 'stock'
                                       GROUP BY 1 HAVING max(measure_value) > 0)
            GROUP BY ALL HAVING count(measure_value) >= 2""").fetchall()
    finally:
        con.close()
    assert len(series) >= 6 * 10
    constant_zero = [(group, measure) for group, measure, largest in series if largest == 0]
    assert not constant_zero


def test_release_files_manifest_and_offline_reports(released_warehouse):
    root, _ = released_warehouse
    folders = sorted((root / "release" / "releases").iterdir())
    folder = folders[-1]
    for name in ("fct_indicator_values", "fct_area_profile", "fct_social_index", "dim_area", "dim_indicator"):
        assert (folder / "parquet" / f"{name}.parquet").stat().st_size > 0
    con = duckdb.connect(str(root / "release" / "current" / "warehouse.duckdb"), read_only=True)
    tables = {f"{s}.{t}" for s, t in con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()}
    manifest = con.execute("SELECT manifest FROM audit.manifest").fetchone()[0]
    con.close()
    assert {"marts.fct_indicator_values", "marts.dim_indicator", "audit.dq_results", "audit.manifest",
            "audit.deliveries", "audit.suppressed_cells"} <= tables
    assert not any(t.startswith("raw.") or "quarantine" in t for t in tables)  # nothing person-level
    for key in ('"release_id"', '"code_version"', '"lieferungen"', '"pruefungen"', '"gesperrte_zellen_je_regel"'):
        assert key in manifest
    pages = [folder / "pruefbericht.html", root / "reports" / "data_docs" / "index.html"]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "<html lang=\"de\">" in text
        assert not re.search(r"https?://", text), page
        assert not re.search(r"<script|<link|@import|@font-face", text), page
    assert "Geheimhaltung" in pages[0].read_text(encoding="utf-8")


def test_failed_gate_leaves_the_release_byte_for_byte_unchanged(released_warehouse_copy):
    root = released_warehouse_copy
    current = root / "release" / "current" / "warehouse.duckdb"
    before = hashlib.sha256(current.read_bytes()).hexdigest()
    releases_before = sorted(p.name for p in (root / "release" / "releases").iterdir())
    # a delivery where half the rows have an unknown district: quarantine share far above 1 %
    rows = [f"F{i:06d};01.01.1950;W;000;{'999' if i % 2 else '050'};4;N" for i in range(40)]
    write_file(root / "inbox", "sgb12", "sgb12_2024-01.csv", [SPEC_HEADERS["sgb12"], *rows])
    result = run_pipeline(root)
    assert not result.success
    failed_checks = [e for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
                     and not e.event_specific_data.passed]
    assert any(e.event_specific_data.asset_check_key.name == "gx_lieferungen" for e in failed_checks)
    assert not any(e.step_key == "release__warehouse_release" for e in result.all_events
                   if e.event_type_value == "STEP_SUCCESS")
    assert hashlib.sha256(current.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in (root / "release" / "releases").iterdir()) == releases_before


def test_a_share_above_100_in_the_candidate_blocks_the_release(released_warehouse_copy):
    """A mart-level error that dbt's structural tests let through: more SGB II recipients in
    Sölderholz than it has residents under 65, so the candidate's sgb2_rate there exceeds 100."""
    root = released_warehouse_copy
    current = root / "release" / "current" / "warehouse.duckdb"
    before = hashlib.sha256(current.read_bytes()).hexdigest()
    path = root / "inbox" / "sgb2" / "sgb2_2023-12.csv"
    extra = "".join(f"X{i:08d};1;01.01.1990;W;000;450;ELB;J;SINGLE\r\n" for i in range(2000))
    path.write_bytes(path.read_bytes() + extra.encode("cp1252"))
    result = run_pipeline(root)
    assert not result.success
    failed = {e.event_specific_data.asset_check_key.name for e in result.all_events
              if e.event_type_value == "ASSET_CHECK_EVALUATION" and not e.event_specific_data.passed
              and e.event_specific_data.severity.value == "ERROR"}
    assert {"gx_indikatoren_wertebereiche", "gx_zuwanderungsmonitoring"} <= failed
    assert hashlib.sha256(current.read_bytes()).hexdigest() == before


@pytest.mark.parametrize("corruption, suite", [
    ("DELETE FROM marts.fct_indicator_values WHERE area_code = '050'", "indikatoren_vollstaendigkeit"),
    ("UPDATE marts.fct_indicator_values SET indicator_value = 150 WHERE indicator_id = 'share_foreign' "
     "AND area_code = '050'", "indikatoren_wertebereiche"),
    ("UPDATE marts.fct_indicator_values SET numerator = numerator + 5 WHERE indicator_id = 'share_65_plus' "
     "AND area_level = 'city'", "indikatoren_summen"),
    # the row condition: counts above 100 are fine (they pass before), a rate above 100 is not
    ("UPDATE marts.fct_immigration_monitoring SET measure_value = 150 WHERE measure_id = 'sgb2_rate' "
     "AND monitoring_group = 'EU2' AND area_level = 'city'", "zuwanderungsmonitoring"),
])
def test_mart_suites_catch_injected_errors(released_warehouse, tmp_path, corruption, suite):
    root, _ = released_warehouse
    copy = tmp_path / "candidate.duckdb"
    shutil.copy(root / "warehouse.duckdb", copy)
    con = duckdb.connect(str(copy))
    target = next(s for s in load_suites() if s.name == suite)
    assert run_suite(con, target, "vorher").passed
    con.execute(corruption)
    result = run_suite(con, target, "nachher")
    con.close()
    assert not result.passed and result.failed_critical


def test_a_reader_holding_the_release_is_not_disturbed(released_warehouse, monkeypatch):
    root, _ = released_warehouse
    current = root / "release" / "current" / "warehouse.duckdb"
    reader = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, sys
        con = duckdb.connect({str(current)!r}, read_only=True)
        first = con.execute("SELECT release_id FROM audit.manifest").fetchone()[0]
        n = con.execute("SELECT count(*) FROM marts.fct_indicator_values").fetchone()[0]
        print(first, flush=True)
        sys.stdin.readline()  # hold the release open until told
        again = con.execute("SELECT release_id FROM audit.manifest").fetchone()[0]
        m = con.execute("SELECT count(*) FROM marts.fct_indicator_values").fetchone()[0]
        print(again, n == m, flush=True)
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    old_id = reader.stdout.readline().strip()
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        run_id = con.execute("SELECT max(run_id) FROM audit.dq_results").fetchone()[0]
    # the same inputs would publish nothing: pretend a new delivery
    monkeypatch.setattr(publish, "input_fingerprint", lambda deliveries, rules=None: "eine neue Lieferung")
    new = publish_release(root / "warehouse.duckdb", root / "release", run_id)
    out, _ = reader.communicate("weiter\n", timeout=60)
    assert reader.returncode == 0
    assert out.split() == [old_id, "True"]  # the reader still sees its whole, old release
    with duckdb.connect(str(current), read_only=True) as con:
        assert con.execute("SELECT release_id FROM audit.manifest").fetchone()[0] == new.release_id != old_id


def test_telemetry_is_switched_off(tmp_path, monkeypatch):
    import yaml
    from dagster import DagsterInstance

    from dagster_project.instance import DAGSTER_YAML, ensure_dagster_home

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    ensure_dagster_home()
    with DagsterInstance.get() as instance:
        assert instance.telemetry_enabled is False

    assert os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] == "False"
    assert os.environ["GX_ANALYTICS_ENABLED"] == "False"
    assert os.environ["DAGSTER_DISABLE_TELEMETRY"] == "1"
    assert yaml.safe_load(DAGSTER_YAML)["telemetry"] == {"enabled": False}
    project = yaml.safe_load((REPO_ROOT / "dbt" / "dbt_project.yml").read_text(encoding="utf-8"))
    assert project["flags"]["send_anonymous_usage_stats"] is False
    from dagster_project.quality.gate import _gx_context

    assert _gx_context().config.analytics_enabled is False
    import importlib.util

    assert importlib.util.find_spec("posthog") is None  # GX's analytics client is not even installed
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "DBT_SEND_ANONYMOUS_USAGE_STATS := False" in makefile and "GX_ANALYTICS_ENABLED := False" in makefile
