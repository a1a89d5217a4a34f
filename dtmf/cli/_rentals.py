"""`dtmf rentals`: the running rentals with their age and cost so far; end the old ones.

The choice of what to end is the SDK's (`dtmf._leaks.split_by_age`): shown first
(`--dry-run`, or before the confirmation prompt), then made by the same call a
script would make, `client.numbers.end_older_than()`, at the same moment.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import click

from .._leaks import EndedRentals, check_keep, split_by_age
from .._models import BaseNumber
from ._app import EXIT_API, cli, exit_code, global_options, settings
from ._duration import parse_duration
from ._output import Output, json_time, local_time, satoshis

__all__: list[str] = []

COLUMNS = ("Number", "Group", "Rented since", "Age", "Per minute", "Cost so far")
NUMERIC = frozenset({"Age", "Per minute", "Cost so far"})


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> timedelta | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _age(age: timedelta) -> str:
    """An age for people, its two largest units: '2d 04h', '1h 05m', '3m 07s', '12s'."""
    seconds = int(age.total_seconds())
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {seconds:02d}s"
    return f"{seconds}s"


def _rows(numbers: Sequence[BaseNumber], now: datetime) -> list[list[Any]]:
    return [
        [
            n.e164,
            n.group_id,
            local_time(n.assignment_start),
            _age(n.age(now)) if n.assignment_start is not None else None,
            satoshis(n.cost_per_minute),
            satoshis(n.cost_so_far(now)),
        ]
        for n in numbers
    ]


def _json_row(number: BaseNumber, now: datetime) -> dict[str, Any]:
    start = number.assignment_start
    return {
        "e164": number.e164,
        "group_id": number.group_id,
        "assignment_start": json_time(start) if start is not None else None,
        "age_seconds": int(number.age(now).total_seconds()) if start is not None else None,
        "cost_per_minute": number.cost_per_minute,
        "cost_so_far": number.cost_so_far(now),
    }


def _show(out: Output, numbers: Sequence[BaseNumber], now: datetime, title: str) -> None:
    if numbers:
        out.table(COLUMNS, _rows(numbers, now), title=title, numeric=NUMERIC)


TITLE = "Running rentals (cost so far: rental minutes and messages, in satoshis; not setup)"


@cli.command()
@click.option(
    "--end-older-than",
    "older_than",
    metavar="DURATION",
    callback=_duration,
    help="End the rentals that started longer ago than this (90s, 10m, 1h, 1h30m, 2d).",
)
@click.option(
    "--keep",
    multiple=True,
    metavar="E164",
    help="Never end this number, whatever its age; repeat for several.",
)
@click.option("--dry-run", is_flag=True, help="Only show what would be ended.")
@click.option("--yes", "-y", is_flag=True, help="End them without asking first.")
@global_options
def rentals(older_than: timedelta | None, keep: tuple[str, ...], dry_run: bool, yes: bool) -> None:
    """Show the numbers you rent, with their age and cost so far; end the old ones.

    Each rental is billed per minute until it ends: this finds the ones a script
    forgot. With --end-older-than, the rentals older than that are listed and, once
    you confirm (or with --yes), ended; --keep spares numbers still in use. The
    cost so far counts whole minutes and messages; the setup cost is not included.

    \b
    Examples:
      dtmf rentals
      dtmf rentals --end-older-than 1h --dry-run
      dtmf rentals --end-older-than 1h --keep +447700900001
      dtmf rentals --end-older-than 30m --yes --json
    """
    if older_than is None and (keep or dry_run or yes):
        raise click.UsageError("--keep, --dry-run and --yes go with --end-older-than")
    spared = check_keep(keep)
    out = settings().output()
    now = datetime.now(timezone.utc)
    with settings().client() as client:
        found = client.numbers.list()
        if older_than is None:
            _list(out, found, now)
            return
        to_end, kept = split_by_age(found, older_than, spared, now)
        if dry_run or not to_end:
            _would_end(out, to_end, kept, now, older_than, dry_run)
            return
        if not out.as_json:
            _show(out, to_end, now, f"Older than {_age(older_than)}: to end")
        if not yes and not click.confirm(
            f"End {len(to_end)} rental{'s' if len(to_end) > 1 else ''}?", err=True
        ):
            out.note("Nothing ended.", style=None)
            return
        result = client.numbers.end_older_than(older_than, keep=spared, now=now)
    _report(out, result, now)


def _list(out: Output, found: Sequence[BaseNumber], now: datetime) -> None:
    if out.as_json:
        out.json([_json_row(n, now) for n in found])
    elif not found:
        out.note("You rent no numbers: nothing is being billed.", style=None)
    else:
        _show(out, found, now, TITLE)


def _would_end(
    out: Output,
    to_end: Sequence[BaseNumber],
    kept: Sequence[BaseNumber],
    now: datetime,
    older_than: timedelta,
    dry_run: bool,
) -> None:
    if out.as_json:
        out.json(
            {
                "dry_run": dry_run,
                "to_end": [_json_row(n, now) for n in to_end],
                "kept": [_json_row(n, now) for n in kept],
            }
        )
        return
    if not to_end:
        out.line(f"No rental is older than {_age(older_than)}; nothing to end.")
        return
    _show(out, to_end, now, f"Older than {_age(older_than)}: would end (dry run)")
    out.line(f"Would end {len(to_end)}, keep {len(kept)}.")


def _report(out: Output, result: EndedRentals[Any], now: datetime) -> None:
    if out.as_json:
        out.json(
            {
                "dry_run": False,
                "ended": [_json_row(n, now) for n in result.ended],
                "kept": [_json_row(n, now) for n in result.kept],
                "failed": [{"e164": e, "error": str(exc)} for e, exc in result.failed.items()],
            }
        )
    else:
        for number in result.ended:
            out.line(f"Ended {number.e164}.")
        for e164, exc in result.failed.items():
            out.note(f"Could not end {e164} (still billed): {exc}", style=None)
        out.line(
            f"Ended {len(result.ended)}, kept {len(result.kept)}, failed {len(result.failed)}."
        )
    if result.failed:
        codes = {exit_code(exc) for exc in result.failed.values()}
        raise click.exceptions.Exit(max(codes) if codes else EXIT_API)
