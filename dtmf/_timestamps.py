"""Timestamps from the service, as timezone-aware UTC datetimes.

The service writes timestamps without an offset ('2018-01-01T01:01:01.000000'),
which are UTC; its later revision can send an empty string for "no timestamp".
pydantic-core parses ISO 8601 itself (fast, in Rust); python-dateutil is the
fallback for anything else, loaded only when such a timestamp is met.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Annotated, Any, TypeAlias

from pydantic import BeforeValidator

__all__ = ["OptionalTimestamp", "as_utc", "parse_timestamp"]


_YEAR = re.compile(r"\d{4}")


def as_utc(value: datetime) -> datetime:
    """`value` in UTC; UTC is assumed when it has no offset.

    Raises ValueError when its UTC time is outside datetime's range (years 1 to
    9999), as '9999-12-31T23:59:59-23:59' is.
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    if value.tzinfo is not timezone.utc:
        try:
            # Also for a zero-offset zone (+00:00, Europe/London).
            return value.astimezone(timezone.utc)
        except OverflowError:
            raise ValueError(
                f"{value.isoformat()} is out of range: in UTC it falls outside the years 1 to 9999"
            ) from None
    return value


def parse_timestamp(value: datetime | str | None) -> datetime | None:
    """A wire timestamp as an aware datetime; '' or None is None.

    Raises ValueError for a string no parser understands, and for a timestamp
    whose UTC time datetime cannot hold.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return as_utc(value)
    if not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        from dateutil.parser import parse

        # dateutil fills what a string lacks from today's date ('1' becomes the 1st of
        # this month): only a string that names a year is a timestamp.
        if not _YEAR.search(value):
            raise ValueError(f"{value!r} is not a timestamp") from None

        try:
            parsed = parse(value)
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"{value!r} is not a timestamp: {exc}") from None
    return as_utc(parsed)


def _validate(value: Any) -> Any:
    if isinstance(value, (str, datetime)) or value is None:
        return parse_timestamp(value)
    return value  # numbers and wrong types: pydantic decides, with its own message


# For fields met once per object. Message.timestamp, met once per message, uses a
# lazier path (see _models.Message) because a Python validator per message costs
# more than parsing the message itself.
OptionalTimestamp: TypeAlias = Annotated[datetime | None, BeforeValidator(_validate)]
