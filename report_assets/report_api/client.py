"""The Report API client: ledgers, ledger dates page by page, and the feed.

One ``ReportApiClient`` is shared by many threads: a bounded pool of keep-alive connections and one
cached token serve every concurrent (ledger, topic, date) read.
"""

from __future__ import annotations

import logging
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import IO, Any

import httpx
import orjson
import pyarrow as pa

from report_assets import __version__
from report_assets.report_api.auth import TokenProvider, is_subscription_key_refusal
from report_assets.report_api.errors import (
    AuthenticationError,
    LedgerAccessError,
    PageValidationError,
    ReadContext,
    ReportApiError,
    RequestRejectedError,
    TransientError,
)
from report_assets.report_api.retry import call_with_retries, error_code, raise_if_transient
from report_assets.report_api.settings import ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_MSN, ApiSettings
from report_assets.report_api.validation import (
    EntryStreamValidator,
    ValidPage,
    check_dates_page,
    check_feed_page,
)

log = logging.getLogger(__name__)

SYSTEM_HEADERS = {
    "Vipps-System-Name": "report-assets",
    "Vipps-System-Version": __version__,
    "Vipps-System-Plugin-Name": "report-assets-client",
    "Vipps-System-Plugin-Version": __version__,
}
# A ledger-day's validated pages stay in memory, parsed, up to this many bytes of response; a larger day
# goes to a temporary file as it arrives and is parsed again, a page at a time, when handed on.
SPOOL_MEMORY_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Ledger:
    ledger_id: str
    currency: str | None
    settles_for_recipient_handles: tuple[str, ...]
    raw: dict[str, Any] = field(repr=False, compare=False)


@dataclass
class FetchedPages:
    """A fully fetched and validated ledger-day of one topic, handed on a page at a time from a spool (the key of a
    ledger-day is ``core.ledger_day.LedgerDay``).

    Only built once every page validated, so a caller never sees part of a bad day.
    """

    ledger_id: str
    topic: str
    ledger_date: str
    is_open: bool
    pages: int
    entry_count: int
    page_size: int | None
    bytes_fetched: int
    currency: str | None
    closing_balance: int | None
    unknown_entry_types: dict[str, int]
    _parsed: list[list[dict[str, Any]]] | None = field(repr=False, default=None)
    _arrow: list[pa.RecordBatch | None] | None = field(repr=False, default=None)  # beside _parsed
    _spool: IO[bytes] | None = field(repr=False, default=None)

    def iter_pages(self) -> Iterator[list[dict[str, Any]]]:
        for items, _ in self.iter_pages_with_arrow():
            yield items

    def iter_pages_with_arrow(self) -> Iterator[tuple[list[dict[str, Any]], pa.RecordBatch | None]]:
        """Each page's entries, with the same entries in Arrow (``page_schema``) when validating made them:
        storing a page then costs no second conversion."""
        if self._spool is None:  # an ordinary day: the pages parsed while validating are kept
            yield from zip(self._parsed or [], self._arrow or [], strict=True)
            return
        self._spool.seek(0)
        while header := self._spool.read(4):
            (length,) = struct.unpack("<I", header)
            yield orjson.loads(self._spool.read(length))["items"], None

    def entries(self) -> list[dict[str, Any]]:
        return [entry for page in self.iter_pages() for entry in page]

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()

    def __enter__(self) -> FetchedPages:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class FeedPage:
    items: list[dict[str, Any]]
    cursor: str  # persist this after storing the items: it is the whole position in the stream
    try_later: bool


def date_text(value: date | str) -> str:
    text = value.isoformat() if isinstance(value, date) else value
    date.fromisoformat(text)  # refuse anything but YYYY-MM-DD before it reaches a URL
    return text


class ReportApiClient:
    def __init__(
        self,
        settings: ApiSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._secrets = settings.secrets()
        self._http = httpx.Client(
            base_url=settings.base_url,
            headers=SYSTEM_HEADERS,
            timeout=httpx.Timeout(settings.timeout_seconds, pool=None),
            limits=httpx.Limits(
                max_connections=settings.max_connections, max_keepalive_connections=settings.max_connections
            ),
            transport=transport,
        )
        self.tokens = TokenProvider(settings, self._http, self._send, clock)

    def __repr__(self) -> str:
        return f"ReportApiClient(base_url={self.settings.base_url!r}, flow={self.settings.flow!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ReportApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ---------------------------------------------------------------------------------

    def _send(self, call: Callable[[], httpx.Response], context: ReadContext) -> httpx.Response:
        def attempt() -> httpx.Response:
            response = call()
            raise_if_transient(response)
            return response

        return call_with_retries(attempt, context, self.settings.retry)

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "********")
        return text

    def _auth_headers(self, token: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token}"}
        if self.settings.subscription_key is not None:
            headers["Ocp-Apim-Subscription-Key"] = self.settings.subscription_key.reveal()
        return headers

    def _get_json(
        self, path: str, params: dict[str, str], context: ReadContext, malformed: Callable[[str], ReportApiError]
    ) -> tuple[Any, httpx.Response]:
        """GET with a valid token, retrying transient failures; a 401 refreshes the token once."""
        for auth_attempt in (1, 2):
            token = self.tokens.get()

            def attempt(token: str = token) -> tuple[Any, httpx.Response]:
                response = self._http.get(path, params=params, headers=self._auth_headers(token))
                raise_if_transient(response)
                if response.status_code != 200:
                    return None, response
                try:
                    return orjson.loads(response.content), response
                except orjson.JSONDecodeError:
                    problem = "the body is not valid JSON"
                    raise TransientError(problem, final=malformed(problem)) from None

            body, response = call_with_retries(attempt, context, self.settings.retry)
            if response.status_code == 401:
                self.tokens.invalidate(token)
                if auth_attempt == 1:
                    log.info("Report API %s: token refused (401); fetching a new one", context.describe())
                    continue
                raise AuthenticationError(self._unauthorized_message(response, context))
            if response.status_code != 200:
                raise self._status_error(response, context)
            return body, response
        raise AssertionError("unreachable")

    def _unauthorized_message(self, response: httpx.Response, context: ReadContext) -> str:
        if is_subscription_key_refusal(response):
            what = "the subscription key (Ocp-Apim-Subscription-Key)"
        elif self.settings.flow == "partner":
            what = f"{ENV_CLIENT_ID}/{ENV_CLIENT_SECRET}: the accounting partner's access to this merchant"
        else:
            what = f"{ENV_CLIENT_ID}/{ENV_CLIENT_SECRET} and that the sales unit has the Report API enabled"
        return f"Report API {context.describe()}: refused a fresh token twice (HTTP 401); check {what}"

    def _status_error(self, response: httpx.Response, context: ReadContext) -> ReportApiError:
        status = response.status_code
        where = context.describe()
        if status in (403, 404):
            return LedgerAccessError(
                f"Report API {where}: HTTP {status}, these keys may not read ledger {context.ledger_id}. "
                f"Check that the keys belong to the merchant that owns it and that the MSN ({ENV_MSN}) is right; "
                "this is not an empty day."
            )
        detail = ""
        try:
            body = response.json()
            if isinstance(body, dict):
                detail = str(body.get("errorMessage") or body.get("detail") or body.get("message") or "")
        except ValueError:
            pass
        detail = self._scrub(detail)[:300]
        if status == 400 or (status == 500 and error_code(response) == 10002):
            return RequestRejectedError(f"Report API {where}: request rejected (HTTP {status}): {detail}")
        return ReportApiError(f"Report API {where}: unexpected HTTP {status}: {detail}")

    # -- endpoints ---------------------------------------------------------------------------------

    def list_ledgers(self, settles_for_recipient_handle: str | None = None) -> list[Ledger]:
        ledgers: list[Ledger] = []
        cursor = ""
        page = 0
        while True:
            page += 1
            context = ReadContext(page=page, what="ledger list")
            params: dict[str, str] = {}
            if cursor:
                params["cursor"] = cursor
            elif settles_for_recipient_handle:
                params["settlesForRecipientHandles"] = settles_for_recipient_handle

            def malformed(problem: str, page: int = page) -> ReportApiError:
                return PageValidationError(f"Invalid ledger list page {page}: {problem}. Re-run to try again.")

            body, _ = self._get_json("/settlement/v1/ledgers", params, context, malformed)
            items = body.get("items") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise malformed("'items' is missing or not a list")
            for item in items:
                if not isinstance(item, dict) or not isinstance(item.get("ledgerId"), str):
                    raise malformed(f"a ledger without a string ledgerId: {item!r}"[:200])
                handles = item.get("settlesForRecipientHandles") or []
                ledgers.append(Ledger(item["ledgerId"], item.get("currency"), tuple(handles), item))
            cursor = body.get("cursor") or ""
            if not cursor:
                return ledgers

    def read_date(
        self, ledger_id: str, topic: str, ledger_date: date | str, *, include_gdpr: bool = False
    ) -> FetchedPages:
        """Fetch and validate every page of one ledger-day; nothing is handed on unless all pass."""
        day = date_text(ledger_date)
        path = f"/report/v2/ledgers/{ledger_id}/{topic}/dates/{day}"
        validator = EntryStreamValidator(ReadContext(ledger_id, topic, day), ledger_date=day)
        spool: IO[bytes] | None = None  # only a day larger than SPOOL_MEMORY_BYTES gets one

        def spill(raw: bytes) -> None:
            assert spool is not None
            spool.write(struct.pack("<I", len(raw)))
            spool.write(raw)

        try:
            cursor: str | None = None
            page_no = 0
            page_size: int | None = None
            bytes_fetched = 0
            parsed: list[list[dict[str, Any]]] | None = []
            arrow: list[pa.RecordBatch | None] = []
            while True:
                page_no += 1
                params = {"includeGDPRSensitiveData": "true"} if include_gdpr else {}
                if cursor:
                    params["cursor"] = cursor
                context = ReadContext(ledger_id, topic, day, page_no)
                body, response = self._get_json(
                    path, params, context, lambda problem, n=page_no: validator.fail(n, problem)
                )
                page: ValidPage = check_dates_page(validator, body, page_no)
                size_header = response.headers.get("Vipps-Feed-Page-Size")
                if size_header and size_header.isdigit():
                    page_size = int(size_header)
                bytes_fetched += len(response.content)
                if parsed is not None and bytes_fetched <= SPOOL_MEMORY_BYTES:
                    parsed.append(page.items)
                    arrow.append(page.arrow)
                else:
                    if spool is None:  # too big to keep: what was kept moves to a temporary file too
                        spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by FetchedPages.close
                        for items in parsed or []:
                            spill(orjson.dumps({"items": items}))
                        parsed, arrow = None, []
                    spill(response.content)
                if not page.has_more:
                    break
                cursor = page.cursor
        except BaseException:
            if spool is not None:
                spool.close()
            raise
        return FetchedPages(
            ledger_id=ledger_id,
            topic=topic,
            ledger_date=day,
            is_open=page.try_later,
            pages=page_no,
            entry_count=validator.entry_count,
            page_size=page_size,
            bytes_fetched=bytes_fetched,
            currency=validator.currency,
            closing_balance=validator.last_balance,
            unknown_entry_types=dict(validator.unknown_entry_types),
            _spool=spool,
            _parsed=parsed,
            _arrow=arrow,
        )

    def iter_feed(
        self, ledger_id: str, topic: str, cursor: str | None = None, *, include_gdpr: bool = False
    ) -> Iterator[FeedPage]:
        """Pages of the feed from ``cursor`` (the start when None) until the API says ``tryLater``.

        Never waits: the caller decides when to ask again (at least a second later, better a minute).
        """
        validator = EntryStreamValidator(ReadContext(ledger_id, topic, None))
        path = f"/report/v2/ledgers/{ledger_id}/{topic}/feed"
        page_no = 0
        while True:
            page_no += 1
            params = {"includeGDPRSensitiveData": "true"} if include_gdpr else {}
            if cursor:
                params["cursor"] = cursor
            context = ReadContext(ledger_id, topic, "feed", page_no)
            body, _ = self._get_json(path, params, context, lambda problem, n=page_no: validator.fail(n, problem))
            page = check_feed_page(validator, body, page_no)
            assert page.cursor is not None
            cursor = page.cursor
            yield FeedPage(items=page.items, cursor=page.cursor, try_later=page.try_later)
            if page.try_later:
                return

