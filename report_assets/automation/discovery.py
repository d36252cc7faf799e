"""Ledger discovery: the ledger IDs these keys may read become partitions, and the catalog records them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dagster as dg

from report_assets.assets.partitions import LEDGER_PARTITIONS_NAME, allowed_ledgers, ledger_dates
from report_assets.data_dir import DataDir
from report_assets.ledger_catalog import CATALOG_COLUMNS, CatalogUpdate, read_catalog, update_catalog, write_catalog
from report_assets.resources import DataDirResource, ReportApiResource
from report_assets.storage.schema import table_schema_of

LEDGER_CATALOG = dg.AssetKey("ledger_catalog")

ledger_catalog = dg.AssetSpec(
    LEDGER_CATALOG,
    description="Every ledger the keys can read or could once: currency, time zone (with where it came from), "
                "owner, payout account, sales units, and whether access is still granted. Kept by the ledger "
                "discovery sensor and the main job; a view `ledgers` in the warehouse and the lake views.",
    group_name="ledgers",
    kinds={"parquet", "duckdb"},
    metadata={"dagster/column_schema": table_schema_of(CATALOG_COLUMNS)},
)


def discover_ledgers(report_api: ReportApiResource, data: DataDir, known: list[str],
                     now: datetime | None = None) -> CatalogUpdate:
    """Reads the ledger list and records it in the catalog; ``known`` are the ledger partitions so far."""
    with report_api.client() as client:
        listed = client.list_ledgers()
    allowed = set(allowed_ledgers([ledger.ledger_id for ledger in listed]))
    data.claim(report_api.source)
    update = update_catalog(read_catalog(data.ledger_catalog), [x for x in listed if x.ledger_id in allowed],
                            known, now or datetime.now(UTC), ledger_dates.timezone)
    write_catalog(data.ledger_catalog, update.records)
    return update


def describe(record: dict[str, Any]) -> str:
    return (f"{record['ledger_id']} ({record['currency'] or 'currency not given'}, {record['timezone']} "
            f"from {record['timezone_source'].replace('_', ' ')})")


def catalog_materialization(update: CatalogUpdate, data: DataDir) -> dg.AssetMaterialization:
    """What the UI shows of the catalog: a table of the ledgers, and what changed."""
    shown = ("ledger_id", "currency", "timezone", "timezone_source", "owner", "listed")
    records = [dg.TableRecord({k: r[k] if r[k] is not None else "" for k in shown}) for r in update.records]
    columns = [c for c in table_schema_of(CATALOG_COLUMNS).columns if c.name in shown]
    return dg.AssetMaterialization(LEDGER_CATALOG, metadata={
        "ledgers": dg.MetadataValue.table(records, schema=dg.TableSchema(columns=columns)),
        "listed": sum(r["listed"] for r in update.records),
        "new": ", ".join(update.new) or "none",
        "withdrawn": ", ".join(update.withdrawn) or "none",
        "path": dg.MetadataValue.path(str(data.ledger_catalog)),
    })


def new_ledger_partitions(update: CatalogUpdate, known: list[str]) -> list[str]:
    return [r["ledger_id"] for r in update.records if r["listed"] and r["ledger_id"] not in known]


@dg.sensor(minimum_interval_seconds=3600, default_status=dg.DefaultSensorStatus.RUNNING)
def ledger_discovery_sensor(context: dg.SensorEvaluationContext, report_api: ReportApiResource,
                            data_dir: DataDirResource) -> dg.SensorResult:
    """Re-polls GET /settlement/v1/ledgers: ledgers appear as merchants grant access."""
    known = list(context.instance.get_dynamic_partitions(LEDGER_PARTITIONS_NAME))
    data = data_dir.data_dir()
    update = discover_ledgers(report_api, data, known)
    by_id = {r["ledger_id"]: r for r in update.records}
    for ledger_id in update.withdrawn:
        context.log.warning(f"Ledger {ledger_id} is no longer listed for these keys: its stored data is kept, "
                            "but it cannot be fetched until access is granted again.")
    if update.new:
        context.log.info("New ledgers: " + "; ".join(describe(by_id[i]) for i in update.new))
    added = new_ledger_partitions(update, known)
    return dg.SensorResult(
        dynamic_partitions_requests=[dg.AddDynamicPartitionsRequest(LEDGER_PARTITIONS_NAME, added)] if added else [],
        asset_events=[catalog_materialization(update, data)] if update.changed else [],
    )
