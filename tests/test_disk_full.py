"""A full disk during the ingest and during the publish: a German error naming the step and the
path, the release that was current stays current (and readable), and the next run after space is
freed completes.

The disk is really full: the warehouse lies on a small tmpfs file system, and the release folder
on a second one, each filled to the last byte with a filler file. A machine where tmpfs cannot be
mounted fails this test (it does not skip): the guarantee would be unchecked.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from tests.conftest import run_pipeline, step_failures

MB = 1 << 20


def _size_of(folder: Path) -> int:
    return sum(p.lstat().st_size for p in folder.rglob("*"))


@contextlib.contextmanager
def tmpfs(mount_point: Path, size: int):
    mount_point.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.fail(f"tmpfs lässt sich hier nicht einhängen ({mounted.stderr.strip()}); der Test braucht "
                    "root oder CAP_SYS_ADMIN, wie in CI")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(folder: Path) -> Path:
    """Write zeros into `folder/fueller` until the file system is full."""
    filler = folder / "fueller"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for chunk in (MB, 4096, 1):
            block = b"\0" * chunk
            while True:
                try:
                    os.write(descriptor, block)
                except OSError as error:
                    assert error.errno == errno.ENOSPC
                    break
    finally:
        os.close(descriptor)
    assert shutil.disk_usage(folder).free < 8192
    return filler


def redeliver(inbox: Path) -> Path:
    """A corrected SGB II delivery: the last line of the newest file removed."""
    path = sorted((inbox / "sgb2").glob("*.csv"))[-1]
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]))
    return path


def current_release(root: Path) -> tuple[str, int]:
    target = (root / "release" / "current").resolve()
    con = duckdb.connect(str(target / "warehouse.duckdb"), read_only=True)
    try:
        tables = con.execute("SELECT count(*) FROM duckdb_tables()").fetchone()[0]
    finally:
        con.close()
    return target.name, tables


def test_a_full_disk_in_ingest_and_in_publish_keeps_the_release_and_the_next_run_completes(
        released_warehouse_copy, tmp_path):
    source = released_warehouse_copy
    root = tmp_path / "platte" / "warehouse"
    with tmpfs(root, _size_of(source) + 64 * MB):
        for item in source.iterdir():
            if item.name != "release":
                (shutil.copytree(item, root / item.name, symlinks=True) if item.is_dir()
                 else shutil.copy2(item, root / item.name))
        with tmpfs(root / "release", _size_of(source / "release") + 64 * MB):
            shutil.copytree(source / "release", root / "release", symlinks=True, dirs_exist_ok=True)
            before = current_release(root)
            changed = redeliver(root / "inbox")
            period_file = root / "raw" / "sgb2" / f"{changed.stem.split('_', 1)[1]}.parquet"
            raw_before = period_file.read_bytes()

            # 1. the warehouse's file system is full: the ingest stops
            filler = fill(root)
            result = run_pipeline(root)
            assert not result.success
            failures = "\n".join(step_failures(result))
            assert "Speicherplatz voll" in failures and "„Laden sgb2“" in failures, failures
            assert str(root) in failures
            assert "Das bisher aktuelle Release bleibt gültig" in failures
            assert current_release(root) == before
            assert period_file.read_bytes() == raw_before          # the delivery is whole or not at all
            filler.unlink()

            # 2. the release folder's file system is full: ingest, dbt and gate pass, the publish stops
            filler = fill(root / "release")
            result = run_pipeline(root)
            assert not result.success
            failures = "\n".join(step_failures(result))
            assert "Speicherplatz voll" in failures and "„Freigabe“" in failures, failures
            assert str(root / "release") in failures
            assert current_release(root) == before
            assert period_file.read_bytes() != raw_before          # the ingest went through this time
            filler.unlink()

            # 3. space freed: the next run completes and publishes, nothing half-done is left
            result = run_pipeline(root)
            assert result.success, step_failures(result)
            after = current_release(root)
            assert after[0] != before[0] and after[1] == before[1]
            releases = root / "release" / "releases"
            assert not [p.name for p in releases.iterdir() if p.name.startswith(".")]
            assert not list((root / "raw").rglob(".*"))
