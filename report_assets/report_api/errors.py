"""Errors a caller can act on: each says which ledger, topic, date and page, and what to do."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReadContext:
    """Where a request belongs, so that every error can name it."""

    ledger_id: str | None = None
    topic: str | None = None
    ledger_date: str | None = None
    page: int | None = None
    what: str = "request"

    def describe(self) -> str:
        parts = []
        if self.ledger_id is not None:
            parts.append(f"ledger {self.ledger_id}")
        if self.topic is not None:
            parts.append(f"topic {self.topic}")
        if self.ledger_date is not None:
            parts.append(f"date {self.ledger_date}")
        if self.page is not None:
            parts.append(f"page {self.page}")
        return ", ".join(parts) if parts else self.what


class ReportApiError(Exception):
    """Base of every error the client raises."""


class ConfigurationError(ReportApiError):
    """The client's settings are incomplete or unsafe; nothing was sent."""


class AuthenticationError(ReportApiError):
    """A token could not be had, or the API refused it twice."""


class LedgerAccessError(ReportApiError):
    """404/403 on a ledger: these keys may not read it. Never an empty day."""


class RequestRejectedError(ReportApiError):
    """400, or 500 with errorCode 10002: our request was wrong; retrying cannot help."""


class ApiUnavailableError(ReportApiError):
    """Transient failures went on past the retry budget."""


class PageValidationError(ReportApiError):
    """A page broke the API's contract; nothing from that ledger-day was handed on."""


class TransientError(ReportApiError):
    """A failure worth retrying; only ever seen by the retry loop and its log lines."""

    def __init__(self, reason: str, retry_after: float | None = None, final: ReportApiError | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.final = final  # what to raise instead when retries run out, if not ApiUnavailableError
