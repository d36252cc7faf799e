"""How to reach the Report API: where, with which keys, by which token flow, and how patiently.

Secrets are held in ``Secret`` so that no repr, log line or exception can show them by accident.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from report_assets.report_api.errors import ConfigurationError

PRODUCTION_BASE_URL = "https://api.vipps.no"
TokenFlow = Literal["standard", "partner"]

# Environment variables that point the project at production.
ENV_CLIENT_ID = "REPORT_API_CLIENT_ID"
ENV_CLIENT_SECRET = "REPORT_API_CLIENT_SECRET"
ENV_SUBSCRIPTION_KEY = "REPORT_API_SUBSCRIPTION_KEY"
ENV_MSN = "REPORT_API_MERCHANT_SERIAL_NUMBER"
ENV_FLOW = "REPORT_API_TOKEN_FLOW"
ENV_BASE_URL = "REPORT_API_BASE_URL"


class Secret:
    """A string that never shows itself: repr, str and format all print a mask."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret is not pickled, so that it never lands in a run's stored state")


@dataclass(frozen=True)
class RetrySettings:
    """Bounds on retrying transient failures: attempts, total time, and the backoff curve."""

    max_attempts: int = 6
    max_total_seconds: float = 120.0
    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    jitter: float = 0.5


@dataclass(frozen=True)
class ApiSettings:
    client_id: str
    client_secret: Secret
    subscription_key: Secret | None = None
    flow: TokenFlow = "standard"
    merchant_serial_number: str | None = None
    base_url: str = PRODUCTION_BASE_URL
    max_connections: int = 8
    timeout_seconds: float = 30.0
    retry: RetrySettings = field(default_factory=RetrySettings)

    def __post_init__(self) -> None:
        check_base_url(self.base_url)
        if self.flow not in ("standard", "partner"):
            raise ConfigurationError(f"{ENV_FLOW}={self.flow!r} is not valid: expected 'standard' (a merchant's "
                                     "keys) or 'partner' (an accounting partner's)")
        if not self.client_id or not self.client_secret.reveal():
            raise ConfigurationError("client_id and client_secret are both required")
        if self.flow == "standard" and (self.subscription_key is None or not self.subscription_key.reveal()):
            raise ConfigurationError(
                "the standard token flow needs a subscription key (Ocp-Apim-Subscription-Key); "
                f"set {ENV_SUBSCRIPTION_KEY}, or use the accounting-partner flow ({ENV_FLOW}=partner)"
            )
        if self.flow == "partner" and self.subscription_key is not None:
            raise ConfigurationError(
                "the accounting-partner token flow must not send a subscription key; "
                f"unset {ENV_SUBSCRIPTION_KEY} or use {ENV_FLOW}=standard"
            )

    def secrets(self) -> list[str]:
        """The secret strings of these settings, for scrubbing anything shown to a user."""
        values = [self.client_secret.reveal()]
        if self.subscription_key is not None:
            values.append(self.subscription_key.reveal())
        return [v for v in values if v]


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str) -> None:
    """Refuse to send keys in clear text: only loopback (the simulator) may use plain http."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"base URL {base_url!r} is not an http(s) URL")
    if parts.scheme != "https" and not is_loopback_host(parts.hostname):
        raise ConfigurationError(
            f"base URL {base_url!r} must use https: only a loopback address (the simulator) may use http"
        )


def settings_from_env(env: Mapping[str, str] | None = None) -> ApiSettings | None:
    """Production settings from the environment, or None when no credential is set at all.

    Partial credentials are an error that names what is missing, never a silent fallback.
    """
    env = os.environ if env is None else env
    flow = env.get(ENV_FLOW, "standard").strip() or "standard"
    present = {name: env.get(name, "").strip() for name in (ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_SUBSCRIPTION_KEY)}
    if not any(present.values()):
        return None
    needed = [ENV_CLIENT_ID, ENV_CLIENT_SECRET] + ([ENV_SUBSCRIPTION_KEY] if flow == "standard" else [])
    missing = [name for name in needed if not present[name]]
    if missing:
        raise ConfigurationError(
            f"Report API credentials are incomplete: {', '.join(missing)} not set "
            f"(token flow {flow!r}). Set all of them to use production, or none to use the simulator."
        )
    sub_key = present[ENV_SUBSCRIPTION_KEY]
    return ApiSettings(
        client_id=present[ENV_CLIENT_ID],
        client_secret=Secret(present[ENV_CLIENT_SECRET]),
        subscription_key=Secret(sub_key) if sub_key else None,
        flow=flow,  # type: ignore[arg-type]
        merchant_serial_number=env.get(ENV_MSN) or None,
        base_url=env.get(ENV_BASE_URL) or PRODUCTION_BASE_URL,
    )
