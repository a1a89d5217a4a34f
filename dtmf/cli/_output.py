"""How the command line shows results: JSON for scripts, rich tables and lines for people.

JSON output reuses the documented shapes of the original client (`dtmf.compat`),
with timestamps in UTC. Human output shows satoshis with thousands separators and
times in this machine's local time zone. Content that came from the service or a
user is always printed as plain text, never as rich markup.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .._models import BaseGroup, BaseNumber, Message
from ..compat import MessageDict, _message  # pyright: ignore[reportPrivateUsage]

__all__ = [
    "Output",
    "btc",
    "local_time",
    "message_row",
    "satoshis",
]

SATOSHIS_PER_BTC = Decimal(100_000_000)


def satoshis(value: object) -> str:
    """An amount for people: '1,234,567' for satoshis, as given for a fiat decimal, '-' for none."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "-" if value is None else str(value)


def btc(value: int) -> str:
    """Satoshis as BTC with all eight decimals: 1234567 -> '0.01234567'."""
    return f"{Decimal(value) / SATOSHIS_PER_BTC:.8f}"


def local_time(value: datetime | None, *, date: bool = True) -> str:
    """An aware datetime in this machine's time zone, or '-'."""
    if value is None:
        return "-"
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S")


def message_row(message: Message, e164: str) -> MessageDict:
    """A message in the documented shape (from/to filled in for either service dialect)."""
    return _message(message, e164)


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
        wrap: Sequence[str] = ("Name", "Content", "SMS action"),
    ) -> None:
        """A table; every cell is shown as plain text. Only the `wrap` columns wrap."""
        table = Table(title=title, title_justify="left", header_style="bold")
        for column in columns:
            table.add_column(column, overflow="fold", no_wrap=column not in wrap)
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
NUMBER_COLUMNS = ("Number", "Group", "SMS action", "Rented since", "Per minute", "Messages")
MESSAGE_COLUMNS = ("Time", "", "With", "Cost", "OK", "Content")


def number_rows(numbers: Iterable[BaseNumber]) -> list[list[Any]]:
    """Table rows for rented numbers."""
    return [
        [
            n.e164,
            n.group_id,
            describe_action(n),
            local_time(n.assignment_start),
            satoshis(n.cost_per_minute),
            len(n.messages),
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
