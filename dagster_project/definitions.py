"""The one Dagster `Definitions` of the warehouse: it only merges the modules of defs/."""

from dagster import Definitions

from dagster_project.defs import resources
from dagster_project.defs.automation import jobs, schedules, sensors
from dagster_project.defs.dbt_models import assets as dbt_models
from dagster_project.defs.ingest import assets as ingest, freshness
from dagster_project.defs.quality_gate import checks as quality_gate
from dagster_project.defs.release import assets as release
from dagster_project.defs.report import assets as report
from dagster_project.file_access import secure_umask

# Whatever the runs of these definitions create (raw layer, dbt target, Dagster's storage) is the
# pipeline account's alone (dagster_project/file_access.py).
secure_umask()

defs = Definitions.merge(
    resources.defs,
    ingest.defs, freshness.defs,
    dbt_models.defs,
    quality_gate.defs,
    release.defs, report.defs,
    jobs.defs, schedules.defs, sensors.defs,
)
