"""kill -9 at ten moments spread over ingest, dbt, gate, release and report: the next run recovers
by itself, and the end result equals an uninterrupted run, with nothing left over.

The main job runs as `python -m dagster_project.main` in its own process group on a small sample;
tests/crash_harness.py starts it, kills the whole group with SIGKILL, and compares the warehouses
as an outsider (files, DuckDB catalogs, the release folder; no product code).

To fit the CI's time, the ten kills are chained on one warehouse: run 1 is killed in the ingest,
run 2 must find run 1 dead ("abgebrochen: Prozess beendet"), clean up after it and get at least as
far as its own kill, and so on through dbt, gate, release and report (3, 2, 2, 2 and 1 kills: a
kill in the report costs a whole run up to it); run 11 must complete within the time limit. The
uninterrupted run is made without the report (the report is drawn from the release, which is
compared); the final release must have a whole report. The report is made without its PDFs here
(DFT_REPORT_PDF=0, half a minute of CI's time less): `make chaos` prints them, so its kills in the
report also land while Chromium prints. The damage of all ten kills adds up before the one run that must repair it. At the
end every mart cell, every raw file, the quarantine, the load log and the release content equal
those of an uninterrupted run (EXCEPT ALL both ways). `make chaos` does the slower, literal version:
each kill on a fresh warehouse, followed by a run that must complete, 50 times with a new seed.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from sample_deliveries.__main__ import generate
from tests.crash_harness import (PHASES, compare_warehouses, fresh_workspace, leftovers, phase_lengths,
                                 phase_of, run_main)

SEED = 2812
KILLS = {"ingest": 3, "dbt": 2, "gate": 2, "release": 2, "report": 1}
COMPLETE_WITHIN_S = 420   # the run after the kills, on CI's two busy cores
DEAD_RUN_FOUND = "abgebrochen: Prozess beendet"


@pytest.fixture(scope="module")
def crash_sample(tmp_path_factory) -> Path:
    inbox = tmp_path_factory.mktemp("absturz") / "eingang"
    generate(inbox, [2022, 2023], scale=0.01, seed=7, clean=True, progress=lambda _: None)
    return inbox


def test_ten_kills_over_all_phases_then_the_next_run_completes_and_equals_an_uninterrupted_run(
        crash_sample, tmp_path):
    reference = fresh_workspace(tmp_path / "referenz", crash_sample)
    uninterrupted = run_main(reference, report=False)
    assert uninterrupted.returncode == 0, uninterrupted.log[-3000:]
    lengths = phase_lengths(uninterrupted)
    assert set(PHASES) - {"report"} <= lengths.keys(), (lengths, uninterrupted.log[-2000:])

    rng = random.Random(SEED)
    # not run in the reference; 20 s: the kill lands in its first 10 s, before a fast report is done
    lengths["report"] = (lengths["release"][0] + lengths["release"][1], 20.0)
    plan = [(phase, rng.uniform(0.05, 0.5) * lengths[phase][1]) for phase in PHASES for _ in range(KILLS[phase])]
    assert len(plan) == 10
    root = fresh_workspace(tmp_path / "abbruch", crash_sample)
    journal = []
    previous = None
    for number, (phase, delay) in enumerate(plan, start=1):
        killed = run_main(root, phase, delay, pdf=False)
        journal.append(f"Abbruch {number}: Phase {phase} + {delay:.1f} s -> "
                       f"{phase_of(killed.last_step) if killed.last_step else 'Start'} ({killed.last_step}), "
                       f"Rückgabe {killed.returncode}")
        # the kill hit a running job, and that job got there although the run before it was killed
        assert killed.killed_at is not None and killed.returncode != 0, "\n".join(journal) + killed.log[-3000:]
        assert phase in killed.phase_starts, "\n".join(journal) + killed.log[-3000:]
        if previous is not None and not previous.run_ended:   # a kill after the run's end leaves no dead run
            assert DEAD_RUN_FOUND in killed.log, "\n".join(journal) + killed.log[-3000:]
        previous = killed

    final = run_main(root, timeout=COMPLETE_WITHIN_S, pdf=False)
    assert final.returncode == 0, "\n".join(journal) + final.log[-4000:]
    assert DEAD_RUN_FOUND in final.log or previous.run_ended
    assert final.seconds < COMPLETE_WITHIN_S
    differences = compare_warehouses(reference, root)
    assert not differences, "\n".join(journal + differences)
    assert not leftovers(root), leftovers(root)
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_make_chaos_can_put_every_kill_into_one_phase():
    """`make chaos CHAOS_ARGS="--phase report"`: every kill in the report phase, within its length;
    without --phase a seed still gives the plan it gave before (spread over the phases in turn)."""
    from tests.crash_harness import plan_kills

    lengths = {phase: (10.0 * i, 20.0 + i) for i, phase in enumerate(PHASES)}
    only = plan_kills(6, 11, lengths, "report")
    assert {kill.phase for kill in only} == {"report"}
    assert all(0 <= kill.delay <= lengths["report"][1] for kill in only)
    spread = plan_kills(10, 11, lengths)
    assert [kill.phase for kill in spread] == [*PHASES, *PHASES]
