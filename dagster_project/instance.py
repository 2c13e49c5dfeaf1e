"""The local Dagster instance folder ($DAGSTER_HOME) with telemetry switched off."""

from __future__ import annotations

import os
from pathlib import Path

from dagster_project.settings import REPO_ROOT

DAGSTER_YAML = """# Written by dagster_project.instance: no usage statistics leave this machine.
telemetry:
  enabled: false
"""


def ensure_dagster_home() -> Path:
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT / "warehouse" / "dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() or "enabled: false" not in config.read_text(encoding="utf-8"):
        config.write_text(DAGSTER_YAML, encoding="utf-8")
    return home


if __name__ == "__main__":
    print(f"DAGSTER_HOME: {ensure_dagster_home()}")
