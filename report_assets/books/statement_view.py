"""A monthly statement as people read it: one line per term, in major units with the currency, in the order
that adds up on screen (opening balances, each movement, what moved on dates not stored, closing balances),
then the memo lines. The console's preview and the UI's metadata both show it this way."""

from __future__ import annotations

from report_assets.books.build import STATEMENT_MOVEMENTS
from report_assets.core.money import money_text

OPENING = ("opening_funds_balance", "opening_fees_balance")
CLOSING = ("closing_funds_balance", "closing_fees_balance")
MEMO = ("payouts_arrived", "in_transit_at_month_end")
LABELS = {"opening_funds_balance": "opening funds balance", "opening_fees_balance": "opening fees balance",
          "fee_expense": "fees", "top_up": "top-ups", "credit_notes": "credit notes",
          "fees_invoiced": "fees invoiced", "payouts_scheduled": "payouts scheduled",
          "payouts_aborted": "payouts aborted", "moved_on_missing_dates": "moved on dates not stored",
          "closing_funds_balance": "closing funds balance", "closing_fees_balance": "closing fees balance",
          "payouts_arrived": "(memo) payouts arrived at the bank", "in_transit_at_month_end": "(memo) in transit"}


def statement_lines(statement: dict) -> list[tuple[str, int | str]]:
    """(label, minor units or text) per line: the opening balances, the movements that are not zero, the closing
    balances (each a sum of the lines above it), the memo lines, and what is not final."""
    movements = [c for c in (*STATEMENT_MOVEMENTS, "moved_on_missing_dates") if statement[c]]
    lines: list[tuple[str, int | str]] = [(LABELS.get(c, c), statement[c] or 0) for c in (*OPENING, *movements)]
    total = sum(statement[c] or 0 for c in (*OPENING, *movements))
    lines += [(LABELS[c], statement[c] or 0) for c in CLOSING]
    if total != sum(statement[c] or 0 for c in CLOSING):  # the check statement_ties fails too
        lines.append(("DOES NOT ADD UP: the lines above sum to", total))
    lines += [(LABELS[c], statement[c] or 0) for c in MEMO]
    if statement["missing_dates"]:
        lines.append(("not stored (not final)", statement["missing_dates"]))
    if statement["open_dates"]:
        lines.append(("still open in the API (not final)", statement["open_dates"]))
    if statement.get("computed_at"):
        lines.append(("books computed at", f"{statement['computed_at']:%Y-%m-%d %H:%M} UTC"))
    return lines


def statement_terms(statement: dict) -> list[tuple[str, str]]:
    """The same lines with the amounts in major units and the currency, for people."""
    return [(label, money_text(value, statement["currency"]) if isinstance(value, int) else value)
            for label, value in statement_lines(statement)]


def statement_text(statement: dict) -> str:
    """For the console: a ledger's month, one term a line."""
    terms = statement_terms(statement)
    width = max(len(label) for label, _ in terms)
    final = "final" if statement["is_final"] else "NOT FINAL"
    head = f"ledger {statement['ledger_id']}, {statement['month']} ({statement['days_stored']} days stored, {final})"
    return "\n".join([head, *(f"  {label:<{width}}  {amount:>20}" for label, amount in terms)])


def statement_markdown(statements: list[dict]) -> str:
    """For the UI: one column per ledger (up to 6), one row per term."""
    shown = statements[:6]
    labels: list[str] = []
    cells: dict[tuple[str, str], str] = {}
    for statement in shown:
        for label, amount in statement_terms(statement):
            if label not in labels:
                labels.append(label)
            cells[(statement["ledger_id"], label)] = amount
    header = ["", *(f"{s['ledger_id']} {s['month']}" for s in shown)]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    lines += ["| " + " | ".join([label, *(cells.get((s["ledger_id"], label), "") for s in shown)]) + " |"
              for label in labels]
    return "\n".join(lines)
