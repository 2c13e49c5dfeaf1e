"""Operating the warehouse with the shared released warehouse: a backfill of two years equals
the full run; the materializations carry the history the UI plots."""

from __future__ import annotations

import duckdb
from dagster import AssetKey, DagsterInstance

from dagster_project.defs.ingest.assets import raw_asset_key
from tests.conftest import model_hashes, step_failures
from tests.test_operations import FACT, _point_at


def test_a_backfill_of_two_years_rebuilds_them_and_equals_the_full_run(released_warehouse_copy, monkeypatch):
    from dagster_project.main import execute_warehouse_job

    root = released_warehouse_copy
    db_path = root / "warehouse.duckdb"
    full_run = model_hashes(db_path)
    # damage both years in an incremental model without touching the deliveries it was built from:
    # an ordinary run would keep the damage (nothing new was delivered), a backfill rebuilds the years
    con = duckdb.connect(str(db_path))
    changed = con.execute("UPDATE intermediate.int_population__residents SET age = age + 1 "
                          "WHERE reference_year IN (2022, 2023)").fetchone()[0]
    con.close()
    assert changed > 0 and model_hashes(db_path) != full_run
    _point_at(monkeypatch, root)
    with DagsterInstance.ephemeral() as instance:
        result, _ = execute_warehouse_job(instance, years=[2022, 2023], rebuild=True)
        assert result.success, step_failures(result)
        partitions = {m.partition for m in result.asset_materializations_for_node("warehouse_dbt_models")
                      if m.asset_key == FACT}
    assert partitions == {"2022", "2023"}
    assert model_hashes(db_path) == full_run


def test_materializations_carry_history_metadata(released_warehouse):
    _, instance = released_warehouse

    def latest(key: AssetKey):
        records = instance.fetch_materializations(key, limit=1).records
        assert records, key
        return records[0].asset_materialization

    raw = latest(raw_asset_key("einwohner"))
    for name in ("zeilen_geladen", "zeilen_quarantaene", "abgelehnt", "neuester_zeitraum", "dauer_s"):
        assert name in raw.metadata, name
    assert raw.metadata["neuester_zeitraum"].value == "2023-12-31"
    assert raw.partition in ("2022", "2023")
    fact = latest(FACT)
    assert fact.metadata["dagster/row_count"].value > 0
    # the newest release that was published (a run with nothing new, e.g. test_release_runs on
    # the same warehouse, records a materialization without one)
    releases = instance.fetch_materializations(AssetKey(["release", "warehouse_release"]), limit=20).records
    release = next(r.asset_materialization for r in releases
                   if r.asset_materialization.metadata["neues_release"].value)
    assert release.metadata["release_id"].value
    assert release.metadata["pruefung"].value.startswith("bestanden")
    assert release.metadata["gesperrte_zellen"].value > 0


def test_the_release_records_the_delivery_calendar_at_its_time(released_warehouse):
    import json

    from dagster_project.contracts import load_contracts

    root, _ = released_warehouse
    current = root / "release" / "current"
    manifest = json.loads((current / "manifest.json").read_text(encoding="utf-8"))
    calendar = {r["register"]: r for r in manifest["lieferkalender"]}
    assert set(calendar) == set(load_contracts())
    assert calendar["einwohner"]["neuester_zeitraum"] == "2023-12-31"
    assert calendar["massnahmen"]["ueberfaellig"] is False
    page = (current / "pruefbericht.html").read_text(encoding="utf-8")
    assert "Lieferkalender zum Zeitpunkt der Freigabe" in page
