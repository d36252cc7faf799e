"""The account map: which general-ledger account each booking role posts to, per ledger.

Accountants change it without code (a TOML file, ``REPORT_ASSETS_ACCOUNT_MAP``; the default in
``account_map.toml`` follows NS 4102). A map that cannot be booked with is refused when it is loaded,
naming the line: a role left unmapped, an account that is not a number, one of the accounts whose
balance is checked against the ledgers or the bank shared with another role, a role or ledger table
nobody knows.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAP = Path(__file__).with_name("account_map.toml")

ROLES = ("funds_clearing", "fees_clearing", "payouts_in_transit", "bank", "sales", "refunds", "fee_expense",
         "disputes", "corrections", "top_up", "credit_notes", "fees_invoiced", "suspense")
# Their balances are checked (against the funds ledger, the fees ledger, the bank statement, by hand): an
# account of their own each, shared with no other role.
OWN_ACCOUNT = ("funds_clearing", "fees_clearing", "payouts_in_transit", "suspense")
ACCOUNT = re.compile(r"^[0-9]{4,8}$")


class AccountMapError(ValueError):
    """An account map that cannot be booked with: the message names the file, the line and what to do."""


@dataclass(frozen=True)
class AccountMap:
    accounts: dict[str, str]  # role -> account
    ledgers: dict[str, dict[str, str]]  # ledger ID -> role -> account, for the roles overridden

    def account(self, ledger_id: str, role: str) -> str:
        return self.ledgers.get(ledger_id, {}).get(role, self.accounts[role])


def line_of(text: str, key: str, table: str) -> int:
    """The line of ``key`` in ``[table]`` (or of the table itself): tomllib gives values, not places."""
    lines = text.splitlines()
    start = next((n for n, line in enumerate(lines) if line.strip() == f"[{table}]"), None)
    if start is None:
        return 1
    for n in range(start + 1, len(lines)):
        if lines[n].lstrip().startswith("["):
            break
        if re.match(rf"^\s*{re.escape(key)}\s*=", lines[n]):
            return n + 1
    return start + 1


def load_account_map(path: Path = DEFAULT_MAP) -> AccountMap:
    text = path.read_text()

    def refuse(line: int, problem: str) -> AccountMapError:
        return AccountMapError(f"{path}, line {line}: {problem}. Fix the account map (see the README, "
                               "'Booking'), then re-run: nothing was booked.")

    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise refuse(int(match.group(1)) if match else 1, f"not valid TOML ({exc})") from None
    unknown_tables = sorted(set(document) - {"accounts", "ledger"})
    if unknown_tables:
        raise refuse(line_of(text, "", unknown_tables[0]), f"unknown table [{unknown_tables[0]}]; expected "
                     "[accounts] and [ledger.<ledger ID>]")
    accounts = checked_accounts(document.get("accounts", {}), "accounts", text, refuse)
    missing = [role for role in ROLES if role not in accounts]
    if missing:
        raise refuse(line_of(text, "", "accounts"), f"role(s) {', '.join(missing)} have no account in [accounts]")
    ledgers = {}
    for ledger_id, overrides in document.get("ledger", {}).items():
        table = f"ledger.{ledger_id}"
        if not ledger_id.isdigit() or not isinstance(overrides, dict):
            raise refuse(line_of(text, "", table), f"[{table}]: expected a ledger ID and role = \"account\" lines")
        ledgers[ledger_id] = checked_accounts(overrides, table, text, refuse)
    for ledger_id in [None, *ledgers]:
        in_force = accounts | (ledgers[ledger_id] if ledger_id else {})
        for role in OWN_ACCOUNT:
            other = next((r for r in ROLES if r != role and in_force[r] == in_force[role]), None)
            if other is None:
                continue
            places = {r: line_of(text, r, f"ledger.{ledger_id}" if ledger_id and r in ledgers[ledger_id]
                                 else "accounts") for r in (role, other)}
            raise refuse(max(places.values()), f"{role} (line {places[role]}) and {other} (line {places[other]}) "
                         f"both post to {in_force[role]}" + (f" for ledger {ledger_id}" if ledger_id else "")
                         + f"; {role} needs an account of its own, since its balance is checked")
    return AccountMap(accounts, ledgers)


def checked_accounts(values: object, table: str, text: str,
                     refuse: Callable[[int, str], AccountMapError]) -> dict[str, str]:
    if not isinstance(values, dict):
        raise refuse(line_of(text, "", table), f"[{table}] must be a table of role = \"account\" lines")
    for role, account in values.items():
        if role not in ROLES:
            raise refuse(line_of(text, role, table), f"unknown role {role!r}; the roles are {', '.join(ROLES)}")
        if not isinstance(account, str) or not ACCOUNT.match(account):
            raise refuse(line_of(text, role, table), f"{role} = {account!r}: expected an account number in quotes, "
                         "4 to 8 digits (e.g. \"1920\")")
    return dict(values)
