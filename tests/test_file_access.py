"""The operating system is the boundary: another account reads the release and nothing else.

Checked as an outsider would, without the pipeline's own list of what is private: root lists every
file and folder of a warehouse that an older version had left world-readable, after the next run;
then the user `nobody` (in the release group) tries to read each file and list each folder, opens
the warehouse database and the release with a careless DuckDB connection (no settings), and runs
`cat` and `ls`. Whatever it can read must lie in a release folder.
"""

from __future__ import annotations

import grp
import json
import os
import shutil
import stat
import subprocess
import tempfile
import textwrap
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance

from dagster_project.release import publish
from dagster_project.release.publish import publish_release
from tests.conftest import run_pipeline, step_failures
from tests.unprivileged import UNPRIVILEGED_GROUP, as_unprivileged, unprivileged_python


def _open_up(folder: Path) -> None:
    """What an older version left: files 0644, folders 0755."""
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.fixture(scope="module")
def restricted(released_warehouse):
    """A copy of the shared warehouse, opened up like an old installation, in a folder every account
    may pass; then one run of the main job and one new release, with DFT_RELEASE_GROUP=nogroup."""
    root, _ = released_warehouse
    base = Path(tempfile.mkdtemp(prefix="dft_zugriff_"))
    base.chmod(0o711)
    target = base / "warehouse"
    shutil.copytree(root, target, symlinks=True)
    _open_up(target)
    patch = pytest.MonkeyPatch()
    patch.setenv("DFT_RELEASE_GROUP", UNPRIVILEGED_GROUP)
    try:
        with DagsterInstance.ephemeral() as instance:
            result = run_pipeline(target, instance)
            assert result.success, step_failures(result)
            messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
        with duckdb.connect(str(target / "warehouse.duckdb"), read_only=True) as con:
            run_id = con.execute("SELECT max(run_id) FROM audit.dq_results").fetchone()[0]
        patch.setattr(publish, "input_fingerprint", lambda deliveries, rules=None: "dateirechte")
        release = publish_release(target / "warehouse.duckdb", target / "release", run_id)
        yield target, messages, release
    finally:
        patch.undo()
        _open_up(base)
        shutil.rmtree(base, ignore_errors=True)


def _inside_a_release(path: Path, root: Path) -> bool:
    relative = path.relative_to(root).parts
    return relative[:2] == ("release", "releases") and len(relative) > 2 and not relative[2].startswith(".") \
        or relative == ("release", "current")


def test_the_next_run_tightens_an_old_warehouse_and_says_so(restricted):
    root, messages, _ = restricted
    said = [m for m in messages if "Zugriffsrechte verschärft" in m]
    assert said, "der Lauf sagt nicht, dass er die Rechte verschärft hat"
    assert int(said[0].split("Zugriffsrechte verschärft: ")[1].split()[0]) > 100   # files of inbox, raw, …


def test_another_account_reads_the_release_and_nothing_else(restricted):
    root, _, release = restricted
    everything = [root, *root.rglob("*")]
    files = [p for p in everything if p.is_file() and not p.is_symlink()]
    folders = [p for p in everything if p.is_dir() and not p.is_symlink()]
    inbox_file = next((root / "inbox" / "einwohner").glob("*.csv"))
    release_db = root / "release" / "current" / "warehouse.duckdb"
    probe = textwrap.dedent(f"""
        import json, os, sys, duckdb
        # the lists come on standard input: as part of the program they outgrow one argument (128 KB)
        files, folders = json.load(sys.stdin)
        readable, listable = [], []
        for path in files:
            try:
                with open(path, "rb") as handle:
                    handle.read(1)
                readable.append(path)
            except OSError:
                pass
        for path in folders:
            try:
                os.listdir(path)
                listable.append(path)
            except OSError:
                pass
        careless = {{}}
        for name, sql, database, options in [
                ("warehouse", "SELECT count(*) FROM duckdb_tables()", {str(root / 'warehouse.duckdb')!r}, {{}}),
                ("warehouse_nur_lesen", "SELECT count(*) FROM duckdb_tables()", {str(root / 'warehouse.duckdb')!r},
                 {{"read_only": True}}),
                ("eingang_read_csv", "SELECT count(*) FROM read_csv({str(inbox_file)!r})", ":memory:", {{}}),
                ("rohdaten_read_parquet", "SELECT count(*) FROM read_parquet({str(root / 'raw')!r} || '/**/*.parquet')",
                 ":memory:", {{}}),
                ("release", "SELECT count(*) FROM marts.fct_indicator_values", {str(release_db)!r},
                 {{"read_only": True}})]:
            try:
                careless[name] = duckdb.connect(database, **options).execute(sql).fetchone()[0]
            except Exception as error:
                careless[name] = type(error).__name__ + ": " + str(error)[:200]
        print(json.dumps({{"readable": readable, "listable": listable, "careless": careless}}))
    """)
    listing = json.dumps([[str(p) for p in files], [str(p) for p in folders]])
    outcome = subprocess.run([*unprivileged_python(), probe], input=listing, capture_output=True, text=True,
                             timeout=300)
    assert outcome.returncode == 0, outcome.stderr
    seen = json.loads(outcome.stdout.strip().splitlines()[-1])
    outside = [p for p in seen["readable"] if not _inside_a_release(Path(p), root)]
    assert outside == [], f"außerhalb des Release lesbar: {outside[:10]}"
    listed_outside = [p for p in seen["listable"] if not (Path(p) == root / "release" or Path(p) == root / "release" / "releases"
                                                          or _inside_a_release(Path(p), root))]
    assert listed_outside == [], f"außerhalb des Release auflistbar: {listed_outside[:10]}"
    # every file of the current release is readable: the release is what BI accounts are for
    current_files = [str(p) for p in release.folder.rglob("*") if p.is_file()]
    assert current_files and set(current_files) <= set(seen["readable"])
    careless = seen["careless"]
    for name in ("warehouse", "warehouse_nur_lesen", "eingang_read_csv", "rohdaten_read_parquet"):
        assert isinstance(careless[name], str) and ("Permission denied" in careless[name]
                                                    or "No files found" in careless[name]), (name, careless[name])
    assert isinstance(careless["release"], int) and careless["release"] > 0, careless["release"]
    # the shell tools an account would try first
    for command, ok in ((["cat", str(inbox_file)], False), (["ls", str(root / "inbox")], False),
                        (["ls", str(root)], False), (["cat", str(root / "warehouse.duckdb")], False),
                        (["ls", str(root / "quarantine")], False), (["ls", str(root / "pruefakten")], False),
                        (["cat", str(root / "release" / "current" / "manifest.json")], True),
                        (["ls", str(root / "release" / "current" / "parquet")], True)):
        done = subprocess.run(as_unprivileged(command), capture_output=True, text=True, timeout=60)
        assert (done.returncode == 0) == ok, (command, done.returncode, done.stderr)


def test_modes_outside_the_release_are_owner_only(restricted):
    """The same from the file modes (what an account without root sees in `ls -l`)."""
    root, _, release = restricted
    loose = [str(p) for p in root.rglob("*") if not p.is_symlink() and not _inside_a_release(p, root)
             and p not in (root / "release", root / "release" / "releases")
             and stat.S_IMODE(p.lstat().st_mode) & 0o077]
    assert loose == []
    assert stat.S_IMODE(root.stat().st_mode) == 0o710
    group = grp.getgrnam(UNPRIVILEGED_GROUP).gr_gid
    for path in [release.folder, *release.folder.rglob("*")]:
        info = path.lstat()
        assert info.st_gid == group, path
        assert stat.S_IMODE(info.st_mode) == (0o550 if path.is_dir() else 0o440), path
    assert os.access(release.folder / "warehouse.duckdb", os.R_OK)


def test_a_file_that_vanishes_while_the_folder_is_walked_is_left_alone(tmp_path):
    """A running Dagster instance removes SQLite's -wal file between the walk's listing and its
    look at the file (seen in CI: a second run failed with FileNotFoundError); a file that is gone
    needs no tightening."""
    from dagster_project.file_access import Tightening, _owner_only, walk_owner_only

    result = Tightening()
    _owner_only(tmp_path / "index.db-wal", result, set())          # listed, then removed
    assert not result.changed
    (tmp_path / "kept.txt").write_text("x")
    (tmp_path / "kept.txt").chmod(0o644)
    walk_owner_only(tmp_path, set(), set(), result)
    assert result.files == 1 and (tmp_path / "kept.txt").stat().st_mode & 0o077 == 0
