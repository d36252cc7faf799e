"""What the simulator serves: its ledgers and the options that shape their data.

The data depends only on the seed and the ledger options, never on credentials, port or clock
(the clock only decides which dates are still open).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property

DEFAULT_SEED = 2026
DEFAULT_CAPTURES_PER_WEEKDAY = 1000
DEFAULT_HISTORY_START = date(2022, 1, 1)
DEFAULT_CLIENT_ID = "simulator-client-id"
DEFAULT_CLIENT_SECRET = "simulator-client-secret"
DEFAULT_SUBSCRIPTION_KEY = "simulator-subscription-key"


@dataclass(frozen=True)
class LedgerSpec:
    ledger_id: str
    currency: str
    timezone: str
    settlement: str  # "net": fees retained daily from funds; "gross": fees invoiced monthly
    recipient_handles: tuple[str, ...]
    shop: str
    owner_scheme: str
    owner_id: str
    bank_account: str
    captures_per_weekday: int = DEFAULT_CAPTURES_PER_WEEKDAY
    reserve: int = 0  # rolling reserve kept on the funds ledger after each payout, minor units
    negative_stretches: bool = False  # a stretch of negative balance ending in a top-up, every month
    fee_basis_points: int = 175
    fee_fixed: int = 0
    history_start: date = DEFAULT_HISTORY_START
    cutoff_hour: int = 0  # the ledger date starts at this local hour
    unknown_entry_rate: float = 0.0  # chance per day of one entry of a type NOTES.md does not list

    @property
    def gdpr_handles(self) -> frozenset[str]:
        """Vippsnummer/MyShop handles: only their payments carry personal data."""
        return frozenset(h for h in self.recipient_handles if h.split(":", 1)[0] in ("NO", "DK", "FI"))


TEMPLATES: tuple[LedgerSpec, ...] = (
    LedgerSpec(
        ledger_id="302321", currency="NOK", timezone="Europe/Oslo", settlement="net",
        recipient_handles=("api:123455",), shop="acme-shop-123",
        owner_scheme="business:NO:ORG", owner_id="987654321", bank_account="86011117947",
        negative_stretches=True, fee_basis_points=175,
    ),
    LedgerSpec(
        ledger_id="405512", currency="DKK", timezone="Europe/Copenhagen", settlement="net",
        recipient_handles=("DK:54321",), shop="kiosk-kbh",
        owner_scheme="business:DK:CVR", owner_id="12345678", bank_account="30004012345678",
        reserve=2_500_000, fee_basis_points=100, fee_fixed=100,
    ),
    LedgerSpec(
        ledger_id="517734", currency="EUR", timezone="Europe/Helsinki", settlement="gross",
        recipient_handles=("FI:765432", "api:765433"), shop="kahvila-hki",
        owner_scheme="business:FI:Y-tunnus", owner_id="1234567-8", bank_account="FI2112345600000785",
        fee_basis_points=120,
    ),
)


def default_ledgers(count: int = 3, captures_per_weekday: int = DEFAULT_CAPTURES_PER_WEEKDAY) -> tuple[LedgerSpec, ...]:
    """``count`` ledgers cycling through the three templates (NOK net, DKK net with reserve, EUR gross)."""
    ledgers = []
    for index in range(count):
        template = TEMPLATES[index % len(TEMPLATES)]
        copy = index // len(TEMPLATES)
        ledger_id = template.ledger_id if copy == 0 else str(int(template.ledger_id) + 1000 * copy)
        # Each merchant its own payout account: the template's with its last six digits counted up.
        account = template.bank_account[:-6] + f"{(int(template.bank_account[-6:]) + copy) % 10**6:06d}"
        ledgers.append(replace(template, ledger_id=ledger_id, captures_per_weekday=captures_per_weekday,
                               bank_account=account))
    return tuple(ledgers)


@dataclass(frozen=True)
class Credentials:
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    subscription_key: str = DEFAULT_SUBSCRIPTION_KEY

    def __repr__(self) -> str:
        return f"Credentials(client_id={self.client_id!r}, client_secret='***', subscription_key='***')"


@dataclass(frozen=True)
class World:
    seed: int = DEFAULT_SEED
    ledgers: tuple[LedgerSpec, ...] = field(default_factory=default_ledgers)
    page_size: int = 1000
    ledger_page_size: int = 2
    feed_days: int = 3  # the feed without a cursor starts this many ledger dates before today

    def ledger(self, ledger_id: str) -> LedgerSpec | None:
        return self.ledgers_by_id.get(ledger_id)

    def identity(self) -> dict[str, object]:
        """What decides the data served (seed and ledger options), never credentials, port or clock: a data
        directory filled from one world must not take another's rows."""
        first = self.ledgers[0] if self.ledgers else None
        return {"seed": self.seed, "ledgers": len(self.ledgers),
                "captures_per_weekday": first.captures_per_weekday if first else 0,
                "history_start": first.history_start.isoformat() if first else "",
                "fingerprint": hashlib.sha256(repr(self.ledgers).encode()).hexdigest()[:12]}

    @cached_property
    def ledgers_by_id(self) -> dict[str, LedgerSpec]:
        """A partner's world has thousands of ledgers: each request finds its own at once."""
        return {spec.ledger_id: spec for spec in self.ledgers}
