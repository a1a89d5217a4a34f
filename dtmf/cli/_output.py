"""How the command line shows results: JSON for scripts, rich tables and lines for people.

JSON output reuses the documented shapes of the original client (`_documented.py`),
with timestamps in UTC written as the service documents them, without an offset
(`json_time`). Human output shows satoshis with thousands separators and times in
this machine's local time zone, with the zone's name. Content that came from the
service or a user is always printed as plain text, never as rich markup.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .._documented import MessageDict, format_timestamp, message_dict
from .._models import BaseGroup, BaseNumber, Message

__all__ = [
    "Output",
    "btc",
    "json_time",
    "local_time",
    "message_row",
    "satoshis",
]

SATOSHIS_PER_BTC = Decimal(100_000_000)

# How table columns are laid out: numbers right-aligned; only free text wraps.
NUMERIC_COLUMNS = frozenset({"Setup", "Per minute", "Per SMS in", "Cost", "Messages"})
FREE_TEXT_COLUMNS = frozenset({"Name", "SMS action", "Content"})


def satoshis(value: object) -> str:
    """An amount for people: '1,234,567' for satoshis, as given for a fiat decimal, '-' for none."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "-" if value is None else str(value)


def btc(value: int) -> str:
    """Satoshis as BTC with all eight decimals: 1234567 -> '0.01234567'."""
    return f"{Decimal(value) / SATOSHIS_PER_BTC:.8f}"


def local_time(value: datetime | None, *, date: bool = True) -> str:
    """An aware datetime in this machine's time zone, with the zone's name, or '-'.

    '2026-11-25 23:35:16 CET', or '23:35:16 CET' without the date.
    """
    if value is None:
        return "-"
    try:
        local = value.astimezone()
    except OverflowError:  # the last hours of 9999 in a zone east of UTC: shown in UTC
        local = value
    shown = local.strftime("%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S")
    return f"{shown} {_zone_name(local)}"


def _zone_name(local: datetime) -> str:
    """'CET', or 'UTC+01:00' where the system names zones in words (Windows)."""
    name = local.tzname() or ""
    if name and len(name) <= 6 and " " not in name:
        return name
    offset = local.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def json_time(value: datetime) -> str:
    """An aware datetime for JSON, as the service writes times: UTC without an offset.

    '2026-11-25T22:35:16.082160', like the timestamps of the documented shapes.
    """
    return format_timestamp(value) or ""


def message_row(message: Message, e164: str) -> MessageDict:
    """A message in the documented shape (from/to filled in for either service dialect)."""
    return message_dict(message, e164)


def describe_action(number: BaseNumber) -> str:
    """The number's SMS action in words."""
    action, destination = number.sms_action
    if action == "forward":
        return f"forward to {destination}"
    if action == "webhook":
        return f"webhook {destination}"
    return "store only"


class Output:
    """Where results go: JSON on stdout, or rich rendering on stdout and notes on stderr."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.out = Console(highlight=False, soft_wrap=False)
        self.err = Console(stderr=True, highlight=False)

    def json(self, data: object, *, lines: bool = False) -> None:
        """Print `data` as JSON (indented, or on one line for JSON-lines streams)."""
        text = json.dumps(data, ensure_ascii=False, indent=None if lines else 2)
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    def line(self, text: str, *, style: str | None = None) -> None:
        """One line of plain text on stdout."""
        self.out.print(Text(text, style=style or ""), soft_wrap=True)

    def note(self, text: str, *, style: str | None = "dim") -> None:
        """One line for the person watching, on stderr (so stdout stays the result)."""
        self.err.print(Text(text, style=style or ""), soft_wrap=True)

    def table(
        self,
        columns: Sequence[str],
        rows: Iterable[Sequence[object]],
        *,
        title: str | None = None,
        numeric: Collection[str] = NUMERIC_COLUMNS,
        free_text: Collection[str] = FREE_TEXT_COLUMNS,
    ) -> None:
        """A table; every cell is shown as plain text.

        Numbers are right-aligned; no column but the `free_text` ones ever wraps or
        shrinks. Those take what width is left: wrapped at spaces, and a word too
        long for them ends in '…'.
        """
        table = Table(
            title=title,
            title_justify="left",
            header_style="bold",
            box=box.SIMPLE_HEAD,
            show_edge=False,
            collapse_padding=True,
        )
        for column in columns:
            wraps = column in free_text
            table.add_column(
                column,
                justify="right" if column in numeric else "left",
                no_wrap=not wraps,
                overflow="ellipsis" if wraps else "fold",
            )
        for row in rows:
            table.add_row(*(Text("-" if cell is None else str(cell)) for cell in row))
        self.out.print(table)

    def fields(self, pairs: Sequence[tuple[str, object]]) -> None:
        """Label: value lines, for the details of one thing."""
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column(overflow="fold")
        for label, value in pairs:
            grid.add_row(Text(label), Text("-" if value is None else str(value)))
        self.out.print(grid)


def group_rows(groups: Iterable[BaseGroup]) -> list[list[Any]]:
    """Table rows for groups (costs in satoshis)."""
    return [
        [
            g.id,
            g.name,
            g.country_code.upper(),
            "yes" if g.sms_support else "no",
            "yes" if g.voice_support else "no",
            satoshis(g.setup_cost),
            satoshis(g.rental_cost_per_minute),
            satoshis(g.cost_per_inbound_message),
        ]
        for g in groups
    ]


GROUP_COLUMNS = ("Group", "Name", "Country", "SMS", "Voice", "Setup", "Per minute", "Per SMS in")
# The rate per minute is left to `numbers show` (and `groups`): with it, the SMS
# action would have no room on an 80-column terminal.
NUMBER_COLUMNS = ("Number", "Group", "Rented since", "Messages", "SMS action")
MESSAGE_COLUMNS = ("Time", "", "With", "Cost", "OK", "Content")


def number_rows(numbers: Iterable[BaseNumber]) -> list[list[Any]]:
    """Table rows for rented numbers."""
    return [
        [
            n.e164,
            n.group_id,
            local_time(n.assignment_start),
            len(n.messages),
            describe_action(n),
        ]
        for n in numbers
    ]


def message_rows(number: BaseNumber) -> list[list[Any]]:
    """Table rows for a number's message history, as the service lists it (in: from, out: to)."""
    rows: list[list[Any]] = []
    for message in number.messages:
        shown = message_row(message, number.e164)
        inbound = message.is_inbound_to(number.e164)
        ok = shown["success"]
        rows.append(
            [
                local_time(message.timestamp),
                "in" if inbound else "out",
                shown["from"] if inbound else shown["to"],
                satoshis(shown["cost"]),
                "-" if ok is None else ("yes" if ok else "no"),
                message.content,
            ]
        )
    return rows
