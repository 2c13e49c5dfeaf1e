"""The planners' report: made from the release after it is published (reads the release only)."""

from dagster import AssetExecutionContext, AssetKey, Definitions, MaterializeResult, MetadataValue, asset

from dagster_project.defs.release.assets import RELEASE_KEY
from dagster_project.disk_space import reporting_full_disk
from dagster_project.report.build import boundaries_from_environment, publish_report, report_enabled
from dagster_project.defs.resources import WarehouseResource

REPORT_KEY = AssetKey(["release", "planners_report"])


@asset(
    key=REPORT_KEY,
    deps=[RELEASE_KEY],
    group_name="release",
    kinds={"html", "excel"},
    description="Bericht zur sozialen Lage: statische deutsche Website aus dem aktuellen Release (Überblick, "
                "Indikatorseiten, Gebietsprofile, Sozialindex, Zuwanderung, Ziele und Maßnahmen), Karten und "
                "Diagramme als SVG, Excel- und CSV-Exporte; im Release-Ordner unter bericht/.",
)
def planners_report(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    if not report_enabled():
        context.log.warning("Bericht zur sozialen Lage nicht erzeugt: DFT_REPORT=0 (nachholen mit `make report`).")
        return MaterializeResult(metadata={"erzeugt": False, "grund": "DFT_REPORT=0"})
    with reporting_full_disk("Bericht zur sozialen Lage", warehouse.release):
        report = publish_report(warehouse.release, boundaries=boundaries_from_environment(), progress=context.log.info)
    metadata = {"release_id": report.release_id, "neu_erzeugt": report.built,
                "startseite": MetadataValue.path(str(report.start_page))}
    if report.summary is not None:
        s = report.summary
        metadata.update({"seiten": s.pages, "diagramme": s.charts, "exporte": s.exports,
                         "groesse_mb": round(s.bytes / 1e6, 1), "dauer_s": round(s.seconds, 1)})
        context.log.info(f"Bericht: {s.pages} Seiten, {s.charts} Diagramme, {s.bytes / 1e6:.1f} MB, {s.seconds:.1f} s")
    else:
        context.log.info(f"Bericht für Release {report.release_id} ist aktuell.")
    return MaterializeResult(metadata=metadata)


defs = Definitions(assets=[planners_report])
