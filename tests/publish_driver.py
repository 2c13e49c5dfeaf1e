"""One publish as its own process, for the tests that kill it (`kill -9`) at a random moment:

    python -m tests.publish_driver <warehouse.duckdb> <release dir> <postgres url> <label>

The deliveries are those of the test warehouse; `label` stands in for their fingerprint, so that
every call publishes a new release. Prints the release id when it is done."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

from dagster_project.release import publish


def main(database: str, release_dir: str, postgres_url: str, label: str) -> int:
    with duckdb.connect(database, read_only=True) as con:
        run_id = con.execute("SELECT max(run_id) FROM audit.dq_results").fetchone()[0]
    publish.input_fingerprint = lambda deliveries, rules=None: label
    release = publish.publish_release(Path(database), Path(release_dir), run_id, keep=2,
                                      postgres_url=postgres_url or None)
    print("AUFGERAEUMT", "; ".join(release.cleaned or []), flush=True)
    print("RELEASE", release.release_id, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
