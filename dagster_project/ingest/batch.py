"""Loading many deliveries at once: several deliveries are checked, pseudonymised and written in
parallel, each on a cursor of its own (DuckDB runs the SQL without Python's lock); their commits
are serialised. A monthly delivery is smaller than one of DuckDB's row groups, so one delivery
keeps only one core busy: loading two at a time uses both cores of a small server.

DFT_INGEST_WORKERS sets how many deliveries are loaded at once (default: the number of cores, at
most 4); large deliveries are loaded alone (PARALLEL_BYTES), so that memory stays bounded.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dagster_project.ingest.errors import DeliveryRefused, Refusal
from dagster_project.ingest.key_check import check_pseudonym_key
from dagster_project.ingest.load import LoadResult, ensure_schema, has_raw_schema, load_delivery
from dagster_project.ingest.pseudonymise import PseudonymCache
from dagster_project.ingest.raw_layer import raw_dir_of
from dagster_project.settings import PseudonymKey

MAX_DEFAULT_WORKERS = 4
# Deliveries loaded at once hold at most about this many bytes of files together (a delivery
# needs a few times its size in memory while it is checked); a larger one is loaded alone. A
# city's extract (60 MB) is loaded next to another; a state's (1.7 GB) alone.
PARALLEL_BYTES = 512 * 1024 * 1024


def ingest_workers() -> int:
    value = os.environ.get("DFT_INGEST_WORKERS", "").strip()
    if not value:
        return max(1, min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS))
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"DFT_INGEST_WORKERS muss eine ganze Zahl ab 1 sein, nicht {value!r}.")
    return int(value)


class _ByteBudget:
    """Lets a delivery start when the files in flight and it stay within `limit` bytes, or when
    nothing else is in flight."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self._condition = threading.Condition()

    def acquire(self, size: int) -> None:
        with self._condition:
            self._condition.wait_for(lambda: self.in_flight == 0 or self.in_flight + size <= self.limit)
            self.in_flight += size

    def release(self, size: int) -> None:
        with self._condition:
            self.in_flight -= size
            self._condition.notify_all()


@dataclass
class Outcome:
    """What became of one delivery: a result, or the refusal."""
    path: Path
    result: LoadResult | None = None
    refusal: Refusal | None = None


def load_deliveries(con: duckdb.DuckDBPyConnection, paths: Iterable[Path], key: PseudonymKey,
                    quarantine_dir: Path, workers: int | None = None,
                    on_outcome: Callable[[int, Outcome], None] | None = None) -> list[Outcome]:
    """Load `paths`, `workers` at a time. A refused delivery does not stop the others;
    `on_outcome(number, outcome)` is called in the calling thread as each one finishes (number =
    how many have finished). Other errors (a full disk, a bug) stop the batch and are raised."""
    paths = list(paths)
    workers = max(1, min(workers or ingest_workers(), len(paths) or 1))
    raw_dir = raw_dir_of(con)
    commit_lock = threading.Lock()
    budget = _ByteBudget(PARALLEL_BYTES)
    local = threading.local()
    cursors: list[duckdb.DuckDBPyConnection] = []
    outcomes: list[Outcome] = []

    def cursor() -> duckdb.DuckDBPyConnection:
        if workers == 1:
            return con
        if not hasattr(local, "cursor"):
            local.cursor = con.cursor()
            with commit_lock:
                cursors.append(local.cursor)
        return local.cursor

    def load(path: Path) -> Outcome:
        size = path.stat().st_size
        budget.acquire(size)
        try:
            return Outcome(path, result=load_delivery(cursor(), path, key, quarantine_dir, raw_dir=raw_dir,
                                                      commit_lock=commit_lock, pseudonym_cache=cache))
        except DeliveryRefused as refused:
            return Outcome(path, refusal=refused.refusal)
        finally:
            budget.release(size)

    def finished(outcome: Outcome) -> None:
        outcomes.append(outcome)
        if on_outcome:
            on_outcome(len(outcomes), outcome)

    if has_raw_schema(con):
        # the views of an existing warehouse point at this raw folder (also after the warehouse
        # moved), and the raw tables of an older one move into files, before anything is loaded
        ensure_schema(con, raw_dir)
    if paths:
        check_pseudonym_key(con, key)   # pseudonyms of two keys would not match
    cache = PseudonymCache(con)
    try:
        if workers == 1:
            for path in paths:
                finished(load(path))
            return outcomes
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest") as pool:
            futures = [pool.submit(load, path) for path in paths]
            try:
                for future in as_completed(futures):
                    finished(future.result())  # progress is reported from the calling thread
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    finally:
        for extra in cursors:
            extra.close()
        cache.close()
    return outcomes
