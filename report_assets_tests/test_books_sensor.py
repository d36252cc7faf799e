"""The books sensor's idea of stale books, in a real instance: what it compares, not when it ticks."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from report_assets.defs.automation.books_sensor import books_after_ledger_runs


def books_run(instance: dg.DagsterInstance, ledger_write_while_running: bool) -> None:
    """A run materializing the books; optionally a ledger-day is stored while it runs (after it read the data)."""

    @dg.asset(name="monthly_statement")
    def statement() -> None:
        if ledger_write_while_running:
            instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="funds_ledger"))

    assert dg.materialize([statement], instance=instance).success


def tick(instance: dg.DagsterInstance) -> dg.RunRequest | dg.SkipReason:
    return books_after_ledger_runs(dg.build_sensor_context(instance=instance))


def test_books_computed_after_the_ledgers_are_left_alone_and_stored_ledger_days_make_them_stale(
    tmp_path: Path,
) -> None:
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="funds_ledger"))
        assert isinstance(tick(instance), dg.RunRequest)  # ledger-days and no books yet
        books_run(instance, ledger_write_while_running=False)
        assert isinstance(tick(instance), dg.SkipReason)
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="daily_payout_summary"))
        assert isinstance(tick(instance), dg.RunRequest)


def test_books_whose_run_began_before_a_ledger_write_and_ended_after_it_are_stale(tmp_path: Path) -> None:
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        books_run(instance, ledger_write_while_running=True)  # materialized after the write, computed before it
        assert isinstance(tick(instance), dg.RunRequest)
