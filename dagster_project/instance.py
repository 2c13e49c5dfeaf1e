"""The local Dagster instance folder ($DAGSTER_HOME): telemetry off, one warehouse writer.

DuckDB has one writer per file. Two settings keep Dagster to that:
- the run queue starts one run of the main job at a time (runs tagged dft/schreibt_warehouse; a
  second run launched from the UI, a sensor, a schedule or a backfill waits in the queue);
- every step that writes the database takes the one slot of the pool `warehouse_writer`, so also
  runs outside the queue (`make run`, tests) wait for each other step by step instead of failing on
  DuckDB's lock.
"""

from __future__ import annotations

import os
from pathlib import Path

from dagster_project.settings import REPO_ROOT

MARKER = "# Written by dagster_project.instance"
WAREHOUSE_RUN_TAG = "dft/schreibt_warehouse"   # runs that write the warehouse carry it (the main job)
DAGSTER_YAML = f"""{MARKER}: no usage statistics leave this machine; one warehouse writer.
telemetry:
  enabled: false
concurrency:
  runs:
    tag_concurrency_limits:
      - key: {WAREHOUSE_RUN_TAG}
        limit: 1
  pools:
    default_limit: 1
"""


def ensure_dagster_home() -> Path:
    """Create $DAGSTER_HOME (default <repo>/warehouse/dagster_home) with this dagster.yaml; a file
    written by an older version of this module is replaced, one written by hand is kept."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT / "warehouse" / "dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() or (config.read_text(encoding="utf-8").startswith(MARKER)
                               and config.read_text(encoding="utf-8") != DAGSTER_YAML):
        temporary = config.with_name(f".dagster.yaml.{os.getpid()}")
        temporary.write_text(DAGSTER_YAML, encoding="utf-8")
        temporary.replace(config)   # atomic: a process starting at the same time never reads half a file
    return home


if __name__ == "__main__":
    print(f"DAGSTER_HOME: {ensure_dagster_home()}")
