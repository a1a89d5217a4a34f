"""`DTMF`'s fast path: a documented-dialect body validated straight into its dicts.

`DTMF` returns plain dicts with the documented keys. Building them from the models
costs a Python function call and a timestamp formatting per message, more than
parsing the message. For a body in the documented dialect, pydantic-core can
validate the bytes straight into those dicts instead, in one pass.

The fast schema accepts only bodies whose dicts would come out of the models
unchanged: every message has string ``from`` and ``to`` and a boolean ``success``,
every timestamp is null or already in the documented form (a valid date, naive
UTC, with microseconds: '2018-01-01T01:01:01.000000'), and a satoshi amount is a
JSON integer. The fields the dicts leave out are validated all the same, with the
models' types, and then dropped. Any other body (the later dialect, an offset, a
fiat amount, a body that does not validate) goes through the models as before,
giving the same dicts and the same errors.

Loaded on the first call that needs it: it builds its validators when imported.
"""

from __future__ import annotations

from typing import Annotated, cast

from pydantic import StringConstraints, TypeAdapter, ValidationError
from pydantic.types import FailFast, Strict
from typing_extensions import NotRequired, TypedDict

from ._models import Amount, Call
from ._timestamps import OptionalTimestamp

__all__ = ["DOCUMENTED_TIMESTAMP", "number", "numbers"]

# Exactly the naive timestamps `datetime` accepts, written as the docs write them:
# any year but 0000, each month's days (29 February in leap years only).
_YEAR = "(?:[0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})"
_MONTH_DAY = (
    "(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    "|(?:0[13-9]|1[0-2])-(?:29|30)"
    "|(?:0[13578]|1[02])-31)"
)
_LEAP = "(?:0[48]|[2468][048]|[13579][26])"
_LEAP_DAY = f"(?:[0-9]{{2}}{_LEAP}|{_LEAP}00)-02-29"
_TIME = "T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\\.[0-9]{6}"
DOCUMENTED_TIMESTAMP = f"^(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_DAY}){_TIME}$"

_Timestamp = Annotated[str, StringConstraints(pattern=DOCUMENTED_TIMESTAMP)]

_Message = TypedDict(
    "_Message",
    {
        "from": str,
        "to": str,
        "content": str,
        "timestamp": "_Timestamp | None",
        "success": bool,
        "cost": "int | None",
        # Validated as the model validates them, then dropped.
        "id": "NotRequired[int | None]",
        "other_number": "NotRequired[str | None]",
        "inbound": "NotRequired[bool | None]",
        "status": "NotRequired[str | None]",
    },
)
_MESSAGE_EXTRAS = ("id", "other_number", "inbound", "status")


class _Number(TypedDict):
    e164: str
    group_id: str | None
    sms: bool | None
    cost_per_minute: int | None
    cost_per_inbound_message: Annotated[int, Strict()] | None
    assignment_start: _Timestamp | None
    sms_forwarded_to: str | None
    # Fail fast: a body in the other dialect stops at its first message.
    messages: Annotated[list[_Message], FailFast()]
    # Validated as the model validates them, then dropped.
    id: NotRequired[int | None]
    identifier: NotRequired[str | None]
    voice: NotRequired[bool | None]
    cost_per_month: NotRequired[Amount | None]
    next_renewal: NotRequired[OptionalTimestamp]
    calls: NotRequired[list[Call]]


_NUMBER_EXTRAS = ("id", "identifier", "voice", "cost_per_month", "next_renewal", "calls")

_one: TypeAdapter[_Number] = TypeAdapter(_Number)
_many: TypeAdapter[list[_Number]] = TypeAdapter(Annotated[list[_Number], FailFast()])


def _documented(number: _Number) -> _Number:
    """Drop the validated fields the documented dicts leave out, in place."""
    extras = cast("dict[str, object]", number)
    for key in _NUMBER_EXTRAS:
        if key in extras:
            del extras[key]
    for message in number["messages"]:
        if len(message) > 6:
            fields = cast("dict[str, object]", message)
            for key in _MESSAGE_EXTRAS:
                if key in fields:
                    del fields[key]
    return number


def number(content: bytes) -> _Number | None:
    """One number's documented dict, or None when the body needs the models."""
    try:
        number = _one.validate_json(content)
    except ValidationError:
        return None
    return _documented(number)


def numbers(content: bytes) -> list[_Number] | None:
    """A list of numbers' documented dicts, or None when the body needs the models."""
    try:
        numbers = _many.validate_json(content)
    except ValidationError:
        return None
    return [_documented(number) for number in numbers]
