"""Fault injection: the bad hours of a production API, on demand and reproducible."""

from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass, fields

FAULT_KINDS = ("429", "500", "503", "slow", "cut", "malformed")


@dataclass(frozen=True)
class FaultSettings:
    """Fractions of report responses that fail each way, and how the failures look."""

    rate_429: float = 0.0
    rate_500: float = 0.0  # 500 with errorCode 10001 (transient)
    rate_503: float = 0.0
    rate_slow: float = 0.0
    rate_cut: float = 0.0  # headers and half the body, then the connection drops
    rate_malformed: float = 0.0  # 200 with a body that is not JSON
    slow_seconds: float = 2.0
    retry_after_seconds: float = 1.0
    token_ttl_seconds: float | None = None  # tokens die this soon, whatever expires_in says
    max_consecutive: int = 2  # the same request never fails more often than this in a row
    seed: int = 0

    def rate(self, kind: str) -> float:
        return float(getattr(self, f"rate_{kind}"))

    @classmethod
    def from_dict(cls, values: dict[str, object]) -> FaultSettings:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        return cls(**values)  # type: ignore[arg-type]


class FaultPicker:
    """Decides, per request, whether and how it fails; thread-safe and seeded."""

    def __init__(self, settings: FaultSettings) -> None:
        self.settings = settings
        self._rng = random.Random(settings.seed)
        self._lock = threading.Lock()
        self._streak: dict[str, int] = {}
        self.injected: dict[str, int] = dict.fromkeys(FAULT_KINDS, 0)

    def pick(self, request_key: str) -> str | None:
        with self._lock:
            if self._streak.get(request_key, 0) >= self.settings.max_consecutive:
                self._streak.pop(request_key, None)
                return None
            draw = self._rng.random()
            for kind in FAULT_KINDS:
                draw -= self.settings.rate(kind)
                if draw < 0:
                    self._streak[request_key] = self._streak.get(request_key, 0) + 1
                    self.injected[kind] += 1
                    return kind
            self._streak.pop(request_key, None)
            return None


CORRUPTION_KINDS = (
    "not-json", "items-missing", "items-not-list", "has-more-string", "try-later-string",
    "amount-not-integer", "balance-mismatch", "chain-broken", "currency-change", "unknown-field",
)


@dataclass(frozen=True)
class Corruption:
    """A page that breaks the contract every time it is served: what a client must refuse, not retry away."""

    ledger_id: str
    topic: str
    ledger_date: str  # or "feed"
    page: int
    kind: str

    def __post_init__(self) -> None:
        if self.kind not in CORRUPTION_KINDS:
            raise ValueError(f"unknown corruption {self.kind!r}; one of {CORRUPTION_KINDS}")

    def matches(self, ledger_id: str, topic: str, ledger_date: str, page: int) -> bool:
        return (self.ledger_id, self.topic, self.ledger_date, self.page) == (ledger_id, topic, ledger_date, page)


def corrupt_page(body: str, kind: str) -> str:
    if kind == "not-json":
        return body[: len(body) // 2]
    page = json.loads(body)
    items = page.get("items") or []
    middle = items[len(items) // 2] if items else {}
    if kind == "items-missing":
        del page["items"]
    elif kind == "items-not-list":
        page["items"] = {"0": middle}
    elif kind == "has-more-string":
        page["hasMore"] = str(page.get("hasMore", False)).lower()
    elif kind == "try-later-string":
        page["tryLater"] = str(page["tryLater"]).lower()
    elif kind == "amount-not-integer":
        middle["amount"] = middle["amount"] + 0.5
    elif kind == "balance-mismatch":
        middle["balanceAfter"] += 1
    elif kind == "chain-broken":
        middle["balanceBefore"] += 100
        middle["balanceAfter"] += 100
    elif kind == "currency-change":
        middle["currency"] = "SEK"
    elif kind == "unknown-field":
        for item in items:
            item["settlementBatch"] = {"id": "b-1", "extra": [1, 2]}
        page["serverHint"] = "ignored"
    return json.dumps(page, ensure_ascii=False)
