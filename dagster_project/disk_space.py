"""A full disk, said in German: which step, which path, what stays valid and what to do.

Every step that writes (ingest, dbt, the gate's results and Data Docs, the release, the report)
runs inside `reporting_full_disk`. A full file system shows up in many shapes: Python's
`OSError(ENOSPC)` (or EDQUOT, a full quota), DuckDB's "IO Error: … No space left on device" or
"Could not write all bytes", dbt failing with DuckDB's message in its log, SQLite's "database or disk
is full". Each becomes `DiskFullError`, a Dagster `Failure` whose description names the step, the
path (the one in the error, else the step's folder) and the space left there. The step's own
undo paths have already run by then: the ingest keeps a delivery whole or not at all, a release
becomes `current` only as its very last step, so the release that was current stays current.
After space is freed, the next run carries on by itself (docs/operations.md „Speicherplatz voll“).
"""

from __future__ import annotations

import errno
import re
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from dagster import Failure, MetadataValue

FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
FULL_TEXTS = ("no space left on device", "disk is full", "disk full", "could not write all bytes",
              "quota exceeded")
ALMOST_FULL_BYTES = 1_000_000
_QUOTED_PATH = re.compile(r"""["'](/[^"']+)["']""")


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _text_of(error: BaseException) -> str:
    text = str(error)
    description = getattr(error, "description", None)   # dagster.Failure, dbt's CLI error
    return f"{text}\n{description}" if description else text


def is_disk_full(error: BaseException) -> bool:
    for link in _chain(error):
        if isinstance(link, OSError) and link.errno in FULL_ERRNOS:
            return True
        if any(text in _text_of(link).lower() for text in FULL_TEXTS):
            return True
    return False


def path_in(error: BaseException) -> Path | None:
    """The file the error names, if it names one."""
    for link in _chain(error):
        if isinstance(link, OSError) and link.filename:
            return Path(link.filename)
        match = _QUOTED_PATH.search(_text_of(link))
        if match:
            return Path(match.group(1))
    return None


def free_bytes(path: Path) -> int | None:
    for candidate in (path, *path.parents):
        if candidate.exists():
            try:
                return shutil.disk_usage(candidate).free
            except OSError:
                return None
    return None


def _size(count: int | None) -> str:
    if count is None:
        return "unbekannt"
    for unit, factor in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= factor:
            return f"{count / factor:.1f} {unit}".replace(".", ",")
    return f"{count} Bytes"


class DiskFullError(Failure):
    """The disk (or quota) is full; the description says step, path and what to do."""

    def __init__(self, step: str, path: Path, cause: BaseException) -> None:
        free = free_bytes(path)
        description = (
            f"Speicherplatz voll: Der Schritt „{step}“ konnte nicht schreiben: {path} "
            f"(frei auf diesem Dateisystem: {_size(free)}). Das bisher aktuelle Release bleibt gültig; "
            "nichts Halbfertiges wird verwendet. Platz schaffen (z. B. alte Dateien im Eingang, "
            "Auslagerungsdateien warehouse.duckdb.tmp/) und den Lauf erneut starten: er macht dort "
            f"weiter, wo er stehen geblieben ist. Ursprüngliche Meldung: {str(cause).splitlines()[0][:300]}")
        super().__init__(description=description,
                         metadata={"schritt": step, "pfad": MetadataValue.path(str(path)),
                                   "frei_bytes": free if free is not None else -1})
        self.step, self.path = step, path


@contextmanager
def reporting_full_disk(step: str, folder: Path) -> Iterator[None]:
    """Turn a full disk inside the block into `DiskFullError` for `step`; `folder` is named when the
    error itself names no path."""
    try:
        yield
    except DiskFullError:
        raise
    except Exception as error:
        # dbt reports DuckDB's error only in its own log: a failed step whose file system has
        # (almost) nothing left counts as a full disk too
        if is_disk_full(error) or (free_bytes(Path(folder)) or ALMOST_FULL_BYTES) < ALMOST_FULL_BYTES:
            raise DiskFullError(step, path_in(error) or Path(folder), error) from error
        raise
