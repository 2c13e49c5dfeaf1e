"""Opening the pipeline's DuckDB file from outside a writing step (the reports at the end of a run,
the summary of `make run`): DuckDB allows one writer *or* readers, so while another run's step
writes, the file is locked. Such readers wait for the lock instead of failing; the steps that
write take turns through the pool `warehouse_writer` (dagster_project/instance.py)."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

WAIT_SECONDS = 1800.0
POLL_SECONDS = 0.05


def connect_when_free(db_path: Path, read_only: bool = True, wait_seconds: float = WAIT_SECONDS,
                      config: dict | None = None) -> duckdb.DuckDBPyConnection:
    """A connection to `db_path` as soon as no other process holds a conflicting lock."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return duckdb.connect(str(db_path), read_only=read_only, config=config or {})
        except duckdb.IOException as error:
            if "lock" not in str(error).lower():
                raise
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{db_path} ist seit {wait_seconds:.0f} s von einem anderen Prozess gesperrt (ein Lauf schreibt "
                    f"noch?); später erneut versuchen. / still locked by another process.") from error
            time.sleep(POLL_SECONDS)
