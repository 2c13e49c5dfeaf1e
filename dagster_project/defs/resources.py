"""The warehouse resource: paths and the pseudonymisation key, configured from the environment."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb
from dagster import ConfigurableResource, Definitions

from dagster_project.settings import (PseudonymKey, WarehousePaths, duckdb_config,
                                      pseudonym_key_from_environment)


# Every step that writes the DuckDB file takes a slot of this pool; the instance allows one
# (dagster_project/instance.py), so a second run's steps wait instead of failing on DuckDB's lock.
WAREHOUSE_WRITER_POOL = "warehouse_writer"


class WarehouseResource(ConfigurableResource):
    """DuckDB file, inbox and quarantine folders. Empty values fall back to the environment
    (DFT_DB_PATH, DFT_INBOX_DIR, DFT_QUARANTINE_DIR) and then to <repo>/warehouse/."""

    db_path: str = ""
    inbox_dir: str = ""
    quarantine_dir: str = ""

    def _paths(self) -> WarehousePaths:
        return WarehousePaths.from_environment()

    @property
    def database(self) -> Path:
        return Path(self.db_path) if self.db_path else self._paths().db_path

    @property
    def inbox(self) -> Path:
        return Path(self.inbox_dir) if self.inbox_dir else self._paths().inbox_dir

    @property
    def quarantine(self) -> Path:
        return Path(self.quarantine_dir) if self.quarantine_dir else self._paths().quarantine_dir

    @property
    def release(self) -> Path:
        return self._paths().release_dir

    @property
    def reports(self) -> Path:
        return self._paths().reports_dir

    def pseudonym_key(self) -> PseudonymKey:
        return pseudonym_key_from_environment()

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        self.database.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(self.database), read_only=read_only, config=duckdb_config())
        try:
            yield con
        finally:
            con.close()


defs = Definitions(resources={"warehouse": WarehouseResource()})
