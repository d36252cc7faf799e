"""What the UI shows of each ledger date: counts of ledgers by outcome, money by currency, a table of the date.

Numbers an analyst plots across dates are plain numeric metadata (``captured_NOK``, ``payout_EUR``, in
major units, one per currency, never a total across currencies).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dagster as dg

from report_assets.core.money import major_units, money_text
from report_assets.lake.parquet_lake import ParquetLake
from report_assets.lake.schema import TABLE_OF_TOPIC
from report_assets.pipeline.date_figures import DateFigures, stored_figures
from report_assets.pipeline.ingestion import DateOutcome
from report_assets.report_api.entry_schema import PAYOUT_ENTRY_TYPES

# Per topic, the entry types whose sums are worth a plot: metadata name -> (entry types, sign shown).
LEDGER_MONEY = {
    "funds": {"captured": (("capture",), 1), "refunded": (("refund",), -1), "fees_retained": (("fees-retained",), -1),
              "payout": (tuple(sorted(PAYOUT_ENTRY_TYPES)), -1)},
    "fees": {"capture_fees": (("capture-fee",), -1), "service_fees": (("service-fee",), -1),
             "fees_retained": (("fees-retained",), 1), "fees_invoiced": (("fees-invoiced",), 1)},
}
def shown_amount(by_entry_type: dict[str, int], types: tuple[str, ...], sign: int) -> int:
    """The sum of some entry types, signed as shown (a payout positive)."""
    return sum(by_entry_type.get(t, 0) for t in types) * sign


TABLE_LIMIT = 20  # all ledgers of a date up to this many; beyond, the largest ten and every failed one


def ledger_states(outcome: DateOutcome) -> dict[str, str]:
    states = {i: "closed" for i in outcome.stored_closed} | {i: "OPEN" for i in outcome.stored_open}
    states |= {i: "already closed (skipped)" for i in outcome.skipped_closed}
    states |= {i: "not begun in its time zone" for i in outcome.not_begun}
    return states | {i: "FAILED" for i in outcome.failed}


def outcome_metadata(outcome: DateOutcome) -> dict[str, Any]:
    return {
        "ledgers_tracked": len(ledger_states(outcome)),
        "ledgers_stored_closed": len(outcome.stored_closed),
        "ledgers_stored_open": len(outcome.stored_open),
        "ledgers_skipped_closed": len(outcome.skipped_closed),
        "ledgers_not_begun": len(outcome.not_begun),
        "ledgers_failed": len(outcome.failed),
        "failed_ledgers": dg.MetadataValue.json(sorted(outcome.failed)),
    }


def shown_ledgers(figures: DateFigures, outcome: DateOutcome) -> list[str]:
    everyone = sorted(set(ledger_states(outcome)) | set(figures.ledgers))
    if len(everyone) <= TABLE_LIMIT:
        return everyone
    largest = sorted(figures.ledgers, key=lambda i: -figures.ledgers[i].entries)[:10]
    return sorted(set(largest) | set(outcome.failed))


def date_table(topic: str, figures: DateFigures, outcome: DateOutcome) -> str:
    states = ledger_states(outcome)
    money = LEDGER_MONEY[topic]
    lines = ["| ledger | state | entries | " + " | ".join(money) + " |", "|---" * (3 + len(money)) + "|"]
    for ledger_id in shown_ledgers(figures, outcome):
        ledger = figures.ledgers.get(ledger_id)
        cells = [ledger_id, states.get(ledger_id, "stored before"), str(ledger.entries if ledger else 0)]
        for types, sign in money.values():
            cells.append(money_text(shown_amount(ledger.by_entry_type, types, sign), ledger.currency) if ledger else "")
        lines.append("| " + " | ".join(cells) + " |")
    if len(lines) - 2 < len(states):
        lines.append(f"\n{len(states)} ledgers in all: the ten largest and every failed one are shown.")
    return "\n".join(lines)


def failures_text(outcome: DateOutcome) -> str:
    return "\n".join(f"- {ledger_id}: {error}" for ledger_id, error in sorted(outcome.failed.items())[:20])


def ledger_materialization(topic: str, outcome: DateOutcome, figures: DateFigures, lake: ParquetLake,
                           source: str) -> dg.AssetMaterialization:
    table = TABLE_OF_TOPIC[topic]
    metadata: dict[str, Any] = {"dagster/row_count": figures.rows, "dagster/table_name": f"warehouse.main.{table}",
                                "source": source, **outcome_metadata(outcome)}
    for currency, by_type in sorted(figures.by_currency.items()):
        for name, (types, sign) in LEDGER_MONEY[topic].items():
            metadata[f"{name}_{currency}"] = major_units(shown_amount(by_type, types, sign), currency)
    metadata["the_date"] = dg.MetadataValue.md(date_table(topic, figures, outcome))
    if outcome.failed:
        metadata["failures"] = dg.MetadataValue.md(failures_text(outcome))
    metadata["parquet_path"] = dg.MetadataValue.path(str(lake.date_uri(topic, outcome.ledger_date)))
    return dg.AssetMaterialization(asset_key=table, partition=outcome.ledger_date, description=description(outcome),
                                   metadata=metadata)


def description(outcome: DateOutcome) -> str:
    parts = [f"{len(outcome.stored_closed)} ledger(s) stored closed", f"{len(outcome.stored_open)} open",
             f"{len(outcome.skipped_closed)} already closed"]
    if outcome.failed:
        parts.append(f"{len(outcome.failed)} FAILED ({', '.join(sorted(outcome.failed)[:5])}"
                     f"{', ...' if len(outcome.failed) > 5 else ''})")
    return ", ".join(parts)


def summary_materialization(table: str, outcome: DateOutcome, figures: DateFigures, lake: ParquetLake,
                            source: str) -> dg.AssetMaterialization:
    metadata: dict[str, Any] = {"dagster/row_count": figures.rows, "dagster/table_name": f"warehouse.main.{table}",
                                "source": source, "ledgers": len(figures.ledgers)}
    for currency, sums in sorted(figures.by_currency.items()):
        for column, amount in sums.items():
            metadata[f"{column}_{currency}"] = major_units(amount, currency)
        if table == "daily_fee_summary" and sums["captured_amount"]:
            metadata[f"effective_fee_rate_{currency}"] = sums["fees_of_captures"] / sums["captured_amount"]
    metadata["parquet_path"] = dg.MetadataValue.path(str(lake.date_uri(table, outcome.ledger_date)))
    return dg.AssetMaterialization(asset_key=table, partition=outcome.ledger_date, metadata=metadata,
                                   description=f"{figures.rows} row(s) over {len(figures.ledgers)} ledger(s)")


def date_materializations(outcome: DateOutcome, topics: list[str], summaries: list[str], lake: ParquetLake,
                          source: str, figures: dict[tuple[str, str], DateFigures]
                          ) -> Iterator[dg.AssetMaterialization]:
    """A date's materializations, with the figures of its files as the run left them (``figures``, from the
    run's own writes; a file the run did not rewrite is read)."""

    def of(dataset: str) -> DateFigures:
        found = figures.get((dataset, outcome.ledger_date))
        return found if found is not None else stored_figures(lake, dataset, outcome.ledger_date)

    for topic in topics:
        yield ledger_materialization(topic, outcome, of(topic), lake, source)
    for table in summaries:
        yield summary_materialization(table, outcome, of(table), lake, source)
