"""Running a command as an account that is not the pipeline's, as the tests of file access need.

CI and the developers' sessions run as root, where file modes stop nobody: as root the command runs
as the user `nobody` (group `nogroup`). Python runs as the system's interpreter of the same version
with this venv's packages on its path (the venv's own interpreter may live under /root, which
nobody can enter)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig

UNPRIVILEGED_USER = "nobody"
UNPRIVILEGED_GROUP = "nogroup"


class NoUnprivilegedUser(RuntimeError):
    pass


def as_unprivileged(command: list[str]) -> list[str]:
    """`command` run as `nobody` (only possible as root)."""
    if os.geteuid() != 0:
        raise NoUnprivilegedUser("Nur als root lässt sich ein anderes Konto annehmen (runuser).")
    if not shutil.which("runuser"):
        raise NoUnprivilegedUser("runuser fehlt (Debian: util-linux).")
    return ["runuser", "-u", UNPRIVILEGED_USER, "--", *command]


def unprivileged_python() -> list[str]:
    """A command prefix: Python with this venv's packages as `nobody`; the program text follows as
    one argument."""
    site = sysconfig.get_paths()["purelib"]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system_python = shutil.which(version, path="/usr/bin:/usr/local/bin")
    if not system_python:
        raise NoUnprivilegedUser(f"{version} des Systems fehlt: nobody kann den Python-Interpreter der "
                                 "virtuellen Umgebung nicht erreichen.")
    prefix = as_unprivileged([system_python, "-c", f"import sys; sys.path.insert(0, {site!r}); exec(sys.argv[1])"])
    probe = subprocess.run([*prefix, "import duckdb"], capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        raise NoUnprivilegedUser(f"nobody kann duckdb nicht laden: {probe.stderr.strip()[-300:]}")
    return prefix
