"""Access tokens for both flows, cached until shortly before they expire.

The token endpoint is rate-limited, so one token is shared by every thread of a client and
refreshed only when it is about to expire or the API has refused it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from report_assets.report_api.errors import AuthenticationError, ReadContext
from report_assets.report_api.settings import ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_SUBSCRIPTION_KEY, ApiSettings

log = logging.getLogger(__name__)

# Refresh this long before expiry, capped at a fifth of the lifetime for short-lived tokens.
REFRESH_MARGIN_SECONDS = 300.0

SendFn = Callable[[Callable[[], httpx.Response], ReadContext], httpx.Response]


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: float  # seconds on the provider's monotonic clock

    def __repr__(self) -> str:
        return f"Token(expires_at={self.expires_at:.0f})"


def parse_expires_in(value: object) -> float:
    """``expires_in`` is a JSON string in real responses and an integer in the old spec: take both."""
    if isinstance(value, bool):
        raise ValueError("expires_in is a boolean")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return float(value.strip())
    raise ValueError(f"expires_in has type {type(value).__name__}")


class TokenProvider:
    def __init__(
        self, settings: ApiSettings, http: httpx.Client, send: SendFn, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._http = http
        self._send = send
        self._lock = threading.Lock()
        self._token: Token | None = None

    def get(self) -> str:
        return self.share().value

    def share(self) -> Token:
        """The token in force (fetched if none), for a process this one starts to adopt: each would otherwise
        fetch its own from the rate-limited endpoint."""
        with self._lock:
            token = self._token
            if token is None or self._clock() >= token.expires_at:
                token = self._token = self._fetch()
            return token

    def adopt(self, token: Token) -> None:
        """Uses another process's token until it expires or is refused (its expiry is on the system's monotonic
        clock, which every process of the machine shares)."""
        with self._lock:
            self._token = token

    def invalidate(self, value: str) -> None:
        """Forget a token the API refused, unless another thread has already replaced it."""
        with self._lock:
            if self._token is not None and self._token.value == value:
                self._token = None

    def _fetch(self) -> Token:
        s = self._settings
        context = ReadContext(what=f"access token ({s.flow} flow)")
        if s.flow == "standard":
            assert s.subscription_key is not None
            headers = {
                "client_id": s.client_id,
                "client_secret": s.client_secret.reveal(),
                "Ocp-Apim-Subscription-Key": s.subscription_key.reveal(),
            }
            if s.merchant_serial_number:
                headers["Merchant-Serial-Number"] = s.merchant_serial_number
            response = self._send(lambda: self._http.post("/accesstoken/get", headers=headers), context)
        else:
            response = self._send(
                lambda: self._http.post(
                    "/miami/v1/token",
                    auth=(s.client_id, s.client_secret.reveal()),
                    data={"grant_type": "client_credentials"},
                ),
                context,
            )
        if response.status_code in (401, 403):
            raise AuthenticationError(self._refusal_message(response))
        if response.status_code != 200:
            raise AuthenticationError(
                f"the token endpoint ({s.flow} flow) answered HTTP {response.status_code}; "
                "check the base URL and that these keys are for the Report API"
            )
        try:
            body = response.json()
            value = body["access_token"]
            lifetime = parse_expires_in(body["expires_in"])
        except (ValueError, KeyError, TypeError) as exc:
            raise AuthenticationError(
                f"the token endpoint ({s.flow} flow) sent a response without a usable access_token/expires_in"
            ) from exc
        if not isinstance(value, str) or not value:
            raise AuthenticationError(f"the token endpoint ({s.flow} flow) sent an empty access_token")
        margin = min(REFRESH_MARGIN_SECONDS, lifetime / 5)
        log.info("Fetched a Report API access token (%s flow), valid for %.0f s", s.flow, lifetime)
        return Token(value=value, expires_at=self._clock() + lifetime - margin)

    def _refusal_message(self, response: httpx.Response) -> str:
        flow = self._settings.flow
        if is_subscription_key_refusal(response):
            return (
                f"the API gateway refused the subscription key ({flow} flow): check {ENV_SUBSCRIPTION_KEY} "
                "(Ocp-Apim-Subscription-Key of the sales unit)"
            )
        return (
            f"the token endpoint refused the client credentials ({flow} flow, HTTP {response.status_code}): "
            f"check {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET}"
            + (" and that the keys belong to an accounting partner" if flow == "partner" else "")
        )


def is_subscription_key_refusal(response: httpx.Response) -> bool:
    """The gateway's own 401 body, as opposed to the API's ``{"code": "Unauthorized"}``."""
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and "statusCode" in body and "subscription key" in str(body.get("message", ""))
