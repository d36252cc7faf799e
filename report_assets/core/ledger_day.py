"""One ledger date of one ledger: the unit the API serves, the status records and a run repairs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class LedgerDay:
    ledger_date: str  # YYYY-MM-DD, in the ledger's own time zone
    ledger_id: str

    @property
    def key(self) -> tuple[str, str]:
        """(ledger_id, ledger_date): the order the SQL files and the warehouse use."""
        return self.ledger_id, self.ledger_date

    def __str__(self) -> str:
        return f"ledger {self.ledger_id} on {self.ledger_date}"
