"""Files written whole or not at all, also when the process is killed or the disk is full.

`replace_text` writes beside the target and renames over it: a reader sees the old page or the
new one, never half a page. `append_line` adds a line to a log in one write and first cuts off a
line torn by an earlier kill, so that every line of the file is whole.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path


def replace_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` whole: via a hidden temporary file beside it and a rename."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


# the temporary file of replace_bytes: `.<name>.<32 hex digits>.tmp`
_UNFINISHED = re.compile(r"^\..+\.[0-9a-f]{32}\.tmp$")


def remove_unfinished(folder: Path) -> list[str]:
    """Delete the temporary files of writes a kill interrupted in `folder` (between the write and
    the rename of replace_bytes); returns their names."""
    if not folder.is_dir():
        return []
    removed = []
    for path in sorted(folder.iterdir()):
        if path.is_file() and _UNFINISHED.match(path.name):
            path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed


def replace_text(path: Path, text: str) -> None:
    replace_bytes(path, text.encode("utf-8"))


def append_line(path: Path, line: str) -> None:
    """Append one line in one write; a line torn by an earlier kill or power loss (the file does
    not end in a newline) is cut off first."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        size = os.fstat(descriptor).st_size
        if size and os.pread(descriptor, 1, size - 1) != b"\n":
            tail = os.pread(descriptor, min(size, 1 << 20), max(0, size - (1 << 20)))
            cut, start = tail.rfind(b"\n"), size - len(tail)
            os.ftruncate(descriptor, start + cut + 1 if cut >= 0 else start)
        os.write(descriptor, (line + "\n").encode("utf-8"))
    finally:
        os.close(descriptor)
