"""The local Dagster instance folder ($DAGSTER_HOME): telemetry off, one warehouse writer.

DuckDB has one writer per file. Two settings keep Dagster to that:
- the run queue starts one run of the main job at a time (runs tagged dft/schreibt_warehouse; a
  second run launched from the UI, a sensor, a schedule or a backfill waits in the queue);
- every step that writes the database takes the one slot of the pool `warehouse_writer`, so also
  runs outside the queue (`make run`, tests) wait for each other step by step instead of failing on
  DuckDB's lock.

A run that dies (kill -9, reboot) would keep both forever: the daemon's run monitoring fails runs
that never start and frees the slots of finished runs; runs whose process is gone are found and
marked failed before any run claims the writer (dagster_project/run_recovery.py).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from dagster_project.settings import REPO_ROOT

MARKER = "# Written by dagster_project.instance"
WAREHOUSE_RUN_TAG = "dft/schreibt_warehouse"   # runs that write the warehouse carry it (the main job)
HOST_TAG = "dft/rechner"   # the machine a run's process runs on (its pid means something only there)
HOST = socket.gethostname()
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
run_monitoring:
  enabled: true
  start_timeout_seconds: 300
  cancel_timeout_seconds: 300
  max_runtime_seconds: 0
  poll_interval_seconds: 30
  free_slots_after_run_end_seconds: 30
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
