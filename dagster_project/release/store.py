"""Where releases live: immutable folders, a stable `current`, retention.

    release/
      releases/<release id>/        one folder per release, written once, then read-only
        warehouse.duckdb            the released marts, label tables and audit tables
        parquet/<mart>.parquet      one Parquet file per mart (zstd, column descriptions)
        manifest.json, pruefbericht.html, aenderungsnachweis.html/.json
        bericht/                    the planners' report, added after sealing (dagster_project/report)
      current -> releases/<id>      symbolic link, switched atomically (rename over the old link)

A BI tool opens `release/current/warehouse.duckdb` (or `release/current/parquet/<mart>.parquet`):
the names never change from one release to the next. Files are read-only (0440) and folders 0550,
readable by the release group (DFT_RELEASE_GROUP, dagster_project/file_access.py) and by nobody
else unless DFT_RELEASE_GROUP=alle (then 0444/0555). A client that tries to open the database for
writing fails at once instead of locking out every other reader; a reader that holds an old
release open keeps reading it whole (the pipeline never writes into a published folder, it only
adds a new one and moves the link). Refused candidates (abgelehnt/) are the pipeline's alone.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

from dagster_project.file_access import OWNER_DIR, ReleaseAccess, Tightening

CURRENT = "current"
RELEASES = "releases"
DATABASE = "warehouse.duckdb"
LEGACY_DATABASE = "release.duckdb"   # releases written before the stable names
REFUSED = "abgelehnt"


class ReleaseStore:
    def __init__(self, release_dir: Path, access: ReleaseAccess | None = None):
        self.root = release_dir
        self.releases = release_dir / RELEASES
        self.current_link = release_dir / CURRENT
        self._access = access

    @property
    def access(self) -> ReleaseAccess:
        if self._access is None:
            self._access = ReleaseAccess.from_environment()
        return self._access

    # -- reading ------------------------------------------------------------------------------
    @property
    def history_file(self) -> Path:
        """Every release `current` ever pointed to, one id a line (dagster_project/release/leftovers.py)."""
        return self.root / ".aktuell_verlauf"

    def ever_current(self) -> set[str]:
        if not self.history_file.is_file():
            return set()
        return set(self.history_file.read_text(encoding="utf-8").split())

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
        self._open_folders()
        (staging / "parquet").mkdir(parents=True, mode=OWNER_DIR)
        staging.chmod(OWNER_DIR)
        return staging

    def _open_folders(self) -> None:
        """release/ and release/releases/: the release group lists and enters them."""
        for folder in (self.root, self.releases):
            folder.mkdir(parents=True, exist_ok=True)
            self.access.apply(folder, self.access.open_dir_mode)

    def refused_folder(self, release_id: str) -> Path:
        """Where a refused candidate's audit report goes: the pipeline's alone (it names cells)."""
        folder = self.root / REFUSED / release_id
        folder.mkdir(parents=True, exist_ok=True, mode=OWNER_DIR)
        (self.root / REFUSED).chmod(OWNER_DIR)
        return folder

    def restrict(self, result: Tightening) -> None:
        """Bring an existing release store to the access of this installation (older versions made
        every release world-readable): release folders with the group, everything else owner-only."""
        from dagster_project.file_access import walk_owner_only

        self._open_folders()
        for entry in self.root.iterdir():
            if entry.name in (RELEASES, CURRENT):
                continue
            if entry.name == ".inhalt" and entry.is_dir():   # the disclosure cache before it moved out
                shutil.rmtree(entry)
                result.removed.append(f"{entry} (alter Zwischenspeicher der Geheimhaltung)")
                continue
            walk_owner_only(entry, set(), set(), result)
        for release_id in self.release_ids():
            folder = self.folder(release_id)
            info = folder.stat()
            if info.st_gid != self.access.gid or stat.S_IMODE(info.st_mode) != self.access.dir_mode:
                _make_read_only(folder, self.access)

    def seal(self, staging: Path, release_id: str) -> Path:
        """Move the finished folder into place and make it read-only, files and folders."""
        for path in staging.rglob("*"):
            if path.is_file():
                with open(path, "rb") as handle:
                    os.fsync(handle.fileno())
        folder = self.folder(release_id)
        os.replace(staging, folder)
        _make_read_only(folder, self.access)
        return folder

    def add_folder(self, release_id: str, built: Path, name: str) -> Path:
        """Put a folder made from the release (the planners' report) into the sealed release as
        `name`, replacing an older one; nothing else in the release changes. Read-only afterwards."""
        folder = self.folder(release_id)
        target = folder / name
        old = folder / f".{name}.alt"
        folder.chmod(stat.S_IRWXU | self.access.dir_mode)
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
                _make_read_only(target, self.access)
            folder.chmod(self.access.dir_mode)
        return target

    def restrict_folder(self, release_id: str) -> None:
        """A sealed release read-only again, with the release group."""
        _make_read_only(self.folder(release_id), self.access)

    def discard(self, release_id: str, staging: Path | None = None) -> None:
        """Remove a release that never became current (a failed publish's): its staging folder or
        its sealed folder."""
        if release_id == self.current_id():
            raise ValueError(f"Release {release_id} ist aktuell und wird nicht entfernt.")
        for folder in (staging, self.folder(release_id)):
            if folder is not None and folder.exists():
                _remove(folder)

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
        with open(self.history_file, "a", encoding="utf-8") as history:   # owner-only (umask)
            history.write(release_id + "\n")
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


def _make_read_only(folder: Path, access: ReleaseAccess) -> None:
    """Files 0440 and folders 0550 with the release group (0444/0555 for everyone), the deepest
    first, the folder itself last."""
    if folder.is_dir():
        folder.chmod(stat.S_IRWXU | access.dir_mode)   # enter and change while setting the inside
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if not path.is_symlink():
            access.apply(path, access.dir_mode if path.is_dir() else access.file_mode)
    access.apply(folder, access.dir_mode)


def _remove(folder: Path) -> None:
    """Remove a (read-only) release folder: write permission back on its folders first."""
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir() and not path.is_symlink():
            path.chmod(stat.S_IRWXU | (stat.S_IMODE(path.stat().st_mode) & 0o077))
    shutil.rmtree(folder)
