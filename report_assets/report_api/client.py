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
from functools import partial
from typing import IO, Any, TypeVar

import httpx
import orjson
import pyarrow as pa

from report_assets import __version__
from report_assets.core.tls import tls_for
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
T = TypeVar("T")

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


@dataclass
class PageBuffer:
    """A ledger-day's validated pages as they arrive: kept parsed up to ``SPOOL_MEMORY_BYTES`` of responses; past
    that, every page so far and after goes to a temporary file instead, parsed again when handed on."""

    parsed: list[list[dict[str, Any]]] | None = field(default_factory=list)  # None once spooled
    arrow: list[pa.RecordBatch | None] = field(default_factory=list)
    spool: IO[bytes] | None = None
    bytes_fetched: int = 0
    page_size: int | None = None

    def add(self, page: ValidPage, response: httpx.Response) -> None:
        size_header = response.headers.get("Vipps-Feed-Page-Size")
        if size_header and size_header.isdigit():
            self.page_size = int(size_header)
        self.bytes_fetched += len(response.content)
        if self.parsed is not None and self.bytes_fetched <= SPOOL_MEMORY_BYTES:
            self.parsed.append(page.items)
            self.arrow.append(page.arrow)
            return
        if self.spool is None:  # too big to keep: what was kept moves to the temporary file too
            self.spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by FetchedPages.close
            for items in self.parsed or []:
                self._spill(orjson.dumps({"items": items}))
            self.parsed, self.arrow = None, []
        self._spill(response.content)

    def _spill(self, raw: bytes) -> None:
        assert self.spool is not None
        self.spool.write(struct.pack("<I", len(raw)))
        self.spool.write(raw)

    def close(self) -> None:
        if self.spool is not None:
            self.spool.close()


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
            verify=tls_for(settings.base_url),
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

    def _cursor_pages(
        self, path: str, params: dict[str, str], context_of: Callable[[int], ReadContext],
        malformed: Callable[[int, str], ReportApiError],
        read: Callable[[int, Any, httpx.Response], tuple[T, str | None]],
        cursor: str | None = None, first_params: dict[str, str] | None = None,
    ) -> Iterator[T]:
        """The one pagination loop of the three cursor-paged endpoints: GETs page after page, each with ``params``
        and the cursor (the first, without a cursor, gets ``first_params`` too). ``read`` checks a page and says
        what to yield and the next cursor, None after the last page; a bad page raises ``malformed(page, problem)``,
        and ``context_of(page)`` names it in the retries' messages."""
        page_no = 0
        while True:
            page_no += 1
            query = {**params, "cursor": cursor} if cursor else {**params, **(first_params or {})}
            body, response = self._get_json(path, query, context_of(page_no), partial(malformed, page_no))
            item, cursor = read(page_no, body, response)
            yield item
            if cursor is None:
                return

    # -- endpoints ---------------------------------------------------------------------------------

    def list_ledgers(self, settles_for_recipient_handle: str | None = None) -> list[Ledger]:
        def malformed(page: int, problem: str) -> ReportApiError:
            return PageValidationError(f"Invalid ledger list page {page}: {problem}. Re-run to try again.")

        def read(page: int, body: Any, _: httpx.Response) -> tuple[list[Ledger], str | None]:
            items = body.get("items") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise malformed(page, "'items' is missing or not a list")
            for item in items:
                if not isinstance(item, dict) or not isinstance(item.get("ledgerId"), str):
                    raise malformed(page, f"a ledger without a string ledgerId: {item!r}"[:200])
            return ([Ledger(item["ledgerId"], item.get("currency"), tuple(item.get("settlesForRecipientHandles") or []),
                            item) for item in items], body.get("cursor") or None)

        first = {"settlesForRecipientHandles": settles_for_recipient_handle} if settles_for_recipient_handle else {}
        pages = self._cursor_pages("/settlement/v1/ledgers", {}, lambda n: ReadContext(page=n, what="ledger list"),
                                   malformed, read, first_params=first)
        return [ledger for page in pages for ledger in page]

    def read_date(
        self, ledger_id: str, topic: str, ledger_date: date | str, *, include_gdpr: bool = False
    ) -> FetchedPages:
        """Fetch and validate every page of one ledger-day; nothing is handed on unless all pass."""
        day = date_text(ledger_date)
        path = f"/report/v2/ledgers/{ledger_id}/{topic}/dates/{day}"
        validator = EntryStreamValidator(ReadContext(ledger_id, topic, day), ledger_date=day)
        buffer = PageBuffer()

        def read(page_no: int, body: Any, response: httpx.Response) -> tuple[bool, str | None]:
            page = check_dates_page(validator, body, page_no)
            buffer.add(page, response)
            return page.try_later, page.cursor

        params = {"includeGDPRSensitiveData": "true"} if include_gdpr else {}
        try:  # each page's tryLater, the last one's saying whether the day is still open
            try_later = list(self._cursor_pages(path, params, lambda n: ReadContext(ledger_id, topic, day, n),
                                                validator.fail, read))
        except BaseException:
            buffer.close()
            raise
        return FetchedPages(
            ledger_id=ledger_id,
            topic=topic,
            ledger_date=day,
            is_open=try_later[-1],
            pages=len(try_later),
            entry_count=validator.entry_count,
            page_size=buffer.page_size,
            bytes_fetched=buffer.bytes_fetched,
            currency=validator.currency,
            closing_balance=validator.last_balance,
            unknown_entry_types=dict(validator.unknown_entry_types),
            _spool=buffer.spool,
            _parsed=buffer.parsed,
            _arrow=buffer.arrow,
        )

    def iter_feed(
        self, ledger_id: str, topic: str, cursor: str | None = None, *, include_gdpr: bool = False
    ) -> Iterator[FeedPage]:
        """Pages of the feed from ``cursor`` (the start when None) until the API says ``tryLater``.

        Never waits: the caller decides when to ask again (at least a second later, better a minute).
        """
        validator = EntryStreamValidator(ReadContext(ledger_id, topic, None))

        def read(page_no: int, body: Any, _: httpx.Response) -> tuple[FeedPage, str | None]:
            page = check_feed_page(validator, body, page_no)
            assert page.cursor is not None
            return (FeedPage(items=page.items, cursor=page.cursor, try_later=page.try_later),
                    None if page.try_later else page.cursor)

        params = {"includeGDPRSensitiveData": "true"} if include_gdpr else {}
        yield from self._cursor_pages(f"/report/v2/ledgers/{ledger_id}/{topic}/feed", params,
                                      lambda n: ReadContext(ledger_id, topic, "feed", n), validator.fail, read, cursor)
