"""Disclosure control once per content: when the candidate marts, the disclosure rules and the
release code are what they were for the last published release, the released content (every mart
after suppression, the suppressed cells, the attacker's audit) is the same, so it is read back
instead of computed again.

That is the usual month: a new SGB II, SGB XII or AsylbLG month changes no mart (the marts use the
December stock), yet it is a new delivery and gets a new release with its manifest. Disclosure
control takes most of a release's time (about 13 s of 14 s at Dortmund scale).

The content is kept in the warehouse folder, outside what BI accounts read, in
`<warehouse>/geheimhaltung_cache/<key>/` (Parquet per frame, the audit as JSON; owner-only like
everything outside the release: it holds the rule of every suppressed cell); only the newest is
kept, and only content that passed the attacker's audit. The
key covers every input of `released_marts`: the candidate marts cell for cell, the rules, and the
files of the release code and rules.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from dagster_project.release.disclosure import DisclosureRules
from dagster_project.settings import REPO_ROOT

CACHE_FOLDER = "geheimhaltung_cache"
CODE_FILES = ("dagster_project/release/*.py", "dagster_project/release/*.yml")
SUPPRESSED = "_suppressed_cells"


@dataclass
class CachedContent:
    marts: dict[str, pd.DataFrame]
    suppressed: pd.DataFrame
    attack: dict


def content_key(marts: dict[str, pd.DataFrame], rules: DisclosureRules) -> str:
    """SHA-256 of everything the released content depends on."""
    digest = hashlib.sha256()
    digest.update(json.dumps(rules.__dict__, sort_keys=True, default=str).encode() + b"\n")
    for pattern in CODE_FILES:
        for path in sorted(REPO_ROOT.glob(pattern)):
            digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0" + path.read_bytes())
    for name in sorted(marts):
        frame = marts[name]
        digest.update(name.encode() + b"\0" + repr([(c, str(t)) for c, t in frame.dtypes.items()]).encode())
        digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _plain(value: object) -> object:
    """NumPy numbers as Python numbers (the audit's counts must stay numbers)."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} ist nicht als JSON speicherbar")


def _dtypes_of(frame: pd.DataFrame) -> dict[str, str]:
    return {str(column): str(dtype) for column, dtype in frame.dtypes.items()}


def _restore(frame: pd.DataFrame, dtypes: dict[str, str]) -> pd.DataFrame:
    """Parquet gives text columns back as strings; the computed frames hold Python objects (None
    for missing): made the same again, so the release is written from identical frames."""
    for column, dtype in dtypes.items():
        if dtype == "object":
            frame[column] = pd.Series(frame[column].to_numpy(dtype=object, na_value=None), dtype=object,
                                      index=frame.index)
    return frame


def cache_dir(warehouse_dir: Path) -> Path:
    """In the warehouse folder (the one that holds the pipeline's database), never in or beside the
    release folder that BI accounts read."""
    return warehouse_dir / CACHE_FOLDER


def load(root: Path, key: str) -> CachedContent | None:
    folder = root / key
    meta_path = folder / "inhalt.json"
    if not meta_path.is_file():
        return None
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    frames = {name: _restore(pd.read_parquet(folder / f"{index}.parquet"), meta["dtypes"][name])
              for index, name in enumerate(meta["frames"])}
    suppressed = frames.pop(SUPPRESSED)
    return CachedContent(frames, suppressed, meta["attack"])


def store(root: Path, key: str, marts: dict[str, pd.DataFrame], suppressed: pd.DataFrame,
          attack: dict) -> None:
    """Keep this content (and only this: older content is removed)."""
    temporary = root / f".{key}.neu"
    shutil.rmtree(temporary, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    root.chmod(0o700)
    temporary.mkdir(mode=0o700)
    frames = {**marts, SUPPRESSED: suppressed}
    for index, (name, frame) in enumerate(frames.items()):
        frame.reset_index(drop=True).to_parquet(temporary / f"{index}.parquet", index=False)
    meta = {"frames": list(frames), "dtypes": {name: _dtypes_of(frame) for name, frame in frames.items()},
            "attack": attack}
    (temporary / "inhalt.json").write_text(json.dumps(meta, ensure_ascii=False, default=_plain), encoding="utf-8")
    for old in root.iterdir():
        if old != temporary:
            shutil.rmtree(old, ignore_errors=True)
    temporary.rename(root / key)
