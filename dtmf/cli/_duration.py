"""Durations as people type them on a command line: 90s, 10m, 1h30m, 2d."""

from __future__ import annotations

import datetime
import re

__all__ = ["parse_duration"]

_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def parse_duration(text: str) -> datetime.timedelta:
    """'90s', '10m', '1h', '1h30m', '2d' (units d, h, m, s, largest first) as a timedelta.

    Raises:
        ValueError: `text` is not such a duration (the message shows the form).
    """
    cleaned = text.strip().lower()
    match = _DURATION.fullmatch(cleaned)
    if not cleaned or match is None:
        raise ValueError(
            f"{text!r} is not a duration: write a whole number and a unit (d, h, m or s), "
            "largest first, e.g. 90s, 10m, 1h30m or 2d"
        )
    given = zip(_UNITS.values(), match.groups(), strict=True)
    amounts = {unit: int(value) for unit, value in given if value}
    return datetime.timedelta(**amounts)
