"""What the data is held to, and what a check found: one model for the ledgers', the summaries' and the books'
checks, which the Dagster layer shows the same way whichever layer ran them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Check:
    """One rule, shown on its asset in the UI."""

    asset: str
    name: str
    blocking: bool  # ERROR: wrong data (a ledger-day gets no summaries; the run fails); else WARN: doubtful data
    description: str


@dataclass(frozen=True)
class Finding:
    """One failure of a check: what is wrong as people read it (money in major units), and the ledger, and the
    ledger date, it is about when it is about one."""

    detail: str
    ledger_id: str | None = None
    ledger_date: str | None = None

    def __str__(self) -> str:
        where = " on ".join(part for part in (self.ledger_id and f"ledger {self.ledger_id}", self.ledger_date) if part)
        return f"{where}: {self.detail}" if where else self.detail


Findings = dict[Check, list[Finding]]
