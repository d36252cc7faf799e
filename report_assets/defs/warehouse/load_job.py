"""The warehouse step of a deployment whose runs execute on other machines: a job, run on the machine that holds
the DuckDB file, that loads what changed in the lake (``pipeline.warehouse_load``). It takes the warehouse pool,
so it never overlaps a run writing the same file; the books recompute after it as after any ledger run."""

from collections.abc import Callable

import dagster as dg

from report_assets.defs.resources import DataDirResource
from report_assets.lake.data_dir import DataDir
from report_assets.pipeline.warehouse_load import load_warehouse
from report_assets.settings import Settings, rules_of

LOAD_JOB_NAME = "load_warehouse_job"


def load_warehouse_job(settings: Settings) -> dg.JobDefinition:
    """The job, summarizing and checking with the settings' rules."""

    @dg.op(pool="report_assets_warehouse", description="Load the lake files whose ETag changed since the last load "
           "into the warehouse, and recompute the checks and summaries of the ledger-days they hold.")
    def load_warehouse_from_lake(context: dg.OpExecutionContext, data_dir: DataDirResource) -> None:
        context.add_output_metadata(load_metadata(data_dir.data_dir(), settings, context.log.info))

    @dg.job(name=LOAD_JOB_NAME, description="Load what changed in the Parquet lake into the DuckDB warehouse on this "
            "machine (runs on other machines write only the lake and their own scratch warehouse).")
    def load_warehouse_job() -> None:
        load_warehouse_from_lake()

    return load_warehouse_job


def load_metadata(data: DataDir, settings: Settings, say: Callable[[str], None]) -> dict[str, object]:
    """Loads, and says what was loaded, for the op's output."""
    outcome = load_warehouse(data, rules_of(settings), say=say)
    dates = sorted({day for days in outcome.loaded.values() for day in days})
    return {
        "lake": data.lake.location,
        "files_loaded": sum(map(len, outcome.loaded.values())),
        "files_unchanged": outcome.unchanged,
        "rows_loaded": outcome.rows,
        "ledger_days_resummarized": outcome.summarized,
        "dates": f"{dates[0]} to {dates[-1]}" if dates else "none",
        "check_findings": dg.MetadataValue.md("\n".join(
            f"- **{check}**: {len(found)}: " + "; ".join(found[:5]) for check, found in sorted(
                outcome.failures.items())) or "none"),
    }
