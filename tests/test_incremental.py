"""Incremental dbt: after new deliveries, the incremental models (rebuilt by reference year) give
exactly what a full rebuild gives; new deliveries of some registers build and test only what dbt's
own graph puts downstream of them, and the gate and the release still run; a changed dbt project
is rebuilt in full."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import json

import duckdb

from dagster_project.defs.dbt_models.assets import DBT_PROJECT_DIR
from dagster_project.dbt_state import plan_build, project_fingerprint, record_build
from tests.conftest import model_hashes, run_pipeline

LATER = ("einwohner/einwohner_2023-12-31.csv", "sgb2/sgb2_2023-12.csv", "sgb12/sgb12_2023-12.csv",
         "asylblg/asylblg_2023-12.csv")


def _builds(db_path: Path) -> list[tuple]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute("SELECT full_refresh, fingerprint FROM audit.dbt_builds ORDER BY finished_at").fetchall()
    finally:
        con.close()


def _years(db_path: Path, table: str) -> list[int]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return [r[0] for r in con.execute(f"SELECT DISTINCT reference_year FROM {table} ORDER BY 1").fetchall()]
    finally:
        con.close()


def test_new_deliveries_rebuild_their_years_and_equal_a_full_rebuild(warehouse, sample_inbox):
    inbox = warehouse / "inbox"
    shutil.copytree(sample_inbox, inbox, dirs_exist_ok=True)
    held_back = warehouse / "held_back"
    for name in LATER:  # the 2023 extract and the December deliveries arrive later
        (held_back / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(inbox / name, held_back / name)
    db_path = warehouse / "warehouse.duckdb"

    run_pipeline(warehouse)  # the gate may object to the missing year-end; dbt has built
    assert [full for full, _ in _builds(db_path)] == [True]
    assert _years(db_path, "intermediate.int_population__residents") == [2022]
    assert _years(db_path, "intermediate.int_welfare__recipients_year_end") == [2022]

    for name in LATER:
        shutil.move(held_back / name, inbox / name)
    result = run_pipeline(warehouse)
    assert result.success
    assert [full for full, _ in _builds(db_path)] == [True, False]  # incremental, not a full rebuild
    assert _years(db_path, "intermediate.int_population__residents") == [2022, 2023]
    assert _years(db_path, "intermediate.int_welfare__recipients_year_end") == [2022, 2023]
    # only what reads the four registers with new files is built and tested (not the movements
    # and measures): exactly what dbt's own graph selects; the rest is reported unchanged, and
    # the gate and the release still run
    run_results = json.loads((warehouse / "dbt_target" / "run_results.json").read_text())
    built = {r["unique_id"] for r in run_results["results"] if r["unique_id"].startswith("model.")}
    changed = " ".join(f"source:raw.{r}+" for r in ("einwohner", "sgb2", "sgb12", "asylblg"))
    assert built == _dbt_selects(db_path, changed, "model")
    left_out = _dbt_selects(db_path, "fqn:*", "model") - built
    assert "model.daten_fuer_taten.stg_planning__measures" in left_out and "model.daten_fuer_taten.dim_area" in left_out
    materialized = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert {"stg_planning__measures", "dim_area", "fct_indicator_values"} <= materialized
    assert any(e.step_key.startswith("release") for e in result.get_step_success_events())
    incremental = model_hashes(db_path)

    done = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "build", "--full-refresh", "--quiet",
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(warehouse / "dbt_target")],  # not dbt/target, which other test processes read
        env={**os.environ, "DFT_DB_PATH": str(db_path)}, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]
    full = model_hashes(db_path)
    assert full.keys() == incremental.keys() and len(full) > 10
    assert [name for name in full if full[name] != incremental[name]] == []


def _dbt_selects(db_path: Path, selection: str, resource_type: str) -> set[str]:
    """The unique ids `dbt ls --select <selection>` names (dbt's own selection, as a user would ask it)."""
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "ls", "--quiet", "--select", selection, "--resource-type",
         resource_type, "--output", "json", "--output-keys", "unique_id", "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(db_path.parent / "dbt_ls_target")],
        env={**os.environ, "DFT_DB_PATH": str(db_path)}, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]
    return {json.loads(line)["unique_id"] for line in done.stdout.splitlines() if line.startswith("{")}


def test_a_changed_dbt_project_is_rebuilt_in_full(tmp_path):
    project = tmp_path / "dbt"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    db_path = tmp_path / "warehouse.duckdb"

    def build_args(db_path: Path, project: Path) -> tuple[list[str], bool]:
        plan = plan_build(db_path, project, project / "target" / "manifest.json")
        return plan.args, plan.full_refresh

    assert build_args(db_path, project) == (["build", "--full-refresh"], True)  # never built
    record_build(db_path, project, full_refresh=True)
    assert build_args(db_path, project) == (["build"], False)
    before = project_fingerprint(project)
    model = project / "models" / "intermediate" / "population" / "int_population__residents.sql"
    model.write_text(model.read_text() + "\n-- changed\n")
    assert project_fingerprint(project) != before
    assert build_args(db_path, project) == (["build", "--full-refresh"], True)
