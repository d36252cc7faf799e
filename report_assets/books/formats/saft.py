"""The Norwegian SAF-T Financial file (version 1.30) of a ledger's month: the standard audit file that Norwegian
accounting systems import and Skatteetaten asks for.

It holds the header (the ledger's owner by organisation number, the period), the accounts the month posts to with
their grouping codes (næringsspesifikasjon, from the account number: the nearest code at or below it) and their
opening and closing balances, the tax table of the VAT codes used (each mapped to its standard code), and every
voucher as a transaction with its lines. It is for a Norwegian owner's ledger: amounts are in the ledger's
currency, which SAF-T takes as the company's (NOK); another currency would need exchange rates nobody here has.
"""

from __future__ import annotations

import csv
import re
from datetime import UTC, date, datetime
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from xml.etree import ElementTree as ET

from report_assets.books.month_books import LedgerMonth
from report_assets.core.money import major_text
from report_assets.transforms.accounts import REFERENCE, standard_tax_codes

NAMESPACE = "urn:StandardAuditFile-Taxation-Financial:NO"
GROUPING_CODES = REFERENCE / "naeringsspesifikasjon.csv"
ORGANISATION_NUMBER = re.compile(r"(?:ORG|NO)[:\s]*([0-9]{9})\b")


class NotForSaft(ValueError):
    """A ledger SAF-T cannot describe (not a Norwegian owner's, or not in NOK): the message says which and why."""


@cache
def grouping_codes() -> dict[str, tuple[str, str]]:
    """Code -> (category, description)."""
    with GROUPING_CODES.open(encoding="utf-8-sig") as handle:
        return {r["GroupingCode"]: (r["GroupingCategory"], r["CodeDescriptionENG"])
                for r in csv.DictReader(handle, delimiter=";")}


def grouping_of(account: str) -> tuple[str, str, str]:
    """(GroupingCategory, GroupingCode, description) of an NS 4102 account: its own four digits where they are a
    code, else its group's (1571 -> 1570 other current receivables, 7770 -> 7700 other costs, 3080 -> 3000)."""
    codes = grouping_codes()
    for code in (account[:4], account[:3] + "0", account[:2] + "00", account[:1] + "000"):
        if code in codes:
            return codes[code][0], code, codes[code][1]
    raise NotForSaft(f"account {account} has no grouping code (næringsspesifikasjon) for its number or its group")


def organisation_number(owner: str | None) -> str | None:
    match = ORGANISATION_NUMBER.search(owner or "")
    return match.group(1) if match else None


def sub(parent: ET.Element, tag: str, text: object | None = None) -> ET.Element:
    element = ET.SubElement(parent, f"{{{NAMESPACE}}}{tag}")
    if text is not None:
        element.text = str(text)
    return element


def amount(parent: ET.Element, tag: str, minor: int, currency: str) -> None:
    sub(sub(parent, tag), "Amount", major_text(minor, currency))


def balance(parent: ET.Element, when: str, minor: int, currency: str) -> None:
    side = "Debit" if minor >= 0 else "Credit"
    sub(parent, f"{when}{side}Balance", major_text(abs(minor), currency))


def saft_document(ledger: LedgerMonth, month: date, owner: str | None, company_name: str | None,
                  contact: tuple[str, str], account_names: dict[str, str], created: datetime | None = None) -> bytes:
    if ledger.currency != "NOK":
        raise NotForSaft(f"ledger {ledger.ledger_id} is in {ledger.currency}: SAF-T Financial is Norway's, in NOK")
    org_number = organisation_number(owner)
    if org_number is None:
        raise NotForSaft(f"ledger {ledger.ledger_id}'s owner ({owner or 'not known'}) has no Norwegian "
                         "organisation number")
    created = created or datetime.now(UTC)
    currency = ledger.currency
    ET.register_namespace("", NAMESPACE)
    root = ET.Element(f"{{{NAMESPACE}}}AuditFile")
    header = sub(root, "Header")
    for tag, text in (("AuditFileVersion", "1.30"), ("AuditFileCountry", "NO"),
                      ("AuditFileDateCreated", created.date().isoformat()), ("SoftwareCompanyName", "report_assets"),
                      ("SoftwareID", "report_assets (Vipps MobilePay Report API to the books)"),
                      ("SoftwareVersion", package_version())):
        sub(header, tag, text)
    company = sub(header, "Company")
    sub(company, "RegistrationNumber", org_number)
    sub(company, "Name", company_name or f"Organisation {org_number}")
    person = sub(sub(company, "Contact"), "ContactPerson")
    sub(person, "FirstName", contact[0])
    sub(person, "LastName", contact[1])
    sub(header, "DefaultCurrencyCode", currency)
    criteria = sub(header, "SelectionCriteria")
    for tag, text in (("PeriodStart", month.month), ("PeriodStartYear", month.year), ("PeriodEnd", month.month),
                      ("PeriodEndYear", month.year)):
        sub(criteria, tag, text)
    sub(header, "HeaderComment", f"Vipps MobilePay ledger {ledger.ledger_id}, {month:%Y-%m}")
    sub(header, "TaxAccountingBasis", "A")

    masters = sub(root, "MasterFiles")
    accounts = sub(masters, "GeneralLedgerAccounts")
    closing = ledger.closing()
    for account, closing_balance in closing.items():
        category, code, description = grouping_of(account)
        entry = sub(accounts, "Account")
        sub(entry, "AccountID", account)
        sub(entry, "AccountDescription", account_names.get(account) or ledger.roles.get(account) or description)
        sub(entry, "GroupingCategory", category)
        sub(entry, "GroupingCode", code)
        sub(entry, "AccountType", "GL")
        balance(entry, "Opening", ledger.opening.get(account, 0), currency)
        balance(entry, "Closing", closing_balance, currency)
    codes_used = sorted({line.vat_code for v in ledger.vouchers for line in v.lines}, key=int)
    if codes_used:
        standard = standard_tax_codes()
        table = sub(sub(masters, "TaxTable"), "TaxTableEntry")
        sub(table, "TaxType", "MVA")
        sub(table, "Description", "Merverdiavgift")
        for code in codes_used:
            details = sub(table, "TaxCodeDetails")
            sub(details, "TaxCode", code)
            sub(details, "Description", standard[code]["DescriptionNOB"])
            sub(details, "TaxPercentage", "0")
            sub(details, "Country", "NO")
            sub(details, "StandardTaxCode", code)
            sub(details, "BaseRate", "100")

    entries = sub(root, "GeneralLedgerEntries")
    lines = [line for v in ledger.vouchers for line in v.lines]
    sub(entries, "NumberOfEntries", len(ledger.vouchers))
    sub(entries, "TotalDebit", major_text(sum(line.debit for line in lines), currency))
    sub(entries, "TotalCredit", major_text(sum(line.credit for line in lines), currency))
    for kind in sorted({v.kind for v in ledger.vouchers}):
        journal = sub(entries, "Journal")
        sub(journal, "JournalID", f"VIPPS{kind}")
        description = next(v for v in ledger.vouchers if v.kind == kind).description.rsplit(" ", 1)[0]
        sub(journal, "Description", description)
        sub(journal, "Type", "GL")
        for voucher in (v for v in ledger.vouchers if v.kind == kind):
            transaction = sub(journal, "Transaction")
            sub(transaction, "TransactionID", voucher.number)
            sub(transaction, "Period", voucher.day.month)
            sub(transaction, "PeriodYear", voucher.day.year)
            sub(transaction, "TransactionDate", voucher.day.isoformat())
            sub(transaction, "VoucherType", description)
            sub(transaction, "Description", voucher.description)
            sub(transaction, "SystemEntryDate", created.date().isoformat())
            sub(transaction, "GLPostingDate", voucher.day.isoformat())
            for number, line in enumerate(voucher.lines, start=1):
                posted = sub(transaction, "Line")
                sub(posted, "RecordID", f"{voucher.number}-{number}")
                sub(posted, "AccountID", line.account)
                sub(posted, "Description", line.text or line.account_role)
                if line.debit:
                    amount(posted, "DebitAmount", line.debit, currency)
                else:
                    amount(posted, "CreditAmount", line.credit, currency)
                tax = sub(posted, "TaxInformation")
                sub(tax, "TaxType", "MVA")
                sub(tax, "TaxCode", line.vat_code)
                sub(tax, "TaxPercentage", "0")
                sub(tax, "TaxBase", major_text(line.debit or line.credit, currency))
                amount(tax, "DebitTaxAmount" if line.debit else "CreditTaxAmount", 0, currency)
                if line.payout_number:
                    sub(posted, "ReferenceNumber", line.payout_number)
    ET.indent(root)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


def write_saft(path: Path, ledger: LedgerMonth, month: date, owner: str | None, company_name: str | None,
               contact: tuple[str, str], account_names: dict[str, str]) -> None:
    path.write_bytes(saft_document(ledger, month, owner, company_name, contact, account_names))


def package_version() -> str:
    try:
        return version("report-assets")
    except PackageNotFoundError:  # run from a checkout without installing
        return "0"

