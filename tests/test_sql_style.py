"""The dbt models follow the project's SQL style (sqlfluff with the dbt templater)."""

import os
import subprocess
import sys
from pathlib import Path

from dagster_project.settings import REPO_ROOT


def test_sqlfluff_passes_on_the_models(tmp_path):
    sqlfluff = Path(sys.executable).parent / "sqlfluff"
    # dbt's artifacts in a folder of this test's, not dbt/target, which other test processes read
    env = {**os.environ, "DFT_DB_PATH": str(tmp_path / "lint.duckdb"), "DBT_TARGET_PATH": str(tmp_path / "target")}
    done = subprocess.run([str(sqlfluff), "lint", "dbt/models"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
