"""Schedules along the delivery calendar (docs/operations.md): the monthly deliveries are due on
the 15th of the following month, so on the 16th the main job runs for the current and the previous
reference year (a December arrives in January); each morning the freshness job says which
deliveries are overdue. Both are running from the start."""

from dagster import (DefaultScheduleStatus, Definitions, RunRequest, ScheduleEvaluationContext, SkipReason,
                     schedule)

from dagster_project.defs.automation.jobs import freshness_job, warehouse_job
from dagster_project.defs.partitions import partition_keys, run_tags
from dagster_project.run_recovery import recover_dead_runs

TIMEZONE = "Europe/Berlin"


@schedule(job=warehouse_job, cron_schedule="0 6 16 * *", execution_timezone=TIMEZONE,
          default_status=DefaultScheduleStatus.RUNNING,
          description="Monatlich am 16. um 6 Uhr: Hauptlauf für das laufende und das vorige Berichtsjahr "
                      "(die Monatslieferungen sind am 15. fällig).")
def monthly_delivery_schedule(context: ScheduleEvaluationContext):
    recover_dead_runs(context.instance, context.log.warning)   # a killed run would hold the queue
    year = context.scheduled_execution_time.year
    keys = {int(k) for k in partition_keys()}
    years = [y for y in (year - 1, year) if y in keys]
    if not years:
        return SkipReason(f"Keine Berichtsjahre {year - 1}/{year} in den Partitionen.")
    return RunRequest(run_key=f"monatlich-{context.scheduled_execution_time:%Y-%m}",
                      tags={**run_tags(years), "ausloeser": "zeitplan"})


@schedule(job=freshness_job, cron_schedule="0 7 * * *", execution_timezone=TIMEZONE,
          default_status=DefaultScheduleStatus.RUNNING,
          description="Täglich um 7 Uhr: Lieferkalender prüfen, überfällige Lieferungen melden.")
def daily_freshness_schedule(context: ScheduleEvaluationContext):
    return RunRequest(run_key=f"lieferkalender-{context.scheduled_execution_time:%Y-%m-%d}")


defs = Definitions(schedules=[monthly_delivery_schedule, daily_freshness_schedule])
