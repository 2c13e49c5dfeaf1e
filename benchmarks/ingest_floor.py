"""The least work an ingest has to do, measured on the same deliveries as the ingest and DuckDB's
bare load: read every CSV delivery (the bare load), write every row once to Parquet as the raw
layer keeps it (zstd), test every value against its column's format and date rules, find
duplicate keys in each delivery, and compute the keyed pseudonym of every distinct identifier,
each once. Nothing else of the ingest (line numbers, field counts, code lists, row rules, the
quarantine, the load log, keeping the delivery's order) is in it.

No ingest that does its job can be faster than this on the same machine, so `least work / bare
load` is the best ratio an ingest can reach: if it is above the target of the ingest, the target
cannot be reached by any ingest that checks, pseudonymises and keeps its rows.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import duckdb

from benchmarks.floor import REGISTERS, load_deliveries
from dagster_project.contracts import load_contracts
from dagster_project.ingest.pseudonymise import hmac_pads, hmac_sql
from dagster_project.sql_quoting import literal, quote


def least_ingest_work(inbox: Path) -> dict[str, float]:
    """Seconds of each part (read, write, rules, keys, pseudonyms) and their sum (`total`)."""
    contracts = load_contracts()
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    parts: dict[str, float] = {}
    try:
        begun = time.perf_counter()
        load_deliveries(con, inbox)
        parts["read"] = time.perf_counter() - begun
        with tempfile.TemporaryDirectory(prefix="dft_least_work_") as folder:
            begun = time.perf_counter()
            for register in REGISTERS:
                target = Path(folder) / f"{register}.parquet"
                con.execute(f"COPY (SELECT * EXCLUDE (filename) FROM {register}_all) TO {literal(str(target))} "
                            "(FORMAT parquet, COMPRESSION zstd)")
            parts["write"] = time.perf_counter() - begun
        begun = time.perf_counter()
        for register in REGISTERS:
            rules = []
            for column in contracts[register].columns:
                col = quote(column.name)
                if column.type == "date":
                    rules.append(f"({col} <> '' AND try_strptime({col}, '%d.%m.%Y') IS NULL)")
                elif column.pattern:
                    rules.append(f"({col} <> '' AND NOT regexp_full_match({col}, {literal(column.pattern)}))")
            if rules:
                con.execute(f"SELECT count(*) FROM {register}_all WHERE {' OR '.join(rules)}").fetchone()
        parts["rules"] = time.perf_counter() - begun
        begun = time.perf_counter()
        for register in REGISTERS:
            key = ", ".join(quote(c) for c in contracts[register].unique_key)
            if key:
                con.execute(f"SELECT count(*) FROM (SELECT filename, {key} FROM {register}_all "
                            "GROUP BY ALL HAVING count(*) > 1)").fetchone()
        parts["keys"] = time.perf_counter() - begun
        begun = time.perf_counter()
        identifiers = [f"SELECT {quote(c.name)} AS value FROM {register}_all" for register in REGISTERS
                       for c in contracts[register].columns if c.handling == "pseudonymise"]
        # max(): the pseudonyms are computed, not optimised away as a count(*) would let them be
        con.execute(f"SELECT max({hmac_sql('value')}) FROM ({' UNION '.join(identifiers)})",
                    hmac_pads(b"benchmark key of 32 bytes, fixed")).fetchone()
        parts["pseudonyms"] = time.perf_counter() - begun
    finally:
        con.close()
    parts["total"] = sum(parts.values())
    return {name: round(seconds, 2) for name, seconds in parts.items()}
