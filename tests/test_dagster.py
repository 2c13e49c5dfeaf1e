"""The Dagster layer: definitions validate, the main job loads the inbox and fails clearly on a
refused delivery, the sensor notices new files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import duckdb
from dagster import DagsterInstance, RunRequest, SkipReason, build_sensor_context

from dagster_project.definitions import defs
from dagster_project.defs.partitions import run_tags
from dagster_project.instance import DAGSTER_YAML
from dagster_project.defs.resources import WarehouseResource
from dagster_project.defs.automation.sensors import inbox_sensor
from dagster_project.settings import REPO_ROOT
from tests.conftest import SPEC_HEADERS, write_file


def test_definitions_validate(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML, encoding="utf-8")
    env = {**os.environ, "DAGSTER_HOME": str(home), "DFT_DEMO_MODE": "1", "PYTHONPATH": str(REPO_ROOT)}
    dagster = os.path.join(os.path.dirname(sys.executable), "dagster")
    done = subprocess.run([dagster, "definitions", "validate", "-m", "dagster_project.definitions"],
                          env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Validation successful" in done.stdout + done.stderr


def _run(instance):
    from dagster_project.main import run_years
    from dagster_project.settings import WarehousePaths

    tags = run_tags(run_years(WarehousePaths.from_environment()))
    return defs.resolve_job_def("warehouse_job").execute_in_process(instance=instance, raise_on_error=False, tags=tags)


def _counts(db_path):
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM raw.{t}").fetchone()[0]
                for t in ("einwohner", "bewegungen", "sgb2", "sgb12", "asylblg")}
    finally:
        con.close()


def test_main_job_loads_the_inbox_and_fails_clearly_on_a_refused_delivery(warehouse, sample_inbox, monkeypatch):
    monkeypatch.setenv("DFT_DEMO_MODE", "1")
    monkeypatch.setenv("DFT_REPORT", "0")   # the planners' report is tested on the shared release
    inbox = warehouse / "inbox"
    shutil.copytree(sample_inbox, inbox, dirs_exist_ok=True)
    broken = write_file(inbox, "sgb12", "sgb12_2024-01.csv",
                        [SPEC_HEADERS["sgb12"].replace("KAPITEL", "KAP"), "F1;01.01.1950;W;000;050;4;N"])
    with DagsterInstance.ephemeral() as instance:
        result = _run(instance)
        assert not result.success
        failures = [e for e in result.all_events if e.is_step_failure]
        assert [e.step_key for e in failures] == ["raw__sgb12"]
        message = failures[0].event_specific_data.error.message
        assert "sgb12_2024-01.csv" in message and "Zeile 1" in message and "Regel: kopfzeile" in message
        counts = _counts(warehouse / "warehouse.duckdb")
        assert all(n > 0 for n in counts.values()), counts
        assert (warehouse / "quarantine" / "abgelehnte_lieferungen.jsonl").exists()
        broken.unlink()
        again = _run(instance)
        assert again.success
        assert _counts(warehouse / "warehouse.duckdb") == counts
        materialized = again.asset_materializations_for_node("raw__einwohner")[0]
        assert materialized.metadata["unveraendert"].value == 2


def test_sensor_requests_a_run_only_for_new_or_changed_files(warehouse):
    resource = WarehouseResource()
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(instance=instance, resources={"warehouse": resource})
        assert isinstance(inbox_sensor(context), SkipReason)  # empty inbox
        write_file(warehouse / "inbox", "sgb12", "sgb12_2024-01.csv",
                   [SPEC_HEADERS["sgb12"], "F000000001;01.01.1950;W;000;050;4;N"])
        context = build_sensor_context(instance=instance, resources={"warehouse": resource})
        request = inbox_sensor(context)
        assert isinstance(request, RunRequest)
        # the run covers the reference years of the new files
        assert request.tags["dagster/asset_partition_range_start"] == "2024"
        assert request.tags["dagster/asset_partition_range_end"] == "2024"
        cursor = context.cursor
        context = build_sensor_context(instance=instance, cursor=cursor, resources={"warehouse": resource})
        assert isinstance(inbox_sensor(context), SkipReason)
        write_file(warehouse / "inbox", "sgb12", "sgb12_2024-02.csv",
                   [SPEC_HEADERS["sgb12"], "F000000001;01.01.1950;W;000;050;4;N"])
        write_file(warehouse / "inbox", "sgb12", "sgb12_2022-02.csv",
                   [SPEC_HEADERS["sgb12"], "F000000001;01.01.1950;W;000;050;4;N"])
        context = build_sensor_context(instance=instance, cursor=cursor, resources={"warehouse": resource})
        request = inbox_sensor(context)
        assert isinstance(request, RunRequest)
        # only the new files' years: 2022 and 2024, not the unchanged 2024-01 alone
        assert (request.tags["dagster/asset_partition_range_start"], request.tags["dagster/asset_partition_range_end"]) \
            == ("2022", "2024")
        assert request.tags["dateien"] == "2"


def test_dbt_models_are_assets_downstream_of_the_raw_registers_with_checks():
    from dagster import AssetKey

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {"marts/fct_indicator_values", "marts/fct_social_index", "staging/stg_population__extract"} <= keys
    staging = graph.get(AssetKey(["staging", "stg_population__extract"]))
    assert AssetKey(["raw", "einwohner"]) in staging.parent_keys
    fact = AssetKey(["marts", "fct_indicator_values"])
    assert graph.get(fact).group_name == "marts"
    checks = {c.name for c in graph.asset_check_keys if c.asset_key == fact}
    assert any(name.startswith("parts_add_up_to_whole") for name in checks), checks


def test_make_run_writes_no_sample_data_with_a_real_key(warehouse, monkeypatch, capsys):
    """With a real key and an empty inbox, the entry point loads nothing and invents nothing."""
    from dagster_project import main as entry

    monkeypatch.delenv("DFT_DEMO_MODE", raising=False)
    monkeypatch.setenv("DFT_PSEUDONYM_KEY", "a-real-key-of-at-least-thirty-two-characters")
    monkeypatch.setenv("DAGSTER_HOME", str(warehouse / "dagster_home"))
    called = []
    monkeypatch.setattr(entry, "generate", lambda *a, **k: called.append(a))
    monkeypatch.setattr(entry, "summary", lambda paths: "")
    entry.main([])
    assert called == []
    assert "nur im Demo-Modus" in capsys.readouterr().out
    assert not any((warehouse / "inbox").iterdir())
