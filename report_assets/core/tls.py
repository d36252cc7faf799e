"""The TLS context of the project's HTTP clients, made once per process.

httpx builds a new SSL context for every client, loading the whole CA bundle, even for a client that only speaks
plain HTTP: 48 to 85 ms each here, two or three times in every run (the API client, the simulator's world, the
bank delivery), of a merchant's hourly run of about 3 s. Clients of HTTPS URLs share one default context, which
verifies as httpx's own does; clients of plain-HTTP URLs (the simulator) get one that trusts no certificate at
all, so that nothing unverified can pass through them should a server send them to TLS.
"""

from __future__ import annotations

import ssl
from functools import cache

import httpx


@cache
def _verifying() -> ssl.SSLContext:
    return httpx.create_ssl_context()


@cache
def _trusting_nothing() -> ssl.SSLContext:
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies hostnames and certificates, against no CA


def tls_for(url: str) -> ssl.SSLContext:
    """The ``verify=`` of an httpx client or request to ``url``."""
    return _trusting_nothing() if url.lower().startswith("http://") else _verifying()
