"""The one Definitions of the project: assets, resources and sensors.

With no Report API credentials in the environment the code location reads the embedded simulator;
with all of them it reads production; with some of them it refuses to load and says what is missing.
"""

from __future__ import annotations

import dagster as dg

from report_assets.assets.ledgers import ledger_entries
from report_assets.automation.discovery import ledger_catalog, ledger_discovery_sensor
from report_assets.automation.intraday_sensor import intraday_feed_sensor
from report_assets.automation.schedules import hourly_ledger_refresh, refresh_ledgers_job
from report_assets.local_instance import seed_ledger_partitions
from report_assets.resources import SIMULATOR, DataDirResource, report_api_from_env
from report_assets.simulator.world import default_ledgers

report_api = report_api_from_env()
if report_api.source == SIMULATOR and not report_api.base_url:
    seed_ledger_partitions([spec.ledger_id for spec in default_ledgers()])

defs = dg.Definitions(
    assets=[ledger_entries, ledger_catalog],
    sensors=[ledger_discovery_sensor, intraday_feed_sensor],
    schedules=[hourly_ledger_refresh],
    jobs=[refresh_ledgers_job],
    resources={"report_api": report_api, "data_dir": DataDirResource()},
)
