"""`make docs`: the generated parts of docs/ made anew, then the dbt documentation site (models,
columns, tests, lineage) as one self-contained page that works without internet, served on
http://127.0.0.1:8080.

    python -m dagster_project.dbt_docs [--no-serve] [--port 8080]

dbt reads the schemas of a copy of the pipeline's database (taken while no run writes it), so a
running pipeline is never blocked and the site never holds the warehouse file.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from dagster_project.defs.dbt_models.assets import DBT_PROJECT_DIR
from dagster_project.reference_docs import main as update_reference_docs
from dagster_project.settings import WarehousePaths
from dagster_project.warehouse_lock import connect_when_free

SITE_PAGE = "static_index.html"
# what the page may load from elsewhere: nothing (the statistics office's network is closed)
EXTERNAL_TAG = re.compile(r"""<(?:script|link|img|iframe)[^>]*(?:src|href)\s*=\s*["'](?:https?:)?//""", re.IGNORECASE)
TRACKING_OFF = re.compile(r'"send_anonymous_usage_stats":\s*false')


def offline_problems(page: str) -> list[str]:
    """Why the page would not work offline, or would call home (dbt's page tracker runs only when
    the embedded manifest allows usage statistics)."""
    problems = [f"lädt {m.group(0)!r}" for m in EXTERNAL_TAG.finditer(page)]
    if not TRACKING_OFF.search(page):
        problems.append("Nutzungsstatistik nicht abgeschaltet (send_anonymous_usage_stats)")
    return problems


def build_site(paths: WarehousePaths) -> Path:
    """dbt docs generate --static into <warehouse>/dbt_docs/; returns the page."""
    target = paths.warehouse_dir / "dbt_docs"
    target.mkdir(parents=True, exist_ok=True)
    database = target / "docs.duckdb"
    if paths.db_path.exists():
        con = connect_when_free(paths.db_path)   # a reader's lock: no run writes while we copy
        try:
            shutil.copyfile(paths.db_path, database)
        finally:
            con.close()
    else:
        print("Noch kein Warehouse gebaut (make run): die Seite zeigt Modelle ohne Tabellenstatistik.")
        database.unlink(missing_ok=True)
    env = {**os.environ, "DFT_DB_PATH": str(database)}
    dbt = Path(sys.executable).parent / "dbt"
    done = subprocess.run([str(dbt), "docs", "generate", "--static", "--project-dir", str(DBT_PROJECT_DIR),
                           "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target)],
                          env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError("dbt docs generate ist fehlgeschlagen:\n" + done.stdout[-3000:] + done.stderr[-2000:])
    page = target / SITE_PAGE
    problems = offline_problems(page.read_text(encoding="utf-8"))
    if problems:
        raise RuntimeError(f"{page} ist offline nicht nutzbar: " + "; ".join(problems))
    (target / "index.html").write_bytes(page.read_bytes())
    return target / "index.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dagster_project.dbt_docs")
    parser.add_argument("--no-serve", action="store_true", help="nur erzeugen, nicht ausliefern")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    update_reference_docs([])
    page = build_site(WarehousePaths.from_environment())
    print(f"dbt-Dokumentation: {page}")
    if args.no_serve:
        return 0
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(page.parent))
    with http.server.ThreadingHTTPServer(("127.0.0.1", args.port), handler) as server:
        print(f"Ausgeliefert auf http://127.0.0.1:{args.port}/ (Strg+C beendet)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
