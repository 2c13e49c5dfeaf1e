"""Loading one delivery into DuckDB: contract check, quarantine, pseudonymisation, idempotent
replacement of its period, load log. All of it in one transaction: a delivery is loaded whole or
not at all.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dagster_project.contracts import Contract, load_contracts
from dagster_project.ingest.delivery_file import Delivery, file_sha256, identify, read_delivery
from dagster_project.ingest.errors import DeliveryRefused, Refusal
from dagster_project.ingest.pseudonymise import PSEUDONYM_HEX_DIGITS, PSEUDONYM_SQL_TYPE, hmac_pads, hmac_sql
from dagster_project.ingest.validation import (first_time_on_connection, register_reference_tables, split_fields,
                                                violations_sql)
from dagster_project.settings import PseudonymKey
from dagster_project.sql_quoting import quote

RAW_SCHEMA = "raw"
AUDIT_SCHEMA = "audit"
MAX_OUT_OF_PERIOD_SHARE = 0.01   # more rows outside the period than this: wrong period, refused
REFUSAL_LOG = "abgelehnte_lieferungen.jsonl"
# DuckDB checkpoints (rewrites the touched table blocks) whenever the write-ahead log passes this
# size. Its default (16 MB) checkpoints after nearly every delivery; loading a register's
# deliveries one after the other, fewer larger checkpoints are faster. The last one happens when
# the connection closes.
CHECKPOINT_THRESHOLD = "1GB"


def raw_column_name(contract: Contract, name: str) -> str:
    handling = contract.column(name).handling
    if handling == "pseudonymise":
        return f"{name}_PSEUDONYM"
    if handling == "birth_year":
        return "GEBURTSJAHR"
    return name


def raw_columns(contract: Contract) -> list[tuple[str, str]]:
    """(name, type) of the raw table: load metadata, then the kept contract columns."""
    columns = [("_period", "VARCHAR"), ("_line_no", "BIGINT"), ("_file_sha256", "VARCHAR")]
    types = {"birth_year": "SMALLINT", "pseudonymise": PSEUDONYM_SQL_TYPE}
    for column in contract.kept_columns:
        columns.append((raw_column_name(contract, column.name), types.get(column.handling, "VARCHAR")))
    return columns


def _migrate_hex_pseudonyms(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """Warehouses loaded before pseudonyms were 128-bit values hold the full HMAC as 64 hex
    characters; its first 32 are the new pseudonym, so the column is converted in place."""
    for name, sql_type in raw_columns(contract):
        if sql_type != PSEUDONYM_SQL_TYPE:
            continue
        found = con.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
            "AND column_name = ?", [RAW_SCHEMA, contract.raw_table, name]).fetchone()
        if found and found[0] == "VARCHAR":
            col = quote(name)
            con.execute(f"ALTER TABLE {RAW_SCHEMA}.{contract.raw_table} ALTER COLUMN {col} "
                        f"TYPE {PSEUDONYM_SQL_TYPE} USING CAST(left({col}, {PSEUDONYM_HEX_DIGITS}) AS {PSEUDONYM_SQL_TYPE})")


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Schemas raw and audit with their tables (and older pseudonym columns converted), once per
    connection."""
    if not first_time_on_connection(con, "schema"):
        return
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {AUDIT_SCHEMA}")
    for contract in load_contracts().values():
        cols = ", ".join(f"{quote(n)} {t}" for n, t in raw_columns(contract))
        con.execute(f"CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.{contract.raw_table} ({cols})")
        _migrate_hex_pseudonyms(con, contract)
    con.execute(f"""
        CREATE TABLE IF NOT EXISTS {AUDIT_SCHEMA}.load_log (
            load_id VARCHAR PRIMARY KEY, register VARCHAR NOT NULL, period VARCHAR NOT NULL,
            file_name VARCHAR NOT NULL, file_sha256 VARCHAR NOT NULL, encoding VARCHAR,
            rows_read BIGINT, rows_accepted BIGINT, rows_quarantined BIGINT,
            status VARCHAR NOT NULL, key_mode VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP,
            seconds DOUBLE)
    """)
    con.execute(f"""
        CREATE TABLE IF NOT EXISTS {AUDIT_SCHEMA}.quarantine (
            register VARCHAR NOT NULL, period VARCHAR NOT NULL, file_name VARCHAR NOT NULL,
            file_sha256 VARCHAR NOT NULL, line_no BIGINT NOT NULL, column_name VARCHAR,
            rule VARCHAR NOT NULL, message_de VARCHAR NOT NULL, value VARCHAR)
    """)


@dataclass
class LoadResult:
    register: str
    period: str
    file_name: str
    sha256: str
    status: str                # "geladen" or "unveraendert" (same file already loaded)
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    seconds: float = 0.0


def already_loaded(con: duckdb.DuckDBPyConnection, register: str, period: str, sha256: str) -> bool:
    """True when the latest load of this register and period was this very file."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = 'load_log'",
        [AUDIT_SCHEMA]).fetchone()[0]
    if not exists:
        return False
    row = con.execute(f"""
        SELECT file_sha256 FROM {AUDIT_SCHEMA}.load_log
        WHERE register = ? AND period = ? AND status = 'geladen'
        ORDER BY finished_at DESC LIMIT 1
    """, [register, period]).fetchone()
    return row is not None and row[0] == sha256


def _check_period(con: duckdb.DuckDBPyConnection, delivery: Delivery, rows: int) -> None:
    check = delivery.contract.period_check
    if not check:
        return
    outside = con.execute(
        "SELECT count(DISTINCT line_no) FROM delivery_violations WHERE rule = 'ausserhalb_zeitraum'"
    ).fetchone()[0]
    name, label = delivery.path.name, delivery.period.label
    if rows and outside / rows > MAX_OUT_OF_PERIOD_SHARE:
        raise DeliveryRefused(Refusal(
            name, "zeitraum_passt_nicht",
            f"{outside} von {rows} Zeilen ({outside / rows:.1%}) liegen außerhalb des Zeitraums "
            f"{label} aus dem Dateinamen: Zeitraum im Namen passt nicht zum Inhalt",
            column=check["column"]))
    if check["rule"] == "until_period_end_latest_in_period":
        col = quote(check["column"])
        latest = con.execute(
            f"SELECT max(try_strptime({col}, '%d.%m.%Y'))::DATE FROM delivery_rows "
            f"WHERE try_strptime({col}, '%d.%m.%Y') <= DATE '{delivery.period.end.isoformat()}'"
        ).fetchone()[0]
        if latest is None or latest.year != delivery.period.year:
            raise DeliveryRefused(Refusal(
                name, "zeitraum_passt_nicht",
                f"Der späteste Eintrag in {check['column']} ist {latest:%d.%m.%Y}, nicht im Jahr "
                f"{delivery.period.year}: der Auszug gehört nicht zum Stichtag {label}"
                if latest else f"Keine gültigen Daten in {check['column']}",
                column=check["column"]))


def _insert_sql(contract: Contract) -> str:
    exprs = ["$period", "line_no", "$sha256"]
    for column in contract.kept_columns:
        col = quote(column.name)
        if column.handling == "pseudonymise":
            exprs.append(hmac_sql(col))
        elif column.handling == "birth_year":
            exprs.append(f"CAST(year(strptime({col}, '%d.%m.%Y')) AS SMALLINT)")
        else:
            exprs.append(f"NULLIF({col}, '')")
    names = ", ".join(quote(n) for n, _ in raw_columns(contract))
    return (f"INSERT INTO {RAW_SCHEMA}.{contract.raw_table} ({names}) "
            f"SELECT {', '.join(exprs)} FROM delivery_rows "
            f"WHERE line_no NOT IN (SELECT line_no FROM delivery_violations)")


def write_quarantine_file(con: duckdb.DuckDBPyConnection, delivery: Delivery, folder: Path) -> Path | None:
    """The engineer's copy of the quarantine: one CSV per delivery (line, column, rule, message,
    value). The original line stays in the delivery file, which is kept in the inbox."""
    rows = con.execute(
        "SELECT line_no, column_name, rule, message_de, value FROM delivery_violations "
        "ORDER BY line_no, column_name").fetchall()
    target = folder / delivery.contract.register / f"{delivery.path.stem}.quarantaene.csv"
    if not rows:
        target.unlink(missing_ok=True)
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["ZEILE", "SPALTE", "REGEL", "MELDUNG", "WERT"])
        writer.writerows(rows)
    return target


def log_refusal(folder: Path, refusal: Refusal, sha256: str | None) -> None:
    """Refusals are kept in a log file (the database stays exactly as it was)."""
    folder.mkdir(parents=True, exist_ok=True)
    entry = {"zeit": dt.datetime.now().isoformat(timespec="seconds"), "sha256": sha256,
             **refusal.as_dict()}
    with (folder / REFUSAL_LOG).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, ensure_ascii=False) + "\n")


def load_delivery(con: duckdb.DuckDBPyConnection, path: Path, key: PseudonymKey,
                  quarantine_dir: Path, force: bool = False) -> LoadResult:
    """Load one delivery file. Raises DeliveryRefused (nothing changed) for a broken delivery."""
    started = time.perf_counter()
    started_at = dt.datetime.now()
    contract, period = identify(path)
    sha256 = file_sha256(path)
    if not force and already_loaded(con, contract.register, period.label, sha256):
        return LoadResult(contract.register, period.label, path.name, sha256, "unveraendert")
    delivery = read_delivery(path, sha256)
    con.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
    register_reference_tables(con)
    split_fields(con, delivery)
    con.execute(f"CREATE OR REPLACE TEMP TABLE delivery_violations AS {violations_sql(delivery)}")
    rows_read = delivery.lines.num_rows
    _check_period(con, delivery, rows_read)
    quarantined = con.execute("SELECT count(DISTINCT line_no) FROM delivery_violations").fetchone()[0]
    load_id = f"{contract.register}:{period.label}:{started_at:%Y%m%dT%H%M%S%f}"
    params = {"period": period.label, "sha256": delivery.sha256}
    if any(c.handling == "pseudonymise" for c in contract.columns):
        params.update(hmac_pads(key.key))
    ensure_schema(con)  # only now: a refused delivery leaves even an empty database untouched
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM {RAW_SCHEMA}.{contract.raw_table} WHERE _period = ?", [period.label])
        con.execute(_insert_sql(contract), params)
        con.execute(f"DELETE FROM {AUDIT_SCHEMA}.quarantine WHERE register = ? AND period = ?",
                    [contract.register, period.label])
        con.execute(
            f"INSERT INTO {AUDIT_SCHEMA}.quarantine SELECT ?, ?, ?, ?, line_no, column_name, rule, "
            "message_de, value FROM delivery_violations",
            [contract.register, period.label, path.name, delivery.sha256])
        seconds = time.perf_counter() - started
        con.execute(
            f"INSERT INTO {AUDIT_SCHEMA}.load_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'geladen', ?, ?, ?, ?)",
            [load_id, contract.register, period.label, path.name, delivery.sha256, delivery.encoding,
             rows_read, rows_read - quarantined, quarantined, key.mode, started_at, dt.datetime.now(),
             seconds])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    write_quarantine_file(con, delivery, quarantine_dir)
    con.execute("DROP VIEW IF EXISTS delivery_rows")
    for table in ("delivery_fields", "delivery_violations"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return LoadResult(contract.register, period.label, path.name, sha256, "geladen", rows_read,
                      rows_read - quarantined, quarantined, time.perf_counter() - started)
