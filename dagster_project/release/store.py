"""Where releases live: immutable folders, a stable `current`, retention.

    release/
      releases/<release id>/        one folder per release, written once, then read-only
        warehouse.duckdb            the released marts, label tables and audit tables
        parquet/<mart>.parquet      one Parquet file per mart (zstd, column descriptions)
        manifest.json, pruefbericht.html, aenderungsnachweis.html/.json
        bericht/                    the planners' report, added after sealing (dagster_project/report)
      current -> releases/<id>      symbolic link, switched atomically (rename over the old link)

A BI tool opens `release/current/warehouse.duckdb` (or `release/current/parquet/<mart>.parquet`):
the names never change from one release to the next. Files are mode 0444 and folders 0555, so a
client that tries to open the database for writing fails at once instead of locking out every
other reader; a reader that holds an old release open keeps reading it whole (the pipeline never
writes into a published folder, it only adds a new one and moves the link).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

CURRENT = "current"
RELEASES = "releases"
DATABASE = "warehouse.duckdb"
LEGACY_DATABASE = "release.duckdb"   # releases written before the stable names
READ_ONLY_FILE = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
READ_ONLY_DIR = READ_ONLY_FILE | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH


class ReleaseStore:
    def __init__(self, release_dir: Path):
        self.root = release_dir
        self.releases = release_dir / RELEASES
        self.current_link = release_dir / CURRENT

    # -- reading ------------------------------------------------------------------------------
    def current_id(self) -> str | None:
        if not self.current_link.is_symlink() or not self.current_link.exists():
            return None
        return Path(os.readlink(self.current_link)).name

    def folder(self, release_id: str) -> Path:
        return self.releases / release_id

    def database(self, release_id: str) -> Path:
        folder = self.folder(release_id)
        return folder / DATABASE if (folder / DATABASE).exists() else folder / LEGACY_DATABASE

    def manifest(self, release_id: str | None) -> dict | None:
        if release_id is None or not (self.folder(release_id) / "manifest.json").exists():
            return None
        return json.loads((self.folder(release_id) / "manifest.json").read_text(encoding="utf-8"))

    def release_ids(self) -> list[str]:
        if not self.releases.exists():
            return []
        return sorted(p.name for p in self.releases.iterdir() if p.is_dir() and not p.name.startswith("."))

    # -- writing ------------------------------------------------------------------------------
    def staging_folder(self, release_id: str) -> Path:
        """A hidden folder to write the release into; `seal` makes it a release."""
        staging = self.releases / f".{release_id}.im_aufbau"
        if staging.exists():
            _remove(staging)
        (staging / "parquet").mkdir(parents=True)
        return staging

    def seal(self, staging: Path, release_id: str) -> Path:
        """Move the finished folder into place and make it read-only, files and folders."""
        for path in staging.rglob("*"):
            if path.is_file():
                with open(path, "rb") as handle:
                    os.fsync(handle.fileno())
        folder = self.folder(release_id)
        os.replace(staging, folder)
        _make_read_only(folder)
        return folder

    def add_folder(self, release_id: str, built: Path, name: str) -> Path:
        """Put a folder made from the release (the planners' report) into the sealed release as
        `name`, replacing an older one; nothing else in the release changes. Read-only afterwards."""
        folder = self.folder(release_id)
        target = folder / name
        old = folder / f".{name}.alt"
        folder.chmod(stat.S_IRWXU | READ_ONLY_DIR)
        try:
            if old.exists():
                _remove(old)
            if target.exists():
                os.replace(target, old)
            os.replace(built, target)
            if old.exists():
                _remove(old)
        finally:
            if target.exists():
                _make_read_only(target)
            folder.chmod(READ_ONLY_DIR)
        return target

    def switch_current(self, release_id: str) -> Path:
        """Point `current` at the release in one atomic step (rename of a new link over the old)."""
        temporary = self.root / f".{CURRENT}.{release_id}.neu"
        if temporary.is_symlink() or temporary.exists():
            temporary.unlink()
        os.symlink(Path(RELEASES) / release_id, temporary, target_is_directory=True)
        os.replace(temporary, self.current_link)
        directory = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        legacy = self.root / "current.duckdb"   # the single file of the first release layout
        if legacy.is_file() and not legacy.is_symlink():
            legacy.unlink()
        return self.current_link

    def prune(self, keep: int) -> list[str]:
        """Remove all but the `keep` newest releases; never the one `current` points to."""
        ids = self.release_ids()
        current = self.current_id()
        removed = []
        for release_id in ids[:-keep] if keep > 0 else ids:
            if release_id == current:
                continue
            _remove(self.folder(release_id))
            removed.append(release_id)
        return removed


def _make_read_only(folder: Path) -> None:
    """Files 0444 and folders 0555, the deepest first, the folder itself last."""
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        path.chmod(READ_ONLY_DIR if path.is_dir() else READ_ONLY_FILE)
    folder.chmod(READ_ONLY_DIR)


def _remove(folder: Path) -> None:
    """Remove a (read-only) release folder: write permission back on its folders first."""
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(stat.S_IRWXU | READ_ONLY_DIR)
    shutil.rmtree(folder)
