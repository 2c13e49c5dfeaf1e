"""Shared fixtures: a small generated sample, an empty warehouse in a temporary folder, a key."""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import time
from pathlib import Path

import duckdb
import pytest

from sample_deliveries.__main__ import generate
from dagster_project.settings import PseudonymKey

# The exact headers the registers deliver, written out here independently of the contract files.
SPEC_HEADERS = {
    "einwohner": "ORDNUNGSMERKMAL;FAMILIENNAME;VORNAMEN;GEBURTSDATUM;GESCHLECHT;STAATSANGEHOERIGKEIT_1;"
                 "STAATSANGEHOERIGKEIT_2;GEBURTSSTAAT;WOHNUNGSSTATUS;STRASSE;HAUSNUMMER;STAT_BEZIRK;"
                 "HAUSHALT;ZUZUG_GEMEINDE;EINZUG_WOHNUNG",
    "bewegungen": "ORDNUNGSMERKMAL;EREIGNIS;DATUM;GEBURTSDATUM;GESCHLECHT;STAATSANGEHOERIGKEIT_1;"
                  "STAT_BEZIRK_VON;STAT_BEZIRK_NACH;STAAT_HERKUNFT_ZIEL",
    "sgb2": "BG_NUMMER;PERSON_LFD;GEBURTSDATUM;GESCHLECHT;STAATSANGEHOERIGKEIT;STAT_BEZIRK;"
            "LEISTUNGSSTATUS;ARBEITSLOS;BG_TYP",
    "sgb12": "FALLNUMMER;GEBURTSDATUM;GESCHLECHT;STAATSANGEHOERIGKEIT;STAT_BEZIRK;KAPITEL;EINRICHTUNG",
    "asylblg": "FALLNUMMER;PERSON_LFD;GEBURTSDATUM;GESCHLECHT;STAATSANGEHOERIGKEIT;STAT_BEZIRK;LEISTUNGSART",
}

TEST_KEY = PseudonymKey(key=b"test-key-for-the-test-suite-only-0123456789", mode="environment")


@pytest.fixture(scope="session")
def sample_inbox(tmp_path_factory) -> Path:
    """A clean sample (no injected defects) for two consecutive years at scale 0.02."""
    out = tmp_path_factory.mktemp("sample") / "inbox"
    generate(out, [2022, 2023], scale=0.02, seed=7, clean=True, progress=lambda _: None)
    return out


@pytest.fixture(scope="session")
def defect_inbox(tmp_path_factory) -> Path:
    """The default sample (with its documented defects) for one year at scale 0.05."""
    out = tmp_path_factory.mktemp("defects") / "inbox"
    generate(out, [2023], scale=0.05, seed=11, clean=False, progress=lambda _: None,
             registers={"einwohner", "bewegungen"})
    return out


FIRST_RELEASE_COPY: dict[str, Path] = {}
SHARED_WAREHOUSE_FIXTURES = ("released_warehouse", "released_warehouse_copy", "report_site")
TESTS_DIR = Path(__file__).resolve().parent


@functools.cache
def _modules_of_the_shared_warehouse() -> frozenset[str]:
    """Test modules that use the one shared released warehouse (by its fixtures' names)."""
    return frozenset(f"tests/{path.name}" for path in TESTS_DIR.glob("test_*.py")
                     if any(name in path.read_text(encoding="utf-8") for name in SHARED_WAREHOUSE_FIXTURES))


SHARED_WAREHOUSE_SCOPE = "released_warehouse"

# The longest units of work start first, each on its own process, so that none of them starts late
# and runs alone at the end; the units after them go to whichever process is free. xdist gives a
# process a second unit at once if its first has at most two tests: the crash test's process gets
# the second city (measured on CI's two cores: crash ~580 s, the shared warehouse's modules ~530 s,
# Spark ~330 s, the second city ~180 s; in this order the four finish together with the rest).
LONGEST_FIRST = ("tests/test_crash_recovery.py", SHARED_WAREHOUSE_SCOPE, "tests/test_spark_engine.py",
                 "tests/test_second_city.py")


def _scope(nodeid: str, shared: frozenset[str]) -> str:
    """The unit of work a test belongs to: its module, or the shared warehouse's scope."""
    module = nodeid.split("::", 1)[0]
    return SHARED_WAREHOUSE_SCOPE if module in shared else module


def pytest_collection_modifyitems(config, items):
    """Longest units first (the same order in every process: xdist checks it)."""
    shared = _modules_of_the_shared_warehouse()

    def rank(item) -> int:
        scope = _scope(item.nodeid, shared)
        return LONGEST_FIRST.index(scope) if scope in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)   # stable: the order within a module stays


def pytest_xdist_make_scheduler(config, log):
    """`make test` runs on three processes (pytest-xdist; three keep CI's two cores busy, measured
    with vmstat: no idle time): the tests of a module stay together (its module fixtures are built
    once), and all modules of the shared released warehouse go to one process (it is built once, in
    about a minute). Units go out in collection order, the longest first (LONGEST_FIRST). xdist's own
    --dist loadgroup would need its markers in the test ids, which pytest 9 no longer lets it change."""
    from xdist.scheduler import LoadScopeScheduling

    config.option.loadscopereorder = False   # keep LONGEST_FIRST's order (xdist would sort by test count)
    shared = _modules_of_the_shared_warehouse()

    class ModuleAndSharedWarehouseScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _scope(nodeid, shared)

    return ModuleAndSharedWarehouseScheduling(config, log)


# DFT_TEST_TIMELINE=<file>: every test's worker, start and end (seconds since the epoch), one line
# each, to see where CI's 20 minutes go (`make test` prints only the slowest durations)
TIMELINE = os.environ.get("DFT_TEST_TIMELINE")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    started = time.time()
    yield
    if TIMELINE:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        with open(TIMELINE, "a", encoding="utf-8") as timeline:
            timeline.write(f"{worker}\t{started:.1f}\t{time.time():.1f}\t{item.nodeid}\n")


WAREHOUSE_VARIABLES = ("DFT_DB_PATH", "DFT_INBOX_DIR", "DFT_QUARANTINE_DIR", "DFT_RELEASE_DIR", "DFT_REPORTS_DIR")


def run_pipeline(root: Path, instance=None, report: bool = False):
    """Run the main job (ingest, dbt, gate, release) on the warehouse folder `root` in demo mode,
    with its final reports, as `make run` does; the planners' report only with `report=True` (it
    takes half a minute, and the shared released warehouse has one)."""
    from dagster import DagsterInstance

    from dagster_project.main import execute_warehouse_job

    patch = pytest.MonkeyPatch()
    patch.setenv("DFT_WAREHOUSE_DIR", str(root))
    patch.setenv("DFT_DEMO_MODE", "1")
    patch.setenv("DFT_REPORT", "1" if report else "0")
    for name in WAREHOUSE_VARIABLES:
        patch.delenv(name, raising=False)
    try:
        if instance is not None:
            return execute_warehouse_job(instance)[0]
        with DagsterInstance.ephemeral() as ephemeral:
            return execute_warehouse_job(ephemeral)[0]
    finally:
        patch.undo()


def step_failures(result) -> list[str]:
    return [e.event_specific_data.error.message for e in result.all_events if e.is_step_failure]


@pytest.fixture(scope="session")
def released_warehouse(tmp_path_factory, sample_inbox):
    """One warehouse with a release, shared by the release, BI and report tests. A test that changes
    it puts it back (a clean candidate, a valid current release) before it ends."""
    from dagster import DagsterInstance

    from dagster_project.release.store import ReleaseStore

    root = tmp_path_factory.mktemp("release") / "warehouse"
    shutil.copytree(sample_inbox, root / "inbox")
    with DagsterInstance.ephemeral() as instance:
        result = run_pipeline(root, instance, report=True)
        assert result.success, step_failures(result)
        # the main job ends with the planners' report inside the release it published
        assert (root / "release" / "current" / "bericht" / "index.html").is_file()
        # that release as it is now, in a release store of its own, for the report's tests (later
        # tests publish releases without one)
        store = ReleaseStore(root / "release")
        release_id = store.current_id()
        copy = ReleaseStore(tmp_path_factory.mktemp("first_release"))
        shutil.copytree(store.folder(release_id), copy.folder(release_id), symlinks=True)
        copy.switch_current(release_id)
        FIRST_RELEASE_COPY["folder"] = copy.folder(release_id)
        yield root, instance


@pytest.fixture
def released_warehouse_copy(released_warehouse, tmp_path) -> Path:
    """A copy of the shared released warehouse for a test that changes it: no run is needed to
    put the shared one back. The copy's runs use an ephemeral Dagster instance of their own."""
    root = tmp_path / "warehouse"
    shutil.copytree(released_warehouse[0], root, symlinks=True)
    return root


@pytest.fixture(scope="session")
def report_site(released_warehouse) -> Path:
    """The planners' report made by the main job in the shared warehouse's first release (a copy
    of that release folder taken right after the run: release tests publish newer releases
    without a report)."""
    return FIRST_RELEASE_COPY["folder"] / "bericht"


@pytest.fixture
def warehouse(tmp_path, monkeypatch) -> Path:
    """An empty warehouse folder; the environment points every path there."""
    root = tmp_path / "warehouse"
    monkeypatch.setenv("DFT_WAREHOUSE_DIR", str(root))
    for name in WAREHOUSE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    (root / "inbox").mkdir(parents=True)
    return root


def write_file(inbox: Path, register: str, name: str, lines: list[str], encoding: str = "utf-8-sig",
               newline: str = "\n", final_newline: bool = True) -> Path:
    """Write a delivery file by hand (header line included in `lines`)."""
    path = inbox / register / name
    path.parent.mkdir(parents=True, exist_ok=True)
    text = newline.join(lines) + (newline if final_newline else "")
    path.write_bytes(text.encode(encoding))
    return path


def table_hashes(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Hash of every persistent table's full content: equal hashes mean an unchanged database."""
    tables = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_catalog = current_database() ORDER BY 1, 2").fetchall()
    return {
        f"{schema}.{table}": hashlib.sha256(repr(
            con.execute(f'SELECT * FROM "{schema}"."{table}" ORDER BY ALL').fetchall()).encode()).hexdigest()
        for schema, table in tables
    }


def db_snapshot(db_path: Path) -> dict[str, str]:
    """table_hashes of a database file ({} when there is none yet)."""
    if not db_path.exists():
        return {}
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return table_hashes(con)
    finally:
        con.close()


def model_hashes(db_path: Path) -> dict[str, str]:
    """table_hashes of what dbt builds from the deliveries (schemas intermediate and marts)."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return {name: digest for name, digest in table_hashes(con).items()
                if name.split(".")[0] in ("intermediate", "marts")}
    finally:
        con.close()
