"""Operating the warehouse for years: partitions by reference year, a backfill equal to a full run,
one writer at a time, overdue deliveries reported, history in the materializations."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest
import yaml
from dagster import AssetKey, DagsterEventType, DagsterInstance, DefaultScheduleStatus, DefaultSensorStatus

from dagster_project.contracts import load_contracts
from dagster_project.definitions import defs
from dagster_project.defs.ingest.assets import raw_asset_key
from dagster_project.defs.partitions import reference_years
from dagster_project.defs.resources import WAREHOUSE_WRITER_POOL
from dagster_project.instance import DAGSTER_YAML
from dagster_project.settings import REPO_ROOT
from tests.conftest import WAREHOUSE_VARIABLES

FACT = AssetKey(["marts", "fct_indicator_values"])


def test_registers_and_dbt_are_partitioned_by_year_automation_runs_and_one_writer_is_configured():
    graph = defs.resolve_asset_graph()
    for register in load_contracts():
        assets_def = defs.resolve_assets_def(raw_asset_key(register))
        assert assets_def.partitions_def == reference_years, register
        assert assets_def.op.pool == WAREHOUSE_WRITER_POOL
    dbt_def = defs.resolve_assets_def(FACT)
    assert dbt_def.partitions_def == reference_years and dbt_def.op.pool == WAREHOUSE_WRITER_POOL
    assert dbt_def.backfill_policy is not None and dbt_def.backfill_policy.max_partitions_per_run is None  # one run
    assert graph.get(AssetKey(["release", "warehouse_release"])).partitions_def is None
    assert "2014" in reference_years.get_partition_keys()
    assert defs.resolve_sensor_def("inbox_sensor").default_status == DefaultSensorStatus.RUNNING
    for name in ("monthly_delivery_schedule", "daily_freshness_schedule"):
        assert defs.resolve_schedule_def(name).default_status == DefaultScheduleStatus.RUNNING
    config = yaml.safe_load(DAGSTER_YAML)["concurrency"]
    assert config["pools"]["default_limit"] == 1
    assert {"key": "dft/schreibt_warehouse", "limit": 1} in config["runs"]["tag_concurrency_limits"]
    assert defs.resolve_job_def("warehouse_job").tags["dft/schreibt_warehouse"] == "ja"


def _point_at(monkeypatch, root):
    monkeypatch.setenv("DFT_WAREHOUSE_DIR", str(root))
    monkeypatch.setenv("DFT_DEMO_MODE", "1")
    monkeypatch.setenv("DFT_REPORT", "0")
    for name in WAREHOUSE_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def _pool_step_intervals(instance, run_id: str) -> list[tuple[float, float, str]]:
    """(start, end, step) of every step of the run that took the writer pool."""
    job = defs.resolve_job_def("warehouse_job")
    writers = {name for name, node in job.graph.node_dict.items() if node.definition.pool == WAREHOUSE_WRITER_POOL}
    starts, intervals = {}, []
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type == DagsterEventType.STEP_START:
            starts[event.step_key] = record.timestamp
        elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            intervals.append((starts[event.step_key], record.timestamp, event.step_key))
    return [i for i in intervals if i[2] in writers]


RUN_INGEST = """
from dagster import AssetSelection, DagsterInstance
from dagster_project.definitions import defs
from dagster_project.defs.partitions import run_tags
ingest = AssetSelection.groups("ingest").resolve(defs.resolve_asset_graph())
with DagsterInstance.get() as instance:
    result = defs.resolve_job_def("warehouse_job").execute_in_process(
        instance=instance, tags=run_tags([2022, 2023]), asset_selection=list(ingest), raise_on_error=False)
raise SystemExit(0 if result.success else 1)
"""


def test_a_second_run_waits_for_the_writer_and_succeeds(tmp_path, sample_inbox):
    """Two runs of the main job (its ingest: every register and the checks on it, to keep the test
    short) started together in two processes on one warehouse and one Dagster instance: both
    succeed, and no step that writes the database overlaps a writing step of the other run."""
    import shutil

    root, home = tmp_path / "warehouse", tmp_path / "dagster_home"
    shutil.copytree(sample_inbox, root / "inbox")
    env = {k: v for k, v in os.environ.items() if k not in WAREHOUSE_VARIABLES}
    env.update({"DFT_WAREHOUSE_DIR": str(root), "DFT_DEMO_MODE": "1", "DFT_REPORT": "0",
                "DAGSTER_HOME": str(home), "PYTHONPATH": str(REPO_ROOT)})
    # the instance exists before the runs, as in operation (two processes creating its storage at
    # once would race on its schema migrations)
    subprocess.run([sys.executable, "-c", "from dagster import DagsterInstance; "
                    "from dagster_project.instance import ensure_dagster_home; ensure_dagster_home(); "
                    "DagsterInstance.get().dispose()"], env=env, cwd=REPO_ROOT, check=True)
    command = [sys.executable, "-c", RUN_INGEST]
    first = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    second = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    outputs = [p.communicate(timeout=600)[0] for p in (first, second)]
    assert first.returncode == 0, outputs[0][-3000:]
    assert second.returncode == 0, outputs[1][-3000:]
    os.environ["DAGSTER_HOME"], previous = str(home), os.environ.get("DAGSTER_HOME")
    try:
        with DagsterInstance.get() as instance:
            runs = instance.get_runs()
            assert len(runs) == 2 and all(r.is_success for r in runs)
            a, b = (_pool_step_intervals(instance, r.run_id) for r in runs)
            records = [instance.get_run_record_by_id(r.run_id) for r in runs]
            # the two runs were under way at the same time ...
            assert records[0].start_time < records[1].end_time and records[1].start_time < records[0].end_time
    finally:
        if previous is None:
            del os.environ["DAGSTER_HOME"]
        else:
            os.environ["DAGSTER_HOME"] = previous
    assert a and b
    # ... but their writing steps took turns
    overlaps = [(x, y) for x in a for y in b if x[0] < y[1] and y[0] < x[1]]
    assert not overlaps, overlaps


def _write_raw_file(root, register: str, period: str) -> None:
    folder = root / "raw" / register
    folder.mkdir(parents=True, exist_ok=True)
    duckdb.sql(f"COPY (SELECT 1 AS x) TO '{folder / (period + '.parquet')}' (FORMAT parquet)")


def _freshness(root, monkeypatch, day: str):
    _point_at(monkeypatch, root)
    monkeypatch.setenv("DFT_TODAY", day)
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("freshness_job").execute_in_process(instance=instance, raise_on_error=False)
        assert result.success
        return {e.asset_key.path[-1]: e for e in result.get_asset_check_evaluations()}


def test_an_overdue_register_is_reported_with_its_name(tmp_path, monkeypatch):
    from dagster_project.quality.run_report import delivery_calendar_html
    from dagster_project.settings import WarehousePaths

    root = tmp_path / "warehouse"
    for month in ("2024-01", "2024-02", "2024-03"):
        _write_raw_file(root, "sgb2", month)
    _write_raw_file(root, "einwohner", "2023-12-31")
    # the April delivery is due on 15 May, overdue after ten days' grace
    on_time = _freshness(root, monkeypatch, "2024-05-25")
    assert on_time["sgb2"].passed
    late = _freshness(root, monkeypatch, "2024-05-26")
    assert not late["sgb2"].passed
    assert late["sgb2"].severity.value == "WARN"
    description = late["sgb2"].description
    assert "sgb2" in description and "2024-04" in description and "ÜBERFÄLLIG" in description
    assert late["einwohner"].passed                     # 2024-12-31 is due in 2025
    assert not late["sgb12"].passed                     # never delivered since the first year
    assert late["massnahmen"].passed                    # delivered on change only: never overdue
    page = delivery_calendar_html(WarehousePaths.from_environment())
    assert "Register mit überfälliger Lieferung" in page and "sgb2" in page.split("</div>")[0]
    # the April file came and was refused: the calendar says so, and what to do
    from dagster_project.ingest.errors import Refusal
    from dagster_project.ingest.load import log_refusal

    log_refusal(root / "quarantine", Refusal("sgb2_2024-04.csv", "kopfzeile", "Kopfzeile weicht ab", line=1), None)
    refused = _freshness(root, monkeypatch, "2024-05-26")["sgb2"]
    assert not refused.passed and "abgelehnt am" in refused.description and "Regel kopfzeile" in refused.description
    assert "Lieferung abgelehnt, Regel kopfzeile" in delivery_calendar_html(WarehousePaths.from_environment())


@pytest.mark.parametrize("split", [0, 3])
def test_households_spread_over_districts_are_counted_as_a_warning(split):
    from dagster_project.quality.gate import run_suite
    from dagster_project.quality.suites import load_suites

    suite = next(s for s in load_suites() if s.name == "haushalte_ein_bezirk")
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw")
    con.execute("CREATE TABLE raw.einwohner (_period VARCHAR, HAUSHALT_PSEUDONYM VARCHAR, STAT_BEZIRK VARCHAR, "
                "WOHNUNGSSTATUS VARCHAR)")
    rows = [("2023-12-31", f"h{i}", "011", "H") for i in range(10)]
    rows += [("2023-12-31", f"h{i}", "012", "H") for i in range(split)]       # a second member elsewhere
    rows += [("2023-12-31", "h9", "013", "N")]                                # a secondary residence: not counted
    con.executemany("INSERT INTO raw.einwohner VALUES (?, ?, ?, ?)", rows)
    result = run_suite(con, suite, "test")
    assert not result.failed_critical
    if split:
        from dagster_project.quality.data_docs import observed_de

        [warning] = result.failed_warning
        # the audit report and the Data Docs show the count of such households per extract
        assert f"<code>[{split}]</code>" in observed_de(warning.observed)
    else:
        assert not result.failed_warning


def test_a_failed_run_leaves_a_german_summary_in_history_and_audit_report(warehouse, monkeypatch):
    from dagster_project.main import execute_warehouse_job
    from tests.conftest import SPEC_HEADERS, write_file

    write_file(warehouse / "inbox", "sgb12", "sgb12_2024-01.csv",
               [SPEC_HEADERS["sgb12"].replace("KAPITEL", "KAP"), "F000000001;01.01.1950;W;000;050;4;N"])
    _point_at(monkeypatch, warehouse)
    with DagsterInstance.ephemeral() as instance:
        result, entry = execute_warehouse_job(instance)
    assert not result.success
    assert entry["status"] == "fehlgeschlagen"
    [failure] = [f for f in entry["zusammenfassung"] if f["schritt"] == "raw__sgb12"]
    assert "sgb12_2024-01.csv" in failure["meldung"] and "kopfzeile" in failure["meldung"]
    assert "korrigierte Datei" in failure["was_tun"]
    history = (warehouse / "reports" / "data_docs" / "laufhistorie.html").read_text(encoding="utf-8")
    assert "korrigierte Datei" in history
    report = (warehouse / "reports" / "pruefbericht_aktuell.html").read_text(encoding="utf-8")
    assert "Was ist fehlgeschlagen" in report and "sgb12_2024-01.csv" in report and "Lieferkalender" in report


def test_the_failure_summary_says_what_to_do_for_each_kind_of_step():
    from dagster_project.quality.run_report import advice_for

    assert "korrigierte Datei" in advice_for("raw__sgb2", "sgb2_2024-01.csv, Zeile 1: Regel kopfzeile")
    assert "Schlüsselwechsel" in advice_for("raw__sgb2", "Der Pseudonymisierungsschlüssel (environment) ist nicht …")
    assert "dbt_target/dbt.log" in advice_for("warehouse_dbt_models", "Database Error")
    assert "Data Docs" in advice_for("marts__fct_indicator_values_gx_indikatoren_summen", "")
    assert "bisherige Release" in advice_for("release__warehouse_release", "Release nicht freigegeben")
