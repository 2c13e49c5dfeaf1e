"""Apache Superset, as a shared BI server would run it, reads the PostgreSQL publication: adds it as
a database, creates the dataset `release.fct_indicator_values` and runs a chart query through its
own REST API (tests/bi_check.py, tests/superset_probe.py; `make bi-check` does the same for the
installation's current release). Superset lives in its own virtual environment (.venv-superset,
built by `make test` from requirements-superset.lock); a missing one is a failing test."""

from __future__ import annotations

from dagster_project.release.store import ReleaseStore
from tests import bi_check


def test_superset_adds_the_publication_a_dataset_and_runs_a_chart_query(released_warehouse):
    root, _ = released_warehouse
    store = ReleaseStore(root / "release")
    release_id = store.current_id()
    bi_check.check(release_id, store.database(release_id))   # raises BiCheckError, in German, on any failure
