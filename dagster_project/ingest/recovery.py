"""What an interrupted load leaves in the raw layer, put right by the next run (and said).

A delivery is loaded in this order (dagster_project/ingest/load.py `load_delivery`): its rows are
written to a hidden temporary file `.<period>.<hex>.parquet.tmp`; the period's file (if any) is
moved aside to `.<period>.<hex>.parquet.bak`; the temporary file takes the period's place; the
quarantine and the load log are committed; the moved-aside file is deleted. A kill between any two
of these steps leaves one of:
- a temporary file: never visible to the raw view (its glob is `*.parquet`); deleted;
- a moved-aside file and no period file (killed between the two moves; the load log still names
  the old delivery): the old file is put back;
- a moved-aside file beside the new period file: the load log decides which one stays: the file
  whose delivery (`_file_sha256`) the newest load log entry names;
- a period file the load log does not know (a first load killed before its commit): deleted;
  its delivery is still in the inbox and is loaded again in the same run.
The load log is the truth the files are brought back to: it is committed in one DuckDB
transaction, the files are not.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb

from dagster_project.ingest.load import (AUDIT_SCHEMA, as_delivered, has_audit_table, quarantine_csv, quarantine_file,
                                         write_quarantine_rows)
from dagster_project.sql_quoting import literal

_TEMPORARY = re.compile(r"^\.(?P<period>.+)\.[0-9a-f]{32}\.parquet\.tmp$")
_MOVED_ASIDE = re.compile(r"^\.(?P<period>.+)\.[0-9a-f]{32}\.parquet\.bak$")


def loaded_deliveries(con: duckdb.DuckDBPyConnection, register: str) -> dict[str, str] | None:
    """period → SHA-256 of the delivery the newest 'geladen' entry of the load log names (None:
    no load log yet)."""
    if not has_audit_table(con, "load_log"):
        return None
    return dict(con.execute(f"""
        SELECT period, arg_max(file_sha256, finished_at) FROM {AUDIT_SCHEMA}.load_log
        WHERE register = ? AND status = 'geladen' GROUP BY period
    """, [register]).fetchall())


def _delivery_of(con: duckdb.DuckDBPyConnection, path: Path) -> str | None:
    """The delivery a raw file holds (None for a file without rows: every line was quarantined)."""
    row = con.execute(f"SELECT _file_sha256 FROM read_parquet({literal(str(path))}) LIMIT 1").fetchone()
    return row[0] if row else None


def recover_raw_layer(con: duckdb.DuckDBPyConnection, raw_dir: Path, register: str) -> list[str]:
    """Put the register's raw folder back in line with the load log; returns what was done, in
    German (empty: nothing to do)."""
    folder = raw_dir / register
    if not folder.is_dir():
        return []
    done: list[str] = []
    for path in sorted(folder.iterdir()):
        if _TEMPORARY.match(path.name):
            path.unlink()
            done.append(f"unfertige Datei {register}/{path.name} eines abgebrochenen Ladens gelöscht")
    log = loaded_deliveries(con, register)
    loaded = log or {}
    for path in sorted(folder.iterdir()):
        match = _MOVED_ASIDE.match(path.name)
        if not match:
            continue
        period = match.group("period")
        target = folder / f"{period}.parquet"
        if not target.exists():
            os.replace(path, target)
            done.append(f"{register}/{target.name} zurückgelegt (Laden einer neuen Lieferung wurde abgebrochen)")
            continue
        in_place = _delivery_of(con, target)
        if in_place is not None and in_place != loaded.get(period) and _delivery_of(con, path) == loaded.get(period):
            os.replace(path, target)
            done.append(f"{register}/{target.name}: die geladene Lieferung zurückgelegt, die nicht "
                        "übernommene neue entfernt (Laden wurde vor dem Abschluss abgebrochen)")
        else:
            path.unlink()
            done.append(f"alte Fassung {register}/{path.name} gelöscht (Ersetzen war schon abgeschlossen)")
    for path in sorted(folder.glob("*.parquet")):
        if log is not None and path.stem not in loaded:
            path.unlink()
            done.append(f"{register}/{path.name} gelöscht: Laden wurde vor dem Abschluss abgebrochen "
                        "(die Lieferung wird neu geladen)")
    return done


def recover_quarantine_folder(con: duckdb.DuckDBPyConnection, quarantine_dir: Path, register: str) -> list[str]:
    """The register's quarantine files brought in line with audit.quarantine (a kill between the
    commit of a load and the writing of its file): one file per period with quarantined lines, of
    the delivery the load log names; temporary files of an interrupted write are deleted."""
    folder = quarantine_dir / register
    done = []
    if folder.is_dir():
        for path in sorted(folder.glob(".*.tmp")):
            path.unlink()
            done.append(f"unfertige Quarantänedatei {register}/{path.name} gelöscht")
    if not has_audit_table(con, "quarantine"):
        return done
    expected: dict[Path, list[tuple]] = {}
    for file_name, line_no, column, rule, message, value in con.execute(f"""
            SELECT file_name, line_no, column_name, rule, message_de, value FROM {AUDIT_SCHEMA}.quarantine
            WHERE register = ? ORDER BY period, line_no, column_name""", [register]).fetchall():
        expected.setdefault(quarantine_file(quarantine_dir, register, file_name), []).append(
            (line_no, column, rule, message, value))
    for target, rows in expected.items():
        rows = as_delivered(register, rows)   # the city's own headers, as the normal load writes them
        if not target.exists() or target.read_bytes() != quarantine_csv(rows):
            write_quarantine_rows(target, rows)
            done.append(f"Quarantänedatei {register}/{target.name} aus audit.quarantine neu geschrieben")
    if folder.is_dir():
        for path in sorted(folder.glob("*.quarantaene.csv")):
            if path not in expected:
                path.unlink()
                done.append(f"veraltete Quarantänedatei {register}/{path.name} gelöscht "
                            "(ihre Lieferung ist ersetzt oder nie fertig geladen)")
    return done
