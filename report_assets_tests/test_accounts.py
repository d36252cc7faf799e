"""The account map: the default books with NS 4102 accounts, overrides apply per ledger, and every map that
cannot be booked with is refused naming its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from report_assets.settings import SettingError, load_settings
from report_assets.transforms.accounts import DEFAULT_MAP, OWN_ACCOUNT, ROLES, AccountMapError, load_account_map


def test_the_default_map_gives_every_role_an_account_and_the_checked_ones_their_own() -> None:
    accounts = load_account_map()
    assert set(accounts.accounts) == set(ROLES)
    for role in OWN_ACCOUNT:
        assert [r for r in ROLES if accounts.accounts[r] == accounts.accounts[role]] == [role]
    assert (accounts.accounts["bank"], accounts.accounts["sales"]) == ("1920", "1573")
    assert accounts.vat_code("fee_expense") == accounts.vat_code("sales") == "0" and accounts.bank_vouchers


def test_a_ledger_table_overrides_only_that_ledgers_roles(tmp_path: Path) -> None:
    path = tmp_path / "map.toml"
    path.write_text(DEFAULT_MAP.read_text() + '\n[ledger.302321]\nsales = "3001"\n')
    accounts = load_account_map(path)
    assert accounts.account("302321", "sales") == "3001" and accounts.account("405512", "sales") == "1573"
    assert accounts.account("302321", "bank") == "1920"


def broken(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_MAP.read_text()
    assert old in text
    path = tmp_path / "map.toml"
    path.write_text(text.replace(old, new, 1))
    return path


def line_with(path: Path, fragment: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if fragment in line)


@pytest.mark.parametrize(("old", "new", "line_fragment", "message"), [
    ('suspense = "2990"', "", "[accounts]", "role(s) suspense have no account"),
    ('fees_clearing = "2401"', 'fees_clearing = "2400"', "fees_invoiced =",
     "fees_clearing (line 11) and fees_invoiced (line 17) both post to 2400"),
    ('payouts_in_transit = "1579"', 'payouts_in_transit = "1920"', 'bank = "1920"',
     "payouts_in_transit (line 12) and bank (line 15) both post to 1920"),
    ('sales = "1573"', 'sales = 1573', "sales =", "expected an account number in quotes"),
    ('sales = "1573"', 'sales = "15x3"', "sales =", "expected an account number in quotes"),
    ('refunds = "1573"', 'refundz = "1573"', "refundz =", "unknown role 'refundz'"),
    ('fee_expense = "0"', 'fee_expense = "3"', 'fee_expense = "3"', "a code with a rate cannot be booked here"),
    ('credit_notes = "0"', 'credit_notes = "99"', 'credit_notes = "99"', "expected a standard VAT code"),
    ("bank_vouchers = true", 'bank_vouchers = "no"', "[options]", "[options] takes bank_vouchers = true or false"),
    ('disputes = "7830"', 'disputes = "7830', "disputes =", "not valid TOML"),
    ("# [ledger.302321]\n# sales", "[ledger.302321]\nfunds_clearing = \"1573\"\n# sales", "funds_clearing = \"1573\"",
     "and sales (line 23) both post to 1573 for ledger 302321"),
    ("[accounts]", "[acounts]", "[acounts]", "unknown table [acounts]"),
])
def test_a_map_that_cannot_be_booked_with_is_refused_naming_its_line(
    tmp_path: Path, old: str, new: str, line_fragment: str, message: str
) -> None:
    path = broken(tmp_path, old, new)
    with pytest.raises(AccountMapError) as refused:
        load_account_map(path)
    assert message in str(refused.value)
    assert f"{path}, line {line_with(path, line_fragment)}:" in str(refused.value)


def test_the_setting_names_the_map_and_a_bad_one_stops_the_load_at_its_line(tmp_path: Path) -> None:
    path = broken(tmp_path, 'suspense = "2990"', 'suspense = "1571"')
    with pytest.raises(SettingError) as refused:
        load_settings({"REPORT_ASSETS_ACCOUNT_MAP": str(path)})
    assert str(refused.value).startswith(f"REPORT_ASSETS_ACCOUNT_MAP='{path}': {path}, line "
                                         f"{line_with(path, 'suspense =')}: funds_clearing (line 10) and suspense")
    with pytest.raises(SettingError, match="a readable TOML account map"):
        load_settings({"REPORT_ASSETS_ACCOUNT_MAP": str(tmp_path / "missing.toml")})
    good = tmp_path / "good.toml"
    good.write_text(DEFAULT_MAP.read_text() + '\n[ledger.517734]\nfee_expense = "7771"\n')
    assert load_settings({"REPORT_ASSETS_ACCOUNT_MAP": str(good)}).account_map.account("517734", "fee_expense") \
        == "7771"
