"""A BI user's Python process against a release: a separate process (DuckDB may abort it), as the
calling user or as `nobody`, on the published release or on a read-only copy laid out as published
(release/current -> releases/<id>/warehouse.duckdb) in a folder every user may enter.

As root, `nobody` runs the system's Python of the same version with this venv's packages and the
repository on its path (the venv's interpreter may live under /root, which nobody can enter)."""

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

CALLER = "aufrufer"
NOBODY = "nobody"
ACCOUNTS = (CALLER, NOBODY)
_BOOT = "import sys; sys.path[:0] = [{site!r}, {repo!r}]; exec(sys.argv[1])"


def python_command(account: str) -> list[str]:
    """A command prefix: the program text follows as one argument, then its arguments."""
    site = sysconfig.get_paths()["purelib"]
    boot = _BOOT.format(site=site, repo=str(REPO_ROOT))
    if account == CALLER:
        return [sys.executable, "-c", boot]
    if os.geteuid() != 0 or not shutil.which("runuser"):
        pytest.skip("nur als root lässt sich als nobody prüfen (runuser)")
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system_python = shutil.which(version, path="/usr/bin:/usr/local/bin")
    if not system_python:
        pytest.skip(f"{version} des Systems fehlt")
    return ["runuser", "-u", "nobody", "--", system_python, "-c", boot]


def run_python(account: str, program: str, *args: str, cwd: Path, env: dict | None = None,
               timeout: int = 180) -> subprocess.CompletedProcess:
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
