"""The account map: which general-ledger account each booking role posts to, per ledger, with the VAT code
of each role and whether the exports carry the bank-arrival vouchers.

Accountants change it without code (a TOML file, ``REPORT_ASSETS_ACCOUNT_MAP``; the default in
``account_map.toml`` follows NS 4102). A map that cannot be booked with is refused when it is loaded,
naming the line: a role left unmapped, an account that is not a number, one of the accounts whose
balance is checked against the ledgers or the bank shared with another role, a role or ledger table
nobody knows.
"""

from __future__ import annotations

import csv
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_MAP = Path(__file__).with_name("account_map.toml")

ROLES = ("funds_clearing", "fees_clearing", "payouts_in_transit", "bank", "sales", "refunds", "fee_expense",
         "disputes", "corrections", "top_up", "credit_notes", "fees_invoiced", "suspense")
# Their balances are checked (against the funds ledger, the fees ledger, the bank statement, by hand): an
# account of their own each, shared with no other role.
OWN_ACCOUNT = ("funds_clearing", "fees_clearing", "payouts_in_transit", "suspense")
ACCOUNT = re.compile(r"^[0-9]{4,8}$")
REFERENCE = Path(__file__).with_name("reference")
STANDARD_TAX_CODES = REFERENCE / "Standard_Tax_Codes.csv"  # Skatteetaten's list, as published


def standard_tax_codes() -> dict[str, dict[str, str]]:
    """Code -> its row (DescriptionNOB, DescriptionENG, TaxRate, Compensation)."""
    with STANDARD_TAX_CODES.open(encoding="utf-8-sig") as handle:
        return {row["Code"]: row for row in csv.DictReader(handle, delimiter=";")}


# The ledgers carry gross amounts and no VAT: a code with a rate would need the VAT split out of each line, which
# only the sales system can do (it knows each sale's rate). The map takes the codes without a rate.
BOOKABLE_TAX_RATES = ("", "Zero rate")


class AccountMapError(ValueError):
    """An account map that cannot be booked with: the message names the file, the line and what to do."""


@dataclass(frozen=True)
class AccountMap:
    accounts: dict[str, str]  # role -> account
    ledgers: dict[str, dict[str, str]]  # ledger ID -> role -> account, for the roles overridden
    vat: dict[str, str] = field(default_factory=dict)  # role -> standard VAT code ("0" when not given)
    bank_vouchers: bool = True  # the exports carry the payouts' arrival on the bank (off: the bank feed books them)
    descriptions: dict[str, str] = field(default_factory=dict)  # account -> what it is, from the map's comments

    def account(self, ledger_id: str, role: str) -> str:
        return self.ledgers.get(ledger_id, {}).get(role, self.accounts[role])

    def vat_code(self, role: str) -> str:
        return self.vat.get(role, "0")


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
    unknown_tables = sorted(set(document) - {"accounts", "ledger", "vat", "options"})
    if unknown_tables:
        raise refuse(line_of(text, "", unknown_tables[0]), f"unknown table [{unknown_tables[0]}]; expected "
                     "[accounts], [vat], [options] and [ledger.<ledger ID>]")
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
    return AccountMap(accounts, ledgers, checked_vat(document.get("vat", {}), text, refuse),
                      checked_options(document.get("options", {}), text, refuse), account_comments(text))


def checked_vat(values: object, text: str, refuse: Callable[[int, str], AccountMapError]) -> dict[str, str]:
    if not isinstance(values, dict):
        raise refuse(line_of(text, "", "vat"), "[vat] must be a table of role = \"code\" lines")
    codes = standard_tax_codes()
    for role, code in values.items():
        if role not in ROLES:
            raise refuse(line_of(text, role, "vat"), f"unknown role {role!r}; the roles are {', '.join(ROLES)}")
        if not isinstance(code, str) or code not in codes:
            raise refuse(line_of(text, role, "vat"), f"{role} = {code!r}: expected a standard VAT code in quotes "
                         f"(one of {', '.join(codes)})")
        if codes[code]["TaxRate"] not in BOOKABLE_TAX_RATES:
            raise refuse(line_of(text, role, "vat"), f"{role} = \"{code}\" ({codes[code]['DescriptionENG']}, "
                         f"{codes[code]['TaxRate'].lower()}): the ledgers carry gross amounts without VAT, so a code "
                         "with a rate cannot be booked here; book captures to the account your sales system books "
                         "the sales (with their VAT) against, with code 0 (README, 'Booking')")
    return dict(values)


def checked_options(values: object, text: str, refuse: Callable[[int, str], AccountMapError]) -> bool:
    if not isinstance(values, dict) or set(values) - {"bank_vouchers"} or \
            not isinstance(values.get("bank_vouchers", True), bool):
        raise refuse(line_of(text, "", "options"), "[options] takes bank_vouchers = true or false")
    return values.get("bank_vouchers", True)


def account_comments(text: str) -> dict[str, str]:
    """What each account is, from the comment on the line that maps it (``sales = "3000"  # 3000 sales revenue``),
    for the account lists of the exports."""
    found: dict[str, str] = {}
    for match in re.finditer(r'^\s*[a-z_]+\s*=\s*"([0-9]{4,8})"\s*#\s*(?:[0-9]{4}\s+)?(.+)$', text, re.MULTILINE):
        found.setdefault(match.group(1), match.group(2).split(":")[0].strip())
    return found


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
