"""The raw layer: one Parquet file per delivery, written whole or not at all, equal to an
independent reading of the delivery; parallel loading equals loading one after the other; an older
warehouse's raw tables move into files."""

from __future__ import annotations

import csv
import hashlib
import io
import shutil
import threading

import duckdb
import pyarrow.parquet as pq
import pytest

from dagster_project.ingest import raw_layer
from dagster_project.ingest.batch import load_deliveries
from dagster_project.ingest.errors import DeliveryRefused
from dagster_project.ingest.load import load_delivery
from dagster_project.ingest.pseudonymise import pseudonym
from tests.conftest import SPEC_HEADERS, TEST_KEY, write_file

HEADER = SPEC_HEADERS["einwohner"]
ROWS = [
    "0000000001;Müller;Anna;01.02.1980;W;000;;000;H;Schulstraße;12;050;HH000000001;;15.03.2010",
    "0000000002;Yilmaz;Mehmet;03.04.1975;M;163;;163;H;Schulstraße;12;050;HH000000001;01.06.2005;01.06.2005",
    "0000000003;Popescu;Ion;05.06.2001;M;154;;154;H;Hafenweg;3;040;HH000000003;10.10.2023;10.10.2023",
    "0000000004;Weiß;Jürgen;07.08.1950;M;000;163;000;N;Hafenweg;5;040;HH000000004;;01.01.2000",
    "0000000005;A;B;01.02.1980;W;000;;000;H;X;1;999;HH000000005;;15.03.2010",  # unknown district
]


def _snapshot(raw_dir) -> dict[str, str]:
    return {str(p.relative_to(raw_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(raw_dir.rglob("*")) if p.is_file()}


def _delivered(path) -> list[dict]:
    """The delivery read with Python's csv module, each row with its line number."""
    text = path.read_bytes().decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text), delimiter=";")
    return [{"_line_no": number, **row} for number, row in enumerate(reader, start=2)]


def test_a_delivery_is_one_parquet_file_equal_to_an_independent_reading(warehouse):
    path = write_file(warehouse / "inbox", "einwohner", "einwohner_2023-12-31.csv", [HEADER, *ROWS])
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"))
    result = load_delivery(con, path, TEST_KEY, warehouse / "quarantine")
    assert (result.rows_read, result.rows_accepted, result.rows_quarantined) == (5, 4, 1)
    target = warehouse / "raw" / "einwohner" / "2023-12-31.parquet"
    assert _snapshot(warehouse / "raw") == {"einwohner/2023-12-31.parquet": hashlib.sha256(target.read_bytes()).hexdigest()}
    metadata = pq.ParquetFile(target).metadata
    assert {metadata.row_group(0).column(i).compression for i in range(metadata.num_columns)} == {"ZSTD"}
    stored = pq.read_table(target).to_pylist()  # in the order of the delivery
    expected = [{
        "_period": "2023-12-31", "_line_no": row["_line_no"],
        "_file_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        # pseudonyms as their text: Parquet's UUID type is illegal for Spark (docs/spark.md)
        "ORDNUNGSMERKMAL_PSEUDONYM": str(pseudonym(TEST_KEY.key, row["ORDNUNGSMERKMAL"])),
        "GEBURTSJAHR": int(row["GEBURTSDATUM"][-4:]),
        **{c: row[c] or None for c in ("GESCHLECHT", "STAATSANGEHOERIGKEIT_1", "STAATSANGEHOERIGKEIT_2",
                                       "GEBURTSSTAAT", "WOHNUNGSSTATUS", "STAT_BEZIRK")},
        "HAUSHALT_PSEUDONYM": str(pseudonym(TEST_KEY.key, row["HAUSHALT"])),
        "ZUZUG_GEMEINDE": row["ZUZUG_GEMEINDE"] or None, "EINZUG_WOHNUNG": row["EINZUG_WOHNUNG"] or None,
    } for row in _delivered(path) if row["STAT_BEZIRK"] != "999"]
    assert stored == expected
    # the two members of household HH000000001 share one pseudonym, computed once for both
    assert stored[0]["HAUSHALT_PSEUDONYM"] == stored[1]["HAUSHALT_PSEUDONYM"]
    # the view raw.einwohner reads the file
    assert con.execute("SELECT count(*), count(DISTINCT HAUSHALT_PSEUDONYM) FROM raw.einwohner").fetchone() == (4, 3)
    # ... and gives DuckDB's 16-byte UUID again
    assert con.execute("SELECT ORDNUNGSMERKMAL_PSEUDONYM FROM raw.einwohner WHERE _line_no = 2").fetchone()[0] \
        == pseudonym(TEST_KEY.key, _delivered(path)[0]["ORDNUNGSMERKMAL"])
    parquet_schema = pq.ParquetFile(target).schema
    assert "UUID" not in {str(parquet_schema.column(i).logical_type) for i in range(len(parquet_schema))}


def test_a_redelivery_replaces_one_file_and_a_refusal_changes_none(warehouse):
    inbox = warehouse / "inbox"
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"))
    moved_in_2022 = ROWS[2].replace("10.10.2023;10.10.2023", "10.10.2022;10.10.2022")
    load_delivery(con, write_file(inbox, "einwohner", "einwohner_2022-12-31.csv", [HEADER, moved_in_2022]),
                  TEST_KEY, warehouse / "quarantine")
    path = write_file(inbox, "einwohner", "einwohner_2023-12-31.csv", [HEADER, *ROWS])
    load_delivery(con, path, TEST_KEY, warehouse / "quarantine")
    before = _snapshot(warehouse / "raw")
    write_file(inbox, "einwohner", "einwohner_2023-12-31.csv", [HEADER, *ROWS[:3]])
    load_delivery(con, path, TEST_KEY, warehouse / "quarantine")
    after = _snapshot(warehouse / "raw")
    assert after.keys() == before.keys()  # no temporary or backup file left
    assert after["einwohner/2022-12-31.parquet"] == before["einwohner/2022-12-31.parquet"]
    assert after["einwohner/2023-12-31.parquet"] != before["einwohner/2023-12-31.parquet"]
    assert con.execute("SELECT count(*) FROM raw.einwohner WHERE _period = '2023-12-31'").fetchone()[0] == 3
    write_file(inbox, "einwohner", "einwohner_2023-12-31.csv", [HEADER.replace("VORNAMEN", "VORNAME"), *ROWS])
    with pytest.raises(DeliveryRefused):
        load_delivery(con, path, TEST_KEY, warehouse / "quarantine")
    assert _snapshot(warehouse / "raw") == after


def test_a_failing_commit_puts_the_old_file_back(warehouse, monkeypatch):
    inbox = warehouse / "inbox"
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"))
    path = write_file(inbox, "einwohner", "einwohner_2023-12-31.csv", [HEADER, *ROWS])
    load_delivery(con, path, TEST_KEY, warehouse / "quarantine")
    files_before = _snapshot(warehouse / "raw")
    log_before = con.execute("SELECT * FROM audit.load_log").fetchall()
    write_file(inbox, "einwohner", "einwohner_2023-12-31.csv", [HEADER, *ROWS[1:3]])

    def broken_record(*args):
        raise OSError("Platte voll (simuliert)")

    monkeypatch.setattr("dagster_project.ingest.load._record_load", broken_record)
    with pytest.raises(OSError, match="simuliert"):
        load_delivery(con, path, TEST_KEY, warehouse / "quarantine")
    assert _snapshot(warehouse / "raw") == files_before
    assert con.execute("SELECT * FROM audit.load_log").fetchall() == log_before
    assert con.execute("SELECT count(*) FROM raw.einwohner").fetchone()[0] == 4


def test_parallel_loading_with_the_batch_cache_equals_loading_one_by_one(tmp_path, sample_inbox, monkeypatch):
    """Each delivery on its own (every pseudonym hashed), and as a batch (pseudonyms cached across
    deliveries) with one and with two workers and with a full cache: the same raw layer and load log."""
    paths = sorted((sample_inbox / "sgb2").glob("*.csv"))[:8] + sorted((sample_inbox / "einwohner").glob("*.csv"))
    results = {}
    for variant in ("one_by_one", 1, 2, "full_cache"):
        root = tmp_path / f"w{variant}"
        root.mkdir()
        if variant == "full_cache":
            monkeypatch.setattr("dagster_project.ingest.pseudonymise.CACHE_MAX_ENTRIES", 100)
        con = duckdb.connect(str(root / "warehouse.duckdb"))
        if variant == "one_by_one":
            for path in paths:
                load_delivery(con, path, TEST_KEY, root / "quarantine")
        else:
            seen = []
            outcomes = load_deliveries(con, paths, TEST_KEY, root / "quarantine", workers=2 if variant == "full_cache" else variant,
                                       on_outcome=lambda number, outcome: seen.append(number))
            assert seen == list(range(1, len(paths) + 1)) and all(o.result for o in outcomes)
            assert not con.execute("SELECT count(*) FROM duckdb_databases() WHERE database_name LIKE "
                                   "'dft_pseudonym_cache%'").fetchone()[0]  # the cache is gone
        results[variant] = (
            con.execute("SELECT * FROM raw.sgb2 UNION ALL BY NAME SELECT * FROM raw.einwohner ORDER BY ALL").fetchall(),
            con.execute("SELECT register, period, rows_read, rows_accepted, rows_quarantined FROM audit.load_log "
                        "ORDER BY ALL").fetchall())
        con.close()
    assert results["one_by_one"] == results[1] == results[2] == results["full_cache"]
    assert len(results[1][0]) > 1000


def test_a_delivery_read_in_slices_equals_the_delivery_read_whole(tmp_path, sample_inbox, monkeypatch):
    """A state's extract is read in slices of lines; cut into many small slices, the sample's
    deliveries (UTF-8 with BOM, Windows-1252 with CRLF, defective lines) give the same raw layer,
    quarantine and load log as read in one slice, and a refusal names the same line."""
    paths = [sorted((sample_inbox / register).glob("*.csv"))[0] for register in ("einwohner", "sgb2", "bewegungen")]
    paths.append(write_file(tmp_path / "inbox", "einwohner", "einwohner_2023-12-31.csv", [HEADER, *ROWS * 40],
                            encoding="cp1252", newline="\r\n"))
    broken = write_file(tmp_path / "broken", "einwohner", "einwohner_2023-12-31.csv",
                        [HEADER, *ROWS * 40, "0000000009;Null\x00byte;A;01.02.1980;W;000;;000;H;X;1;050;HH1;;"],
                        encoding="cp1252", newline="\r\n")
    # UTF-8 with an "Á" (bytes C3 81: 0x81 is undefined in Windows-1252) early, a Windows-1252 "ü"
    # late: neither encoding reads the whole file
    mixed = tmp_path / "mixed" / "einwohner" / "einwohner_2023-12-31.csv"
    mixed.parent.mkdir(parents=True)
    mixed.write_bytes("\n".join([HEADER, ROWS[0].replace("Anna", "Ágnes"), *ROWS[1:] * 40]).encode("utf-8")
                      + "\n0000000009;Jürgen;A;01.02.1980;W;000;;000;H;X;1;050;HH1;;\n".encode("cp1252"))
    results = {}
    for slice_bytes in (1 << 30, 997):
        monkeypatch.setattr("dagster_project.ingest.delivery_file.SLICE_BYTES", slice_bytes)
        root = tmp_path / f"w{slice_bytes}"
        root.mkdir()
        con = duckdb.connect(str(root / "warehouse.duckdb"))
        for path in paths:
            load_delivery(con, path, TEST_KEY, root / "quarantine")
        with pytest.raises(DeliveryRefused) as refused:
            load_delivery(con, broken, TEST_KEY, root / "quarantine")
        with pytest.raises(DeliveryRefused) as unreadable:
            load_delivery(con, mixed, TEST_KEY, root / "quarantine")
        results[slice_bytes] = (
            [con.execute(f"SELECT * FROM raw.{register} ORDER BY ALL").fetchall()
             for register in ("einwohner", "sgb2", "bewegungen")],
            con.execute("SELECT * EXCLUDE (file_sha256) FROM audit.quarantine ORDER BY ALL").fetchall(),
            con.execute("SELECT register, period, encoding, rows_read, rows_accepted, rows_quarantined "
                        "FROM audit.load_log ORDER BY ALL").fetchall(),
            (refused.value.refusal.rule, refused.value.refusal.line),
            (unreadable.value.refusal.rule, unreadable.value.refusal.line, unreadable.value.refusal.message_de))
        con.close()
    assert results[1 << 30] == results[997]
    assert results[997][3] == ("kodierung", len(ROWS) * 40 + 2)
    assert results[997][4][:2] == ("kodierung", (len(ROWS) - 1) * 40 + 3)
    assert sum(row[3] for row in results[997][2]) > 3000 and len(results[997][1]) == 240  # 200 repeated keys, 40 unknown districts


def _extract_loaded(warehouse) -> tuple:
    """The test extract loaded into a new warehouse: its database file, the open connection and
    the rows of raw.einwohner in the order of the delivery."""
    path = write_file(warehouse / "inbox", "einwohner", "einwohner_2023-12-31.csv", [HEADER, *ROWS])
    db = warehouse / "warehouse.duckdb"
    con = duckdb.connect(str(db))
    load_delivery(con, path, TEST_KEY, warehouse / "quarantine")
    return db, con, con.execute("SELECT * FROM raw.einwohner ORDER BY _line_no").fetchall()


def test_raw_tables_of_an_older_warehouse_move_into_files(warehouse):
    """Until the raw layer, raw.<register> was a table in the database file."""
    db, con, expected = _extract_loaded(warehouse)
    # make it an old warehouse: the rows in a table, no files
    con.execute("CREATE TABLE raw.einwohner_old AS SELECT * FROM raw.einwohner")
    con.execute("DROP VIEW raw.einwohner")
    con.execute("ALTER TABLE raw.einwohner_old RENAME TO einwohner")
    con.close()
    shutil.rmtree(warehouse / "raw")
    con = duckdb.connect(str(db))
    raw_layer_dir = raw_layer.raw_dir_of(con)
    from dagster_project.ingest.load import ensure_schema
    ensure_schema(con)
    assert raw_layer.table_kind(con, "einwohner") == "VIEW"
    assert [p.name for p in raw_layer.register_files(raw_layer_dir, "einwohner")] == ["2023-12-31.parquet"]
    assert con.execute("SELECT * FROM raw.einwohner ORDER BY _line_no").fetchall() == expected


def test_files_with_parquets_uuid_type_are_rewritten_with_the_pseudonyms_as_text(warehouse):
    """Until the Spark engine, a pseudonym was stored as Parquet's UUID type, which Spark refuses."""
    db, con, expected = _extract_loaded(warehouse)
    target = warehouse / "raw" / "einwohner" / "2023-12-31.parquet"
    # make it an old file: the view's rows (UUID pseudonyms) written as they were, and the view
    # as it was then (the file's columns as they are)
    con.execute(f"COPY (SELECT * FROM raw.einwohner ORDER BY _line_no) TO '{target}.old' (FORMAT parquet)")
    con.execute(f"CREATE OR REPLACE VIEW raw.einwohner AS SELECT * FROM read_parquet('{target}')")
    con.close()
    (target.parent / f"{target.name}.old").replace(target)
    assert "UUID" in str(pq.ParquetFile(target).schema.column(3).logical_type)
    con = duckdb.connect(str(db))
    from dagster_project.ingest.load import ensure_schema
    ensure_schema(con)
    schema = pq.ParquetFile(target).schema
    assert "UUID" not in {str(schema.column(i).logical_type) for i in range(len(schema))}
    assert con.execute("SELECT * FROM raw.einwohner ORDER BY _line_no").fetchall() == expected
    assert [p.name for p in target.parent.iterdir()] == [target.name]


def test_a_moved_warehouse_reads_its_own_raw_folder(tmp_path, sample_inbox):
    paths = sorted((sample_inbox / "sgb2").glob("*.csv"))[:2]
    root = tmp_path / "vorher"
    root.mkdir()
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    load_deliveries(con, paths, TEST_KEY, root / "quarantine")
    rows = con.execute("SELECT count(*) FROM raw.sgb2").fetchone()[0]
    con.close()
    moved = tmp_path / "nachher"
    shutil.move(root, moved)
    con = duckdb.connect(str(moved / "warehouse.duckdb"))
    outcomes = load_deliveries(con, paths, TEST_KEY, moved / "quarantine")  # nothing new
    assert {o.result.status for o in outcomes} == {"unveraendert"}
    assert con.execute("SELECT count(*) FROM raw.sgb2").fetchone()[0] == rows > 0
    assert str(moved / "raw" / "sgb2") in con.execute(
        "SELECT sql FROM duckdb_views() WHERE schema_name = 'raw' AND view_name = 'sgb2'").fetchone()[0]


@pytest.mark.parametrize("sample", [
    "Müller;Straße;ÄÖÜ €".encode(), b"plain ascii", b"\xed\xa0\x80",   # a surrogate
    b"\xc0\xaf", b"\xe0\x80\xaf",                                          # overlong forms
    b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80",                          # beyond U+10FFFF
    b"ok \xc3", b"\x81", "Windows: M\xfcller".encode("cp1252"), b"\xef\xbb\xbfBOM",
])
def test_the_in_place_utf8_check_agrees_with_python(sample):
    """A delivery is checked for UTF-8 in place (Arrow), not decoded by Python: both must agree,
    or a file would be read in another encoding than before."""
    from dagster_project.ingest.delivery_file import _is_utf8

    try:
        sample.decode("utf-8")
        python_says = True
    except UnicodeDecodeError:
        python_says = False
    assert _is_utf8(b"xx" + sample, 2) is python_says


def test_a_large_delivery_is_loaded_alone():
    from dagster_project.ingest.batch import _ByteBudget

    budget = _ByteBudget(limit=10)
    budget.acquire(4)
    budget.acquire(6)                  # together within the limit
    started = threading.Event()

    def large() -> None:
        budget.acquire(50)             # larger than the limit: waits until nothing is in flight
        started.set()

    thread = threading.Thread(target=large)
    thread.start()
    assert not started.wait(0.2)
    budget.release(4)
    assert not started.wait(0.2)
    budget.release(6)
    assert started.wait(5)
    thread.join()
    assert budget.in_flight == 50


def test_the_pipeline_and_dbt_keep_to_the_duckdb_memory_limit(tmp_path, monkeypatch):
    """Without a limit DuckDB takes up to 80 % of the machine's memory (a state's ingest: 17 GB);
    the pipeline's connections and dbt's profile use DFT_DUCKDB_MEMORY_LIMIT, default the same."""
    from dagster_project.defs.resources import WarehouseResource
    from dagster_project.settings import DEFAULT_MEMORY_LIMIT, REPO_ROOT

    warehouse = WarehouseResource(db_path=str(tmp_path / "w.duckdb"))
    for value, shown in (("512MB", "488.2 MiB"), (None, None)):
        if value:
            monkeypatch.setenv("DFT_DUCKDB_MEMORY_LIMIT", value)
        else:
            monkeypatch.delenv("DFT_DUCKDB_MEMORY_LIMIT")
            shown = duckdb.connect(config={"memory_limit": DEFAULT_MEMORY_LIMIT}).execute(
                "SELECT current_setting('memory_limit')").fetchone()[0]
        with warehouse.connect() as con:
            assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == shown
    monkeypatch.setenv("DFT_DUCKDB_MEMORY_LIMIT", "viel")
    with pytest.raises(ValueError, match="DFT_DUCKDB_MEMORY_LIMIT"):
        with warehouse.connect():
            pass
    profile = (REPO_ROOT / "dbt" / "profiles.yml").read_text(encoding="utf-8")
    assert f"env_var('DFT_DUCKDB_MEMORY_LIMIT', '{DEFAULT_MEMORY_LIMIT}')" in profile


@pytest.mark.parametrize("content", [b"kopf\nzeile eins ist lang\n\nz\n", b"ohne Zeilenende am Schluss", b"a\nb", b"\n"])
def test_slices_end_at_line_ends_and_give_back_the_whole_file(tmp_path, monkeypatch, content):
    """Slices smaller than a line: each slice but the last ends with a line end, together they are
    the file."""
    from dagster_project.ingest import delivery_file

    monkeypatch.setattr(delivery_file, "SLICE_BYTES", 4)
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    slices = list(delivery_file._slices(path))
    assert b"".join(slices) == content
    assert all(piece.endswith(b"\n") for piece in slices[:-1]) and all(slices)


# ---------------------------------------------------------------- after a kill: the next run puts it right
# The states a `kill -9` can leave between two steps of a load, made by hand (a kill runs no
# handler); tests/test_crash_recovery.py kills the real job.

def _load_once(warehouse):
    """2023 loaded with ROWS: (con, the delivery's path)."""
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"))
    path = write_file(warehouse / "inbox", "einwohner", "einwohner_2023-12-31.csv", [HEADER, *ROWS])
    load_delivery(con, path, TEST_KEY, warehouse / "quarantine")
    return con, path


def _load_twice(warehouse):
    """2023 loaded with ROWS, then redelivered with three rows: (con, path, old bytes, new bytes)."""
    con, path = _load_once(warehouse)
    target = warehouse / "raw" / "einwohner" / "2023-12-31.parquet"
    old = target.read_bytes()
    write_file(warehouse / "inbox", "einwohner", "einwohner_2023-12-31.csv", [HEADER, *ROWS[:3]])
    load_delivery(con, path, TEST_KEY, warehouse / "quarantine")
    return con, path, target, old, target.read_bytes()


def _recover(con, warehouse) -> list[str]:
    from dagster_project.ingest.recovery import recover_quarantine_folder, recover_raw_layer

    return (recover_raw_layer(con, warehouse / "raw", "einwohner")
            + recover_quarantine_folder(con, warehouse / "quarantine", "einwohner"))


def _load_log(con):
    return con.execute("SELECT period, file_sha256 FROM audit.load_log ORDER BY finished_at").fetchall()


def test_killed_between_the_two_moves_the_loaded_file_is_put_back(warehouse):
    con, path, target, old, new = _load_twice(warehouse)
    # the log names the new delivery; a third delivery was being put in place: target moved aside
    backup = target.with_name(".2023-12-31.0123456789abcdef0123456789abcdef.parquet.bak")
    target.rename(backup)
    (target.parent / ".2023-12-31.fedcba9876543210fedcba9876543210.parquet.tmp").write_bytes(b"halb")
    done = _recover(con, warehouse)
    assert target.read_bytes() == new
    assert sorted(p.name for p in target.parent.iterdir()) == ["2023-12-31.parquet"]
    assert any("zurückgelegt" in line for line in done) and any("unfertige Datei" in line for line in done)


def test_killed_before_the_commit_the_old_delivery_stays(warehouse):
    con, path, target, old, new = _load_twice(warehouse)
    log = _load_log(con)
    # the state of a kill after the new file took the place and before the commit: the log names
    # the second delivery (new), the period file holds a third, the second is moved aside
    third = write_file(warehouse / "inbox", "einwohner", "einwohner_2023-12-31.csv", [HEADER, ROWS[2], ROWS[3]])
    backup = target.with_name(".2023-12-31.0123456789abcdef0123456789abcdef.parquet.bak")
    target.rename(backup)
    scratch = warehouse / "scratch"
    scratch_con = duckdb.connect(str(scratch.with_suffix(".duckdb")))
    load_delivery(scratch_con, third, TEST_KEY, scratch / "quarantine", raw_dir=scratch / "raw")
    shutil.copy(scratch / "raw" / "einwohner" / "2023-12-31.parquet", target)
    assert target.read_bytes() not in (old, new)
    done = _recover(con, warehouse)
    assert target.read_bytes() == new and not backup.exists()
    assert _load_log(con) == log
    assert any("nicht übernommene" in line for line in done)


def test_killed_after_the_commit_the_old_file_goes(warehouse):
    con, path, target, old, new = _load_twice(warehouse)
    backup = target.with_name(".2023-12-31.0123456789abcdef0123456789abcdef.parquet.bak")
    backup.write_bytes(old)
    _recover(con, warehouse)
    assert target.read_bytes() == new and not backup.exists()


def test_a_first_load_killed_before_its_commit_loads_again(warehouse):
    con, path = _load_once(warehouse)
    target = warehouse / "raw" / "einwohner" / "2023-12-31.parquet"
    # a 2022 file in place whose load was never committed
    orphan = target.with_name("2022-12-31.parquet")
    shutil.copy(target, orphan)
    done = _recover(con, warehouse)
    assert not orphan.exists() and target.exists()
    assert any("2022-12-31.parquet gelöscht" in line for line in done)


def test_a_loaded_delivery_whose_file_is_gone_is_loaded_again(warehouse):
    con, path = _load_once(warehouse)
    target = warehouse / "raw" / "einwohner" / "2023-12-31.parquet"
    content = target.read_bytes()
    target.unlink()
    assert load_delivery(con, path, TEST_KEY, warehouse / "quarantine").status == "geladen"
    assert target.read_bytes() == content


def test_the_quarantine_files_follow_the_committed_quarantine(warehouse):
    con, path = _load_once(warehouse)
    csv_file = warehouse / "quarantine" / "einwohner" / "einwohner_2023-12-31.quarantaene.csv"
    written = csv_file.read_bytes()
    assert b"999" in written
    assert _recover(con, warehouse) == []    # nothing to do after a whole load
    csv_file.unlink()                         # killed between the commit and the file
    stale = csv_file.with_name("einwohner_2021-12-31.quarantaene.csv")
    stale.write_bytes(written)
    (csv_file.parent / f".{csv_file.name}.0123.tmp").write_bytes(b"ZEILE;SP")
    done = _recover(con, warehouse)
    assert csv_file.read_bytes() == written
    assert sorted(p.name for p in csv_file.parent.iterdir()) == [csv_file.name]
    assert len(done) == 3


def test_a_torn_refusal_line_is_cut_before_the_next_is_added(tmp_path):
    import json

    from dagster_project.whole_files import append_line

    log = tmp_path / "abgelehnte_lieferungen.jsonl"
    log.write_text('{"datei": "a.csv"}\n{"datei": "b.c', encoding="utf-8")   # power lost mid-line
    append_line(log, json.dumps({"datei": "c.csv"}))
    assert [json.loads(line)["datei"] for line in log.read_text(encoding="utf-8").splitlines()] == ["a.csv", "c.csv"]


def test_the_temporary_file_of_an_interrupted_whole_write_is_removed(tmp_path):
    """A kill between the write and the rename of replace_bytes leaves `.<name>.<hex>.tmp`
    (found by the crash test in reports/data_docs); remove_unfinished deletes only such files."""
    from dagster_project.whole_files import remove_unfinished

    (tmp_path / "index.html").write_text("alt", encoding="utf-8")
    (tmp_path / ".index.html.7e48ab101dbf4d9da68ae07b0ef9859f.tmp").write_text("halb", encoding="utf-8")
    (tmp_path / ".gitkeep").write_text("", encoding="utf-8")
    assert remove_unfinished(tmp_path) == [".index.html.7e48ab101dbf4d9da68ae07b0ef9859f.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".gitkeep", "index.html"]
