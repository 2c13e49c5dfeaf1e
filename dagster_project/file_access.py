"""Who may read what the pipeline writes: the operating system is the boundary.

Everything outside the release (inbox, raw layer, quarantine and refusal log, the warehouse
database, the disclosure cache, the auditors' files, dbt's target, Dagster's home, reports) holds
register data or what can be traced back to it: it belongs to the account that runs the pipeline
alone, files 0600 and folders 0700. The process works with umask 077, so whatever it (and dbt,
DuckDB, Dagster in it) creates is owner-only from the start; `restrict_warehouse` tightens what an
older version, another process or a delivering account left more open, and says what it changed.

The release is the one thing BI accounts read: its folders and files are readable by one group,
DFT_RELEASE_GROUP (default: the pipeline account's own primary group), and by everyone only when
DFT_RELEASE_GROUP=alle is set explicitly. The warehouse folder itself lets that group pass through
to release/ (x), never list it.

Connection settings of BI clients (read_only, enable_external_access=false, …) are hygiene on top:
a careless client that leaves them out still cannot open a file the account may not read.
"""

from __future__ import annotations

import grp
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

OWNER_ONLY_UMASK = 0o077
OWNER_FILE = 0o600
OWNER_DIR = 0o700
EVERYONE = "alle"


def secure_umask() -> None:
    """Owner-only for everything this process and its children (dbt, DuckDB) create."""
    os.umask(OWNER_ONLY_UMASK)


class ReleaseGroupError(ValueError):
    pass


@dataclass(frozen=True)
class ReleaseAccess:
    """Who reads the release: one group (gid) or everyone."""
    gid: int
    everyone: bool = False

    @classmethod
    def from_environment(cls) -> "ReleaseAccess":
        value = (os.environ.get("DFT_RELEASE_GROUP") or "").strip()
        if not value:
            return cls(os.getegid())
        if value == EVERYONE:
            return cls(os.getegid(), everyone=True)
        try:
            return cls(int(value) if value.isdigit() else grp.getgrnam(value).gr_gid)
        except KeyError:
            raise ReleaseGroupError(
                f"DFT_RELEASE_GROUP={value!r}: diese Gruppe gibt es auf diesem Rechner nicht. Bitte eine "
                f"vorhandene Gruppe der BI-Konten nennen (getent group) oder DFT_RELEASE_GROUP={EVERYONE} "
                "für ein Release, das jedes Konto lesen darf.") from None

    @property
    def file_mode(self) -> int:
        """Read-only for the owner and the group (and everyone, if asked for)."""
        return 0o444 if self.everyone else 0o440

    @property
    def dir_mode(self) -> int:
        return 0o555 if self.everyone else 0o550

    @property
    def open_dir_mode(self) -> int:
        """release/ and release/releases/: the pipeline writes there, readers list and enter."""
        return 0o755 if self.everyone else 0o750

    @property
    def passage_mode(self) -> int:
        """The warehouse folder: readers pass through to release/ but cannot list it."""
        return 0o711 if self.everyone else 0o710

    def apply(self, path: Path, mode: int) -> bool:
        """Set group and mode; True if anything changed."""
        info = path.lstat()
        changed = False
        if info.st_gid != self.gid:
            os.chown(path, -1, self.gid, follow_symlinks=False)
            changed = True
        if stat.S_IMODE(info.st_mode) != mode:
            path.chmod(mode)
            changed = True
        return changed


@dataclass
class Tightening:
    files: int = 0
    folders: int = 0
    not_ours: list[str] = field(default_factory=list)   # could not be changed (another account's)
    removed: list[str] = field(default_factory=list)

    def message(self) -> str:
        parts = []
        if self.files or self.folders:
            parts.append(f"Zugriffsrechte verschärft: {self.files} Dateien auf {OWNER_FILE:o} und {self.folders} "
                         f"Ordner auf {OWNER_DIR:o} gesetzt (nur das Konto der Pipeline darf sie lesen).")
        if self.removed:
            parts.append("Entfernt: " + ", ".join(self.removed) + ".")
        if self.not_ours:
            shown = ", ".join(self.not_ours[:5]) + (" …" if len(self.not_ours) > 5 else "")
            parts.append(f"{len(self.not_ours)} Einträge gehören einem anderen Konto und bleiben lesbar für "
                         f"andere: {shown}. Bitte vom Eigentümer auf {OWNER_FILE:o}/{OWNER_DIR:o} setzen lassen.")
        return " ".join(parts)

    @property
    def changed(self) -> bool:
        return bool(self.files or self.folders or self.not_ours or self.removed)


def _owner_only(path: Path, result: Tightening, passages: set[Path]) -> None:
    if path in passages:   # a folder BI accounts pass through: its mode is set by restrict_warehouse
        return
    try:
        info = path.lstat()
    except FileNotFoundError:
        return   # gone since the folder was listed (SQLite's -wal and -journal files of a running instance)
    if stat.S_ISLNK(info.st_mode):
        return
    mode = stat.S_IMODE(info.st_mode)
    if not mode & 0o077:
        return
    folder = stat.S_ISDIR(info.st_mode)
    try:
        path.chmod((mode & 0o700) | (OWNER_DIR if folder else 0))
    except FileNotFoundError:
        return
    except PermissionError:
        result.not_ours.append(str(path))
        return
    if folder:
        result.folders += 1
    else:
        result.files += 1


def walk_owner_only(root: Path, skip: set[Path], passages: set[Path], result: Tightening) -> None:
    if not root.exists() or root in skip:
        return
    _owner_only(root, result, passages)
    if not root.is_dir() or root.is_symlink():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if here / d not in skip]
        for name in [*dirnames, *filenames]:
            _owner_only(here / name, result, passages)


def restrict_warehouse(warehouse_dir: Path, release_dir: Path, others: list[Path] = (),
                       access: ReleaseAccess | None = None) -> Tightening:
    """Owner-only for everything in the warehouse but the release; the release's own folders with
    its group. `others`: configured paths outside the warehouse folder (inbox, quarantine, …)."""
    from dagster_project.release.store import ReleaseStore

    access = access or ReleaseAccess.from_environment()
    result = Tightening()
    warehouse_dir, release_dir = warehouse_dir.resolve(), release_dir.resolve()
    # BI accounts pass through the warehouse folder (and any between it and release/) to the release
    passages = set()
    step = release_dir.parent
    while _is_within(step, warehouse_dir) and step.is_dir():
        passages.add(step)
        step = step.parent
    for path in [warehouse_dir, *others]:
        path = path.resolve()
        if path.exists() and path != release_dir and not _is_within(path, release_dir):
            walk_owner_only(path, {release_dir}, passages, result)
    for passage in passages:
        access.apply(passage, access.passage_mode)
    if release_dir.is_dir():
        ReleaseStore(release_dir, access).restrict(result)
    return result


def restrict_installation(paths, extra: list[Path] = ()) -> Tightening:
    """`restrict_warehouse` for this installation's configured paths (WarehousePaths) and Dagster's
    home; what an older version or another process left open is tightened."""
    from dagster_project.release.content_cache import cache_dir
    from dagster_project.release.publish import auditor_dir
    from dagster_project.settings import REPO_ROOT

    # dbt writes its log and a target folder into the project when run there (make docs, tests)
    others = [paths.db_path, paths.db_path.with_name(paths.db_path.name + ".wal"), paths.inbox_dir,
              paths.quarantine_dir, paths.reports_dir, auditor_dir(paths.db_path.parent),
              cache_dir(paths.db_path.parent), REPO_ROOT / "dbt" / "logs", REPO_ROOT / "dbt" / "target", *extra]
    if os.environ.get("DAGSTER_HOME"):
        others.append(Path(os.environ["DAGSTER_HOME"]))
    return restrict_warehouse(paths.warehouse_dir, paths.release_dir, others)


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False
