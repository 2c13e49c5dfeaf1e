"""`python -m dagster_project.bi`: the connection settings for the current release (docs/bi.md).

Works from any working directory: the release is found through WarehousePaths.from_environment
(DFT_RELEASE_DIR, else DFT_WAREHOUSE_DIR/release, else <repository>/warehouse/release; relative
values count from the working directory) and every path printed is absolute. `-m` needs the
repository on Python's path (`make bi` exports PYTHONPATH); without it, run the folder itself:
`.venv/bin/python /path/to/repository/dagster_project/bi`.
"""

import sys
from pathlib import Path

if not __package__:   # run as a folder or file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from dagster_project.bi.connection import (  # noqa: E402
    BI_LOCKDOWN, ReleaseNotFound, bi_resource_config, current_release_database, settings_text)


def resources_text() -> str:
    resources = bi_resource_config()
    return "\n".join([
        "",
        "Python mit der Hilfsfunktion connect_release (dagster_project.bi.connection):",
        f"  öffnet mit threads={resources['threads']}, memory_limit={resources['memory_limit']} "
        "(DFT_BI_THREADS, DFT_BI_MEMORY_LIMIT), ohne temp_directory,",
        "  dann: " + "; ".join(BI_LOCKDOWN),
    ])


def main() -> int:
    try:
        database = current_release_database()
        print(settings_text(database) + "\n" + resources_text())
    except (ReleaseNotFound, ValueError) as error:
        print(f"FEHLER: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
