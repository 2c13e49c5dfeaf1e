"""The release: only reached when every blocking check upstream passed (write-audit-publish)."""

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from dagster_project.release.publish import MARTS, publish_release
from dagster_project.resources import WarehouseResource

RELEASE_KEY = AssetKey(["release", "warehouse_release"])


@asset(
    key=RELEASE_KEY,
    deps=[AssetKey(["marts", name]) for name in MARTS],
    group_name="release",
    kinds={"duckdb", "parquet"},
    description="Freigabe: Geheimhaltung angewandt, Release-Datei atomar ausgetauscht, Parquet, Manifest, Prüfbericht.",
)
def warehouse_release(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    release = publish_release(warehouse.database, warehouse.release, context.run_id, warehouse.reports)
    secrecy = release.manifest["geheimhaltung"]["gesperrte_zellen_je_regel"]
    context.log.info(f"Release {release.release_id} freigegeben: {release.current}")
    return MaterializeResult(metadata={
        "release_id": release.release_id,
        "release_datei": MetadataValue.path(str(release.current)),
        "parquet": MetadataValue.path(str(release.parquet_dir)),
        "pruefbericht": MetadataValue.path(str(release.folder / "pruefbericht.html")),
        "gesperrte_zellen": sum(secrecy.values()),
        **{f"gesperrt_{rule}": count for rule, count in secrecy.items()},
    })
