"""Bank statements in ISO 20022 camt.053, read from a folder into bank lines, as banks write them.

The standard library's XML parser reads them: the part needed is a few elements of one message, the namespace
differs by version (camt.053.001.02 to .001.13), and the one camt.053 library on the package index is a
pre-release (0.0.x). What real banks write, and how each is read:
- booking dates as ``<Dt>`` with or without an offset (``2017-04-01+02:00``), or as ``<DtTm>``: the date as the
  bank wrote it, which is the bank's own day;
- the status as ``<Sts>BOOK</Sts>`` (.001.02) or ``<Sts><Cd>BOOK</Cd></Sts>`` (from .001.08); only booked entries
  count;
- a batch entry (several ``NtryDtls/TxDtls`` with their own amounts, say a day's card settlements in one entry)
  becomes one line per transaction; an entry with one transaction, or whose transactions carry no amounts of
  their own, one line;
- a reversal (``RvslInd``) keeps the direction its ``CdtDbtInd`` gives (a reversed credit is a debit) and is
  marked, so that a payout that came back is not taken as arrived;
- several statements (accounts, currencies) in one file; the account written as IBAN or in any local form
  (``core.bank_accounts`` makes one key of it).

**Which line is which.** Two equal entries (same amount, date and text) are two lines. The same entry delivered
twice (a daily and a monthly statement of one account, or a file dropped in twice) counts once: an entry is the
account's and the bank's own reference for it (``AcctSvcrRef``) where the bank gives one; otherwise the statement's
ID with the entry's ``NtryRef`` (or its position): that still tells a file dropped in twice, but not a daily from a
monthly statement of a bank that gives no ``AcctSvcrRef``.

A file that cannot be read is set aside, not fatal: it is reported with the reason and, where its text still shows
them, its account and period, and the other files are read as usual.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import asdict, dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyarrow as pa

from report_assets.core.bank_accounts import COUNTRY_OF_CURRENCY, account_key
from report_assets.core.money import digits as currency_digits

NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.053."
STATEMENT_SUFFIXES = (".xml", ".camt053", ".camt")
BANK_LINE_SCHEMA = pa.schema([
    pa.field("bank_account", pa.string()), pa.field("account_key", pa.string()), pa.field("currency", pa.string()),
    pa.field("booking_date", pa.date32()), pa.field("amount", pa.int64()), pa.field("text", pa.string()),
    pa.field("bank_reference", pa.string()), pa.field("reversal", pa.bool_()), pa.field("statement_file", pa.string()),
    pa.field("entry_index", pa.int32()), pa.field("line_id", pa.string()),
])
UNREADABLE_SCHEMA = pa.schema([
    pa.field("statement_file", pa.string()), pa.field("reason", pa.string()), pa.field("account_key", pa.string()),
    pa.field("period_from", pa.date32()), pa.field("period_to", pa.date32()),
])
ISO_DATE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})")
TRUE = ("true", "1")
SIGN = {"CRDT": 1, "DBIT": -1}  # CdtDbtInd: credit positive


class BankStatementError(ValueError):
    """A file in the bank folder that cannot be read as camt.053: the message says why."""


@dataclass(frozen=True)
class BankLine:
    bank_account: str  # as the statement writes it, for display
    account_key: str  # one form of the account for matching (core.bank_accounts)
    currency: str
    booking_date: date
    amount: int  # minor units, credit positive
    text: str
    bank_reference: str
    reversal: bool
    statement_file: str
    entry_index: int  # position among the file's entries, so a line is identified even without a bank reference
    line_id: str  # which entry of which account this is, across files (see the module's docstring)


@dataclass(frozen=True)
class UnreadableFile:
    statement_file: str
    reason: str
    account_key: str  # what the text still shows, else empty
    period_from: date | None
    period_to: date | None


@dataclass
class BankFolder:
    lines: pa.Table
    unreadable: list[UnreadableFile]

    def unreadable_table(self) -> pa.Table:
        return pa.Table.from_pylist([asdict(u) for u in self.unreadable], schema=UNREADABLE_SCHEMA)


def minor_units(text: str, currency: str) -> int:
    digits = currency_digits(currency)
    value = Decimal(text.strip()) * 10 ** digits
    if value != value.to_integral_value():
        raise InvalidOperation(f"{text} has more than {digits} decimals")
    return int(value)


def bank_date(text: str | None) -> date | None:
    """``2017-04-01``, ``2017-04-01+02:00`` or ``2017-04-01T10:15:00+02:00``: the date the bank wrote."""
    found = ISO_DATE.match(text or "")
    return date.fromisoformat(found.group(1)) if found else None


class Reader:
    """One file's statements: every element looked up in the file's own namespace."""

    def __init__(self, namespace: str, file_name: str) -> None:
        self.ns = {"c": namespace}
        self.file_name = file_name
        self.position = 0

    def text(self, element: ET.Element, path: str) -> str:
        return (element.findtext(path, namespaces=self.ns) or "").strip()

    def all_texts(self, element: ET.Element, path: str) -> list[str]:
        return [found.text.strip() for found in element.iterfind(path, self.ns) if found.text and found.text.strip()]

    def statement(self, statement: ET.Element) -> list[BankLine]:
        written = self.text(statement, "c:Acct/c:Id/c:IBAN") or self.text(statement, "c:Acct/c:Id/c:Othr/c:Id")
        currency = self.text(statement, "c:Acct/c:Ccy")
        bic = self.text(statement, "c:Acct/c:Svcr/c:FinInstnId/c:BIC") or \
            self.text(statement, "c:Acct/c:Svcr/c:FinInstnId/c:BICFI")
        key = account_key(written, bic[4:6] if len(bic) >= 6 else COUNTRY_OF_CURRENCY.get(currency))
        statement_id = self.text(statement, "c:Id")
        lines: list[BankLine] = []
        for entry in statement.iterfind("c:Ntry", self.ns):
            self.position += 1
            status = self.text(entry, "c:Sts") or self.text(entry, "c:Sts/c:Cd")
            if status != "BOOK":
                continue  # pending or informational: not on the account yet
            try:
                lines += self.entry(entry, written, key, currency, statement_id)
            except (InvalidOperation, ValueError, KeyError) as exc:
                raise BankStatementError(f"entry {self.position} of account {written} cannot be read ({exc})") \
                    from None
        seen: Counter[str] = Counter()
        for n, line in enumerate(lines):  # an identity met again in one statement is another equal entry
            seen[line.line_id] += 1
            if seen[line.line_id] > 1:
                lines[n] = replace(line, line_id=f"{line.line_id}#{seen[line.line_id]}")
        return lines

    def entry(self, entry: ET.Element, written: str, key: str, account_currency: str,
              statement_id: str) -> list[BankLine]:
        amount_element = entry.find("c:Amt", self.ns)
        if amount_element is None or not (amount_element.text or "").strip():
            raise ValueError("no Amt")
        currency = amount_element.get("Ccy") or account_currency
        sign = SIGN[self.text(entry, "c:CdtDbtInd")]
        booked = bank_date(self.text(entry, "c:BookgDt/c:Dt") or self.text(entry, "c:BookgDt/c:DtTm"))
        if booked is None:
            raise ValueError("no booking date")
        reversal = self.text(entry, "c:RvslInd").lower() in TRUE
        own_reference = self.text(entry, "c:AcctSvcrRef")
        reference = own_reference or self.text(entry, "c:NtryRef")
        identity = f"{key}|ref:{own_reference}" if own_reference else \
            f"{key}|statement:{statement_id}|{self.text(entry, 'c:NtryRef') or f'position:{self.position}'}"
        entry_text = " ".join(self.all_texts(entry, "c:NtryDtls/c:TxDtls/c:RmtInf/c:Ustrd")) or \
            self.text(entry, "c:AddtlNtryInf")

        def line(amount: int, text: str, line_reference: str, line_identity: str) -> BankLine:
            return BankLine(written, key, currency, booked, amount, text, line_reference, reversal, self.file_name,
                            self.position, line_identity)

        parts = self.batch(entry, currency, sign)
        if not parts:
            return [line(sign * minor_units(amount_element.text or "", currency), entry_text, reference, identity)]
        return [line(amount, text or entry_text, part_reference or reference, f"{identity}|tx:{n}")
                for n, (amount, text, part_reference) in enumerate(parts, start=1)]

    def batch(self, entry: ET.Element, currency: str, sign: int) -> list[tuple[int, str, str]]:
        """The transactions of a batch entry, each with its own amount, text and reference; empty when the entry is
        a single transaction or its transactions carry no amounts (then the entry is the line)."""
        transactions = list(entry.iterfind("c:NtryDtls/c:TxDtls", self.ns))
        if len(transactions) < 2:
            return []
        parts = []
        for transaction in transactions:
            amount = self.text(transaction, "c:AmtDtls/c:TxAmt/c:Amt") or self.text(transaction, "c:Amt")
            if not amount:
                return []
            direction = self.text(transaction, "c:CdtDbtInd")
            part_sign = SIGN[direction] if direction else sign
            text = " ".join(self.all_texts(transaction, "c:RmtInf/c:Ustrd")) or self.text(transaction, "c:AddtlTxInf")
            reference = self.text(transaction, "c:Refs/c:AcctSvcrRef")
            parts.append((part_sign * minor_units(amount, currency), text, reference))
        return parts


def read_statement(path: Path) -> list[BankLine]:
    """Every booked line of every statement in one file; raises ``BankStatementError`` saying why it cannot be
    read."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise BankStatementError(f"not well-formed XML ({exc})") from None
    namespace = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
    if not namespace.startswith(NAMESPACE_PREFIX):
        raise BankStatementError(f"not a camt.053 bank statement (root {root.tag})")
    reader = Reader(namespace, path.name)
    return [line for statement in root.iterfind("c:BkToCstmrStmt/c:Stmt", reader.ns)
            for line in reader.statement(statement)]


def salvage(path: Path, reason: str) -> UnreadableFile:
    """What an unreadable file's text still shows: its account and period, so that the payouts it would have
    shown can say that their statement is unreadable."""
    text = path.read_bytes().decode("utf-8", errors="replace")

    def first(pattern: str) -> str:
        found = re.search(pattern, text)
        return found.group(1) if found else ""

    written = first(r"<(?:\w+:)?IBAN>\s*([^<]+?)\s*<") or first(r"<(?:\w+:)?Othr>\s*<(?:\w+:)?Id>\s*([^<]+?)\s*<")
    currency = first(r"<(?:\w+:)?Ccy>\s*([A-Z]{3})\s*<")
    key = account_key(written, COUNTRY_OF_CURRENCY.get(currency)) if written else ""
    return UnreadableFile(path.name, reason, key, bank_date(first(r"<(?:\w+:)?FrDtTm>\s*([^<]+)<")),
                          bank_date(first(r"<(?:\w+:)?ToDtTm>\s*([^<]+)<")))


def read_bank_folder(folder: Path) -> BankFolder:
    """Every booked line of every readable statement in the folder (an entry delivered in two files counts once),
    and the files set aside as unreadable."""
    lines: dict[str, BankLine] = {}
    unreadable: list[UnreadableFile] = []
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in STATEMENT_SUFFIXES) \
        if folder.is_dir() else []
    for path in paths:
        try:
            found = read_statement(path)
        except BankStatementError as exc:
            unreadable.append(salvage(path, str(exc)))
            continue
        for line in found:
            lines.setdefault(line.line_id, line)
    table = pa.Table.from_pylist([asdict(line) for line in lines.values()], schema=BANK_LINE_SCHEMA)
    return BankFolder(table, unreadable)
