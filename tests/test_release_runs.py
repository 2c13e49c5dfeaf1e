"""Publish only what changed, keep what matters: runs with nothing new publish nothing; retention
keeps the newest releases and never the one `current` points to; release notes say what changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dagster_project.release.store import ReleaseStore
from dagster_project.settings import REPO_ROOT
from tests.conftest import run_pipeline, step_failures


def _release_metadata(result) -> dict:
    for event in result.all_events:
        if event.event_type_value == "ASSET_MATERIALIZATION" and \
                event.event_specific_data.materialization.asset_key.path == ["release", "warehouse_release"]:
            return {k: v.value for k, v in event.event_specific_data.materialization.metadata.items()}
    raise AssertionError("keine Freigabe im Lauf")


def test_runs_with_nothing_new_publish_nothing(released_warehouse):
    root, instance = released_warehouse
    store = ReleaseStore(root / "release")
    first = run_pipeline(root, instance)  # release tests publish on their own; this run settles it
    assert first.success, step_failures(first)
    release_id = store.current_id()
    releases = store.release_ids()
    again = run_pipeline(root, instance)
    assert again.success, step_failures(again)
    metadata = _release_metadata(again)
    assert metadata["neues_release"] is False
    assert metadata["meldung"] == f"Keine neuen Lieferungen – Release {release_id} bleibt aktuell."
    assert store.current_id() == release_id and store.release_ids() == releases
    history = (root / "reports" / "data_docs" / "laufhistorie.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(history[-1])["freigabe"].startswith("Keine neuen Lieferungen")


def test_changed_deliveries_publish_and_old_releases_are_pruned(released_warehouse_copy, monkeypatch):
    """Two corrected re-deliveries with DFT_RELEASE_KEEP=1, on a copy of the shared warehouse:
    each publishes a release, only the newest (the current) stays, the notes name the replaced
    delivery and the release before. (That retention never removes the release `current` points
    to, also after a rollback, is test_retention_never_removes_the_current_release.)"""
    root = released_warehouse_copy
    monkeypatch.setenv("DFT_RELEASE_KEEP", "1")
    store = ReleaseStore(root / "release")
    delivery = sorted((root / "inbox" / "sgb12").glob("sgb12_*-01.csv"))[0]
    original = delivery.read_bytes()
    published = []
    for n in range(2):
        # a corrected re-delivery: one more recipient each time
        delivery.write_bytes(original + f"K{n:07d};01.01.1950;W;000;050;4;N\n".encode("utf-8"))
        result = run_pipeline(root)
        assert result.success, step_failures(result)
        metadata = _release_metadata(result)
        assert metadata["neues_release"] is True
        published.append(metadata["release_id"])
        assert store.current_id() == published[-1]
        assert (root / "release" / "current" / "warehouse.duckdb").exists()
        assert store.release_ids() == [published[-1]]
    notes = json.loads((root / "release" / "current" / "aenderungsnachweis.json").read_text(encoding="utf-8"))
    assert notes["vorheriges_release"] == published[-2]
    assert [d["file_name"] for d in notes["lieferungen"]["ersetzt"]] == [delivery.name]
    assert {z["tabelle"] for z in notes["zeilen"]} >= {"fct_indicator_values", "dim_area"}
    assert (root / "release" / "current" / "aenderungsnachweis.html").exists()


def test_retention_never_removes_the_current_release(tmp_path):
    store = ReleaseStore(tmp_path / "release")
    ids = [f"2026010{i}T000000000" for i in range(1, 7)]
    for release_id in ids:
        staging = store.staging_folder(release_id)
        (staging / "warehouse.duckdb").write_bytes(b"")
        store.seal(staging, release_id)
    store.switch_current(ids[0])   # e.g. after a rollback to the oldest release
    removed = store.prune(2)
    assert store.current_id() == ids[0]
    assert store.release_ids() == [ids[0], *ids[-2:]]
    assert set(removed) == set(ids[1:4])
    folder = store.folder(ids[-1])
    # readable by the release group only (DFT_RELEASE_GROUP; dagster_project/file_access.py)
    assert oct(folder.stat().st_mode & 0o777) == "0o550"
    assert oct((folder / "warehouse.duckdb").stat().st_mode & 0o777) == "0o440"


def test_release_keep_setting(monkeypatch):
    from dagster_project.settings import release_keep

    monkeypatch.setenv("DFT_RELEASE_KEEP", "3")
    assert release_keep() == 3
    monkeypatch.setenv("DFT_RELEASE_KEEP", "0")
    with pytest.raises(ValueError, match="DFT_RELEASE_KEEP"):
        release_keep()
    assert Path(REPO_ROOT / "docs" / "bi.md").exists()


def test_a_warehouse_of_the_first_release_layout_moves_to_the_stable_names(tmp_path):
    """Before the stable names a release was releases/<id>/release.duckdb, copied to current.duckdb."""
    root = tmp_path / "release"
    old = root / "releases" / "20250101T000000000"
    old.mkdir(parents=True)
    (old / "release.duckdb").write_bytes(b"alt")
    (root / "current.duckdb").write_bytes(b"alt")
    store = ReleaseStore(root)
    assert store.current_id() is None and store.database(old.name) == old / "release.duckdb"
    staging = store.staging_folder("20260101T000000000")
    (staging / "warehouse.duckdb").write_bytes(b"neu")
    store.seal(staging, "20260101T000000000")
    store.switch_current("20260101T000000000")
    assert not (root / "current.duckdb").exists()
    assert (root / "current" / "warehouse.duckdb").read_bytes() == b"neu"
    assert store.prune(1) == [old.name]


def test_the_release_reads_the_marts_in_a_fixed_order():
    """dbt's parallel queries write a mart's rows in an order that varies from build to build;
    secondary suppression must meet them in the same order each time (the same data, the same
    release)."""
    import duckdb

    from dagster_project.release.publish import candidate_marts

    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.fct_b (area_code VARCHAR, reference_year INTEGER, value DOUBLE)")
    con.execute("INSERT INTO marts.fct_b VALUES ('040', 2024, 1), ('010', 2024, 2), ('040', 2023, NULL), ('010', 2023, 4)")
    con.execute("CREATE TABLE marts.dim_a AS SELECT 'x' AS code")
    marts = candidate_marts(con)
    assert list(marts) == ["dim_a", "fct_b"]
    assert marts["fct_b"][["area_code", "reference_year"]].values.tolist() == [
        ["010", 2023], ["010", 2024], ["040", 2023], ["040", 2024]]


def test_a_delivery_that_changes_no_mart_reuses_the_disclosure_control_of_the_same_content(
        released_warehouse_copy, monkeypatch):
    """A new delivery that changes no mart (a monthly stock outside December) is a new release,
    but its content was computed before: disclosure control is read back, not run again, and the
    release is cell for cell the one it computes."""
    import shutil

    import duckdb

    from dagster_project.release import publish
    from dagster_project.release.content_cache import cache_dir
    from tests.conftest import table_hashes

    root = released_warehouse_copy
    db_path, release_dir = root / "warehouse.duckdb", root / "release"
    store = ReleaseStore(release_dir)

    def redeliver(n: int) -> None:
        """A load-log entry for a new file of a period: the deliveries change, the marts do not."""
        con = duckdb.connect(str(db_path))
        con.execute("INSERT INTO audit.load_log SELECT load_id || ?, register, period, file_name, ?, encoding, rows_read, "
                    "rows_accepted, rows_quarantined, status, key_mode, started_at, now(), seconds "
                    "FROM audit.load_log WHERE register = 'sgb2' ORDER BY period DESC LIMIT 1", [f"-{n}", f"{n:064d}"])
        con.close()

    def released(release_id: str) -> dict[str, str]:
        con = duckdb.connect(str(store.database(release_id)), read_only=True)
        try:
            return {k: v for k, v in table_hashes(con).items()
                    if k.startswith("marts.") or k == "audit.suppressed_cells"}
        finally:
            con.close()

    shutil.rmtree(cache_dir(root), ignore_errors=True)
    redeliver(1)
    computed = publish.publish_release(db_path, release_dir, "lauf-1")
    assert computed.published and computed.manifest["geheimhaltung"]["wiederverwendet"] is False
    cached = cache_dir(root) / computed.manifest["geheimhaltung"]["inhalt_fingerabdruck"]
    assert cached.is_dir() and not (release_dir / ".inhalt").exists()   # beside the release, not in it

    def not_again(*args, **kwargs):
        raise AssertionError("disclosure control ran again for the same content")

    monkeypatch.setattr(publish, "released_marts", not_again)
    redeliver(2)
    reused = publish.publish_release(db_path, release_dir, "lauf-2")
    assert reused.published and reused.release_id != computed.release_id
    assert reused.manifest["geheimhaltung"]["wiederverwendet"] is True
    assert reused.manifest["angreiferpruefung"] == computed.manifest["angreiferpruefung"]
    assert released(reused.release_id) == released(computed.release_id)
    assert [d["file_sha256"] for d in reused.manifest["lieferungen"] if d["register"] == "sgb2"][-1] == f"{2:064d}"


def test_the_content_key_changes_with_any_cell_the_rules_or_a_type():
    import pandas as pd

    from dagster_project.release.content_cache import content_key
    from dagster_project.release.disclosure import DisclosureRules

    rules = DisclosureRules.load()
    marts = {"fct_a": pd.DataFrame({"area_code": ["011", "012"], "n": [5.0, 7.0]})}
    key = content_key(marts, rules)
    assert content_key({"fct_a": marts["fct_a"].copy()}, rules) == key
    assert content_key({"fct_a": marts["fct_a"].assign(n=[5.0, 8.0])}, rules) != key
    assert content_key({"fct_a": marts["fct_a"].astype({"n": "int64"})}, rules) != key
    assert content_key({"fct_b": marts["fct_a"]}, rules) != key
    stricter = DisclosureRules(**{**rules.__dict__, "min_count": rules.min_count + 1})
    assert content_key(marts, stricter) != key
