"""Durations on the command line: '90s', '10m', '1h', '1h30m', '2d'."""

from __future__ import annotations

import datetime
import re

__all__ = ["parse_duration"]

_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def parse_duration(text: str) -> datetime.timedelta:
    """A duration written as whole days, hours, minutes and seconds, largest first.

    '90s', '10m', '1h', '1h30m', '2d', '1d12h'. Raises ValueError, saying how to
    write one, for anything else (a bare number, a unit twice, zero).
    """
    written = text.strip().lower()
    match = _DURATION.fullmatch(written)
    if not written or match is None:
        raise ValueError(
            f"{text!r} is not a duration: write whole numbers with units d, h, m, s, "
            "largest first, e.g. 90s, 10m, 1h, 1h30m or 2d"
        )
    amounts = {
        unit: int(value)
        for unit, value in zip(_UNITS.values(), match.groups(), strict=True)
        if value
    }
    try:
        duration = datetime.timedelta(**amounts)
    except OverflowError:
        raise ValueError(f"{text!r} is too long a duration") from None
    if not duration:
        raise ValueError(f"{text!r} is no time at all: give a duration longer than zero")
    return duration
