"""The resources of a BI connection and the rest of what docs/bi.md says about connecting.

connect_release sets threads, memory_limit and no temporary folder when it opens, before the lock;
DuckDB's defaults (every core, 80 % of the memory, a temporary folder inside the read-only release
folder) are what a client without them gets. The read-write message names the release `current`
points to. `python -m dagster_project.bi` prints the settings from any working directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from dagster_project.bi.connection import BI_CONFIG, BI_LOCKDOWN, bi_resource_config, connect_release
from dagster_project.settings import REPO_ROOT
from tests.unprivileged import ACCOUNTS, CALLER, NOBODY, folder_state, remove_tree, run_python, shared_release_copy

BI_DOC = (REPO_ROOT / "docs" / "bi.md").read_text(encoding="utf-8")
SPILL = "SELECT count(*) FROM (SELECT i, md5(i::VARCHAR) AS m FROM range(5000000) AS t(i) ORDER BY m)"
SETTINGS = ("SELECT current_setting('threads'), current_setting('memory_limit'), current_setting('temp_directory'), "
            "current_setting('enable_external_access'), current_setting('lock_configuration')")


@pytest.fixture(scope="module")
def published(released_warehouse) -> Path:
    root, _ = released_warehouse
    return root / "release" / "current" / "warehouse.duckdb"


@pytest.fixture
def own_copy(published, tmp_path) -> Path:
    """A copy of the release database of this test alone (DuckDB shares one instance per file in a
    process, so tests in this process do not meet each other's settings)."""
    copy = tmp_path / "warehouse.duckdb"
    copy.write_bytes(published.read_bytes())
    return copy


@pytest.fixture
def shared_copy(published):
    database = shared_release_copy(published)
    yield database
    remove_tree(database.parent.parent.parent)


def test_connect_release_sets_moderate_resources_before_the_lock(own_copy, monkeypatch):
    monkeypatch.delenv("DFT_BI_THREADS", raising=False)
    monkeypatch.delenv("DFT_BI_MEMORY_LIMIT", raising=False)
    assert bi_resource_config() == {"threads": 2, "memory_limit": "1GB", "temp_directory": ""}
    con = connect_release(own_copy)
    try:
        assert con.execute(SETTINGS).fetchone() == (2, "953.6 MiB", "", False, True)
        for statement in ("SET threads = 1", "SET memory_limit = '8GB'", "SET temp_directory = '/tmp'"):
            with pytest.raises(duckdb.InvalidInputException, match="the configuration has been locked"):
                con.execute(statement)
    finally:
        con.close()
    monkeypatch.setenv("DFT_BI_THREADS", "1")
    monkeypatch.setenv("DFT_BI_MEMORY_LIMIT", "512 MB")
    con = connect_release(own_copy)
    try:
        assert con.execute(SETTINGS).fetchone() == (1, "488.2 MiB", "", False, True)
    finally:
        con.close()
    for name, value in (("DFT_BI_THREADS", "0"), ("DFT_BI_THREADS", "viele"), ("DFT_BI_MEMORY_LIMIT", "80%")):
        monkeypatch.setenv(name, value)
        with pytest.raises(ValueError, match=name):
            bi_resource_config()
        monkeypatch.delenv(name)


def test_connect_release_refuses_what_the_documented_connection_refuses_and_file_logging(
        own_copy, released_warehouse, tmp_path):
    root, _ = released_warehouse
    delivery = next((root / "inbox" / "einwohner").glob("*.csv"))
    forbidden = {
        "read_csv": f"SELECT * FROM read_csv('{delivery}', delim=';')",
        "replacement_scan": f"SELECT * FROM '{delivery}'",
        "glob": "SELECT * FROM glob('/etc/*')",
        "attach": f"ATTACH '{root / 'warehouse.duckdb'}' AS intern",
        "copy_to": f"COPY (SELECT * FROM marts.dim_area) TO '{tmp_path / 'kopie.csv'}'",
        "install": "INSTALL httpfs",
        "load": "LOAD httpfs",
        "set_access": "SET enable_external_access = true",
        "set_lock": "SET lock_configuration = false",
        "set_filesystems": "SET disabled_filesystems = ''",
        "file_logging": f"CALL enable_logging(storage='file', storage_path='{tmp_path / 'logs'}')",
        "write": "CREATE TABLE marts.x AS SELECT 1",
    }
    con = connect_release(own_copy)
    second = connect_release(own_copy)   # the same, already locked instance
    try:
        refused = {}
        for name, statement in forbidden.items():
            try:
                con.execute(statement).fetchall()
            except duckdb.Error as error:
                refused[name] = str(error)
        assert set(refused) == set(forbidden), f"nicht abgewiesen: {set(forbidden) - set(refused)}"
        assert refused["file_logging"] == "Can not enable file logging with the LocalFileSystem disabled"
        marts = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()]
        assert len(marts) >= 20
        for mart in marts:
            assert second.execute(f'SELECT count(*) FROM marts."{mart}"').fetchone()[0] >= 0
        assert second.execute(SETTINGS).fetchone()[3:] == (False, True)
        # another config for the same file in the same process: DuckDB refuses while it is open (docs/bi.md)
        with pytest.raises(duckdb.ConnectionException, match="different configuration"):
            duckdb.connect(str(own_copy), read_only=True, config=dict(BI_CONFIG))
    finally:
        con.close()
        second.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["warehouse.duckdb"]


def test_threads_and_memory_limit_in_a_client_config_hold_in_any_order_temp_directory_does_not(own_copy):
    """What docs/bi.md tells a user to add to the connection config (Superset's example)."""
    resources = {"threads": 2, "memory_limit": "1GB"}
    for config in ({**resources, **BI_CONFIG}, {**BI_CONFIG, **resources}):
        con = duckdb.connect(str(own_copy), read_only=True, config=config)
        try:
            assert con.execute(SETTINGS).fetchone()[:2] == (2, "953.6 MiB")
            assert con.execute(SETTINGS).fetchone()[3:] == (False, True)
        finally:
            con.close()
    documented = '{"connect_args": {"read_only": true, "config": {"threads": 2, "memory_limit": "1GB", ' \
                 '"enable_external_access": false, "lock_configuration": true}}}'
    assert documented in BI_DOC
    assert json.loads(documented)["connect_args"]["config"] == {**resources, **BI_CONFIG}
    # temp_directory beside enable_external_access=false: DuckDB refuses it when access is already
    # off, and which is applied first is not the order of the dict (here: one of the two fails)
    outcomes = []
    for config in ({"temp_directory": "", **BI_CONFIG}, {**BI_CONFIG, "temp_directory": ""}):
        try:
            duckdb.connect(str(own_copy), read_only=True, config=config).close()
            outcomes.append("geöffnet")
        except duckdb.PermissionException as error:
            assert "Modifying the temp_directory has been disabled by configuration" in str(error)
            outcomes.append("abgewiesen")
    assert "abgewiesen" in outcomes


TEMP_DIRECTORY = f'''
import json, os, sys
from pathlib import Path
import duckdb

database, mode = sys.argv[2], sys.argv[3]
folder = Path(database).resolve().parent
if mode == "plain":
    con = duckdb.connect(database, read_only=True, config={{"memory_limit": "64MB", "threads": 1, **{BI_CONFIG!r}}})
else:
    from dagster_project.bi.connection import connect_release
    con = connect_release(Path(database))
out = {{"temp_directory": con.execute("SELECT current_setting('temp_directory')").fetchone()[0]}}
try:
    con.execute({SPILL!r}).fetchall()
    out["spill"] = "ok"
except duckdb.Error as error:
    out["spill"] = type(error).__name__ + ": " + str(error).splitlines()[0]
out["during"] = sorted(p.name for p in folder.iterdir())
if out["temp_directory"]:
    try:
        con.execute(f"COPY (SELECT 1 AS a) TO '{{out['temp_directory']}}/kopie.csv'")
        out["copy_into_temp"] = "ok"
    except duckdb.Error as error:
        out["copy_into_temp"] = type(error).__name__
con.close()
out["after"] = sorted(p.name for p in folder.iterdir())
print(json.dumps(out))
'''


def _last_json(stdout: str) -> dict:
    """The program's result (DuckDB may print a progress bar before it)."""
    return json.loads([line for line in stdout.splitlines() if line.startswith("{")][-1])


@pytest.mark.parametrize("account", ACCOUNTS)
def test_the_default_temporary_folder_lies_in_the_release_folder_connect_release_has_none(account, shared_copy):
    folder = shared_copy.resolve().parent
    before = folder_state(shared_copy)
    plain = run_python(account, TEMP_DIRECTORY, str(shared_copy), "plain", cwd=Path("/"))
    assert plain.returncode == 0, plain.stderr
    plain = _last_json(plain.stdout)
    assert plain["temp_directory"] == f"{folder}/warehouse.duckdb.tmp"
    assert plain["after"] == ["warehouse.duckdb"]
    if account == CALLER and os.geteuid() == 0:
        # root spills into the read-only release folder, and while the folder exists it is an
        # allowed directory despite enable_external_access=false; DuckDB removes it on close
        assert plain["spill"] == "ok" and plain["during"] == ["warehouse.duckdb", "warehouse.duckdb.tmp"]
        assert plain["copy_into_temp"] == "ok"
    else:
        assert plain["spill"] == (f'IOException: IO Error: Failed to create directory "{folder}/warehouse.duckdb.tmp": '
                                  "Permission denied")
        assert plain["during"] == ["warehouse.duckdb"]
        assert folder_state(shared_copy) == before
    helper = run_python(account, TEMP_DIRECTORY, str(shared_copy), "helper", cwd=Path("/"),
                        env={"DFT_BI_MEMORY_LIMIT": "64MB", "DFT_BI_THREADS": "1"})
    assert helper.returncode == 0, helper.stderr
    helper = _last_json(helper.stdout)
    assert helper["temp_directory"] == ""
    assert helper["spill"].startswith("OutOfMemoryException: Out of Memory Error")
    assert helper["during"] == helper["after"] == ["warehouse.duckdb"]
    assert folder_state(shared_copy)["sha256"] == before["sha256"]


def test_the_read_write_message_names_the_release_current_points_to(shared_copy):
    program = '''
import sys, duckdb
try:
    duckdb.connect(sys.argv[2])
    print("GEOEFFNET")
except duckdb.Error as error:
    print(type(error).__name__, error)
'''
    result = run_python(NOBODY, program, str(shared_copy), cwd=Path("/"))
    assert result.returncode == 0, result.stderr
    resolved = shared_copy.resolve()
    assert "/releases/" in str(resolved) and "/current/" in str(shared_copy)
    assert result.stdout.strip() == f'IOException IO Error: Cannot open file "{resolved}": Permission denied'
    assert 'IO Error: Cannot open file "…/release/releases/<Release-Kennung>/warehouse.duckdb": Permission denied' \
        in BI_DOC
    assert "…/release/current/warehouse.duckdb\": Permission denied" not in BI_DOC


def _settings_command(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("PYTHONPATH", "DFT_WAREHOUSE_DIR", "DFT_RELEASE_DIR") and not k.startswith("DFT_BI_")}
    environment.update(env)
    return subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=120)


def test_python_m_dagster_project_bi_works_from_any_directory(published, tmp_path):
    release_dir = published.parent.parent
    expected = f"Release (nur lesen): {release_dir}/current/warehouse.duckdb"
    elsewhere = Path("/tmp")
    runs = {
        "-m with PYTHONPATH (as make bi)": _settings_command(
            [sys.executable, "-m", "dagster_project.bi"], elsewhere, PYTHONPATH=str(REPO_ROOT),
            DFT_RELEASE_DIR=str(release_dir)),
        "the folder, without PYTHONPATH": _settings_command(
            [sys.executable, str(REPO_ROOT / "dagster_project" / "bi")], elsewhere,
            DFT_WAREHOUSE_DIR=str(release_dir.parent)),
        "relative DFT_RELEASE_DIR": _settings_command(
            [sys.executable, str(REPO_ROOT / "dagster_project" / "bi")], release_dir.parent,
            DFT_RELEASE_DIR=release_dir.name),
    }
    plan = subprocess.run(["make", "-n", "-C", str(REPO_ROOT), "bi"], cwd=elsewhere, capture_output=True, text=True)
    if shutil.which("make") and plan.stdout.count("\n") <= 3 and "pip" not in plan.stdout:
        runs["make -C <repository> bi"] = _settings_command(
            ["make", "-s", "-C", str(REPO_ROOT), "bi"], elsewhere, DFT_RELEASE_DIR=str(release_dir))
    for name, result in runs.items():
        assert result.returncode == 0, (name, result.stderr)
        lines = result.stdout.splitlines()
        assert expected in lines, (name, lines[:3])
        assert "  öffnet mit threads=2, memory_limit=1GB (DFT_BI_THREADS, DFT_BI_MEMORY_LIMIT), ohne temp_directory," \
            in lines, name
        assert "  dann: " + "; ".join(BI_LOCKDOWN) in lines, name
    missing = _settings_command([sys.executable, str(REPO_ROOT / "dagster_project" / "bi")], elsewhere,
                                DFT_RELEASE_DIR=str(tmp_path / "nirgends"))
    assert missing.returncode == 1
    assert missing.stderr.startswith(f"FEHLER: Kein Release unter {tmp_path / 'nirgends'}/current/warehouse.duckdb")
