"""Runs whose process is gone are found and cleaned; a run that must wait for the writer says for
whom and gives up after DFT_WRITER_WAIT_S (issue: a killed run kept the one writer slot and every
later run waited silently forever).

The runs here are made in a real Dagster instance (the project's dagster.yaml) the way Dagster
records them: a run in state STARTED with the engine event that names its process, holding the
writer pool's slot. The waiting run is `python -m dagster_project.main`, as an operator starts it.
tests/test_crash_recovery.py kills real runs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, MetadataValue
from dagster._core.events import EngineEventData

from dagster_project.instance import DAGSTER_YAML, HOST, HOST_TAG, WAREHOUSE_RUN_TAG
from dagster_project.run_recovery import ABORT_REASON, WRITER_POOL, WriterBusyError, recover_dead_runs, wait_for_writer
from tests.conftest import SPEC_HEADERS, write_file

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def instance(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML, encoding="utf-8")
    with DagsterInstance.from_config(str(home)) as instance:
        instance.event_log_storage.set_concurrency_slots(WRITER_POOL, 1)
        yield instance


def _writing_run(instance, pid: int, holds_slot: bool = True) -> DagsterRun:
    """A main-job run in state STARTED whose process is `pid`, holding the writer slot."""
    run = instance.add_run(DagsterRun(job_name="warehouse_job", status=DagsterRunStatus.STARTED,
                                      tags={WAREHOUSE_RUN_TAG: "1", HOST_TAG: HOST}))
    instance.report_engine_event(f"Executing steps in process (pid: {pid})", run,
                                 EngineEventData(metadata={"pid": MetadataValue.text(str(pid))}))
    if holds_slot:
        claimed = instance.event_log_storage.claim_concurrency_slot(WRITER_POOL, run.run_id, "raw__einwohner")
        assert claimed.is_claimed
    return run


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_a_run_whose_process_is_gone_is_marked_failed_and_its_slot_freed(instance):
    run = _writing_run(instance, _dead_pid())
    said: list[str] = []
    assert recover_dead_runs(instance, said.append) == [run.run_id]
    after = instance.get_run_by_id(run.run_id)
    assert after.status == DagsterRunStatus.FAILURE
    failure = [e for e in instance.all_logs(run.run_id) if e.dagster_event and e.dagster_event.is_run_failure]
    assert ABORT_REASON in failure[-1].message
    assert not instance.event_log_storage.get_concurrency_info(WRITER_POOL).claimed_slots
    assert any("als fehlgeschlagen markiert" in line for line in said)
    assert any(f"des beendeten Laufs {run.run_id} freigegeben" in line for line in said)
    assert recover_dead_runs(instance, said.append) == []   # nothing twice


def test_a_run_of_another_machine_is_not_judged_by_a_local_pid(instance):
    run = instance.add_run(DagsterRun(job_name="warehouse_job", status=DagsterRunStatus.STARTED,
                                      tags={WAREHOUSE_RUN_TAG: "1", HOST_TAG: "anderer-rechner"}))
    instance.report_engine_event("Executing steps in process (pid: 1)", run,
                                 EngineEventData(metadata={"pid": MetadataValue.text(str(_dead_pid()))}))
    assert recover_dead_runs(instance, lambda _: None) == []
    assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED


def test_a_live_writer_is_waited_for_by_name_and_the_wait_ends_with_a_clear_message(instance, tmp_path):
    writer = subprocess.Popen(["sleep", "120"])
    try:
        run = _writing_run(instance, writer.pid)
        inbox = tmp_path / "warehouse" / "inbox"
        write_file(inbox, "einwohner", "einwohner_2023-12-31.csv", [SPEC_HEADERS["einwohner"]])
        env = {k: v for k, v in os.environ.items() if not k.startswith("DFT_")}
        env.update(DAGSTER_HOME=str(instance.root_directory), DFT_WAREHOUSE_DIR=str(tmp_path / "warehouse"),
                   DFT_DEMO_MODE="1", DFT_WRITER_WAIT_S="7", PYTHONPATH=str(REPO))
        started = time.monotonic()
        waiting = subprocess.run([sys.executable, "-m", "dagster_project.main"], cwd=REPO, env=env,
                                 capture_output=True, text=True, timeout=300)
        waited = time.monotonic() - started
        output = waiting.stdout + waiting.stderr
        assert waiting.returncode == 3, output
        says = [line for line in output.splitlines() if f"wartet auf Lauf {run.run_id}, gestartet" in line]
        assert len(says) >= 2, output    # at the start and again after 5 s
        assert f"Prozess {writer.pid}" in says[0]
        gave_up = re.search(r"Nach (\d+) s Warten aufgegeben \(DFT_WRITER_WAIT_S=7\)", output)
        assert gave_up and int(gave_up.group(1)) >= 7, output   # a busy machine may overshoot by a poll
        assert waited >= 7
        assert not (tmp_path / "warehouse" / "raw").exists()   # it wrote nothing
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED   # the writer is left alone

        # the writer dies (kill -9): the next wait finds it, marks it failed and returns
        writer.kill()
        writer.wait()
        said: list[str] = []
        assert wait_for_writer(instance, said.append, wait_s=5) == [run.run_id]
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE
    finally:
        writer.kill()
        writer.wait()


def test_the_wait_limit_zero_gives_up_at_once(instance):
    writer = subprocess.Popen(["sleep", "60"])
    try:
        _writing_run(instance, writer.pid, holds_slot=False)
        with pytest.raises(WriterBusyError, match="Das Warehouse wird noch geschrieben"):
            wait_for_writer(instance, lambda _: None, wait_s=0)
    finally:
        writer.kill()
        writer.wait()


@pytest.mark.parametrize("value", ["zwei Stunden"])
def test_a_wrong_wait_setting_is_named(tmp_path, value):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DFT_")}
    env.update(DAGSTER_HOME=str(tmp_path / "home"), DFT_WAREHOUSE_DIR=str(tmp_path / "warehouse"),
               DFT_DEMO_MODE="1", DFT_WRITER_WAIT_S=value, PYTHONPATH=str(REPO))
    write_file(tmp_path / "warehouse" / "inbox", "einwohner", "einwohner_2023-12-31.csv", [SPEC_HEADERS["einwohner"]])
    done = subprocess.run([sys.executable, "-m", "dagster_project.main"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert "DFT_WRITER_WAIT_S muss eine Zahl von Sekunden ab 0 sein" in done.stderr


def test_the_inbox_sensor_starts_a_dead_run_of_its_own_again_over_the_same_years(instance, tmp_path, monkeypatch):
    """The daemon path: a run the inbox sensor had started dies; the sensor's next tick marks it
    failed and asks for the same run again (same years), a run started by hand is not repeated.
    The full cycle with a real daemon: `python -m tests.crash_harness --kills 0 --daemon`."""
    from dagster import RunRequest, build_sensor_context

    from dagster_project.defs.automation.sensors import inbox_sensor
    from dagster_project.defs.resources import WarehouseResource

    years = {"dagster/asset_partition_range_start": "2022", "dagster/asset_partition_range_end": "2023"}
    by_sensor = instance.add_run(DagsterRun(job_name="warehouse_job", status=DagsterRunStatus.STARTED,
                                            tags={WAREHOUSE_RUN_TAG: "1", HOST_TAG: HOST, "ausloeser": "eingang",
                                                  **years}))
    by_hand = instance.add_run(DagsterRun(job_name="warehouse_job", status=DagsterRunStatus.STARTED,
                                          tags={WAREHOUSE_RUN_TAG: "1", HOST_TAG: HOST}))
    for run in (by_sensor, by_hand):
        instance.report_engine_event(f"Executing steps in process (pid: {_dead_pid()})", run,
                                     EngineEventData(metadata={"pid": MetadataValue.text(str(_dead_pid()))}))
    monkeypatch.setenv("DFT_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    context = build_sensor_context(instance=instance, resources={"warehouse": WarehouseResource()})
    requests = list(inbox_sensor(context))
    assert [type(r) for r in requests] == [RunRequest]
    request = requests[0]
    assert request.tags["wiederholt_lauf"] == by_sensor.run_id and request.tags["ausloeser"] == "wiederholung"
    assert {k: request.tags[k] for k in years} == years
    assert instance.get_run_by_id(by_sensor.run_id).status == DagsterRunStatus.FAILURE
    assert instance.get_run_by_id(by_hand.run_id).status == DagsterRunStatus.FAILURE
