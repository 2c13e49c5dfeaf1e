"""Loading one delivery: contract check, quarantine, pseudonymisation, idempotent replacement of
its period's Parquet file in the raw layer, load log. The rows never pass through Python objects:
DuckDB splits, checks, pseudonymises and writes them. A delivery is loaded whole or not at all:
its file and its audit rows (quarantine, load log) change together.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dagster_project import city_profile
from dagster_project.contracts import Contract, load_contracts
from dagster_project.ingest.delivery_file import Delivery, file_sha256, identify, read_delivery, scan_file
from dagster_project.ingest.errors import DeliveryRefused, Refusal
from dagster_project.ingest.pseudonymise import (PSEUDONYM_HEX_DIGITS, PSEUDONYM_SQL_TYPE, PseudonymCache,
                                                 hmac_pads, hmac_sql)
from dagster_project.ingest.raw_layer import (RAW_SCHEMA, delivery_file, move_table_to_files, raw_columns,
                                              raw_dir_of, register_files, replacing, rewrite_uuid_files, table_kind,
                                              temporary_file, view_sql, write_delivery_sql)
from dagster_project.ingest.validation import (first_time_on_connection, register_reference_tables, split_fields,
                                                violations_sql)
from dagster_project.settings import PseudonymKey
from dagster_project.sql_quoting import quote
from dagster_project.whole_files import append_line, replace_bytes

AUDIT_SCHEMA = "audit"
MAX_OUT_OF_PERIOD_SHARE = 0.01   # more rows outside the period than this: wrong period, refused
REFUSAL_LOG = "abgelehnte_lieferungen.jsonl"


def _migrate_hex_pseudonyms(con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """Warehouses loaded before pseudonyms were 128-bit values hold the full HMAC as 64 hex
    characters in their raw tables; its first 32 are the new pseudonym, so the column is converted
    in place (before the table moves into the raw layer's files)."""
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


def has_raw_schema(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.schemata WHERE catalog_name = current_database() "
                            "AND schema_name = ?", [RAW_SCHEMA]).fetchone()[0])


def ensure_schema(con: duckdb.DuckDBPyConnection, raw_dir: Path | None = None) -> None:
    """Schemas raw and audit: a view per register over its raw files (raw tables of an older
    warehouse moved into files first) and the audit tables; once per connection."""
    if not first_time_on_connection(con, "schema"):
        return
    raw_dir = raw_dir or raw_dir_of(con)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {AUDIT_SCHEMA}")
    for contract in load_contracts().values():
        if table_kind(con, contract.raw_table) == "BASE TABLE":
            _migrate_hex_pseudonyms(con, contract)
            move_table_to_files(con, contract, raw_dir)
        rewrite_uuid_files(con, contract, raw_dir)
        con.execute(view_sql(contract, raw_dir))
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


def has_audit_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """True when audit.<table> exists in the connection's own database (not yet before the first load)."""
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = ? AND table_name = ?", [AUDIT_SCHEMA, table]).fetchone()[0])


def already_loaded(con: duckdb.DuckDBPyConnection, register: str, period: str, sha256: str) -> bool:
    """True when the latest load of this register and period was this very file."""
    if not has_audit_table(con, "load_log"):
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


ACCEPTED_ROWS = ("SELECT * FROM delivery_rows "
                 "WHERE line_no NOT IN (SELECT line_no FROM delivery_violations)")


def _compute_pseudonyms(con: duckdb.DuckDBPyConnection, contract: Contract, pads: dict[str, bytes],
                        cache: PseudonymCache | None) -> None:
    """Temp table `delivery_pseudonyms` (value, pseudonym): one row per distinct identifier of the
    accepted rows (a household or a Bedarfsgemeinschaft has several members). With a `cache`
    (the batch's identifiers already hashed under the same key: most persons are in every
    extract, most Bedarfsgemeinschaften in many months), only values not seen before are hashed."""
    columns = [quote(c.name) for c in contract.kept_columns if c.handling == "pseudonymise"]
    wanted = "SELECT DISTINCT value FROM (" + " UNION ALL ".join(
        f"SELECT {col} AS value FROM accepted" for col in columns) + ")"
    hmac = hmac_sql("value")
    if cache is None:
        select = f"SELECT value, {hmac} AS pseudonym FROM wanted"
    else:
        select = (f"SELECT w.value, c.pseudonym FROM wanted AS w JOIN {cache.table} AS c ON c.value = w.value "
                  f"UNION ALL SELECT value, {hmac} AS pseudonym FROM wanted "
                  f"WHERE value NOT IN (SELECT value FROM {cache.table})")
    con.execute(f"CREATE OR REPLACE TEMP TABLE delivery_pseudonyms AS "
                f"WITH accepted AS ({ACCEPTED_ROWS}), wanted AS ({wanted}) {select}", pads)
    if cache is not None:
        cache.add(con)


def _raw_rows_sql(contract: Contract) -> str:
    """The accepted lines of the delivery as rows of the raw layer, pseudonyms from
    `delivery_pseudonyms`."""
    joins = []
    exprs = ["$period", "accepted.line_no", "$sha256"]
    for column in contract.kept_columns:
        col = quote(column.name)
        if column.handling == "pseudonymise":
            alias = f"pseudonyms_{len(joins)}"
            joins.append(f"LEFT JOIN delivery_pseudonyms AS {alias} ON {alias}.value = accepted.{col}")
            exprs.append(f"{alias}.pseudonym")
        elif column.handling == "birth_year" and column.type == "date":
            exprs.append(f"right(accepted.{col}, 4)")  # a valid TT.MM.JJJJ date: its year
        elif column.handling == "birth_year":
            exprs.append(f"year(strptime(accepted.{col}, '%d.%m.%Y'))")
        else:
            exprs.append(f"NULLIF(accepted.{col}, '')")
    typed = ", ".join(f"CAST({e} AS {t}) AS {quote(n)}"
                      for e, (n, t) in zip(exprs, raw_columns(contract, in_file=True)))
    return (f"WITH accepted AS ({ACCEPTED_ROWS}) SELECT {typed} FROM accepted {' '.join(joins)} "
            "ORDER BY accepted.line_no")  # in the order of the delivery: the same delivery, the same file


def write_quarantine_file(con: duckdb.DuckDBPyConnection, delivery: Delivery, folder: Path) -> Path | None:
    """The engineer's copy of the quarantine: one CSV per delivery (line, column, rule, message,
    value). The original line stays in the delivery file, which is kept in the inbox."""
    rows = con.execute(
        "SELECT line_no, column_name, rule, message_de, value FROM delivery_violations "
        "ORDER BY line_no, column_name").fetchall()
    register = delivery.contract.register
    return write_quarantine_rows(quarantine_file(folder, register, delivery.path.name),
                                 as_delivered(register, rows))


def quarantine_file(folder: Path, register: str, delivery_name: str) -> Path:
    return folder / register / f"{Path(delivery_name).stem}.quarantaene.csv"


def as_delivered(register: str, rows: list[tuple]) -> list[tuple]:
    """Quarantine rows (line, column, ...) with the column as the delivery names it: the city
    profile may map the contract's names to the city's own headers."""
    profile = city_profile.current()
    return [(line, profile.delivery_header(register, column) if column else column, *rest)
            for line, column, *rest in rows]


def write_quarantine_rows(target: Path, rows: list[tuple]) -> Path | None:
    """The quarantine file (line, column, rule, message, value), replaced whole; none without rows."""
    if not rows:
        target.unlink(missing_ok=True)
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    replace_bytes(target, quarantine_csv(rows))   # whole or not at all, also after a kill
    return target


def quarantine_csv(rows: list[tuple]) -> bytes:
    text = io.StringIO(newline="")
    writer = csv.writer(text, delimiter=";")
    writer.writerow(["ZEILE", "SPALTE", "REGEL", "MELDUNG", "WERT"])
    writer.writerows(rows)
    return text.getvalue().encode("utf-8-sig")


def log_refusal(folder: Path, refusal: Refusal, sha256: str | None) -> None:
    """Refusals are kept in a log file (the database stays exactly as it was)."""
    folder.mkdir(parents=True, exist_ok=True)
    entry = {"zeit": dt.datetime.now().isoformat(timespec="seconds"), "sha256": sha256,
             **refusal.as_dict()}
    append_line(folder / REFUSAL_LOG, json.dumps(entry, ensure_ascii=False))


def _record_load(con: duckdb.DuckDBPyConnection, delivery: Delivery, load_id: str, key_mode: str,
                 started_at: dt.datetime, rows_read: int, quarantined: int, seconds: float) -> None:
    """The delivery's quarantine (replacing its period's) and its line in the load log."""
    register, period = delivery.contract.register, delivery.period.label
    con.execute(f"DELETE FROM {AUDIT_SCHEMA}.quarantine WHERE register = ? AND period = ?", [register, period])
    con.execute(
        f"INSERT INTO {AUDIT_SCHEMA}.quarantine SELECT ?, ?, ?, ?, line_no, column_name, rule, "
        "message_de, value FROM delivery_violations", [register, period, delivery.path.name, delivery.sha256])
    con.execute(
        f"INSERT INTO {AUDIT_SCHEMA}.load_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'geladen', ?, ?, ?, ?)",
        [load_id, register, period, delivery.path.name, delivery.sha256, delivery.encoding, rows_read,
         rows_read - quarantined, quarantined, key_mode, started_at, dt.datetime.now(), seconds])


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.TransactionException:
        pass  # a failed COMMIT has rolled back already


def load_delivery(con: duckdb.DuckDBPyConnection, path: Path, key: PseudonymKey, quarantine_dir: Path,
                  force: bool = False, raw_dir: Path | None = None,
                  commit_lock: AbstractContextManager | None = None,
                  pseudonym_cache: PseudonymCache | None = None) -> LoadResult:
    """Load one delivery file into the raw layer. Raises DeliveryRefused (nothing changed) for a
    broken delivery.

    The delivery's rows are checked and pseudonymised in DuckDB and written to a temporary Parquet
    file; then, in one step, that file takes the place of the period's file and the quarantine
    and load log are committed (`commit_lock` serialises this step when deliveries are loaded in
    parallel on cursors of one database)."""
    started = time.perf_counter()
    started_at = dt.datetime.now()
    contract, period = identify(path)
    scan = scan_file(path) if contract.file_extension == "csv" else None  # hash and structure, slice by slice
    sha256 = scan.sha256 if scan else file_sha256(path)
    raw_dir = raw_dir or raw_dir_of(con)
    target = delivery_file(raw_dir, contract.register, period.label)
    # the file must be there too: a load log entry without its file (lost, removed by hand) loads again
    if not force and target.exists() and already_loaded(con, contract.register, period.label, sha256):
        return LoadResult(contract.register, period.label, path.name, sha256, "unveraendert")
    delivery = read_delivery(path, scan, sha256)
    del scan  # its copy of a small file now belongs to the delivery's lines
    register_reference_tables(con)
    rows_read = split_fields(con, delivery)
    con.execute(f"CREATE OR REPLACE TEMP TABLE delivery_violations AS {violations_sql(delivery)}")
    _check_period(con, delivery, rows_read)
    quarantined = con.execute("SELECT count(DISTINCT line_no) FROM delivery_violations").fetchone()[0]
    load_id = f"{contract.register}:{period.label}:{started_at:%Y%m%dT%H%M%S%f}"
    new_file = temporary_file(target)
    try:
        if any(c.handling == "pseudonymise" for c in contract.kept_columns):
            _compute_pseudonyms(con, contract, hmac_pads(key.key), pseudonym_cache)
        con.execute(write_delivery_sql(_raw_rows_sql(contract), new_file),
                    {"period": period.label, "sha256": delivery.sha256})
        with commit_lock or nullcontext():
            # only now: a refused delivery leaves even an empty database untouched
            ensure_schema(con, raw_dir)
            first_file = not register_files(raw_dir, contract.register)
            con.execute("BEGIN TRANSACTION")
            try:
                with replacing(target, new_file):
                    _record_load(con, delivery, load_id, key.mode, started_at, rows_read, quarantined,
                                 time.perf_counter() - started)
                    if first_file:  # until now the view was empty; afterwards its glob finds new files
                        con.execute(view_sql(contract, raw_dir))
                    con.execute("COMMIT")
            except BaseException:
                _rollback(con)
                raise
    finally:
        new_file.unlink(missing_ok=True)
    # after the commit (a kill in between: the next run's ingest writes it from audit.quarantine,
    # dagster_project/ingest/recovery.py)
    write_quarantine_file(con, delivery, quarantine_dir)
    con.execute("DROP VIEW IF EXISTS delivery_rows")
    for table in ("delivery_fields", "delivery_violations", "delivery_pseudonyms"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return LoadResult(contract.register, period.label, path.name, sha256, "geladen", rows_read,
                      rows_read - quarantined, quarantined, time.perf_counter() - started)
