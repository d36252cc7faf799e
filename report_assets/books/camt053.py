"""Bank statements in ISO 20022 camt.053, read from a folder into bank lines.

The standard library's XML parser reads them: the part needed is a few elements of one message, the
namespace differs by version (camt.053.001.02 to .001.13), and the one camt.053 library on the package
index is a pre-release (0.0.x). Only booked entries count; amounts become signed minor units (credit
positive). A file that is not a camt.053 statement stops the read with the file named, and nothing is
stored from any file, so the previous bank lines stay until the folder is fixed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyarrow as pa

from report_assets.date_figures import MINOR_UNIT_DIGITS

NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.053."
STATEMENT_SUFFIXES = (".xml", ".camt053", ".camt")
BANK_LINE_SCHEMA = pa.schema([
    pa.field("bank_account", pa.string()), pa.field("currency", pa.string()),
    pa.field("booking_date", pa.date32()), pa.field("amount", pa.int64()), pa.field("text", pa.string()),
    pa.field("bank_reference", pa.string()), pa.field("statement_file", pa.string()),
    pa.field("entry_index", pa.int32()),
])


class BankStatementError(ValueError):
    """A file in the bank folder that cannot be read as camt.053: the message names it and what to do."""


@dataclass(frozen=True)
class BankLine:
    bank_account: str
    currency: str
    booking_date: date
    amount: int  # minor units, credit positive
    text: str
    bank_reference: str
    statement_file: str
    entry_index: int  # position in its file, so a line is identified even without a bank reference


def minor_units(text: str, currency: str) -> int:
    digits = MINOR_UNIT_DIGITS.get(currency, 2)
    value = Decimal(text.strip()) * 10 ** digits
    if value != value.to_integral_value():
        raise InvalidOperation(f"{text} has more than {digits} decimals")
    return int(value)


def read_statement(path: Path) -> list[BankLine]:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise BankStatementError(f"{path}: not well-formed XML ({exc}). Replace the file with the bank's original "
                                 "(or move it out of the bank folder), then re-run: no bank line was stored.") from None
    namespace = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
    if not namespace.startswith(NAMESPACE_PREFIX):
        raise BankStatementError(f"{path}: not a camt.053 bank statement (root {root.tag}). Keep only camt.053 "
                                 "files in the bank folder, then re-run: no bank line was stored.")
    ns = {"c": namespace}
    lines: list[BankLine] = []
    for statement in root.iterfind("c:BkToCstmrStmt/c:Stmt", ns):
        account = (statement.findtext("c:Acct/c:Id/c:IBAN", namespaces=ns) or
                   statement.findtext("c:Acct/c:Id/c:Othr/c:Id", namespaces=ns) or "").replace(" ", "").strip()
        account_currency = statement.findtext("c:Acct/c:Ccy", namespaces=ns)
        for index, entry in enumerate(statement.iterfind("c:Ntry", ns), start=1):
            # camt.053.001.02 says <Sts>BOOK</Sts>; from .001.08 on, <Sts><Cd>BOOK</Cd></Sts>
            status = (entry.findtext("c:Sts", namespaces=ns) or "").strip() or \
                (entry.findtext("c:Sts/c:Cd", namespaces=ns) or "").strip()
            if status != "BOOK":
                continue  # pending or informational: not on the account yet
            try:
                lines.append(entry_line(entry, ns, account, account_currency, path.name, index))
            except (InvalidOperation, ValueError, AttributeError) as exc:
                raise BankStatementError(f"{path}: entry {index} of account {account} cannot be read ({exc}). "
                                         "Replace the file with the bank's original, then re-run: no bank line "
                                         "was stored.") from None
    return lines


def entry_line(entry: ET.Element, ns: dict[str, str], account: str, account_currency: str | None, file_name: str,
               index: int) -> BankLine:
    amount_element = entry.find("c:Amt", ns)
    if amount_element is None or amount_element.text is None:
        raise ValueError("no Amt")
    currency = amount_element.get("Ccy") or account_currency or ""
    sign = {"CRDT": 1, "DBIT": -1}[(entry.findtext("c:CdtDbtInd", namespaces=ns) or "").strip()]
    booked = entry.findtext("c:BookgDt/c:Dt", namespaces=ns) or (entry.findtext("c:BookgDt/c:DtTm", namespaces=ns)
                                                               or "")[:10]
    texts = [t.text.strip() for t in entry.iterfind("c:NtryDtls/c:TxDtls/c:RmtInf/c:Ustrd", ns) if t.text]
    text = " ".join(texts) or (entry.findtext("c:AddtlNtryInf", namespaces=ns) or "").strip()
    reference = entry.findtext("c:AcctSvcrRef", namespaces=ns) or entry.findtext("c:NtryRef", namespaces=ns) or ""
    return BankLine(account, currency, date.fromisoformat(booked), sign * minor_units(amount_element.text, currency),
                    text, reference.strip(), file_name, index)


def read_bank_folder(folder: Path) -> pa.Table:
    """Every booked line of every statement in the folder; a line delivered in two files counts once."""
    seen: set[tuple[str, date, int, str, str]] = set()
    rows: list[BankLine] = []
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in STATEMENT_SUFFIXES) \
        if folder.is_dir() else []
    for path in paths:
        for line in read_statement(path):
            key = (line.bank_account, line.booking_date, line.amount, line.text, line.bank_reference)
            if key not in seen:
                seen.add(key)
                rows.append(line)
    return pa.Table.from_pylist([line.__dict__ for line in rows], schema=BANK_LINE_SCHEMA)
