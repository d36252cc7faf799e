"""``python -m report_assets.export --month 2026-11`` (``make export MONTH=2026-11``): a month for the accounting
system, whole.

Before it writes, it makes the month whole: the dates of the month not stored (for the tracked ledgers) are
fetched, as ``make main ARGS="--from … --to …"`` would, and books older than the ledger-days stored since they were
computed are recomputed. With ``--no-fetch`` it changes nothing: it names the missing dates and stale books, with
the exact command for each, and exports what is stored. "Not final" then means only dates the Report API still
has open, or a month not over.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime
from zoneinfo import ZoneInfo

from report_assets.books.export import ExportError, ExportOptions, export_month
from report_assets.books.formats.csv_files import DIALECTS
from report_assets.books.month_state import MonthState, month_state
from report_assets.lake.data_dir import DataDir, MixedSourcesError
from report_assets.lake.ledger_catalog import TrackingError, read_catalog, tracked_ledgers
from report_assets.report_api.errors import ConfigurationError
from report_assets.settings import SettingError, Settings, data_dir_of, load_settings


def month_arg(raw: str) -> date:
    try:
        if len(raw) != 7:
            raise ValueError(raw)
        return date.fromisoformat(f"{raw}-01")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r}: expected a month as YYYY-MM, e.g. 2026-10") from None


def state_of(data: DataDir, settings: Settings, month: date, ledger_ids: list[str], today: date) -> MonthState:
    statements = data.lake.read_table("monthly_statement")
    rows = [r for r in (statements.to_pylist() if statements is not None else []) if r["month"] == f"{month:%Y-%m}"]
    return month_state(data, month, ledger_ids, today, date.fromisoformat(settings.start_date), rows)


def fetch_command(state: MonthState, ledgers: list[str]) -> str:
    dates = state.missing_dates
    narrowed = "".join(f" --ledger {ledger}" for ledger in ledgers)
    return f'make main ARGS="--from {dates[0]} --to {dates[-1]}{narrowed}"'


def ranges(dates: list[str]) -> str:
    """2026-11-01, 2026-11-02, 2026-11-05 -> '2026-11-01..2026-11-02, 2026-11-05'."""
    runs: list[list[str]] = []
    for day in dates:
        if runs and date.fromisoformat(day).toordinal() - date.fromisoformat(runs[-1][-1]).toordinal() == 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ", ".join(r[0] if len(r) == 1 else f"{r[0]}..{r[-1]}" for r in runs)


def make_whole(data: DataDir, settings: Settings, month: date, ledgers: list[str], asked: list[str], today: date,
               fetch: bool) -> MonthState:
    """Fetches the missing dates and recomputes stale books (``fetch``), or says what is missing and how to fetch
    it; returns the month's state after."""
    from report_assets.defs.project import project_definitions
    from report_assets.main_job import store_dates

    state = state_of(data, settings, month, ledgers, today)
    if state.missing_dates:
        command = fetch_command(state, asked)
        if not fetch:
            print(f"Not stored: {ranges(state.missing_dates)} of {month:%Y-%m} (ledger(s) "
                  f"{', '.join(sorted(state.missing))}). The export leaves them out; to fetch them: {command}",
                  file=sys.stderr)
        else:
            print(f"Fetching the dates of {month:%Y-%m} not stored: {ranges(state.missing_dates)} ({command}) ...",
                  flush=True)
            outcome = store_dates(settings, project_definitions(settings), dates_between(state.missing_dates),
                                  asked, False)
            if not outcome.success:
                raise ExportError(f"fetching {ranges(state.missing_dates)} failed (run {outcome.run_ids[-1][1]}); "
                                  "nothing was exported. See the run in the UI (make ui), fix, and export again.")
            return state_of(data, settings, month, ledgers, today)
    if state.stale:
        reasons = "; ".join(f"ledger {ledger}: {why}" for ledger, why in sorted(state.stale.items()))
        since = f" (computed {state.computed_at})" if state.computed_at else ""
        if not fetch:
            print(f"The books are older than the ledgers{since}: {reasons}. Their statement and bank vouchers are "
                  "as they were; to bring them up to date: make books", file=sys.stderr)
        else:
            print(f"The books were older than the ledgers{since}: {reasons}. Recomputing them ...", flush=True)
            outcome = store_dates(settings, project_definitions(settings), [], asked, False, books_only=True)
            if not outcome.success:
                raise ExportError(f"recomputing the books failed (run {outcome.run_ids[-1][1]}); nothing was "
                                  "exported. See the run in the UI (make ui), fix, and export again.")
            return state_of(data, settings, month, ledgers, today)
    return state


def dates_between(dates: list[str]) -> list[str]:
    first, last = date.fromisoformat(dates[0]), date.fromisoformat(dates[-1])
    return [date.fromordinal(n).isoformat() for n in range(first.toordinal(), last.toordinal() + 1)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m report_assets.export",
        description="Write a month's files per ledger (journal and statement CSV, an Excel workbook, SAF-T), after "
                    "fetching the month's dates not stored and recomputing stale books.")
    parser.add_argument("--month", type=month_arg, required=True, metavar="YYYY-MM")
    parser.add_argument("--ledger", action="append", default=[], metavar="LEDGER_ID", help="only this ledger")
    parser.add_argument("--no-fetch", action="store_true",
                        help="change nothing: name the missing dates and stale books (with the command for each), "
                             "and export what is stored")
    parser.add_argument("--dialect", choices=sorted(DIALECTS), default="standard",
                        help="CSV dialect: standard (',' and '.') or norwegian (';', decimal comma, dd.mm.yyyy)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        data = data_dir_of(settings)
        today = datetime.now(ZoneInfo(settings.timezone)).date()
        if args.month > today:
            parser.error(f"--month {args.month:%Y-%m} has not begun (today is {today}).")
        ledgers = [ledger for ledger in tracked_ledgers(read_catalog(data.lake), settings.ledger_ids)
                   if not args.ledger or ledger in args.ledger]
        state = make_whole(data, settings, args.month, ledgers, args.ledger, today, fetch=not args.no_fetch)
        exported = export_month(data, args.month, settings.account_map, args.ledger or None,
                                ExportOptions(args.dialect, settings.company_name, settings.contact_person))
    except (ExportError, SettingError, ConfigurationError, MixedSourcesError, TrackingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"Wrote {len(exported.files)} file(s) for {args.month:%Y-%m} into {exported.folder}:")
    for path in exported.files:
        print(f"  {path.name}")
    for note in exported.notes:
        print(f"  ({note})")
    if settings.contact_person is None and any(p.name.startswith("saft-") for p in exported.files):
        print("  (the SAF-T files name no contact person: set REPORT_ASSETS_CONTACT_PERSON, e.g. 'Kari Nordmann', "
              "before handing them in)")
    if state.open:
        print(f"Not final yet: the Report API still has {ranges(state.open_dates)} open (ledger(s) "
              f"{', '.join(sorted(state.open))}); export again once they are closed.")
    elif args.month.year == today.year and args.month.month == today.month:
        print(f"Not final yet: {args.month:%Y-%m} is not over.")
    elif state.missing_dates:
        print(f"Not final: {ranges(state.missing_dates)} not stored (see above).")
    else:
        print(f"{args.month:%Y-%m} is final: every date stored closed.")


if __name__ == "__main__":
    main()
