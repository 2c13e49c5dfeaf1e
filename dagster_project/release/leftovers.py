"""What an interrupted publish leaves, found and removed by the next one (and said).

A publish writes a hidden staging folder, seals it as `releases/<id>`, publishes it into
PostgreSQL, switches PostgreSQL's views and then DuckDB's `current`. A failure or a kill between
those steps can leave:
- staging folders `releases/.<id>.im_aufbau` (a full-size database each) and temporary links
  `.current.<id>.neu`;
- sealed release folders that `current` never pointed to. A release was current if the store's
  history says so (`release/.aktuell_verlauf`, written at each switch), if it is `current`, or if a
  release's manifest names it as the one current before it (`vorheriges_release`: that covers
  releases published before the history existed). A folder that was none of these and is newer
  than the oldest release that was current is a leftover;
- hidden leftovers inside a sealed release (`.bericht.alt` of an interrupted report);
- the auditors' file of a release that never was (`pruefakten/<id>`), the disclosure cache's
  half-written `.<key>.neu`;
- in PostgreSQL: views on a newer release than DuckDB's `current`, and schemas of the ledger that
  no kept release needs (dagster_project/release/postgres.py `reconcile`).
DuckDB's `current` is the truth everything else is brought back to.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from dagster_project.release.store import ReleaseStore, _remove


def releases_that_were_current(store: ReleaseStore) -> set[str]:
    """Every release of the store that `current` ever pointed to, as far as can be known."""
    ids = set(store.release_ids())
    were = store.ever_current() & ids
    if store.current_id():
        were.add(store.current_id())
    for release_id in ids:
        previous = (store.manifest(release_id) or {}).get("vorheriges_release")
        if previous in ids:
            were.add(previous)
    return were


def remove_leftovers(store: ReleaseStore, auditor_root: Path, cache_root: Path,
                     postgres_url: str | None = None, keep: int | None = None) -> list[str]:
    """Remove what interrupted publishes left; returns what was removed, in German."""
    removed: list[str] = []
    gone: list[str] = []   # ids of releases that never were: their auditors' files go too
    if store.releases.is_dir():
        for staging in sorted(store.releases.glob(".*.im_aufbau")):
            _remove(staging)
            gone.append(staging.name[1:-len(".im_aufbau")])
            removed.append(f"unfertiger Release-Ordner {staging.name}")
    if store.root.is_dir():
        for link in sorted(store.root.glob(f".{store.current_link.name}.*.neu")):
            link.unlink()
            removed.append(f"vorläufiger Verweis {link.name}")
    were = releases_that_were_current(store)
    if were:
        oldest = min(were)
        for release_id in store.release_ids():
            if release_id not in were and release_id > oldest:
                _remove(store.folder(release_id))
                gone.append(release_id)
                removed.append(f"Release-Ordner {release_id}, der nie aktuell wurde")
        for release_id in store.release_ids():
            folder = store.folder(release_id)
            for hidden in sorted(folder.glob(".*")):
                folder.chmod(0o700)
                try:
                    _remove(hidden) if hidden.is_dir() else hidden.unlink()
                finally:
                    store.restrict_folder(release_id)
                removed.append(f"Rest {hidden.name} in Release {release_id}")
    for release_id in gone:
        if (auditor_root / release_id).is_dir():
            shutil.rmtree(auditor_root / release_id)
            removed.append(f"Prüfakten {release_id} eines nie veröffentlichten Release")
    if cache_root.is_dir():
        for temporary in sorted(cache_root.glob(".*.neu")):
            shutil.rmtree(temporary, ignore_errors=True)
            removed.append(f"unfertiger Zwischenspeicher {temporary.name}")
    if postgres_url:
        from dagster_project.release.postgres import reconcile

        current = store.current_id()
        kept = store.release_ids()[-keep:] if keep else store.release_ids()
        removed += reconcile(postgres_url, current, store.database(current) if current else None, kept)
    return removed
