"""The simulator's HTTP API: the Report API's endpoints as NOTES.md describes production.

Also serves ``/_simulator/stats`` and ``/_simulator/control`` for tests and benchmarks (the clock,
dates held open, ledger access, faults) and ``/_simulator/bank/...`` (its bank's statements); production has no
such paths, and a production-like simulator (``production_like``) has none either: it stands in for production
behind real keys, so that a test can show that nothing in production mode depends on them. Paths are matched
case-insensitively, as the provider's gateway does (its own Postman collection calls ``/accessToken/get``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import secrets
import threading
import uuid
from bisect import bisect_right
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from report_assets.simulator.bank import NoStatementYet, camt053
from report_assets.simulator.faults import Corruption, FaultPicker, FaultSettings, corrupt_page
from report_assets.simulator.generator import SECOND_US, LedgerGenerator
from report_assets.simulator.render import render_day
from report_assets.simulator.world import Credentials, LedgerSpec, World

STANDARD_TOKEN_SECONDS = 86_400
PARTNER_TOKEN_SECONDS = 900
CACHE_ENTRY_BUDGET = 2_000_000  # rendered entries kept in memory across days
REQUEST_LOG_LENGTH = 100_000  # the last requests' methods and paths, for tests
GATEWAY_BAD_KEY = {
    "statusCode": 401,
    "message": "Access denied due to invalid subscription key. Make sure to provide a valid key for an active "
    "subscription.",
}
GATEWAY_MISSING_KEY = {
    "statusCode": 401,
    "message": "Access denied due to missing subscription key. Make sure to include subscription key when making "
    "requests to an API.",
}


class SimClock:
    """Real time moved by an offset, or frozen at an instant; tokens and open dates follow it."""

    def __init__(self, frozen: datetime | None = None) -> None:
        self.frozen = frozen
        self.offset = timedelta()

    def now(self) -> datetime:
        return (self.frozen or datetime.now(UTC)) + self.offset


@dataclass
class ServedDay:
    times: list[int]
    rendered: list[str]


@dataclass
class Stats:
    requests: Counter[str] = field(default_factory=Counter)
    tokens_issued: Counter[str] = field(default_factory=Counter)
    connections: set[tuple[str, int]] = field(default_factory=set)
    in_flight: int = 0
    max_in_flight: int = 0
    system_headers: dict[str, str] = field(default_factory=dict)
    gdpr_requests: int = 0
    entries_served: int = 0
    ledger_days_read: Counter[str] = field(default_factory=Counter)  # first pages asked, by "ledger topic date"
    # every request as the client sent it ("GET /settlement/v1/ledgers"), the simulator's own paths included
    request_log: deque[str] = field(default_factory=lambda: deque(maxlen=REQUEST_LOG_LENGTH))


class SimulatorState:
    def __init__(
        self,
        world: World,
        credentials: Credentials | None = None,
        faults: FaultSettings | None = None,
        clock: SimClock | None = None,
        open_dates: set[date] | None = None,
        production_like: bool = False,
    ) -> None:
        self.world = world
        self.production_like = production_like  # no /_simulator/ paths and no bank: only what production serves
        self.credentials = credentials or Credentials()
        self.faults = FaultPicker(faults or FaultSettings())
        self.clock = clock or SimClock()
        self.open_dates: set[date] = set(open_dates or ())
        self.accessible: set[str] = {spec.ledger_id for spec in world.ledgers}
        self.generators = {spec.ledger_id: LedgerGenerator(world.seed, spec) for spec in world.ledgers}
        self.tokens: dict[str, tuple[str, datetime]] = {}
        self.corruptions: list[Corruption] = []
        self.stats = Stats()
        self._cache: OrderedDict[tuple[str, str, date, bool], ServedDay] = OrderedDict()
        self._cached_entries = 0
        self._lock = threading.Lock()

    # -- data ------------------------------------------------------------------------------------

    def today(self, spec: LedgerSpec) -> date:
        local = self.clock.now().astimezone(ZoneInfo(spec.timezone)) - timedelta(hours=spec.cutoff_hour)
        return local.date()

    def is_open(self, spec: LedgerSpec, day: date) -> bool:
        return day >= self.today(spec) or day in self.open_dates

    def served_day(self, spec: LedgerSpec, topic: str, day: date, gdpr: bool) -> ServedDay:
        key = (spec.ledger_id, topic, day, gdpr)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            generator = self.generators[spec.ledger_id]
            opening, entries = generator.day(topic, day)
            served = ServedDay([e.time_us for e in entries], render_day(day, spec.currency, opening, entries, gdpr))
            self._cache[key] = served
            self._cached_entries += len(served.rendered)
            while self._cached_entries > CACHE_ENTRY_BUDGET and len(self._cache) > 1:
                _, dropped = self._cache.popitem(last=False)
                self._cached_entries -= len(dropped.rendered)
            return served

    def visible_entries(self, spec: LedgerSpec, topic: str, day: date, gdpr: bool) -> list[str]:
        """What the API shows of a date now: all of a closed date, what has happened so far of today."""
        today = self.today(spec)
        if day > today:
            return []
        served = self.served_day(spec, topic, day, gdpr)
        if day < today:
            return served.rendered
        now_us = int(self.clock.now().timestamp() * SECOND_US)
        return served.rendered[: bisect_right(served.times, now_us)]

    def control(self, changes: dict[str, Any]) -> None:
        if "now" in changes:
            self.clock.frozen = datetime.fromisoformat(changes["now"]) if changes["now"] else None
            self.clock.offset = timedelta()
        if "advance_seconds" in changes:
            self.clock.offset += timedelta(seconds=float(changes["advance_seconds"]))
        if "open_dates" in changes:
            self.open_dates = {date.fromisoformat(d) for d in changes["open_dates"]}
        if "accessible_ledgers" in changes:
            self.accessible = set(changes["accessible_ledgers"])
        if "faults" in changes:
            self.faults = FaultPicker(FaultSettings.from_dict(changes["faults"]))
        if "corruptions" in changes:
            self.corruptions = [Corruption(**c) for c in changes["corruptions"]]

    def corrupted(self, body: str, ledger_id: str, topic: str, ledger_date: str, page: int) -> str:
        for corruption in self.corruptions:
            if corruption.matches(ledger_id, topic, ledger_date, page):
                return corrupt_page(body, corruption.kind)
        return body


def problem(status: int, title: str, detail: str, instance: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail, "instance": instance},
        status_code=status,
        media_type="application/problem+json",
    )


def input_error(field_name: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"errorCode": 10002, "errorMessage": f"{field_name}: {message}", "contextId": str(uuid.uuid4())},
        status_code=500,
    )


def encode_cursor(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ValueError("not a cursor this API issued") from None
    if not isinstance(payload, dict):
        raise ValueError("not a cursor this API issued")
    return payload


class CutOffResponse(Response):
    """Headers promising the whole body, half of it, then the connection drops."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body[: len(self.body) // 2], "more_body": True})
        # Returning now, mid-body, makes the server close the connection.


class ReportApiHandlers:
    """The endpoints over one simulator's state, each a plain handler; ``routes`` maps the paths to them."""

    def __init__(self, state: SimulatorState) -> None:
        self.state = state

    def check_token(self, request: Request) -> Response | None:
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        record = self.state.tokens.get(token)
        if record is None or record[1] <= self.state.clock.now():
            return JSONResponse({"code": "Unauthorized", "message": "Invalid or expired access token"}, 401)
        if record[0] == "standard":
            key = request.headers.get("ocp-apim-subscription-key")
            if key is None:
                return JSONResponse(GATEWAY_MISSING_KEY, 401)
            if key != self.state.credentials.subscription_key:
                return JSONResponse(GATEWAY_BAD_KEY, 401)
        for name in ("Vipps-System-Name", "Vipps-System-Version", "Vipps-System-Plugin-Name",
                     "Vipps-System-Plugin-Version"):
            value = request.headers.get(name)
            if value is not None:
                if len(value) > 30:
                    return problem(400, "Bad Request", f"{name} is longer than 30 characters", request.url.path)
                self.state.stats.system_headers[name] = value
        return None

    def issue_token(self, flow: str) -> tuple[str, int]:
        lifetime = STANDARD_TOKEN_SECONDS if flow == "standard" else PARTNER_TOKEN_SECONDS
        ttl = self.state.faults.settings.token_ttl_seconds
        token = secrets.token_urlsafe(32)
        alive = lifetime if ttl is None else min(lifetime, ttl)
        self.state.tokens[token] = (flow, self.state.clock.now() + timedelta(seconds=alive))
        self.state.stats.tokens_issued[flow] += 1
        return token, lifetime - 2

    async def standard_token(self, request: Request) -> Response:
        creds = self.state.credentials
        key = request.headers.get("ocp-apim-subscription-key")
        if key is None:
            return JSONResponse(GATEWAY_MISSING_KEY, 401)
        if key != creds.subscription_key:
            return JSONResponse(GATEWAY_BAD_KEY, 401)
        if request.headers.get("client_id") != creds.client_id or \
                request.headers.get("client_secret") != creds.client_secret:
            return JSONResponse({"code": "Unauthorized", "message": "Please check your API keys"}, 401)
        token, expires_in = self.issue_token("standard")
        now = int(self.state.clock.now().timestamp())
        return JSONResponse({
            "token_type": "Bearer", "expires_in": str(expires_in), "ext_expires_in": str(expires_in),
            "expires_on": str(now + expires_in), "not_before": str(now),
            "resource": "00000002-0000-0000-c000-000000000000",
            "access_token": token,
        })

    async def partner_token(self, request: Request) -> Response:
        creds = self.state.credentials
        if "ocp-apim-subscription-key" in request.headers:
            return problem(400, "Bad Request", "The accounting-partner token endpoint takes no subscription key",
                           request.url.path)
        auth = request.headers.get("authorization", "")
        try:
            client_id, _, client_secret = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            client_id = client_secret = ""
        form = parse_qs((await request.body()).decode(errors="replace"))
        if form.get("grant_type") != ["client_credentials"]:
            return problem(400, "Bad Request", "grant_type must be client_credentials", request.url.path)
        if not auth.startswith("Basic ") or client_id != creds.client_id or client_secret != creds.client_secret:
            return JSONResponse({"code": "Unauthorized", "message": "Please check your API keys"}, 401)
        token, expires_in = self.issue_token("partner")
        return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": expires_in})

    @staticmethod
    def ledger_item(spec: LedgerSpec) -> dict[str, Any]:
        return {
            "ledgerId": spec.ledger_id,
            "currency": spec.currency,
            "payoutBankAccount": {"scheme": f"BBAN:{spec.owner_scheme.split(':')[1]}", "id": spec.bank_account},
            "owner": {"scheme": spec.owner_scheme, "id": spec.owner_id},
            "settlesForRecipientHandles": list(spec.recipient_handles),
            "salesUnits": [{"name": f"{spec.shop} {h}", "recipientHandle": h} for h in spec.recipient_handles],
        }

    async def ledgers(self, request: Request) -> Response:
        if (refusal := self.check_token(request)) is not None:
            return refusal
        cursor = request.query_params.get("cursor")
        handle = request.query_params.get("settlesForRecipientHandles")
        after = ""
        if cursor:
            try:
                payload = decode_cursor(cursor)
            except ValueError as exc:
                return input_error("cursor", str(exc))
            after, handle = payload.get("afterLedgerId", ""), payload.get("settlesForRecipientHandles")
        state = self.state
        specs = sorted((s for s in state.world.ledgers if s.ledger_id in state.accessible), key=lambda s: s.ledger_id)
        if handle:
            specs = [s for s in specs if handle in s.recipient_handles]
        remaining = [s for s in specs if s.ledger_id > after]
        page = remaining[: self.state.world.ledger_page_size]
        more = len(remaining) > len(page)
        next_cursor = encode_cursor({"afterLedgerId": page[-1].ledger_id, "settlesForRecipientHandles": handle}) \
            if more else ""
        return JSONResponse({"items": [self.ledger_item(s) for s in page], "cursor": next_cursor})

    def report_target(self, request: Request) -> tuple[LedgerSpec, str] | Response:
        """The ledger and topic of a report call, or the response refusing it."""
        if (refusal := self.check_token(request)) is not None:
            return refusal
        spec = self.state.world.ledger(request.path_params["ledger_id"])
        if spec is None or spec.ledger_id not in self.state.accessible:
            return problem(404, "Not Found", "No such ledgerId", request.url.path)
        topic = request.path_params["topic"]
        if topic not in ("funds", "fees"):
            return input_error("topic", "must be funds or fees")
        return spec, topic

    def gdpr_flag(self, request: Request) -> bool:
        gdpr = request.query_params.get("includeGDPRSensitiveData", "false").lower() == "true"
        self.state.stats.gdpr_requests += gdpr
        return gdpr

    async def dates(self, request: Request) -> Response:
        target = self.report_target(request)
        if isinstance(target, Response):
            return target
        spec, topic = target
        try:
            day = date.fromisoformat(request.path_params["ledger_date"])
        except ValueError:
            return input_error("ledgerDate", "must be a date in the format YYYY-MM-DD")
        offset = 0
        if cursor := request.query_params.get("cursor"):
            try:
                offset = int(decode_cursor(cursor)["offset"])
            except (ValueError, KeyError, TypeError):
                return input_error("cursor", "not a cursor this API issued")
        if not offset:
            self.state.stats.ledger_days_read[f"{spec.ledger_id} {topic} {day.isoformat()}"] += 1
        visible = self.state.visible_entries(spec, topic, day, self.gdpr_flag(request))
        items = visible[offset: offset + self.state.world.page_size]
        # Like the real API, a full page says hasMore without looking ahead: an empty page may follow.
        has_more = len(items) == self.state.world.page_size
        tail = f',"cursor":"{encode_cursor({"offset": offset + len(items)})}"' if has_more else ""
        open_ = "true" if self.state.is_open(spec, day) else "false"
        body = f'{{"items":[{",".join(items)}],"hasMore":{"true" if has_more else "false"}{tail},"tryLater":{open_}}}'
        page = offset // self.state.world.page_size + 1
        body = self.state.corrupted(body, spec.ledger_id, topic, day.isoformat(), page)
        self.state.stats.entries_served += len(items)
        return Response(body.encode(), media_type="application/json",
                        headers={"Vipps-Feed-Page-Size": str(self.state.world.page_size)})

    async def feed(self, request: Request) -> Response:
        target = self.report_target(request)
        if isinstance(target, Response):
            return target
        spec, topic = target
        today = self.state.today(spec)
        if cursor := request.query_params.get("cursor"):
            try:
                position = decode_cursor(cursor)
                day, index = date.fromordinal(int(position["day"])), int(position["index"])
            except (ValueError, KeyError, TypeError):
                return input_error("cursor", "not a cursor this API issued")
        else:
            day, index = max(today - timedelta(days=self.state.world.feed_days), spec.history_start), 0
        gdpr = self.gdpr_flag(request)
        items: list[str] = []
        while day <= today and len(items) < self.state.world.page_size:
            visible = self.state.visible_entries(spec, topic, day, gdpr)
            take = visible[index: index + self.state.world.page_size - len(items)]
            items.extend(take)
            index += len(take)
            if index >= len(visible) and day < today:
                day, index = day + timedelta(days=1), 0
            elif not take or index >= len(visible):
                break
        at_end = day >= today and index >= len(self.state.visible_entries(spec, topic, today, gdpr))
        next_cursor = encode_cursor({"day": day.toordinal(), "index": index})
        body = f'{{"items":[{",".join(items)}],"cursor":"{next_cursor}","tryLater":{"true" if at_end else "false"}}}'
        self.state.stats.entries_served += len(items)
        return Response(body.encode(), media_type="application/json",
                        headers={"Vipps-Feed-Page-Size": str(self.state.world.page_size)})

    async def stats(self, request: Request) -> Response:
        s = self.state.stats
        return JSONResponse({
            "requests": dict(s.requests), "tokens_issued": dict(s.tokens_issued),
            "connections": len(s.connections), "max_in_flight": s.max_in_flight,
            "faults_injected": self.state.faults.injected, "system_headers": s.system_headers,
            "gdpr_requests": s.gdpr_requests, "entries_served": s.entries_served,
            "ledger_days_read": dict(s.ledger_days_read) if request.query_params.get("detail") else {},
            "now": self.state.clock.now().isoformat(), "world": self.state.world.identity(),
        })

    async def bank_statement(self, request: Request) -> Response:
        """Not the Report API: the bank's camt.053 statement of a ledger's payout account for a month, through
        the bank's last closed day (yesterday in the ledger's time zone)."""
        spec = self.state.world.ledger(request.path_params["ledger_id"])
        try:
            month = datetime.strptime(request.path_params["month"], "%Y-%m").date()
        except ValueError:
            return problem(400, "Bad Request", "month: expected YYYY-MM", request.url.path)
        if spec is None:
            return problem(404, "Not Found", "no such ledger", request.url.path)
        try:
            body = camt053(self.state.generators[spec.ledger_id], month.year, month.month,
                           self.state.today(spec) - timedelta(days=1), self.state.clock.now())
        except NoStatementYet as exc:
            return problem(404, "Not Found", str(exc), request.url.path)
        return Response(body, media_type="application/xml")

    async def control(self, request: Request) -> Response:
        try:
            self.state.control(await request.json())
        except (ValueError, TypeError) as exc:
            return problem(400, "Bad Request", str(exc), request.url.path)
        return await self.stats(request)

    def routes(self) -> list[Route]:
        routes = [
            Route("/accesstoken/get", self.standard_token, methods=["POST"]),
            Route("/miami/v1/token", self.partner_token, methods=["POST"]),
            Route("/settlement/v1/ledgers", self.ledgers),
            Route("/report/v2/ledgers/{ledger_id}/{topic}/dates/{ledger_date}", self.dates),
            Route("/report/v2/ledgers/{ledger_id}/{topic}/feed", self.feed),
        ]
        if not self.state.production_like:
            routes += [
                Route("/_simulator/stats", self.stats),
                Route("/_simulator/control", self.control, methods=["POST"]),
                Route("/_simulator/bank/{ledger_id}/camt053/{month}", self.bank_statement),
            ]
        return routes


def build_app(state: SimulatorState) -> Any:
    """The ASGI app serving ``state``; one per server."""
    return with_faults_and_stats(Starlette(routes=ReportApiHandlers(state).routes()), state)


def endpoint_name(path: str) -> str:
    """The statistics' name for a path: dates, feed, ledgers, accesstoken, miami-token."""
    if path.startswith("/report/"):
        return "feed" if path.endswith("/feed") else "dates"
    return {"/settlement/v1/ledgers": "ledgers", "/accesstoken/get": "accesstoken"}.get(path, "miami-token")


def with_faults_and_stats(app: Starlette, state: SimulatorState) -> Any:
    """Wraps the report endpoints: counts connections and concurrency, and injects the configured faults."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        stats = state.stats
        stats.request_log.append(f"{scope['method']} {scope['path']}")
        path: str = scope["path"].lower()  # the gateway's matching: /accessToken/get is /accesstoken/get
        scope = {**scope, "path": path}
        if not path.startswith("/_simulator/"):
            stats.requests[endpoint_name(path)] += 1
            if scope.get("client"):
                stats.connections.add(tuple(scope["client"]))  # type: ignore[arg-type]
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        try:
            fault = None
            if path.startswith(("/report/", "/settlement/")):
                fault = state.faults.pick(f"{path}?{scope.get('query_string', b'').decode()}")
            if fault is None:
                await app(scope, receive, send)
            else:
                await inject(fault, app, scope, receive, send, state.faults.settings)
        finally:
            stats.in_flight -= 1

    return wrapped


async def inject(fault: str, app: Any, scope: Scope, receive: Receive, send: Send, settings: FaultSettings) -> None:
    context_id = str(uuid.uuid4())
    if fault == "429":
        response: Response = JSONResponse(
            {"type": "about:blank", "title": "Too Many Requests", "status": 429, "detail": "Rate limit exceeded"},
            status_code=429, headers={"Retry-After": f"{settings.retry_after_seconds:g}"},
            media_type="application/problem+json")
    elif fault == "500":
        response = JSONResponse({"errorCode": 10001, "errorMessage": "An internal error occurred",
                                 "contextId": context_id}, status_code=500)
    elif fault == "503":
        response = JSONResponse({"type": "about:blank", "title": "Service Unavailable", "status": 503},
                                status_code=503, media_type="application/problem+json")
    else:
        captured: dict[str, Any] = {"body": b""}

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                captured["start"] = message
            else:
                captured["body"] += message.get("body", b"")

        if fault == "slow":
            await asyncio.sleep(settings.slow_seconds)
            await app(scope, receive, send)
            return
        await app(scope, receive, capture)
        status = captured["start"]["status"]
        headers = {k.decode(): v.decode() for k, v in captured["start"]["headers"] if k.lower() != b"content-length"}
        body = captured["body"]
        if fault == "malformed":
            response = Response(body[: len(body) // 2], status_code=status, headers=headers)
        else:
            response = CutOffResponse(body, status_code=status, headers=headers)
    await response(scope, receive, send)
