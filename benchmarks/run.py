"""`make bench`: wall time and peak memory of every stage of the pipeline, the DuckDB floor and the
pandas peer, and a new SGB II month after a full run; each configuration repeated, reported as
median (min-max). Writes Markdown and CSV to warehouse/bench/.

    python -m benchmarks.run [--config 1:2014-2024 --config 10:2023-2024:2] [--repeat 3] [--out DIR]
                             [--engines duckdb,spark]

A configuration is SCALE:YEARS or SCALE:YEARS:REPEAT (its own number of runs; else --repeat).
With --engines duckdb,spark every configuration also builds the dbt project on Apache Spark
(local, stage dbt_spark) over the same raw files, reported beside DuckDB's dbt stage.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from dagster_project.settings import REPO_ROOT

PIPELINE = ("ingest", "dbt", "gate", "release")
ORDER = ("generate", "ingest", "dbt", "dbt_spark", "gate", "disclosure", "release", "report", "floor", "bare_load",
         "least_ingest", "pandas", "incremental_month")
# bench.json: the median seconds of these stages per configuration, under these keys
JSON_KEYS = {"generate": "generate_s", "ingest": "ingest_s", "bare_load": "bare_load_s", "dbt": "dbt_s",
             "dbt_spark": "dbt_spark_s",
             "gate": "gate_s", "disclosure": "disclosure_s", "release": "release_s", "report": "report_s",
             "floor": "floor_s", "least_ingest": "least_ingest_s", "pandas": "pandas_s",
             "incremental_month": "new_month_s"}
CONFIGS: list[dict] = []           # bench.json, one entry per configuration
DISCLOSURE_NOTES: list[str] = []   # information loss of disclosure control, per configuration
REPORT_LIMITS = (60.0, 60.0)       # the planners' report with its PDFs: at most 60 s and 60 MB at Dortmund scale
# the performance targets (benchmarks/README.md, "What is not reached"): the limit of a ratio or value,
# the limit, and the scales at which it applies (None: every scale)
TARGETS = {
    "ingest_over_bare_load": (1.5, None),
    "pipeline_over_floor": (2.0, None),
    "new_month_over_pipeline": (0.15, None),
    "report_s": (20.0, {1.0}),
    "generate_peak_gb": (3.0, {30.0}),
}


class StageFailed(Exception):
    """A stage ended with an error; its message is the last lines of the stage's output."""


def run_stage(stage: str, root: Path, scale: float, years: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "DFT_DEMO_MODE": "1"}
    done = subprocess.run([sys.executable, "-m", "benchmarks.stage", stage, str(root), "--scale", str(scale),
                           "--years", years], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise StageFailed(f"Stufe {stage} fehlgeschlagen / stage failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def summarise(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def measure(scale: str, years: str, repeat: int, skip: frozenset[str] = frozenset()) -> list[dict]:
    """All stages of one configuration (but `skip`), `repeat` times, each run on fresh files in a
    temporary folder; the rows of the table."""
    stages = [stage for stage in ORDER if stage not in skip]
    results: dict[str, list[dict]] = {stage: [] for stage in stages}
    failed: dict[str, str] = {}  # a stage outside the pipeline that failed: its error, and it is left out
    for repetition in range(1, repeat + 1):
        root = Path(tempfile.mkdtemp(prefix="dft_bench_"))
        try:
            for stage in stages:
                if stage in failed:
                    continue
                try:
                    result = run_stage(stage, root, float(scale), years)
                except StageFailed as error:
                    if stage == "generate" or stage in PIPELINE:
                        raise SystemExit(str(error)) from None
                    failed[stage] = str(error).strip().splitlines()[-1][:500]
                    print(f"Maßstab {scale}, {years}, Lauf {repetition}: {stage} ABGEBROCHEN: {failed[stage]}", flush=True)
                    continue
                results[stage].append(result)
                print(f"Maßstab {scale}, {years}, Lauf {repetition}: {stage} {result['seconds']} s, "
                      f"{result['peak_rss_mb']} MB", flush=True)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    for stage in failed:
        results.pop(stage)
        DISCLOSURE_NOTES.extend([f"### Abgebrochene Stufe {stage}, Maßstab {scale}, {years}", "", failed[stage], ""])
    stages = [stage for stage in stages if stage not in failed]
    DISCLOSURE_NOTES.extend(disclosure_lines(scale, years, [r.get("extra") or {} for r in results.get("disclosure", [])]))
    DISCLOSURE_NOTES.extend(report_lines(scale, years, results.get("report", [])))
    rows = []
    base = {"scale": scale, "years": years, "runs": repeat}
    pipeline = [sum(results[s][i]["seconds"] for s in PIPELINE) for i in range(repeat)]
    for stage in stages:
        median, low, high = summarise([r["seconds"] for r in results[stage]])
        rows.append({**base, "stage": stage, "median_s": median, "min_s": low, "max_s": high,
                     "peak_rss_mb": max(r["peak_rss_mb"] for r in results[stage])})
    median, low, high = summarise(pipeline)
    rows.append({**base, "stage": "pipeline (ingest+dbt+gate+release)", "median_s": median, "min_s": low,
                 "max_s": high, "peak_rss_mb": max(max(r["peak_rss_mb"] for r in results[s]) for s in PIPELINE)})
    spark_pipeline = None
    if "dbt_spark" in results:  # the same pipeline with dbt on Spark (DFT_ENGINE=spark)
        on_spark = ("ingest", "dbt_spark", "gate", "release")
        spark_pipeline = summarise([sum(results[s][i]["seconds"] for s in on_spark) for i in range(repeat)])
        rows.append({**base, "stage": "pipeline on Spark (ingest+dbt_spark+gate+release)", "median_s": spark_pipeline[0],
                     "min_s": spark_pipeline[1], "max_s": spark_pipeline[2],
                     "peak_rss_mb": max(max(r["peak_rss_mb"] for r in results[s]) for s in on_spark)})
    def stage_median(stage: str) -> float | None:
        return statistics.median(r["seconds"] for r in results[stage]) if stage in results else None

    floor, pandas, month = stage_median("floor"), stage_median("pandas"), stage_median("incremental_month")
    ingest, bare = stage_median("ingest"), stage_median("bare_load")
    dbt_duckdb, dbt_spark = stage_median("dbt"), stage_median("dbt_spark")
    CONFIGS.append({**config_entry(scale, years, repeat, results, median), "failed": failed,
                    "pipeline_spark_s": spark_pipeline and round(spark_pipeline[0], 2)})
    ratios = (("ratio pipeline / floor", floor and median / floor), ("ratio pandas / pipeline", pandas and pandas / median),
              ("ratio new month / full pipeline", month and month / median),
              ("ratio ingest / bare load", bare and ingest / bare),
              ("ratio least ingest work / bare load", bare and stage_median("least_ingest") and stage_median("least_ingest") / bare),
              ("ratio dbt on Spark / dbt on DuckDB", dbt_spark and dbt_spark / dbt_duckdb))
    for name, value in ratios:
        if value is None:
            continue
        rows.append({**base, "stage": name, "median_s": round(value, 2), "min_s": "", "max_s": "",
                     "peak_rss_mb": ""})
    return rows


def disclosure_lines(scale: str, years: str, extras: list[dict]) -> list[str]:
    """Disclosure control of one configuration: time, audit, and the share of suppressed cells per
    mart with primary suppression only and with secondary suppression (the last run)."""
    if not extras or not extras[-1]:
        return []
    last = extras[-1]
    seconds = [e["seconds_disclosure"] for e in extras if e]
    lines = [f"### Geheimhaltung, Maßstab {scale}, {years}", "",
             f"Sekundärsperrung und Angreiferprüfung: {statistics.median(seconds):.1f} s (Median über {len(seconds)} "
             f"Läufe), {last['rounds']} Runden; {last['audited']} Erstsperrungen geprüft, {last['exposed']} "
             f"rückrechenbar, engstes Intervall {last['narrowest_interval']}.", "",
             "| Mart | Ebene | Zellen | gesperrt nur Erstsperrung | gesperrt mit Sekundärsperrung "
             "| Anteil der Fallzahl gesperrt, nur Erstsperrung | mit Sekundärsperrung |", "|---|---|---|---|---|---|---|"]

    def share(value) -> str:
        return "–" if value is None else f"{100 * value:.1f} %"

    for row in last["loss"]:
        lines.append(f"| {row['mart']} | {row.get('area_level', 'alle')} | {row['zellen']} "
                     f"| {row['primaer']} ({share(row['anteil_primaer'])}) | {row['gesperrt']} ({share(row['anteil_gesperrt'])}) "
                     f"| {share(row.get('gewicht_anteil_primaer'))} | {share(row.get('gewicht_anteil_gesperrt'))} |")
    return [*lines, "", "Anteil der Fallzahl: jede Zelle gewichtet mit ihrer größeren Zahl (Zähler oder Nenner) vor der "
            "Sperrung.", ""]


def config_entry(scale: str, years: str, repeat: int, results: dict[str, list[dict]], pipeline: float) -> dict:
    """One configuration for bench.json: median seconds per stage, the pipeline, peak memory per stage."""
    entry = {"scale": float(scale), "years": years, "runs": repeat}
    for stage, key in JSON_KEYS.items():  # null: the stage was skipped (--skip)
        entry[key] = round(statistics.median(r["seconds"] for r in results[stage]), 2) if stage in results else None
    entry["pipeline_s"] = round(pipeline, 2)
    entry["peak_rss_mb"] = {stage: max(r["peak_rss_mb"] for r in results[stage]) for stage in results}
    entry["ratios"] = ratios(entry)
    entry["targets"] = targets(entry)
    return entry


def ratios(entry: dict) -> dict[str, float | None]:
    """The ratios the targets are about; None where a stage was skipped. Disclosure control runs
    inside "release" and the floor does no suppression: `pipeline_without_disclosure_over_floor`
    shows how much of the gap it is."""
    def ratio(top: float | None, bottom: float | None) -> float | None:
        return round(top / bottom, 3) if top is not None and bottom else None

    pipeline, disclosure = entry["pipeline_s"], entry.get("disclosure_s")
    return {"ingest_over_bare_load": ratio(entry.get("ingest_s"), entry.get("bare_load_s")),
            "pipeline_over_floor": ratio(pipeline, entry.get("floor_s")),
            "pipeline_without_disclosure_over_floor":
                ratio(pipeline - disclosure, entry.get("floor_s")) if disclosure is not None else None,
            "new_month_over_pipeline": ratio(entry.get("new_month_s"), pipeline),
            # the best ratio any ingest can reach here (benchmarks/ingest_floor.py): above the
            # ingest's target, the target is out of reach for every ingest that does the work
            "least_ingest_over_bare_load": ratio(entry.get("least_ingest_s"), entry.get("bare_load_s")),
            "pandas_over_pipeline": ratio(entry.get("pandas_s"), pipeline)}


def targets(entry: dict) -> dict[str, dict]:
    """Each target that applies at this scale: its value, limit and whether it is reached (None:
    not measured in this run)."""
    generate_mb = entry["peak_rss_mb"].get("generate")
    values = {**entry["ratios"], "report_s": entry.get("report_s"),
              "generate_peak_gb": None if generate_mb is None else round(generate_mb / 1024, 2)}
    out = {}
    for name, (limit, scales) in TARGETS.items():
        if scales is not None and entry["scale"] not in scales:
            continue
        value = values[name]
        out[name] = {"value": value, "limit": limit, "reached": None if value is None else value <= limit}
    return out


def target_lines(configs: list[dict]) -> list[str]:
    """bench.md: the targets per configuration."""
    lines = ["## Ziele (benchmarks/README.md, „What is not reached“)", "", "| Maßstab | Jahre | Ziel | Wert | Grenze | erreicht |", "|---|---|---|---|---|---|"]
    for config in configs:
        for name, target in config["targets"].items():
            reached = {True: "ja", False: "**nein**", None: "nicht gemessen"}[target["reached"]]
            lines.append(f"| {config['scale']:g} | {config['years']} | {name} | {target['value']} | "
                         f"{target['limit']:g} | {reached} |")
        without = config["ratios"].get("pipeline_without_disclosure_over_floor")
        if without is not None:
            lines.append(f"| {config['scale']:g} | {config['years']} | pipeline_without_disclosure_over_floor "
                         f"(Anteil der Geheimhaltung an der Lücke) | {without} | – | – |")
        least = config["ratios"].get("least_ingest_over_bare_load")
        if least is not None:
            lines.append(f"| {config['scale']:g} | {config['years']} | least_ingest_over_bare_load "
                         f"(das Beste, was ein Ingest hier erreichen kann) | {least} | – | – |")
    return [*lines, ""]


def report_lines(scale: str, years: str, results: list[dict]) -> list[str]:
    """The planners' report of one configuration: time of the whole site and its size, against the
    limits (60 s, 60 MB at Dortmund scale)."""
    extras = [r.get("extra") or {} for r in results]
    if not extras or not extras[-1]:
        return []
    seconds = statistics.median(e["seconds_report"] for e in extras)
    megabytes = max(e["bytes"] for e in extras) / 1e6
    peak = max(r["peak_rss_mb"] for r in results)
    limit_s, limit_mb = REPORT_LIMITS
    verdict = "eingehalten" if seconds <= limit_s and megabytes <= limit_mb else "ÜBERSCHRITTEN"
    last = extras[-1]
    return [f"### Bericht zur sozialen Lage, Maßstab {scale}, {years}", "",
            f"Ganze Website ({last['pages']} Seiten, {last['charts']} Diagramme und Karten, {last['exports']} "
            f"Exporte): {seconds:.1f} s (Median über {len(extras)} Läufe), {megabytes:.1f} MB auf der Platte, "
            f"Spitzenspeicher {peak} MB. Grenzen {limit_s:.0f} s und {limit_mb:.0f} MB (Maßstab 1): {verdict}.", ""]


def write_table(rows: list[dict], out: Path, stamp: str) -> str:
    """Markdown and CSV under `out` (bench_<stamp>.* and bench.md, the latest)."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / f"bench_{stamp}.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = [f"# Benchmark {stamp} (Median (Min–Max) über die Läufe je Konfiguration)", "",
             "| Maßstab | Jahre | Läufe | Stufe | Sekunden | Spitzenspeicher MB |", "|---|---|---|---|---|---|"]
    for row in rows:
        seconds = (f"{row['median_s']:.1f} ({row['min_s']:.1f}–{row['max_s']:.1f})" if row["min_s"] != ""
                   else f"{row['median_s']}")
        lines.append(f"| {row['scale']} | {row['years']} | {row['runs']} | {row['stage']} | {seconds} | "
                     f"{row['peak_rss_mb']} |")
    text = "\n".join([*lines, "", *target_lines(CONFIGS), *DISCLOSURE_NOTES]) + "\n"
    (out / f"bench_{stamp}.md").write_text(text, encoding="utf-8")
    (out / "bench.md").write_text(text, encoding="utf-8")
    document = json.dumps({"stamp": stamp, "configs": CONFIGS}, indent=2)
    (out / f"bench_{stamp}.json").write_text(document, encoding="utf-8")
    (out / "bench.json").write_text(document, encoding="utf-8")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run")
    parser.add_argument("--config", action="append",
                        help="SCALE:YEARS[:REPEAT], e.g. 1:2014-2024 or 10:2023-2024:2 (repeatable)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "warehouse" / "bench")
    parser.add_argument("--engines", default="duckdb",
                        help="duckdb (default) or duckdb,spark: also the dbt build on Spark (stage dbt_spark)")
    parser.add_argument("--skip", default="",
                        help="stages to leave out, comma-separated (e.g. report,floor,pandas at state scale); "
                             "the pipeline's stages cannot be skipped")
    args = parser.parse_args(argv)
    skip = frozenset(s.strip() for s in args.skip.split(",") if s.strip())
    if skip - set(ORDER) or skip & {"generate", *PIPELINE}:
        parser.error(f"--skip: nur {', '.join(s for s in ORDER if s not in PIPELINE and s != 'generate')}")
    engines = {e.strip() for e in args.engines.split(",") if e.strip()}
    if engines - {"duckdb", "spark"} or "duckdb" not in engines:
        parser.error("--engines: duckdb oder duckdb,spark")
    if "spark" not in engines:
        skip |= {"dbt_spark"}
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    rows: list[dict] = []
    for config in args.config or ["1:2014-2024", "10:2023-2024"]:
        scale, years, *rest = config.split(":")
        rows.extend(measure(scale, years, int(rest[0]) if rest else args.repeat, skip))
        text = write_table(rows, args.out, stamp)  # after each configuration: nothing measured is lost
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
