"""bench.json says for each performance target whether a run reached it: a made-up run that
reaches one target and misses the others, with a skipped stage."""

from __future__ import annotations

from benchmarks.run import config_entry


def _results(seconds: dict[str, float], peak_mb: dict[str, int] | None = None) -> dict[str, list[dict]]:
    return {stage: [{"seconds": value, "peak_rss_mb": (peak_mb or {}).get(stage, 100)}]
            for stage, value in seconds.items()}


def test_targets_say_reached_missed_and_not_measured():
    results = _results({"generate": 30, "ingest": 30, "bare_load": 20, "dbt": 20, "gate": 5, "disclosure": 10,
                        "release": 12, "floor": 40, "incremental_month": 20, "report": 19})
    entry = config_entry("1", "2014-2024", 1, results, pipeline=67.0)
    targets = entry["targets"]
    assert targets["ingest_over_bare_load"] == {"value": 1.5, "limit": 1.5, "reached": True}
    assert targets["pipeline_over_floor"]["reached"] is True            # 67 / 40 = 1.675
    assert targets["new_month_over_pipeline"]["reached"] is False       # 20 / 67 = 0.30
    assert targets["report_s"] == {"value": 19, "limit": 20.0, "reached": True}
    assert "generate_peak_gb" not in targets                            # a target of scale 30 only
    assert entry["ratios"]["pandas_over_pipeline"] is None              # pandas was skipped
    assert entry["ratios"]["pipeline_without_disclosure_over_floor"] == round(57 / 40, 3)


def test_the_generator_target_applies_at_state_scale():
    results = _results({"generate": 300, "ingest": 400, "dbt": 150, "gate": 20, "release": 5},
                       peak_mb={"generate": 3300})
    entry = config_entry("30", "2022-2024", 1, results, pipeline=575.0)
    assert entry["targets"]["generate_peak_gb"] == {"value": 3.22, "limit": 3.0, "reached": False}
    assert entry["targets"]["ingest_over_bare_load"]["reached"] is None  # no bare load measured
    assert "report_s" not in entry["targets"]


def test_the_least_ingest_work_does_each_part_on_the_sample(sample_inbox):
    """The lower bound of the ingest (benchmarks/ingest_floor.py) reads, writes, checks, looks for
    duplicate keys and pseudonymises: each part takes time, and together they are more than the read."""
    from benchmarks.ingest_floor import least_ingest_work

    parts = least_ingest_work(sample_inbox)
    assert set(parts) == {"read", "write", "rules", "keys", "pseudonyms", "total"}
    assert all(parts[name] > 0 for name in ("read", "write", "rules", "keys", "pseudonyms"))
    assert parts["total"] > parts["read"]


def test_the_least_ingest_ratio_is_reported_beside_the_target():
    results = _results({"generate": 30, "ingest": 60, "bare_load": 20, "least_ingest": 32, "dbt": 20, "gate": 5,
                        "release": 12, "floor": 40})
    entry = config_entry("1", "2014-2024", 1, results, pipeline=97.0)
    assert entry["least_ingest_s"] == 32 and entry["ratios"]["least_ingest_over_bare_load"] == 1.6
