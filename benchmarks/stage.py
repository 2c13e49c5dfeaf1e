"""One benchmark stage in a process of its own: `python -m benchmarks.stage STAGE ROOT [options]`.

Prints one JSON line: {"stage", "seconds", "peak_rss_mb"} (peak resident memory of this process or
of its largest child, dbt's subprocess). The stages call the same functions the Dagster assets call.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path


class TreeMemory:
    """Peak resident memory of this process and all its descendants together, sampled from /proc
    every half second: Spark's JVM is a grandchild that is not waited for, so `ru_maxrss` of the
    children does not see it."""

    def __init__(self) -> None:
        import threading

        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    @staticmethod
    def _tree_rss_kb(root_pid: int) -> int:
        children: dict[int, list[int]] = {}
        rss: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                status = (entry / "status").read_text()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            rss[int(entry.name)] = next((int(line.split()[1]) for line in status.splitlines()
                                         if line.startswith("VmRSS:")), 0)
        total, todo = 0, [root_pid]
        while todo:
            pid = todo.pop()
            total += rss.get(pid, 0)
            todo.extend(children.get(pid, []))
        return total

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            self.peak_kb = max(self.peak_kb, self._tree_rss_kb(os.getpid()))

    def __enter__(self) -> "TreeMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _paths(root: Path) -> dict[str, Path]:
    return {"inbox": root / "inbox", "db": root / "warehouse.duckdb", "quarantine": root / "quarantine",
            "release": root / "release"}


def generate(root: Path, scale: float, years: list[int]) -> None:
    from sample_deliveries.__main__ import generate as write_sample

    write_sample(_paths(root)["inbox"], years, scale=scale, seed=42, clean=True, progress=lambda _: None)


def ingest(root: Path) -> None:
    import duckdb

    from dagster_project.contracts import load_contracts
    from dagster_project.inbox import delivery_files
    from dagster_project.ingest.batch import load_deliveries
    from dagster_project.settings import DEMO_KEY, PseudonymKey, duckdb_config

    paths = _paths(root)
    key = PseudonymKey(DEMO_KEY.encode(), "demo")
    con = duckdb.connect(str(paths["db"]), config=duckdb_config())
    try:
        for register in load_contracts():
            load_deliveries(con, delivery_files(paths["inbox"], register), key, paths["quarantine"])
    finally:
        con.close()


def dbt(root: Path) -> None:
    """dbt build as a subprocess, as dagster-dbt runs it in the pipeline (incremental models, full
    refresh when the project changed, only the nodes below changed registers after a complete
    build: dagster_project/dbt_state.py)."""
    import subprocess

    from dagster_project.defs.dbt_models.assets import DBT_PROJECT_DIR, dbt_project, pipeline_target_path
    from dagster_project.dbt_state import plan_build, record_build

    db_path = _paths(root)["db"]
    plan = plan_build(db_path, DBT_PROJECT_DIR, dbt_project.manifest_path)
    args, full_refresh = [*plan.args, *plan.exclude_args], plan.full_refresh
    env = {**os.environ, "DFT_DB_PATH": str(db_path)}
    done = subprocess.run([str(Path(sys.executable).parent / "dbt"), *args, "--quiet", "--project-dir",
                           str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
                           "--target-path", str(pipeline_target_path(db_path))],
                          env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"dbt build failed:\n{done.stdout[-3000:]}")
    record_build(db_path, DBT_PROJECT_DIR, full_refresh)


def dbt_spark(root: Path) -> dict:
    """The same dbt build on Apache Spark (local, all cores) over the same raw files, and the
    hand-over of its seeds and marts into a DuckDB file (a scratch file here, so that the later
    stages keep DuckDB's marts): what a pipeline run with DFT_ENGINE=spark spends instead of dbt."""
    import subprocess

    import duckdb

    from dagster_project.defs.dbt_models.assets import DBT_PROJECT_DIR
    from dagster_project.engine.spark import (import_spark_tables, spark_dir_of_database, spark_environment,
                                              spark_target_path)
    from dagster_project.ingest.raw_layer import raw_dir_of_database

    db_path = _paths(root)["db"]
    spark_dir = spark_dir_of_database(db_path)
    env = {**os.environ, "DFT_DB_PATH": str(db_path), **spark_environment(db_path, raw_dir_of_database(db_path))}
    with TreeMemory() as memory:
        done = subprocess.run([str(Path(sys.executable).parent / "dbt"), "build", "--target", "spark", "--quiet",
                               "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
                               "--target-path", str(spark_target_path(spark_dir))],
                              env=env, cwd=spark_dir, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"dbt build (spark) failed:\n{done.stdout[-3000:]}")
    started = time.perf_counter()
    con = duckdb.connect(str(spark_dir / "handover.duckdb"))
    try:
        tables = import_spark_tables(con, spark_dir)
    finally:
        con.close()
    return {"seconds_handover": round(time.perf_counter() - started, 2), "tables": len(tables),
            "mart_rows": sum(n for name, n in tables.items() if name.startswith("marts.")),
            "peak_tree_rss_mb": round(memory.peak_kb / 1024)}


def gate(root: Path, years: tuple[int, int] | None = None) -> None:
    """Every suite of the gate; with `years` as a run over those reference years checks them
    (dagster_project/defs/quality_gate/checks.py)."""
    import duckdb

    from dagster_project.quality.gate import run_suite, store_results
    from dagster_project.quality.suites import load_suites
    from dagster_project.settings import duckdb_config

    con = duckdb.connect(str(_paths(root)["db"]), config=duckdb_config())
    try:
        for suite in load_suites():
            store_results(con, run_suite(con, suite, "bench", years))
    finally:
        con.close()


def release(root: Path) -> None:
    from dagster_project.release.publish import publish_release

    paths = _paths(root)
    publish_release(paths["db"], paths["release"], "bench")


def disclosure(root: Path) -> dict:
    """Disclosure control alone (primary rules, secondary suppression across relations, attacker's
    audit) on the candidate marts, as the release runs it; its information loss per mart."""
    import duckdb

    from dagster_project.release.content import released_marts
    from dagster_project.release.disclosure import DisclosureRules
    from dagster_project.release.publish import candidate_marts

    con = duckdb.connect(str(_paths(root)["db"]), read_only=True)
    try:
        marts = candidate_marts(con)
    finally:
        con.close()
    started = time.perf_counter()
    content = released_marts(marts, DisclosureRules.load())
    cells = content.audit.cells
    width = (cells.high - cells.low).min() if len(cells) else None
    return {"seconds_disclosure": round(time.perf_counter() - started, 2),
            "audited": int(len(cells)), "exposed": int(len(content.audit.exposed)),
            "narrowest_interval": None if width is None else float(width),
            "rounds": content.protection.rounds if content.protection else 0,
            "search_s": round(content.search.seconds, 2) if content.search else None,
            "loss": [{k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
                     for row in content.loss.to_dict(orient="records")]}


def report(root: Path) -> dict:
    """The planners' report of the release just published: the whole site (pages, charts, maps,
    exports), built anew; its time and size on disk."""
    from dagster_project.report.build import publish_report

    built = publish_report(_paths(root)["release"], force=True, progress=lambda _: None)
    return {"seconds_report": round(built.summary.seconds, 2), "bytes": built.summary.bytes,
            "pages": built.summary.pages, "charts": built.summary.charts, "exports": built.summary.exports}


def floor(root: Path) -> None:
    from benchmarks.floor import floor_indicator_values

    floor_indicator_values(_paths(root)["inbox"])


def bare_load(root: Path) -> dict:
    """DuckDB's bare load of every CSV delivery (all text, no checks): the limit of the ingest."""
    from benchmarks.floor import bare_load as load

    return {"rows": load(_paths(root)["inbox"])}


def least_ingest(root: Path) -> dict:
    """The least work any ingest must do on these deliveries (benchmarks/ingest_floor.py): its parts."""
    from benchmarks.ingest_floor import least_ingest_work

    return {"parts_s": least_ingest_work(_paths(root)["inbox"])}


def pandas_peer(root: Path) -> None:
    from benchmarks.pandas_peer import pandas_indicator_values

    pandas_indicator_values(_paths(root)["inbox"])


def new_month(root: Path) -> None:
    """A new SGB II month arrives (the last month's file as the next month), then the pipeline."""
    folder = _paths(root)["inbox"] / "sgb2"
    last = sorted(folder.glob("sgb2_*.csv"))[-1]
    year, month = int(last.stem[5:9]), int(last.stem[10:12])
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    shutil.copy(last, folder / f"sgb2_{year}-{month:02d}.csv")
    # as the inbox sensor's run for the new file: over its reference year (dbt builds what the
    # new deliveries reach, the gate checks that year's deliveries)
    ingest(root)
    dbt(root)
    gate(root, (year, year))
    release(root)


STAGES = {"generate": generate, "ingest": ingest, "dbt": dbt, "dbt_spark": dbt_spark, "gate": gate, "disclosure": disclosure,
          "release": release, "report": report,
          "floor": floor, "bare_load": bare_load, "least_ingest": least_ingest, "pandas": pandas_peer,
          "incremental_month": new_month}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("stage", choices=sorted(STAGES))
    parser.add_argument("root", type=Path)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--years", default="2014-2024")
    args = parser.parse_args()
    started = time.perf_counter()
    extra = None
    if args.stage == "generate":
        from sample_deliveries.__main__ import parse_years

        generate(args.root, args.scale, parse_years(args.years))
    else:
        extra = STAGES[args.stage](args.root)
    seconds = time.perf_counter() - started
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    if extra and "peak_tree_rss_mb" in extra:  # a JVM grandchild (Spark): sampled, see TreeMemory
        peak = max(peak, extra["peak_tree_rss_mb"])
    print(json.dumps({"stage": args.stage, "seconds": round(seconds, 2), "peak_rss_mb": round(peak),
                      **({"extra": extra} if extra else {})}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
