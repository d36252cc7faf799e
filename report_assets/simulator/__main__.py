"""``python -m report_assets.simulator --port PORT``: the Report API simulator on 127.0.0.1."""

from __future__ import annotations

import argparse
import asyncio
import socket
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime

import uvicorn

from report_assets.simulator.app import SimClock, SimulatorState, build_app
from report_assets.simulator.faults import FAULT_KINDS, FaultSettings
from report_assets.simulator.world import (
    DEFAULT_CAPTURES_PER_WEEKDAY,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_HISTORY_START,
    DEFAULT_SEED,
    DEFAULT_SUBSCRIPTION_KEY,
    Credentials,
    World,
    default_ledgers,
)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m report_assets.simulator",
        description="A faithful simulator of the Vipps MobilePay Report API, on 127.0.0.1. The data served "
        "depends on --seed and the ledger options only.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--port", type=int, default=8765, help="TCP port on 127.0.0.1 (0: any free port)")
    p.add_argument("--fd", type=int, help=argparse.SUPPRESS)  # an inherited listening socket
    world = p.add_argument_group("data")
    world.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of every generated entry")
    world.add_argument("--ledgers", type=int, default=3,
                       help="number of ledgers, cycling NOK net / DKK net with reserve / EUR gross")
    world.add_argument("--captures-per-day", type=int, default=DEFAULT_CAPTURES_PER_WEEKDAY,
                       help="captures on a weekday per ledger (fewer at weekends); 0 to 200000+")
    world.add_argument("--history-start", type=date.fromisoformat, default=DEFAULT_HISTORY_START,
                       help="first ledger date with data")
    world.add_argument("--unknown-entry-rate", type=float, default=0.0,
                       help="chance per day of one funds entry of a type NOTES.md does not list")
    world.add_argument("--page-size", type=int, default=1000, help="entries per page (Vipps-Feed-Page-Size)")
    world.add_argument("--ledger-page-size", type=int, default=2, help="ledgers per page of the ledger list")
    world.add_argument("--feed-days", type=int, default=3, help="the feed without cursor starts this many days back")
    world.add_argument("--production-like", action="store_true",
                       help="serve only what production serves: no /_simulator/ paths, no bank statements")
    clock = p.add_argument_group("clock and open dates")
    clock.add_argument("--now", type=datetime.fromisoformat, help="freeze the clock at this instant (default: real)")
    clock.add_argument("--open-date", type=date.fromisoformat, action="append", default=[],
                       help="a past ledger date held open (tryLater), e.g. on monthly settlement; repeatable")
    creds = p.add_argument_group("credentials accepted (both token flows)")
    creds.add_argument("--client-id", default=DEFAULT_CLIENT_ID, help="client_id the token endpoints accept")
    creds.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET, help="client_secret they accept")
    creds.add_argument("--subscription-key", default=DEFAULT_SUBSCRIPTION_KEY,
                       help="Ocp-Apim-Subscription-Key accepted (standard flow)")
    faults = p.add_argument_group("fault injection (fractions of report responses)")
    for kind in FAULT_KINDS:
        faults.add_argument(f"--rate-{kind}", type=float, default=0.0, help={
            "429": "429 Too Many Requests with Retry-After", "500": "500 with errorCode 10001",
            "503": "503 Service Unavailable", "slow": "answered after --slow-seconds",
            "cut": "connection dropped mid-body", "malformed": "200 with a body that is not JSON"}[kind])
    faults.add_argument("--slow-seconds", type=float, default=2.0, help="delay of a slow response")
    faults.add_argument("--retry-after", type=float, default=1.0, help="Retry-After seconds sent with 429")
    faults.add_argument("--token-ttl", type=float, help="tokens expire after this many seconds, despite expires_in")
    faults.add_argument("--max-consecutive-faults", type=int, default=2,
                        help="the same request never fails more often than this in a row")
    faults.add_argument("--fault-seed", type=int, default=0, help="seed of the fault draws")
    return p


def state_from_args(args: argparse.Namespace) -> SimulatorState:
    ledgers = tuple(
        replace(spec, history_start=args.history_start, unknown_entry_rate=args.unknown_entry_rate)
        for spec in default_ledgers(args.ledgers, args.captures_per_day)
    )
    world = World(seed=args.seed, ledgers=ledgers, page_size=args.page_size, ledger_page_size=args.ledger_page_size,
                  feed_days=args.feed_days)
    faults = FaultSettings(
        **{f"rate_{kind}": getattr(args, f"rate_{kind}") for kind in FAULT_KINDS},
        slow_seconds=args.slow_seconds, retry_after_seconds=args.retry_after, token_ttl_seconds=args.token_ttl,
        max_consecutive=args.max_consecutive_faults, seed=args.fault_seed,
    )
    return SimulatorState(
        world,
        Credentials(args.client_id, args.client_secret, args.subscription_key),
        faults,
        SimClock(args.now),
        set(args.open_date),
        production_like=args.production_like,
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    state = state_from_args(args)
    if args.fd is not None:
        sock = socket.socket(fileno=args.fd)
    else:
        from report_assets.simulator.process import bind_loopback

        sock = bind_loopback(args.port)
    port = sock.getsockname()[1]
    ids = ", ".join(f"{s.ledger_id} ({s.currency}, {s.settlement})" for s in state.world.ledgers[:5])
    more = f" and {len(state.world.ledgers) - 5} more" if len(state.world.ledgers) > 5 else ""
    print(f"Report API simulator on http://127.0.0.1:{port} - ledgers {ids}{more}; seed {args.seed}", flush=True)
    config = uvicorn.Config(build_app(state), log_level="warning", access_log=False, lifespan="off",
                            timeout_keep_alive=30)
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


if __name__ == "__main__":
    main()
