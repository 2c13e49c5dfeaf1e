"""Making the report of a release: build the site next to the release, then add it to the release
folder as `bericht/` (store.py). A release whose report was made by the same report code with the
same boundary file is left as it is."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dagster_project.release.store import ReleaseStore
from dagster_project.settings import switch

if TYPE_CHECKING:   # the site's modules (Altair, vl-convert, mapclassify) load only when a report is drawn
    from dagster_project.report.site import SiteSummary

REPORT_FOLDER = "bericht"
STAMP = "erzeugung.json"
HERE = Path(__file__).parent


@dataclass
class Report:
    release_id: str
    folder: Path
    built: bool                  # False: the release already had this report
    summary: SiteSummary | None

    @property
    def start_page(self) -> Path:
        return self.folder / "index.html"


def boundaries_from_environment() -> Path | None:
    """DFT_REPORT_BOUNDARIES: the city's district boundaries (GeoJSON); unset: schematic tile map."""
    value = os.environ.get("DFT_REPORT_BOUNDARIES", "").strip()
    return Path(value).expanduser() if value else None


def report_enabled() -> bool:
    """DFT_REPORT=0 leaves the report out of the main job (servers that only feed BI tools, tests)."""
    return switch("DFT_REPORT", "Bericht erzeugen")


def report_fingerprint(boundaries: Path | None) -> str:
    """SHA-256 over the report code, templates and stylesheet and the boundary file."""
    digest = hashlib.sha256()
    for path in sorted(p for p in HERE.rglob("*") if p.is_file() and p.suffix in {".py", ".j2", ".css"}):
        digest.update(str(path.relative_to(HERE)).encode() + b"\0" + path.read_bytes())
    if boundaries is not None and boundaries.is_file():
        digest.update(b"boundaries\0" + boundaries.read_bytes())
    from dagster_project.report.pdf import pdf_printer
    digest.update(b"pdf\0" + (b"1" if pdf_printer()[0] else b"0"))   # PDFs printed or not
    return digest.hexdigest()


def publish_report(release_dir: Path, release_id: str | None = None, boundaries: Path | None = None,
                   force: bool = False, progress=print, workers: int | None = None) -> Report:
    """The report of `release_id` (default: the current release), built unless it is up to date."""
    store = ReleaseStore(release_dir)
    release_id = release_id or store.current_id()
    if release_id is None:
        raise FileNotFoundError(f"{release_dir}: kein freigegebenes Release – erst `make run` ausführen.")
    folder = store.folder(release_id)
    target = folder / REPORT_FOLDER
    fingerprint = report_fingerprint(boundaries)
    stamp = target / STAMP
    if not force and stamp.is_file() and json.loads(stamp.read_text(encoding="utf-8")).get("fingerabdruck") == fingerprint:
        return Report(release_id, target, False, None)
    staging = store.root / f".{REPORT_FOLDER}.{release_id}.im_aufbau"
    if staging.exists():
        shutil.rmtree(staging)
        progress(f"Nach einem abgebrochenen Lauf: unfertiger Bericht {staging.name} gelöscht")
    progress(f"Bericht zur sozialen Lage für Release {release_id} wird erzeugt …")
    try:
        from dagster_project.report.site import build_site

        summary = build_site(folder, staging, boundaries, progress=progress, workers=workers)
        stamp_text = json.dumps({"release_id": release_id, "fingerabdruck": fingerprint,
                                 "seiten": summary.pages, "diagramme": summary.charts, "exporte": summary.exports,
                                 "bytes": summary.bytes, "sekunden": round(summary.seconds, 1),
                                 "karten": "Gebietsgrenzen" if boundaries else "schematisch"},
                                ensure_ascii=False, indent=2)
        (staging / STAMP).write_text(stamp_text, encoding="utf-8")
        store.add_folder(release_id, staging, REPORT_FOLDER)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return Report(release_id, target, True, summary)
