"""Ledger discovery: re-polls the ledger list into the catalog, and asks for the history of new ledgers."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from report_assets.defs.columns import table_schema_of
from report_assets.defs.resources import DataDirResource, ReportApiResource
from report_assets.lake.data_dir import DataDir
from report_assets.lake.ledger_catalog import (
    CATALOG_COLUMNS,
    CATALOG_NAME,
    CatalogUpdate,
    ledgers_for_run,
    read_catalog,
    update_catalog,
    write_catalog,
)
from report_assets.lake.schema import TABLE_OF_TOPIC
from report_assets.settings import Settings
from report_assets.transforms.summaries import SUMMARY_TABLES

LEDGER_CATALOG = dg.AssetKey("ledger_catalog")

ledger_catalog = dg.AssetSpec(
    LEDGER_CATALOG,
    description="Every ledger the keys can read or could once: currency, time zone (with where it came from), "
                "owner, payout account, sales units, and whether access is still granted. Kept by the ledger "
                "discovery sensor and the runs; a view `ledgers` in the warehouse and the lake views.",
    group_name="ledgers",
    kinds={"parquet", "duckdb"},
    metadata={"dagster/column_schema": table_schema_of(CATALOG_COLUMNS)},
)

refresh_ledgers_job = dg.define_asset_job(
    "refresh_ledgers",
    selection=dg.AssetSelection.assets(*TABLE_OF_TOPIC.values(), *SUMMARY_TABLES),
    description="Fetch the ledger-days of the selected dates that are not stored closed, for every tracked ledger "
                "(or those the run config names), with their summaries, journal lines and checks.",
)


def discover_ledgers(report_api: ReportApiResource, data: DataDir, settings: Settings, now: datetime | None = None,
                     ledger_ids: list[str] | None = None) -> CatalogUpdate:
    """Reads the ledger list and records it in the catalog. An allow-list (or ``ledger_ids``, a run's) naming a
    ledger these keys cannot read raises ``TrackingError`` before anything is written."""
    with report_api.client() as client:
        report_api.claim(data, client)
        listed = client.list_ledgers()
    update = update_catalog(read_catalog(data.lake), listed, now or datetime.now(UTC), settings.timezone,
                            settings.ledger_timezones)
    ledgers_for_run({r["ledger_id"]: r for r in update.records}, settings.ledger_ids, ledger_ids or [])
    write_catalog(data.lake, update.records)
    return update


def describe(record: dict[str, Any]) -> str:
    return (f"{record['ledger_id']} ({record['currency'] or 'currency not given'}, {record['timezone']} "
            f"from {record['timezone_source'].replace('_', ' ')})")


def catalog_materialization(update: CatalogUpdate, data: DataDir) -> dg.AssetMaterialization:
    """What the UI shows of the catalog: a table of the ledgers (the first 500), and what changed."""
    shown = ("ledger_id", "currency", "timezone", "timezone_source", "owner", "listed")
    records = [dg.TableRecord({k: r[k] if r[k] is not None else "" for k in shown}) for r in update.records[:500]]
    columns = [c for c in table_schema_of(CATALOG_COLUMNS).columns if c.name in shown]
    return dg.AssetMaterialization(LEDGER_CATALOG, metadata={
        "ledgers": dg.MetadataValue.table(records, schema=dg.TableSchema(columns=columns)),
        "listed": sum(r["listed"] for r in update.records),
        "new": ", ".join(update.new[:200]) or "none",
        "withdrawn": ", ".join(update.withdrawn[:200]) or "none",
        "path": dg.MetadataValue.path(data.lake.table_uri(CATALOG_NAME)),
    })


def history_requests(new_ledgers: list[str], batch: int, first: str, today: str) -> list[dg.RunRequest]:
    """Runs over every date from ``first`` to ``today``, restricted to the new ledgers, a bounded batch each: what
    is stored of other ledgers is not read again."""
    requests = []
    for start in range(0, len(new_ledgers), batch):
        ids = new_ledgers[start:start + batch]
        digest = hashlib.sha1(",".join(ids).encode()).hexdigest()[:12]
        requests.append(dg.RunRequest(
            run_key=f"history-{digest}",
            tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": today,
                  "report_assets/new_ledgers": str(len(ids))},
            run_config={"ops": {"ledger_entries": {"config": {"ledger_ids": ids}}}},
        ))
    return requests


def ledger_discovery_sensor(settings: Settings, dates: dg.DailyPartitionsDefinition) -> dg.SensorDefinition:
    """The sensor that keeps the catalog, tracking the ledgers the settings allow, from their start date."""

    @dg.sensor(minimum_interval_seconds=3600, default_status=dg.DefaultSensorStatus.RUNNING, job=refresh_ledgers_job)
    def ledger_discovery_sensor(context: dg.SensorEvaluationContext, report_api: ReportApiResource,
                                data_dir: DataDirResource) -> dg.SensorResult:
        """Re-polls GET /settlement/v1/ledgers: ledgers appear as merchants grant access, and get their history."""
        data = data_dir.data_dir()
        update = discover_ledgers(report_api, data, settings)
        by_id = {r["ledger_id"]: r for r in update.records}
        for ledger_id in update.withdrawn:
            context.log.warning(f"Ledger {ledger_id} is no longer listed for these keys: its stored data is kept, "
                                "but it is not fetched until access is granted again.")
        if update.new:
            context.log.info("New ledgers: " + "; ".join(describe(by_id[i]) for i in update.new[:50]))
        new = [i for i in update.new if settings.ledger_ids is None or i in settings.ledger_ids]
        first = dates.get_first_partition_key()
        return dg.SensorResult(
            run_requests=history_requests(new, settings.history_batch, first, dates.get_last_partition_key() or first),
            asset_events=[catalog_materialization(update, data)] if update.changed else [],
        )

    return ledger_discovery_sensor
