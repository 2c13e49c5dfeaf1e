"""`python -m dagster_project.bi`: the connection settings for the current release (docs/bi.md)."""

import sys

from dagster_project.bi.connection import ReleaseNotFound, current_release_database, settings_text

if __name__ == "__main__":
    try:
        print(settings_text(current_release_database()))
    except ReleaseNotFound as error:
        print(f"FEHLER: {error}", file=sys.stderr)
        sys.exit(1)
