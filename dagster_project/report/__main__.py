"""`make report`: the planners' report of the current release (or of --release <id>).

    python -m dagster_project.report [--release ID] [--boundaries bezirke.geojson] [--neu]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dagster_project.report.boundaries import BoundaryError
from dagster_project.report.build import boundaries_from_environment, publish_report
from dagster_project.report.release_data import ReleaseNotReadable
from dagster_project.settings import WarehousePaths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dagster_project.report",
                                     description="Bericht zur sozialen Lage aus einem Release erzeugen.")
    parser.add_argument("--release", help="Kennung des Release (Standard: current)")
    parser.add_argument("--boundaries", type=Path, help="Gebietsgrenzen als GeoJSON (Standard: DFT_REPORT_BOUNDARIES)")
    parser.add_argument("--neu", action="store_true", help="auch erzeugen, wenn der Bericht aktuell ist")
    args = parser.parse_args(argv)
    paths = WarehousePaths.from_environment()
    try:
        report = publish_report(paths.release_dir, args.release, args.boundaries or boundaries_from_environment(),
                                force=args.neu)
    except (BoundaryError, ReleaseNotReadable, FileNotFoundError) as error:
        print(f"FEHLER: {error}", file=sys.stderr)
        return 2
    if report.built:
        s = report.summary
        print(f"Bericht erzeugt: {s.pages} Seiten, {s.charts} Diagramme und Karten, {s.exports} Exporte, "
              f"{s.bytes / 1e6:.1f} MB in {s.seconds:.1f} s.")
    else:
        print(f"Bericht für Release {report.release_id} ist aktuell.")
    print(f"Startseite: {report.start_page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
