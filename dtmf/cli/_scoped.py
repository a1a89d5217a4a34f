"""The commands that rent a number for a while, then end it: `rent --for` and `code`.

Both use the SDK's scoped rental, so the rental ends on every way out: the time is
up, the code came (or did not), an error, Ctrl-C, or SIGTERM (`timeout`, `docker
stop`), which is handled as Ctrl-C is: it waits for a rent or end call under way.
"""

from __future__ import annotations

import contextlib
import datetime
import re
import signal
import time
from collections.abc import Generator
from types import FrameType

import click

from .._codes import DEFAULT_CODE_PATTERN
from .._errors import DTMFError, RentalNotEndedError
from .._models import Number
from ._app import EXIT_INTERRUPTED, CommandLineError, cli, global_options, settings
from ._duration import parse_duration
from ._output import local_time, message_row, satoshis

__all__ = ["format_duration", "rent_for"]


def format_duration(duration: datetime.timedelta) -> str:
    """A timedelta the way `parse_duration` reads it: 1h30m, 90s -> 1m30s, 0s."""
    seconds = int(duration.total_seconds())
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts) or "0s"


def duration_option(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> datetime.timedelta | None:
    """A click callback: DURATION (90s, 10m, 1h30m, 2d), or a bare number of seconds."""
    if value is None:
        return None
    with contextlib.suppress(ValueError):
        seconds = float(value)
        if 0 <= seconds < 10**9:
            return datetime.timedelta(seconds=seconds)
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@contextlib.contextmanager
def _sigterm_as_ctrl_c() -> Generator[None, None, None]:
    """SIGTERM raises SIGINT, so the rental's Ctrl-C handling covers it too."""

    def forward(signum: int, frame: FrameType | None) -> None:
        signal.raise_signal(signal.SIGINT)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupted(e164: str) -> CommandLineError:
    return CommandLineError(f"interrupted: ended the rental of {e164}", EXIT_INTERRUPTED)


def rent_for(group_id: str, duration: datetime.timedelta) -> None:
    """`dtmf rent GROUP --for DURATION`: rent, print the number, end it when the time is up."""
    out = settings().output()
    lasting = format_duration(duration)
    with settings().client() as client, _sigterm_as_ctrl_c():
        rental = client.numbers.rental(group_id)
        try:
            with rental as number:
                if out.as_json:
                    shown = {"e164": number.e164, "group_id": number.group_id, "for": lasting}
                    out.json(shown, lines=True)  # one line: the command is still running
                else:
                    out.line(number.e164)
                ends = datetime.datetime.now(datetime.timezone.utc) + duration
                out.note(
                    f"Rented {number.e164} from {number.group_id} "
                    f"({satoshis(number.cost_per_minute)} satoshis per minute) for {lasting}: "
                    f"the rental ends at {local_time(ends)}, or on Ctrl-C."
                )
                time.sleep(duration.total_seconds())
        except KeyboardInterrupt:
            if rental.number is None:
                raise  # stopped before anything was rented
            raise _interrupted(rental.number.e164) from None
    out.note(f"Ended the rental of {number.e164} after {lasting}.")


@cli.command()
@click.argument("group_id")
@click.option(
    "--pattern",
    metavar="REGEX",
    help="The regex the code is found with; its first (group) is printed "
    "(default: 4 to 8 digits standing alone).",
)
@click.option(
    "--timeout",
    metavar="DURATION",
    default="2m",
    show_default=True,
    callback=duration_option,
    help="How long to wait for the SMS (e.g. 90s, 5m, or seconds); then exit code 5.",
)
@global_options
def code(group_id: str, pattern: str | None, timeout: datetime.timedelta) -> None:
    """Rent a number, wait for an SMS with a code, print the code, end the rental.

    The number is shown on stderr as soon as it is rented: give it to whoever sends
    the code. stdout gets only the code. The rental ends on every way out: the code
    came, the time ran out (exit code 5), an error, or Ctrl-C.

    \b
    Examples:
      dtmf code us-mobile
      CODE=$(dtmf code us-mobile --no-json --timeout 5m)
      dtmf code gb-mobile --pattern 'G-(\\d+)' --json
    """
    out = settings().output()
    waiting = format_duration(timeout)
    rented: list[Number] = []
    spinner = contextlib.ExitStack()

    def on_rented(number: Number) -> None:
        rented.append(number)
        out.note(f"Rented {number.e164} from {group_id}: send the code to this number.", style=None)
        line = f"Waiting up to {waiting} for an SMS with a code to {number.e164} (Ctrl-C stops)..."
        if out.as_json or not out.err.is_terminal:
            out.note(line)
        else:
            spinner.enter_context(out.err.status(line))

    regex = DEFAULT_CODE_PATTERN if pattern is None else _regex(pattern)
    try:
        with settings().client() as client, spinner:
            found = client.numbers.receive_code(
                group_id, pattern=regex, timeout=timeout.total_seconds(), on_rented=on_rented
            )
    except KeyboardInterrupt:
        if not rented:
            raise
        raise _interrupted(rented[0].e164) from None
    except DTMFError as exc:
        if rented and not isinstance(exc, RentalNotEndedError):
            out.note(f"Ended the rental of {rented[0].e164}.")
        raise
    message = found.message
    if out.as_json:
        row = message_row(message, found.e164)
        out.json({"code": found.code, "e164": found.e164, "message": row})
        return
    sender = message_row(message, found.e164)["from"] or "unknown sender"
    out.note(f"SMS from {sender} at {local_time(message.timestamp)}: {message.content}")
    out.note(f"Ended the rental of {found.e164}.")
    out.line(found.code)


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise click.BadParameter(
            f"{value!r} is not a regular expression: {exc}", param_hint="--pattern"
        ) from None
    return value
