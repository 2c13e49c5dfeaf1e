"""What is waiting in the inbox: delivery files per register, in period order."""

from __future__ import annotations

from pathlib import Path

from dagster_project.contracts import load_contracts


def delivery_files(inbox: Path, register: str) -> list[Path]:
    """Files in <inbox>/<register>/ that look like deliveries (hidden and temporary files ignored)."""
    folder = inbox / register
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and not p.name.startswith((".", "~")) and not p.name.endswith(".tmp"))


def inbox_state(inbox: Path) -> dict[str, tuple[int, int]]:
    """name -> (size, mtime_ns) of every delivery file; the sensor compares it between ticks."""
    state = {}
    for register in load_contracts():
        for path in delivery_files(inbox, register):
            stat = path.stat()
            state[f"{register}/{path.name}"] = (stat.st_size, stat.st_mtime_ns)
    return state


def inbox_is_empty(inbox: Path) -> bool:
    return not inbox_state(inbox)
