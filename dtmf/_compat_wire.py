"""`DTMF`'s fast path: a number's body validated straight into its documented dicts.

`DTMF` returns plain dicts with the documented keys. Building them from the models
costs a Python function call and a timestamp formatting per message, more than
parsing the message. So pydantic-core validates the bytes into dicts instead:

- A body in the documented dialect goes straight into the documented dicts, in
  one pass. Its schema accepts only bodies whose dicts would come out of the
  models unchanged: every message has string ``from`` and ``to`` and a boolean
  ``success``, every timestamp is null or already in the documented form (a valid
  date, naive UTC, with microseconds: '2018-01-01T01:01:01.000000'), and a
  satoshi amount is a JSON integer.
- A body in the later dialect (its messages have ``other_number``, which a byte
  search finds before any parsing) is validated into plain dicts with the models'
  types, and one loop maps them to the documented keys, as `number_dict` would.

The schemas are derived from the models and the documented TypedDicts (`_schema`),
with stricter types only where the documented form needs them; the fields the
dicts leave out are validated all the same, with the models' types, then dropped.
Any other body (an offset, a fiat amount where the documented dialect wants
satoshis, a body that does not validate) goes through the models as before,
giving the same dicts and the same errors.

Loaded on the first call that needs it: it builds its validators when imported.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias, cast

from pydantic import BaseModel, StringConstraints, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic.types import FailFast, Strict
from typing_extensions import NotRequired, Required, TypedDict

from ._documented import (
    NUMBER_KEYS,
    MessageDict,
    NumberDict,
    documented_message,
    format_timestamp,
    message_success,
    satoshis,
)
from ._models import BaseNumber, Message

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

_Timestamp: TypeAlias = Annotated[str, StringConstraints(pattern=DOCUMENTED_TIMESTAMP)]
_OptionalTimestamp: TypeAlias = _Timestamp | None
_LaterTimestamp: TypeAlias = _Timestamp | Literal[""] | None  # '' is no timestamp
_Satoshis: TypeAlias = Annotated[int, Strict()] | None


def _model_type(info: FieldInfo) -> Any:
    """A model field's type with its validators: what the model accepts."""
    kind: Any = info.annotation
    for marker in info.metadata:
        kind = Annotated[kind, marker]
    return kind


def _fail_fast_list(item: Any) -> Any:
    """A list that stops at its first invalid item: a body in the other dialect fails fast."""
    return Annotated[list[item], FailFast()]


def _schema(
    name: str, model: type[BaseModel], documented: tuple[str, ...], types: dict[str, Any]
) -> Any:
    """A TypedDict of every field of `model`, by wire name, the `documented` keys first.

    A documented key is required; any other is required when the model requires it.
    Each takes its type from `types`, else the model's own: the fast path accepts no
    body the models would refuse, and a field the models gain is validated here too.
    """
    fields = {info.alias or key: info for key, info in model.model_fields.items()}
    schema: dict[str, Any] = {}
    for key in (*documented, *(k for k in fields if k not in documented)):
        kind = types[key] if key in types else _model_type(fields[key])
        required = key in documented or fields[key].is_required()
        schema[key] = Required[kind] if required else NotRequired[kind]
    return TypedDict(name, schema)  # type: ignore[operator]


_MESSAGE_KEYS = tuple(MessageDict.__annotations__)

# The documented dialect: validated straight into the documented dicts. Only the
# values the models would turn into these same dicts unchanged are let through.
_Message = _schema(
    "_Message",
    Message,
    _MESSAGE_KEYS,
    {"from": str, "to": str, "timestamp": _OptionalTimestamp, "success": bool},
)
_Number = _schema(
    "_Number",
    BaseNumber,
    NUMBER_KEYS,
    {
        "cost_per_inbound_message": _Satoshis,
        "assignment_start": _OptionalTimestamp,
        "messages": _fail_fast_list(_Message),
    },
)
_NUMBER_EXTRAS = tuple(key for key in _Number.__annotations__ if key not in NUMBER_KEYS)
_MESSAGE_EXTRAS = tuple(key for key in _Message.__annotations__ if key not in _MESSAGE_KEYS)

# The later dialect (`other_number` and `inbound`): validated with the models' types
# into plain dicts, then turned into the documented ones in one loop. Only a message
# whose from/to the models would take from `other_number` is let through.
_LaterMessage = _schema(
    "_LaterMessage",
    Message,
    ("other_number",),
    {
        "other_number": str,
        "from": None,
        "to": None,
        "timestamp": _LaterTimestamp,
    },
)
_LaterNumber = _schema(
    "_LaterNumber",
    BaseNumber,
    (),
    {"messages": _fail_fast_list(_LaterMessage)},
)
# Cheap to look for, and only the later dialect's messages have it.
_LATER = b'"other_number"'

_one: TypeAdapter[dict[str, Any]] = TypeAdapter(_Number)
_many: TypeAdapter[list[dict[str, Any]]] = TypeAdapter(_fail_fast_list(_Number))
_later_one: TypeAdapter[dict[str, Any]] = TypeAdapter(_LaterNumber)
_later_many: TypeAdapter[list[dict[str, Any]]] = TypeAdapter(_fail_fast_list(_LaterNumber))


def _documented(number: dict[str, Any]) -> NumberDict:
    """Drop the validated fields the documented dicts leave out, in place."""
    for key in _NUMBER_EXTRAS:
        number.pop(key, None)
    for message in number["messages"]:
        if len(message) > len(_MESSAGE_KEYS):
            for key in _MESSAGE_EXTRAS:
                message.pop(key, None)
    return cast("NumberDict", number)


def _from_later(number: dict[str, Any]) -> NumberDict:
    """A later-dialect number's documented dict, as `number_dict` would give it."""
    e164 = number["e164"]
    result = {key: number.get(key) for key in NUMBER_KEYS}
    result["cost_per_inbound_message"] = satoshis(result["cost_per_inbound_message"])
    result["assignment_start"] = format_timestamp(result["assignment_start"])
    messages: list[MessageDict] = []
    append = messages.append
    for message in number.get("messages", ()):
        other = message["other_number"]
        inbound = message.get("inbound")
        append(
            documented_message(
                other if inbound else e164,
                e164 if inbound else other,
                message["content"],
                message.get("timestamp") or None,  # '' is no timestamp
                message_success(message.get("success"), message.get("status")),
                message.get("cost"),
            )
        )
    result["messages"] = messages
    return cast("NumberDict", result)


def number(content: bytes) -> NumberDict | None:
    """One number's documented dict, or None when the body needs the models."""
    try:
        if _LATER in content:
            return _from_later(_later_one.validate_json(content))
        return _documented(_one.validate_json(content))
    except ValidationError:
        return None


def numbers(content: bytes) -> list[NumberDict] | None:
    """A list of numbers' documented dicts, or None when the body needs the models."""
    try:
        if _LATER in content:
            return [_from_later(number) for number in _later_many.validate_json(content)]
        return [_documented(number) for number in _many.validate_json(content)]
    except ValidationError:
        return None
