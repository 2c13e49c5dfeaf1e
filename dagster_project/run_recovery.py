"""Runs whose process is gone, and the wait for the one warehouse writer.

A run killed by `kill -9`, the OOM killer, a reboot or a hard Ctrl-C cannot say that it ended: in
Dagster's storage it stays STARTED and keeps the slot of the pool `warehouse_writer` (and its place
in the run queue). Every later run would wait for it forever. So before a run claims the writer
(`make run`, the tests' runs, the inbox sensor's and the schedules' ticks in the daemon of
`make ui`), `recover_dead_runs` looks at every unfinished run of the instance:

- its run worker's process is known from Dagster's own engine event "Executing steps in process
  (pid: …)" (every run of the main job executes in one process, dagster_project/defs/automation/jobs.py);
- that process is alive if a process with this pid exists, is not a zombie and was started no later
  than the event (a pid used again after a reboot or by another program was started later);
- a run without that event is judged by its age (it died while starting).

A dead run is marked failed with the German reason `ABORT_REASON`; the slots and pending steps of
every finished run are freed. `wait_for_writer` then waits while another live run writes, says for
whom every few seconds, and gives up after DFT_WRITER_WAIT_S.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from dagster import DagsterEventType, DagsterRunStatus, RunsFilter
from dagster._core.storage.dagster_run import FINISHED_STATUSES

from dagster_project.instance import HOST, HOST_TAG, WAREHOUSE_RUN_TAG
from dagster_project.settings import SettingError

ABORT_REASON = "abgebrochen: Prozess beendet, vermutlich Absturz oder Neustart"
WRITER_POOL = "warehouse_writer"   # = defs.resources.WAREHOUSE_WRITER_POOL (no Dagster definitions imported here)
UNFINISHED = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]
PID_EVENT_GRACE_S = 120.0     # a STARTED run without its process event after this long died while starting
STARTING_TIMEOUT_S = 300.0    # = run_monitoring.start_timeout_seconds in dagster.yaml
DEFAULT_WRITER_WAIT_S = 7200.0
WAIT_LOG_EVERY_S = 5.0
POLL_S = 1.0


class WriterWaitSettingError(SettingError):
    """DFT_WRITER_WAIT_S is not a number of seconds."""


class WriterBusyError(RuntimeError):
    """Another live run kept the warehouse writer longer than DFT_WRITER_WAIT_S."""


def writer_wait_seconds() -> float:
    """How long a run waits for another run that writes the warehouse (DFT_WRITER_WAIT_S)."""
    value = os.environ.get("DFT_WRITER_WAIT_S", "").strip()
    if not value:
        return DEFAULT_WRITER_WAIT_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise WriterWaitSettingError(f"DFT_WRITER_WAIT_S muss eine Zahl von Sekunden ab 0 sein, nicht {value!r}.")
    return seconds


def _boot_time() -> float | None:
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except OSError:
        pass
    return None


def process_start_time(pid: int) -> float | None:
    """When process `pid` started (seconds since the epoch), None if there is no such living
    process (gone, or a zombie nobody has reaped). Without /proc: 0.0 for a process that exists."""
    stat_file = Path(f"/proc/{pid}/stat")
    boot = _boot_time()
    if boot is None or not Path("/proc/self/stat").exists():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return 0.0
        return 0.0
    try:
        text = stat_file.read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()   # after "pid (comm) "
    if fields[0] in {"Z", "X"}:
        return None
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class RunProcess:
    pid: int
    since: float   # when the run reported it (epoch seconds)


def run_process(instance, run_id: str) -> RunProcess | None:
    """The run worker's process as Dagster's in-process executor reported it."""
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ENGINE_EVENT, limit=50).records
    for record in records:
        event = record.event_log_entry.dagster_event
        data = event.engine_event_data if event else None
        pid = data.metadata.get("pid") if data and data.metadata else None
        if pid is not None:
            return RunProcess(int(pid.value), record.event_log_entry.timestamp)
    return None


@dataclass(frozen=True)
class RunLife:
    run_id: str
    status: DagsterRunStatus
    alive: bool
    started: float | None
    pid: int | None
    why: str


def judge_run(instance, record, now: float | None = None) -> RunLife:
    """Whether an unfinished run's process still lives."""
    run = record.dagster_run
    now = time.time() if now is None else now
    started = record.start_time or record.create_timestamp.timestamp()
    host = run.tags.get(HOST_TAG)
    if host and host != HOST:
        return RunLife(run.run_id, run.status, True, started, None,
                       f"läuft auf dem Rechner {host}; von hier nicht prüfbar")
    process = run_process(instance, run.run_id)
    if process is None:
        limit = STARTING_TIMEOUT_S if run.status == DagsterRunStatus.STARTING else PID_EVENT_GRACE_S
        if now - started > limit:
            return RunLife(run.run_id, run.status, False, started, None,
                           f"seit {now - started:.0f} s ohne Prozess (beim Start beendet)")
        return RunLife(run.run_id, run.status, True, started, None, "startet")
    began = process_start_time(process.pid)
    if began is None:
        return RunLife(run.run_id, run.status, False, started, process.pid, f"Prozess {process.pid} beendet")
    if began > process.since + 2.0:
        return RunLife(run.run_id, run.status, False, started, process.pid,
                       f"Prozess {process.pid} beendet (die Nummer gehört inzwischen einem anderen Prozess)")
    return RunLife(run.run_id, run.status, True, started, process.pid, f"Prozess {process.pid}")


def unfinished_runs(instance) -> list[RunLife]:
    return [judge_run(instance, record)
            for record in instance.get_run_records(filters=RunsFilter(statuses=UNFINISHED))]


def _clock(timestamp: float | None) -> str:
    return dt.datetime.fromtimestamp(timestamp).strftime("%d.%m.%Y %H:%M:%S") if timestamp else "?"


def recover_dead_runs(instance, log: Callable[[str], None] = print) -> list[str]:
    """Mark every unfinished run whose process is gone as failed (`ABORT_REASON`), free the writer
    slots and pending steps of every finished run (each said in German through `log`); returns the
    ids of the runs marked failed."""
    done, marked = [], []
    for life in unfinished_runs(instance):
        if life.alive:
            continue
        run = instance.get_run_by_id(life.run_id)
        if run is None or run.status not in UNFINISHED:
            continue   # finished meanwhile
        message = f"{ABORT_REASON} ({life.why}; gestartet {_clock(life.started)})"
        if run.status == DagsterRunStatus.CANCELING:
            instance.report_run_canceled(run, message)
        else:
            instance.report_run_failed(run, message)
        marked.append(life.run_id)
        done.append(f"Lauf {life.run_id} als fehlgeschlagen markiert: {message}")
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        for run_id in sorted(storage.get_concurrency_run_ids()):
            run = instance.get_run_by_id(run_id)
            if run is None or run.status in FINISHED_STATUSES:
                storage.free_concurrency_slots_for_run(run_id)
                done.append(f"Schreibzugriff (Pool {WRITER_POOL}) des beendeten Laufs {run_id} freigegeben")
    for line in done:
        log(line)
    return marked


@dataclass(frozen=True)
class Writer:
    run_id: str
    started: float | None
    step: str | None
    how: str


def current_writers(instance, own_run_id: str | None = None) -> list[Writer]:
    """Live runs that write the warehouse (main job runs, holders of the writer slot)."""
    steps = {}
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits and WRITER_POOL in storage.get_concurrency_keys():
        steps = {slot.run_id: slot.step_key for slot in storage.get_concurrency_info(WRITER_POOL).claimed_slots}
    writers = []
    for record in instance.get_run_records(filters=RunsFilter(statuses=UNFINISHED)):
        run = record.dagster_run
        if run.run_id == own_run_id or (WAREHOUSE_RUN_TAG not in run.tags and run.run_id not in steps):
            continue
        life = judge_run(instance, record)
        if life.alive:
            writers.append(Writer(run.run_id, life.started, steps.get(run.run_id), life.why))
    return writers


def wait_for_writer(instance, log: Callable[[str], None] = print, wait_s: float | None = None,
                    own_run_id: str | None = None) -> list[str]:
    """Return once no other live run writes the warehouse; dead runs found on the way are cleaned
    (their ids are returned). Says every few seconds for whom it waits; raises WriterBusyError after
    `wait_s` (default DFT_WRITER_WAIT_S)."""
    wait_s = writer_wait_seconds() if wait_s is None else wait_s
    began = time.monotonic()
    said = None
    recovered = []
    while True:
        recovered += recover_dead_runs(instance, log)
        writers = current_writers(instance, own_run_id)
        if not writers:
            return recovered
        waited = time.monotonic() - began
        names = "; ".join(
            f"Lauf {w.run_id}, gestartet {_clock(w.started)}"
            + (f", Schritt {w.step}" if w.step else "") + f" ({w.how})" for w in writers)
        if waited >= wait_s:
            raise WriterBusyError(
                f"Das Warehouse wird noch geschrieben ({names}). Nach {waited:.0f} s Warten aufgegeben "
                f"(DFT_WRITER_WAIT_S={wait_s:g}). Den anderen Lauf abwarten (make ui zeigt ihn) und dann erneut "
                "starten; ein abgestürzter Lauf wird beim nächsten Start von selbst erkannt und beendet.")
        if said is None or time.monotonic() - said >= WAIT_LOG_EVERY_S:
            log(f"wartet auf {names}; seit {waited:.0f} s, höchstens {wait_s:g} s (DFT_WRITER_WAIT_S)")
            said = time.monotonic()
        time.sleep(POLL_S)
