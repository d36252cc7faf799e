"""The local Dagster instance, for seeding the simulator's ledgers as partitions at load time.

Without this, ``dagster asset materialize --partition 2026-01-31|302321`` fails in a fresh clone:
the CLI checks the key against the instance's ledger partitions, which only the discovery sensor or
the main job would otherwise have filled.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import dagster as dg
from dagster._core.instance.ref import InstanceRef

from report_assets.assets.partitions import LEDGER_PARTITIONS_NAME, allowed_ledgers

log = logging.getLogger(__name__)


def open_local_instance() -> dg.DagsterInstance | None:
    """The instance a dagster command in this directory uses, or None if it keeps nothing."""
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    if not (Path.cwd() / "dagster.yaml").exists():
        return None
    # As the dagster CLI does without DAGSTER_HOME: a scratch home, with the storage dagster.yaml names.
    return dg.DagsterInstance.from_ref(InstanceRef.from_dir(tempfile.mkdtemp(), config_dir=os.getcwd()))


def seed_ledger_partitions(ledger_ids: list[str]) -> None:
    try:
        instance = open_local_instance()
        if instance is None:
            return
        with instance:
            missing = [i for i in allowed_ledgers(ledger_ids)
                       if not instance.has_dynamic_partition(LEDGER_PARTITIONS_NAME, i)]
            if missing:
                instance.add_dynamic_partitions(LEDGER_PARTITIONS_NAME, missing)
    except Exception as exc:
        log.warning("Could not register the simulator's ledgers as partitions: %s", exc)
