"""Which failures are transient, and how long to wait before trying again (tenacity does the loop)."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import TypeVar

import httpx
import tenacity

from report_assets.report_api.errors import ApiUnavailableError, ReadContext, TransientError
from report_assets.report_api.settings import RetrySettings

log = logging.getLogger("report_assets.report_api.retry")
T = TypeVar("T")

TRANSIENT_STATUS = {502: "502 Bad Gateway", 503: "503 Service Unavailable", 504: "504 Gateway Timeout"}
TRANSIENT_TRANSPORT_ERRORS = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.RemoteProtocolError,  # the connection dropped mid-body
    httpx.ReadError,
)


def parse_retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP-date: fall back to our own backoff


def error_code(response: httpx.Response) -> object:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("errorCode") if isinstance(body, dict) else None


def raise_if_transient(response: httpx.Response) -> None:
    status = response.status_code
    if status == 429:
        raise TransientError("429 Too Many Requests", parse_retry_after(response.headers.get("Retry-After")))
    if status in TRANSIENT_STATUS:
        raise TransientError(TRANSIENT_STATUS[status], parse_retry_after(response.headers.get("Retry-After")))
    if status == 500 and error_code(response) == 10001:
        raise TransientError("500 with errorCode 10001 (transient server error)")


class BackoffOrRetryAfter(tenacity.wait.wait_base):
    """Exponential backoff with jitter, unless the server said how long to wait (``Retry-After``)."""

    def __init__(self, settings: RetrySettings) -> None:
        self.settings = settings

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        s = self.settings
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            return exc.retry_after
        backoff = min(s.max_backoff, s.initial_backoff * 2 ** (retry_state.attempt_number - 1))
        return backoff * (1 - s.jitter + s.jitter * random.random())


def call_with_retries(attempt: Callable[[], T], context: ReadContext, settings: RetrySettings) -> T:
    """Run ``attempt`` until it returns, raises a non-transient error, or the retry budget runs out."""

    def log_retry(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "Report API %s: attempt %d of %d failed (%s); retrying in %.2f s",
            context.describe(), state.attempt_number, settings.max_attempts, exc, wait,
        )

    def as_transient() -> T:
        try:
            return attempt()
        except TRANSIENT_TRANSPORT_ERRORS as exc:
            raise TransientError(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__) from None

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(settings.max_attempts) | tenacity.stop_after_delay(settings.max_total_seconds),
        wait=BackoffOrRetryAfter(settings),
        retry=tenacity.retry_if_exception_type(TransientError),
        before_sleep=log_retry,
        reraise=True,
    )
    try:
        return retrying(as_transient)
    except TransientError as exc:
        if exc.final is not None:
            raise exc.final from None
        raise ApiUnavailableError(
            f"Report API {context.describe()}: still failing after {settings.max_attempts} attempts or "
            f"{settings.max_total_seconds:.0f} s (last: {exc.reason}). Nothing from this read was stored; "
            "re-run later, the data is immutable and re-fetching is safe."
        ) from None
