"""`make bench`: wall time and peak memory of every stage of the pipeline, the DuckDB floor and the
pandas peer, and a new SGB II month after a full run; each configuration repeated, reported as
median (min-max). Writes Markdown and CSV to warehouse/bench/.

    python -m benchmarks.run [--config 1:2014-2024 --config 10:2023-2024] [--repeat 3] [--out DIR]
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
ORDER = ("generate", *PIPELINE, "floor", "pandas", "incremental_month")


def run_stage(stage: str, root: Path, scale: float, years: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "DFT_DEMO_MODE": "1"}
    done = subprocess.run([sys.executable, "-m", "benchmarks.stage", stage, str(root), "--scale", str(scale),
                           "--years", years], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"Stufe {stage} fehlgeschlagen / stage failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def summarise(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run")
    parser.add_argument("--config", action="append", help="SCALE:YEARS, e.g. 1:2014-2024 (repeatable)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "warehouse" / "bench")
    args = parser.parse_args(argv)
    configs = args.config or ["1:2014-2024", "10:2023-2024"]
    rows = []
    for config in configs:
        scale, years = config.split(":")
        results: dict[str, list[dict]] = {stage: [] for stage in ORDER}
        for repetition in range(1, args.repeat + 1):
            root = Path(tempfile.mkdtemp(prefix="dft_bench_"))
            try:
                for stage in ORDER:
                    result = run_stage(stage, root, float(scale), years)
                    results[stage].append(result)
                    print(f"Maßstab {scale}, {years}, Lauf {repetition}: {stage} {result['seconds']} s, "
                          f"{result['peak_rss_mb']} MB", flush=True)
            finally:
                shutil.rmtree(root, ignore_errors=True)
        pipeline = [sum(results[s][i]["seconds"] for s in PIPELINE) for i in range(args.repeat)]
        for stage in ORDER:
            median, low, high = summarise([r["seconds"] for r in results[stage]])
            rows.append({"scale": scale, "years": years, "stage": stage, "median_s": median, "min_s": low,
                         "max_s": high, "peak_rss_mb": max(r["peak_rss_mb"] for r in results[stage])})
        median, low, high = summarise(pipeline)
        rows.append({"scale": scale, "years": years, "stage": "pipeline (ingest+dbt+gate+release)",
                     "median_s": median, "min_s": low, "max_s": high,
                     "peak_rss_mb": max(max(r["peak_rss_mb"] for r in results[s]) for s in PIPELINE)})
        floor = statistics.median(r["seconds"] for r in results["floor"])
        pandas = statistics.median(r["seconds"] for r in results["pandas"])
        month = statistics.median(r["seconds"] for r in results["incremental_month"])
        for name, value in (("ratio pipeline / floor", median / floor), ("ratio pandas / pipeline", pandas / median),
                            ("ratio new month / full pipeline", month / median)):
            rows.append({"scale": scale, "years": years, "stage": name, "median_s": round(value, 2),
                         "min_s": "", "max_s": "", "peak_rss_mb": ""})
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    with (args.out / f"bench_{stamp}.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = [f"# Benchmark {stamp} ({args.repeat} Läufe je Konfiguration, Median (Min–Max))", "",
             "| Maßstab | Jahre | Stufe | Sekunden | Spitzenspeicher MB |", "|---|---|---|---|---|"]
    for row in rows:
        seconds = (f"{row['median_s']:.1f} ({row['min_s']:.1f}–{row['max_s']:.1f})" if row["min_s"] != ""
                   else f"{row['median_s']}")
        lines.append(f"| {row['scale']} | {row['years']} | {row['stage']} | {seconds} | {row['peak_rss_mb']} |")
    text = "\n".join(lines) + "\n"
    (args.out / f"bench_{stamp}.md").write_text(text, encoding="utf-8")
    (args.out / "bench.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
