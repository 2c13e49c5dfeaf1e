"""Running a command as an account that is not the pipeline's, as the tests of file access and of BI
readers need.

CI and the developers' sessions run as root, where file modes stop nobody: as root the command runs
as the user `nobody` (group `nogroup`). Python runs as the system's interpreter of the same version
with this venv's packages and the repository on its path (the venv's own interpreter may live under
/root, which nobody can enter).

A BI user's Python process against a release (tests/test_duckdb_logging.py, tests/test_bi_settings.py)
runs in a separate process (DuckDB may abort it), as the calling user or as `nobody`, on the
published release or on a read-only copy laid out as published (release/current ->
releases/<id>/warehouse.duckdb) in a folder every user may enter."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

from dagster_project.settings import REPO_ROOT

UNPRIVILEGED_USER = "nobody"
UNPRIVILEGED_GROUP = "nogroup"
CALLER = "aufrufer"
NOBODY = UNPRIVILEGED_USER
ACCOUNTS = (CALLER, NOBODY)
# the program text follows the prefix as sys.argv[1], then its arguments
_BOOT = "import sys; sys.path[:0] = [{site!r}, {repo!r}]; exec(sys.argv[1])"


class NoUnprivilegedUser(RuntimeError):
    """Nothing here can run as another account: not root, or runuser or the system's Python missing."""


def as_unprivileged(command: list[str]) -> list[str]:
    """`command` run as `nobody` (only possible as root)."""
    if os.geteuid() != 0:
        raise NoUnprivilegedUser("Nur als root lässt sich ein anderes Konto annehmen (runuser).")
    if not shutil.which("runuser"):
        raise NoUnprivilegedUser("runuser fehlt (Debian: util-linux).")
    return ["runuser", "-u", UNPRIVILEGED_USER, "--", *command]


def _boot() -> str:
    return _BOOT.format(site=sysconfig.get_paths()["purelib"], repo=str(REPO_ROOT))


def unprivileged_python() -> list[str]:
    """A command prefix: Python with this venv's packages as `nobody`; the program text follows as
    one argument, then its arguments. Raises NoUnprivilegedUser where that cannot be done, and
    RuntimeError when nobody's Python cannot load duckdb (then the setup is broken, not missing)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system_python = shutil.which(version, path="/usr/bin:/usr/local/bin")
    if not system_python:
        raise NoUnprivilegedUser(f"{version} des Systems fehlt: nobody kann den Python-Interpreter der "
                                 "virtuellen Umgebung nicht erreichen.")
    prefix = as_unprivileged([system_python, "-c", _boot()])
    probe = subprocess.run([*prefix, "import duckdb"], capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        raise RuntimeError(f"nobody kann duckdb nicht laden: {probe.stderr.strip()[-300:]}")
    return prefix


def python_command(account: str) -> list[str]:
    """A command prefix for `account` (CALLER: this Python; NOBODY: unprivileged_python). Where
    nothing can run as nobody the test fails, saying why: it is never skipped into green."""
    if account == CALLER:
        return [sys.executable, "-c", _boot()]
    try:
        return unprivileged_python()
    except NoUnprivilegedUser as error:
        pytest.fail(f"nur als root lässt sich als nobody prüfen (make test als root, wie CI): {error}")


def reader_python() -> tuple[list[str], str]:
    """A command prefix for Python as an account that file modes apply to, and who that is: as a
    normal user this Python; as root `nobody`, or, where nothing can run as nobody, root with every
    capability dropped (setpriv; file modes then apply to it too)."""
    if os.geteuid() != 0:
        return python_command(CALLER), "der aufrufende (nicht privilegierte) Benutzer"
    try:
        return unprivileged_python(), "Benutzer nobody"
    except NoUnprivilegedUser:
        return (["setpriv", "--inh-caps=-all", "--bounding-set=-all", sys.executable, "-c", _boot()],
                "root ohne jede Capability (setpriv)")


def run_python(account: str, program: str, *args: str, cwd: Path, env: dict | None = None,
               timeout: int = 180) -> subprocess.CompletedProcess:
    """`program` as `account` in its own process, without the caller's DFT_BI_* settings."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DFT_BI_")}
    environment.update(env or {})
    return subprocess.run([*python_command(account), program, *args], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=timeout)


def shared_release_copy(database: Path) -> Path:
    """A read-only copy of a release database laid out as published, in a folder every user may
    enter; returns <copy>/release/current/warehouse.duckdb. Remove it with remove_tree."""
    root = Path(tempfile.mkdtemp(prefix="dft_bi_"))
    root.chmod(0o755)
    release_id = database.resolve().parent.name
    folder = root / "release" / "releases" / release_id
    folder.mkdir(parents=True)
    shutil.copyfile(database, folder / database.name)
    (folder / database.name).chmod(0o444)
    folder.chmod(0o555)
    (root / "release" / "current").symlink_to(Path("releases") / release_id)
    for path in (root / "release", root / "release" / "releases"):
        path.chmod(0o755)
    return root / "release" / "current" / database.name


def remove_tree(root: Path) -> None:
    """rmtree of a folder with read-only folders in it."""
    for path in [root, *root.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(root)


def folder_state(database: Path) -> dict[str, object]:
    """What a reader could have changed: the database's SHA-256 and every entry of its release folder
    and of the two folders above it (releases/ and the release directory): name, mode, size of a
    file, modification time of a folder (a file made and removed again changes it too)."""
    folder = database.resolve().parent
    entries = {}
    for path in sorted({folder, *folder.rglob("*"), *folder.parent.iterdir(), *folder.parent.parent.iterdir()}):
        info = path.lstat()
        entries[str(path)] = (info.st_mode, info.st_mtime_ns if path.is_dir() else info.st_size)
    return {"sha256": hashlib.sha256(database.read_bytes()).hexdigest(), "entries": entries}
