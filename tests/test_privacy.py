"""Privacy at ingest: no name, street, house number or clear person number in the database;
pseudonyms are HMAC-SHA-256 (first 128 bits) computed in SQL, and keys are handled safely."""

from __future__ import annotations

import hashlib
import hmac
import uuid

import duckdb
import pytest

from dagster_project.ingest.load import load_delivery
from dagster_project.ingest.pseudonymise import hmac_pads, hmac_sql, pseudonym
from dagster_project.settings import DEMO_KEY, REPO_ROOT, PseudonymKeyError, pseudonym_key_from_environment
from tests.conftest import TEST_KEY

IDENTIFIERS = {
    "einwohner": ["ORDNUNGSMERKMAL", "FAMILIENNAME", "VORNAMEN", "STRASSE", "HAUSHALT"],
    "bewegungen": ["ORDNUNGSMERKMAL"],
    "sgb2": ["BG_NUMMER"],
    "sgb12": ["FALLNUMMER"],
    "asylblg": ["FALLNUMMER"],
}


@pytest.fixture
def loaded_sample(warehouse, sample_inbox):
    con = duckdb.connect(str(warehouse / "warehouse.duckdb"))
    for path in sorted(sample_inbox.glob("*/*.csv")):
        load_delivery(con, path, TEST_KEY, warehouse / "quarantine")
    yield con
    con.close()


def _read(path) -> str:
    return f"read_csv('{path}', delim=';', header=true, all_varchar=true)"


def test_no_direct_identifier_anywhere_in_the_database(loaded_sample, sample_inbox):
    con = loaded_sample
    con.execute("CREATE TEMP TABLE secrets (value VARCHAR)")
    for register, columns in IDENTIFIERS.items():
        for path in sorted((sample_inbox / register).glob("*.csv")):
            for column in columns:
                con.execute(f"INSERT INTO secrets SELECT DISTINCT {column} FROM {_read(path)} "
                            f"WHERE {column} IS NOT NULL")
    secrets = con.execute("SELECT count(DISTINCT value) FROM secrets").fetchone()[0]
    assert secrets > 10_000
    text_columns = con.execute("""
        SELECT table_schema, table_name, column_name FROM information_schema.columns
        WHERE data_type = 'VARCHAR' AND table_schema IN ('raw', 'audit')""").fetchall()
    assert len(text_columns) > 40
    for schema, table, column in text_columns:
        hits = con.execute(f"""
            SELECT count(*) FROM (SELECT DISTINCT "{column}" AS v FROM {schema}.{table}) t
            JOIN secrets s ON t.v = s.value""").fetchone()[0]
        assert hits == 0, f"{schema}.{table}.{column} holds direct identifiers"
    # house numbers: no column of the loaded extract agrees with the delivered house number
    path = sample_inbox / "einwohner" / "einwohner_2023-12-31.csv"
    con.execute(f"CREATE TEMP TABLE delivered AS SELECT row_number() OVER () + 1 AS line_no, HAUSNUMMER "
                f"FROM {_read(path)}")
    raw_columns = [c for s, t, c in text_columns if (s, t) == ("raw", "einwohner")]
    for column in raw_columns:
        agree = con.execute(f"""
            SELECT avg(CASE WHEN r."{column}" = d.HAUSNUMMER THEN 1 ELSE 0 END) FROM raw.einwohner r
            JOIN delivered d ON r._line_no = d.line_no WHERE r._period = '2023-12-31'""").fetchone()[0]
        assert agree < 0.01, column
    names = {c for _, _, c in text_columns}
    assert not names & {"FAMILIENNAME", "VORNAMEN", "STRASSE", "HAUSNUMMER", "ORDNUNGSMERKMAL"}


def test_person_pseudonyms_link_extract_and_movements(loaded_sample, sample_inbox):
    con = loaded_sample
    linked = con.execute("""
        SELECT count(*) FROM raw.bewegungen b JOIN raw.einwohner e
        ON b.ORDNUNGSMERKMAL_PSEUDONYM = e.ORDNUNGSMERKMAL_PSEUDONYM
        WHERE b.EREIGNIS = 'GEBURT' AND e._period = '2023-12-31' AND b._period = '2023'""").fetchone()[0]
    births = con.execute("SELECT count(*) FROM raw.bewegungen WHERE EREIGNIS = 'GEBURT' AND _period = '2023'").fetchone()[0]
    assert births > 0 and linked > 0.9 * births
    birth_years = con.execute("SELECT min(GEBURTSJAHR), max(GEBURTSJAHR) FROM raw.einwohner").fetchone()
    assert 1890 <= birth_years[0] and birth_years[1] <= 2023


@pytest.mark.parametrize("value", ["0000000001", "Müller", "BG000000042", ""])
def test_sql_hmac_equals_python_hmac(value):
    con = duckdb.connect()
    key = b"another key that is long enough for HMAC-SHA-256 tests" * 2  # longer than a block
    sql = hmac_sql("$value")
    got = con.execute(f"SELECT {sql}", {"value": value, **hmac_pads(key)}).fetchone()[0]
    # the first 128 bits of the standard library's HMAC-SHA-256, as a UUID
    expected = uuid.UUID(hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32])
    assert got == expected == pseudonym(key, value)
    assert con.execute(f"SELECT {sql}", {"value": value, **hmac_pads(TEST_KEY.key)}).fetchone()[0] \
        == pseudonym(TEST_KEY.key, value) != got


def test_keys_come_from_environment_or_a_file_outside_the_repository(monkeypatch, tmp_path):
    for name in ("DFT_PSEUDONYM_KEY", "DFT_PSEUDONYM_KEY_FILE", "DFT_DEMO_MODE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(PseudonymKeyError, match="DFT_DEMO_MODE"):
        pseudonym_key_from_environment()
    monkeypatch.setenv("DFT_DEMO_MODE", "1")
    assert pseudonym_key_from_environment().key == DEMO_KEY.encode()
    key_file = tmp_path / "key.txt"
    key_file.write_text("k" * 40 + "\n", encoding="utf-8")
    monkeypatch.setenv("DFT_PSEUDONYM_KEY_FILE", str(key_file))
    assert pseudonym_key_from_environment().mode == "key_file"
    monkeypatch.setenv("DFT_PSEUDONYM_KEY_FILE", str(REPO_ROOT / "pyproject.toml"))
    with pytest.raises(PseudonymKeyError, match="Repository"):
        pseudonym_key_from_environment()
    monkeypatch.setenv("DFT_PSEUDONYM_KEY", "too short")
    with pytest.raises(PseudonymKeyError, match="zu kurz"):
        pseudonym_key_from_environment()


def test_a_load_with_another_pseudonym_key_is_refused_before_anything_is_loaded(tmp_path):
    """Pseudonyms of two keys would not match: the warehouse remembers the key's fingerprint."""
    import duckdb

    from dagster_project.ingest.batch import load_deliveries
    from dagster_project.ingest.key_check import PseudonymKeyChanged, key_fingerprint
    from dagster_project.settings import PseudonymKey
    from tests.conftest import SPEC_HEADERS, TEST_KEY, db_snapshot, write_file

    inbox, db_path = tmp_path / "inbox", tmp_path / "warehouse.duckdb"
    first = write_file(inbox, "sgb12", "sgb12_2024-01.csv", [SPEC_HEADERS["sgb12"], "F000000001;01.01.1950;W;000;050;4;N"])
    second = write_file(inbox, "sgb12", "sgb12_2024-02.csv", [SPEC_HEADERS["sgb12"], "F000000001;01.01.1950;W;000;050;4;N"])
    con = duckdb.connect(str(db_path))
    [outcome] = load_deliveries(con, [first], TEST_KEY, tmp_path / "quarantine")
    assert outcome.result.status == "geladen"
    fingerprint = con.execute("SELECT fingerprint FROM audit.pseudonym_key").fetchall()
    assert fingerprint == [(key_fingerprint(TEST_KEY),)] and TEST_KEY.key.decode() not in fingerprint[0][0]
    con.close()
    before = db_snapshot(db_path)
    other = PseudonymKey(key=b"another-key-of-at-least-thirty-two-characters", mode="environment")
    con = duckdb.connect(str(db_path))
    with pytest.raises(PseudonymKeyChanged, match="Schlüsselwechsel"):
        load_deliveries(con, [second], other, tmp_path / "quarantine")
    con.close()
    assert db_snapshot(db_path) == before
    con = duckdb.connect(str(db_path))
    [outcome] = load_deliveries(con, [second], TEST_KEY, tmp_path / "quarantine")   # the right key loads
    assert outcome.result.status == "geladen"
    con.close()
