"""Why a run of ledger dates fails, said once everything else is stored and reported: ledger-days that could not
be stored, and wrong data the blocking checks found, each with what to do."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from report_assets.core.checks import Check, Finding
from report_assets.pipeline.ingestion import DateOutcome

FIRST = 10  # failures of each kind listed; the rest are counted


@dataclass(frozen=True)
class RunFailure:
    not_stored: list[Finding]  # a ledger-day the run could not store, with what went wrong
    wrong: dict[Check, list[Finding]]  # what each blocking check found
    transient: bool  # some ledger-day failed on an API that stayed unavailable: a later retry may succeed

    @property
    def failed_ledger_days(self) -> list[str]:
        return [f"{f.ledger_date}|{f.ledger_id}" for f in self.not_stored]

    def description(self) -> str:
        text = ""
        if self.not_stored:
            text += (f"{len(self.not_stored)} ledger-day(s) failed and were not stored; every other one was. Re-run "
                     "the same dates: the run fetches only what is missing. ")
        if self.wrong:
            checks = ", ".join(sorted(f"{c.asset}.{c.name}" for c in self.wrong))
            days = sorted({f"{f.ledger_id} on {f.ledger_date}" for found in self.wrong.values() for f in found})
            text += (f"Checks found wrong data ({checks}) in {len(days)} ledger-day(s) ({', '.join(days[:5])}"
                     f"{', ...' if len(days) > 5 else ''}): those got no summaries; the data is stored as the API "
                     "served it, for a look. ")
        lines = [f"- {f}" for f in self.not_stored[:FIRST]]
        lines += [f"- {f.ledger_id} on {f.ledger_date}: {c.name}: {f.detail}"
                  for c, found in self.wrong.items() for f in found][:FIRST]
        return text + "First failures:\n" + "\n".join(lines)


def run_failure(outcomes: list[DateOutcome], findings: Mapping[Check, list[Finding]]) -> RunFailure | None:
    """The run's failure, or None when every due ledger-day was stored and no blocking check found anything."""
    not_stored = [Finding(error, ledger_id, o.ledger_date) for o in outcomes
                  for ledger_id, error in sorted(o.failed.items())]
    wrong = {check: found for check, found in findings.items() if check.blocking and found}
    if not not_stored and not wrong:
        return None
    return RunFailure(not_stored, wrong, any(o.transient for o in outcomes))
