"""`CALL enable_logging(...)` on a BI connection to the release (DuckDB 1.5.6), docs/bi.md
"Protokollierung (`enable_logging`) und gemeinsame BI-Server".

`lock_configuration` does not stop the call. With `storage='file'` it breaks every connection to the
release in the process and the process aborts; `connect_release` and the SQLAlchemy dialect
`duckdb+dft` (with `sqlalchemy_connect_args`, as Superset connects) switch DuckDB's local file system
off, which makes DuckDB refuse it. With the memory storage one connection reads the SQL of another;
nothing contains that. Each case runs in its own process (it may abort), as the calling user (root
in CI: the published release itself, its folder as working directory) and as `nobody` (a read-only
copy laid out as published). The tests assert what DuckDB does now, so that an upgrade that changes
it fails here and the document is brought up to date. Whatever happens, the release stays byte for
byte the same, no file appears beside it, and a new process reads it with the BI settings.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path

import duckdb
import pytest

from dagster_project.bi.connection import BI_CONFIG, BI_LOCKDOWN
from dagster_project.settings import REPO_ROOT
from tests.unprivileged import ACCOUNTS, CALLER, folder_state, remove_tree, run_python, shared_release_copy

BI_DOC = (REPO_ROOT / "docs" / "bi.md").read_text(encoding="utf-8")
SECTION = "### Protokollierung (`enable_logging`) und gemeinsame BI-Server"
COUNT = "SELECT count(*) FROM marts.dim_area"
LOGS_REFUSED = 'Permission Error: Cannot access directory "logs" - file system operations are disabled by configuration'
NULL_POINTER = "INTERNAL Error: Attempted to dereference unique_ptr that is NULL!"
ABORT = "terminate called after throwing an instance of 'duckdb::PermissionException'"
FILE_LOGGING_REFUSED = "Can not enable file logging with the LocalFileSystem disabled"
ABORTED = (-signal.SIGABRT, 128 + signal.SIGABRT)   # killed by SIGABRT (as nobody: runuser's exit code 134)
BOB = "SELECT count(*) FROM marts.dim_area WHERE 'Filter von Bob: Nordmarkt' <> ''"

# Connections as a BI client makes them: `plain` with the settings docs/bi.md gives every client,
# `helper` with connect_release, `sqlalchemy` from one engine on duckdb+dft with
# sqlalchemy_connect_args (as Superset), `logging_settings` like connect_release with the logging
# turned down before the lock (does that hold against the call?).
CONNECT = '''
import json, sys
from pathlib import Path
import duckdb

database, mode = sys.argv[2], sys.argv[3]


class ThroughSQLAlchemy:
    """A connection of a SQLAlchemy engine as Superset makes it (duckdb+dft, sqlalchemy_connect_args);
    its errors are DuckDB's, as on the other connections."""

    def __init__(self, engine):
        self.con = engine.connect()

    def execute(self, sql):
        import sqlalchemy as sa
        try:
            result = self.con.execute(sa.text(sql))
        except sa.exc.DBAPIError as error:
            self.con.rollback()
            raise error.orig from None
        return Rows([tuple(row) for row in result] if result.returns_rows else [])


class Rows:
    def __init__(self, rows):
        self.rows = rows

    def fetchall(self):
        return self.rows


def connect():
    if mode == "plain":
        return duckdb.connect(database, read_only=True, config={BI_CONFIG!r})
    if mode == "sqlalchemy":
        global engine
        import sqlalchemy as sa
        from dagster_project.bi.connection import sqlalchemy_connect_args, sqlalchemy_url
        if "engine" not in globals():
            engine = sa.create_engine(sqlalchemy_url(Path(database)), connect_args=sqlalchemy_connect_args())
        return ThroughSQLAlchemy(engine)
    from dagster_project.bi.connection import BI_LOCKDOWN, bi_resource_config, connect_release
    if mode == "helper":
        return connect_release(Path(database))
    con = duckdb.connect(database, read_only=True, config=bi_resource_config())
    if not con.execute("SELECT current_setting('lock_configuration')").fetchone()[0]:
        for statement in ("SET logging_level = 'FATAL'", "SET logging_mode = 'DISABLE_SELECTED'",
                          "SET disabled_log_types = 'QueryLog'", *BI_LOCKDOWN):
            con.execute(statement)
    return con


def step(name, run):
    try:
        print(json.dumps({{"step": name, "ok": True, "result": run()}}, default=str), flush=True)
    except duckdb.Error as error:
        print(json.dumps({{"step": name, "ok": False, "error": type(error).__name__,
                          "message": str(error).splitlines()[0]}}), flush=True)


LOGGING = "SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_logging', 'logging_level', " \\
          "'logging_mode', 'disabled_log_types', 'logging_storage') ORDER BY name"
'''.format(BI_CONFIG=BI_CONFIG)

FILE_LOGGING = CONNECT + f'''
con, other, kept = connect(), connect(), []


def new_connection():
    kept.append(connect())
    return kept[-1].execute({COUNT!r}).fetchall()[0][0]


step("enable_logging", lambda: con.execute("CALL enable_logging(storage='file', storage_path='logs')").fetchall())
step("other_connection", lambda: other.execute({COUNT!r}).fetchall()[0][0])
step("same_connection", lambda: con.execute({COUNT!r}).fetchall()[0][0])
step("new_connection", new_connection)
step("other_again", lambda: other.execute({COUNT!r}).fetchall()[0][0])
step("disable_logging", lambda: con.execute("CALL disable_logging()").fetchall())
step("absolute_path", lambda: con.execute("CALL enable_logging(storage='file', storage_path='/tmp/dft_logs')").fetchall())
step("set_lock", lambda: con.execute("SET lock_configuration = false").fetchall())
step("read_csv", lambda: con.execute("SELECT count(*) FROM read_csv('/etc/passwd')").fetchall()[0][0])
step("still_querying", lambda: con.execute({COUNT!r}).fetchall()[0][0])
print(json.dumps({{"step": "end"}}), flush=True)
'''

MEMORY_LOGGING = CONNECT + f'''
alice, bob = connect(), connect()
READ = "SELECT message FROM duckdb_logs WHERE type = 'QueryLog' AND message LIKE '%Filter von Bob%' " \\
       "AND message NOT LIKE '%duckdb_logs%'"
step("settings_before", lambda: alice.execute(LOGGING).fetchall())
step("enable_logging", lambda: alice.execute("CALL enable_logging()").fetchall())
step("bob", lambda: bob.execute({BOB!r}).fetchall()[0][0])
step("alice_reads", lambda: alice.execute(READ).fetchall())
step("settings_after", lambda: alice.execute(LOGGING).fetchall())
step("set_enable_logging", lambda: alice.execute("SET enable_logging = false").fetchall())
step("disable_logging", lambda: alice.execute("CALL disable_logging()").fetchall())
step("stdout_logging", lambda: alice.execute("CALL enable_logging(storage='stdout')").fetchall())
step("bob_again", lambda: bob.execute({BOB!r}.replace("Bob:", "Bob, zweite:")).fetchall()[0][0])
print(json.dumps({{"step": "end"}}), flush=True)
'''

READ_AFTERWARDS = f'''
import duckdb, sys
con = duckdb.connect(sys.argv[2], read_only=True, config={BI_CONFIG!r})
print(con.execute("SELECT count(*) FROM marts.fct_indicator_values").fetchone()[0],
      con.execute({COUNT!r}).fetchall()[0][0])
'''


@pytest.fixture(scope="module")
def published(released_warehouse) -> Path:
    root, _ = released_warehouse
    return root / "release" / "current" / "warehouse.duckdb"


@pytest.fixture(scope="module")
def shared_copy(published):
    database = shared_release_copy(published)
    yield database
    remove_tree(database.parent.parent.parent)


@pytest.fixture(scope="module")
def expected_counts(published) -> str:
    with duckdb.connect(str(published), read_only=True) as con:
        return "%d %d" % (con.execute("SELECT count(*) FROM marts.fct_indicator_values").fetchone()[0],
                          con.execute(COUNT).fetchone()[0])


def _database(account: str, published: Path, shared_copy: Path) -> Path:
    """The caller works on the published release itself, nobody on the shared copy."""
    return published if account == CALLER else shared_copy


def _run(account: str, program: str, database: Path, mode: str):
    """The program in its own process, with the release folder as working directory (a relative
    log path would land in the release), and the steps it printed."""
    result = run_python(account, program, str(database), mode, cwd=database.resolve().parent)
    steps = {}
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            steps[entry["step"]] = entry
    return result, steps


def _assert_release_untouched(account, database, before, expected_counts):
    assert folder_state(database) == before, "das Release oder sein Ordner hat sich verändert"
    after = run_python(account, READ_AFTERWARDS, str(database), cwd=Path("/"))
    assert after.returncode == 0, after.stderr
    assert after.stdout.strip() == expected_counts


def _ok(steps, name, result=None):
    assert steps[name]["ok"], (name, steps[name])
    if result is not None:
        assert steps[name]["result"] == result, (name, steps[name])


def _refused(steps, name, error, message):
    assert not steps[name]["ok"], (name, steps[name])
    assert (steps[name]["error"], steps[name]["message"]) == (error, message), (name, steps[name])


@pytest.mark.parametrize("account", ACCOUNTS)
def test_file_logging_breaks_every_connection_of_the_process_and_aborts_it(account, published, shared_copy,
                                                                           expected_counts):
    """The settings every client gets (BI_CONFIG): the call passes the lock and writes nothing, but
    every later query of the process fails and the process aborts at exit (SIGABRT)."""
    database = _database(account, published, shared_copy)
    before = folder_state(database)
    result, steps = _run(account, FILE_LOGGING, database, "plain")
    areas = int(expected_counts.split()[1])
    _ok(steps, "enable_logging", [])
    _refused(steps, "same_connection", "PermissionException", LOGS_REFUSED)
    _refused(steps, "other_connection", "InternalException", NULL_POINTER)
    _refused(steps, "new_connection", "PermissionException", LOGS_REFUSED)
    _refused(steps, "disable_logging", "PermissionException", LOGS_REFUSED)
    _refused(steps, "absolute_path", "PermissionException", LOGS_REFUSED)
    _refused(steps, "other_again", "PermissionException", LOGS_REFUSED)
    assert "end" in steps
    assert result.returncode in ABORTED, (result.returncode, result.stderr[-2000:])
    assert ABORT in result.stderr
    _assert_release_untouched(account, database, before, expected_counts)


@pytest.mark.parametrize("mode", ["helper", "sqlalchemy"])
@pytest.mark.parametrize("account", ACCOUNTS)
def test_connect_release_and_the_sqlalchemy_dialect_refuse_file_logging_and_every_connection_goes_on(
        account, mode, published, shared_copy, expected_counts):
    """connect_release, and the connections of a SQLAlchemy engine on duckdb+dft with
    sqlalchemy_connect_args (Superset's), run BI_LOCKDOWN: DuckDB refuses file logging."""
    database = _database(account, published, shared_copy)
    before = folder_state(database)
    result, steps = _run(account, FILE_LOGGING, database, mode)
    areas = int(expected_counts.split()[1])
    _refused(steps, "enable_logging", "Error", FILE_LOGGING_REFUSED)
    for name in ("other_connection", "same_connection", "new_connection", "other_again", "still_querying"):
        _ok(steps, name, areas)
    _ok(steps, "disable_logging", [])
    _refused(steps, "absolute_path", "Error", FILE_LOGGING_REFUSED)
    _refused(steps, "set_lock", "InvalidInputException", 'Invalid Input Error: Cannot change configuration option '
             '"lock_configuration" - the configuration has been locked')
    _refused(steps, "read_csv", "PermissionException",
             "Permission Error: File system LocalFileSystem has been disabled by configuration")
    assert result.returncode == 0, result.stderr[-2000:]
    _assert_release_untouched(account, database, before, expected_counts)


def test_the_dialect_copied_alone_locks_down_as_connect_release(published, tmp_path):
    """docs/bi.md has Superset users copy duckdb_dialect.py as dft_duckdb.py: alone, without the
    project on the path, it carries the statements of BI_LOCKDOWN and runs them."""
    from dagster_project.bi.connection import sqlalchemy_connect_args
    from dagster_project.bi.duckdb_dialect import LOCKDOWN

    assert LOCKDOWN == BI_LOCKDOWN
    (tmp_path / "dft_duckdb.py").write_text(
        (REPO_ROOT / "dagster_project" / "bi" / "duckdb_dialect.py").read_text(encoding="utf-8"), encoding="utf-8")
    program = f'''
import json, sys
import sqlalchemy as sa
import dft_duckdb
assert not [m for m in sys.modules if m.split(".")[0] in ("dagster_project", "tests")], "imports the project"
engine = sa.create_engine("duckdb+dft:///" + sys.argv[2], connect_args=json.loads(sys.argv[3]))
with engine.connect() as con:
    try:
        con.execute(sa.text("CALL enable_logging(storage='file', storage_path='logs')"))
        print("ANGENOMMEN")
    except sa.exc.DBAPIError as error:
        print(str(error.orig))
        con.rollback()
    print(con.execute(sa.text({COUNT!r})).scalar())
print(list(dft_duckdb.LOCKDOWN) == {list(BI_LOCKDOWN)!r})
'''
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("DFT_BI_")}
    site = sysconfig.get_paths()["purelib"]
    result = subprocess.run(
        [sys.executable, "-I", "-B", "-c", f"import sys; sys.path[:0] = [{str(tmp_path)!r}, {site!r}]; exec(sys.argv[1])",
         program, str(published), json.dumps(sqlalchemy_connect_args())],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    with duckdb.connect(str(published), read_only=True) as con:
        areas = con.execute(COUNT).fetchone()[0]
    assert result.stdout.splitlines() == [FILE_LOGGING_REFUSED, str(areas), "True"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dft_duckdb.py"]


@pytest.mark.parametrize("mode", ["plain", "helper", "sqlalchemy", "logging_settings"])
@pytest.mark.parametrize("account", ACCOUNTS)
def test_one_connection_reads_the_sql_of_another_and_nothing_stops_it(account, mode, published, shared_copy,
                                                                      expected_counts):
    """A shared BI server: Alice's `CALL enable_logging()` shows her Bob's query text. Settings made
    before the lock do not hold: the call resets them to its defaults."""
    database = _database(account, published, shared_copy)
    before = folder_state(database)
    result, steps = _run(account, MEMORY_LOGGING, database, mode)
    assert result.returncode == 0, result.stderr[-2000:]
    defaults = [["disabled_log_types", ""], ["enable_logging", "0"], ["logging_level", "INFO"],
                ["logging_mode", "LEVEL_ONLY"], ["logging_storage", "memory"]]
    if mode == "logging_settings":
        _ok(steps, "settings_before", [["disabled_log_types", "QueryLog"], ["enable_logging", "0"],
                                       ["logging_level", "FATAL"], ["logging_mode", "DISABLE_SELECTED"],
                                       ["logging_storage", "memory"]])
    else:
        _ok(steps, "settings_before", defaults)
    _ok(steps, "enable_logging", [])
    _ok(steps, "bob", int(expected_counts.split()[1]))
    _ok(steps, "alice_reads", [[BOB]])
    _ok(steps, "settings_after", [[name, "1" if name == "enable_logging" else value] for name, value in defaults])
    _refused(steps, "set_enable_logging", "InvalidInputException",
             'Invalid Input Error: Cannot change configuration option "enable_logging" - the configuration has been locked')
    _ok(steps, "disable_logging", [])
    _ok(steps, "stdout_logging", [])
    # the stdout storage writes Bob's second query into the output of the (server's) process
    assert any("Filter von Bob, zweite" in line for line in result.stdout.splitlines() if not line.startswith("{"))
    _assert_release_untouched(account, database, before, expected_counts)


@pytest.mark.parametrize("setting, value", [("enable_logging", False), ("logging_storage", "memory"),
                                            ("logging_level", "FATAL"), ("disabled_log_types", "QueryLog"),
                                            ("enabled_log_types", "FileSystem"),
                                            ("disabled_filesystems", "LocalFileSystem")])
def test_no_logging_setting_can_be_given_when_the_connection_opens(setting, value, published, tmp_path):
    """What a config-only client (SQLAlchemy, JDBC, ODBC) could add: DuckDB refuses each of them."""
    copy = tmp_path / "warehouse.duckdb"
    copy.write_bytes(published.read_bytes())
    with pytest.raises(duckdb.InvalidInputException, match=f"Cannot change/set {setting} before the database is started"):
        duckdb.connect(str(copy), read_only=True, config={**BI_CONFIG, setting: value})


def _documented_programs() -> list[str]:
    section = BI_DOC.split(SECTION, 1)[1].split("\n### ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_documented_reproduction_behaves_as_the_report_says(tmp_path):
    """The two programs of the bug report, as written in docs/bi.md; the report's "actual"."""
    crash, queries = _documented_programs()
    assert "lock_configuration" in crash and "storage_path='logs'" in crash and len(crash.splitlines()) <= 15
    result = run_python(CALLER, crash, cwd=tmp_path)
    assert result.returncode in ABORTED
    assert result.stdout.splitlines() == [f"PermissionException {LOGS_REFUSED}", f"InternalException {NULL_POINTER}",
                                          f"PermissionException {LOGS_REFUSED}"]
    assert ABORT in result.stderr and not list(tmp_path.iterdir())
    result = run_python(CALLER, queries, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '[("SELECT x FROM t WHERE \'Bob\'\'s filter\' <> \'\'",)]'
    section = " ".join(BI_DOC.split(SECTION, 1)[1].split("\n### ", 1)[0].replace("\n>", "\n").split())
    for text in (LOGS_REFUSED, NULL_POINTER, ABORT, FILE_LOGGING_REFUSED, "Exit-Code 134", "SIGABRT",
                 "Cannot change/set … before the database is started"):
        assert text in section, text


def test_the_documents_give_the_advice_and_the_statements_of_connect_release():
    section = BI_DOC.split(SECTION, 1)[1].split("\n### ", 1)[0]
    assert "ein Prozess je BI-Nutzer" in section and "PostgreSQL-Veröffentlichung" in section
    assert "Rollen eine echte Grenze" in section
    python = BI_DOC.split("### Python (duckdb)", 1)[1].split("\n### ", 1)[0]
    for statement in BI_LOCKDOWN:
        assert f'"{statement}"' in python, statement
