"""The release: only reached when every blocking check upstream passed (write-audit-publish)."""

from dagster import AssetExecutionContext, AssetKey, Definitions, MaterializeResult, MetadataValue, asset

from dagster_project.defs.dbt_models.assets import mart_asset_keys
from dagster_project.disk_space import reporting_full_disk
from dagster_project.release.publish import publish_release
from dagster_project.defs.resources import WAREHOUSE_WRITER_POOL, WarehouseResource
from dagster_project.settings import release_keep, release_postgres_url

RELEASE_KEY = AssetKey(["release", "warehouse_release"])


@asset(
    key=RELEASE_KEY,
    deps=mart_asset_keys(),
    group_name="release",
    kinds={"duckdb", "parquet"},
    pool=WAREHOUSE_WRITER_POOL,
    description="Freigabe: Geheimhaltung angewandt, neues schreibgeschütztes Release, current atomar umgestellt, "
                "Parquet, Manifest, Prüfbericht, Änderungsnachweis; ohne neue Eingaben kein neues Release.",
)
def warehouse_release(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    with reporting_full_disk("Freigabe", warehouse.release):
        release = publish_release(warehouse.database, warehouse.release, context.run.run_id,
                                  keep=release_keep(), postgres_url=release_postgres_url())
    if release.cleaned:
        context.log.warning("Reste unterbrochener Freigaben entfernt: " + "; ".join(release.cleaned))
    context.log.info(release.message)
    metadata = {
        "release_id": release.release_id,
        "neues_release": release.published,
        "meldung": release.message,
        "aufgeraeumt": MetadataValue.text("; ".join(release.cleaned) if release.cleaned else "nichts"),
        "release_datei": MetadataValue.path(str(release.current / "warehouse.duckdb")),
        "parquet": MetadataValue.path(str(release.current / "parquet")),
        "pruefbericht": MetadataValue.path(str(release.folder / "pruefbericht.html")),
    }
    if release.published:
        checks = release.manifest["pruefungen"]
        warnings = sum(1 for c in checks if not c["success"] and c["severity"] != "critical")
        metadata["pruefung"] = f"bestanden ({len(checks)} Erwartungen, {warnings} Warnungen)"
        metadata["pruefung_warnungen"] = warnings
        secrecy = release.manifest["geheimhaltung"]["gesperrte_zellen_je_regel"]
        metadata["gesperrte_zellen"] = sum(secrecy.values())
        metadata.update({f"gesperrt_{rule}": count for rule, count in secrecy.items()})
    return MaterializeResult(metadata=metadata)


defs = Definitions(assets=[warehouse_release])
