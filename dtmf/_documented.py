"""The original client's documented shapes: plain dicts with the documented keys.

`DTMF` (``dtmf.compat``) returns them, and the command line prints them as its
JSON output. Each converter takes a model, whichever dialect of the service it
came from; `parse_number` and `parse_numbers` read a number's body straight into
its dict (the fast path of `_compat_wire.py`), falling back on the models.

Each shape is declared once. The models (`_models.py`) declare the service's
bodies; the TypedDicts here declare the documented subset of them, because they
are `DTMF`'s public return types and a type checker needs a TypedDict written out.
Everything else takes its keys from these two: the converters below, the fast
path's schemas and the reference server's bodies. tests/test_documented_shapes.py
holds each TypedDict to its model (every key a model field of the same type, or a
documented conversion of it).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypedDict, cast

from ._contract import get_number, list_numbers
from ._timestamps import parse_timestamp

if TYPE_CHECKING:
    from ._models import Account, Address, BaseGroup, BaseNumber, Message

__all__ = [
    "AccountDict",
    "AddressDict",
    "GroupDict",
    "MessageDict",
    "NumberDict",
    "account_dict",
    "address_dict",
    "format_timestamp",
    "group_dict",
    "message_dict",
    "number_dict",
    "parse_number",
    "parse_numbers",
]


class AccountDict(TypedDict):
    """`DTMF.account()`: the balance in satoshis."""

    balance: int


class AddressDict(TypedDict):
    """`DTMF.addresses()` and `new_address()`: a Bitcoin deposit address."""

    address: str


class GroupDict(TypedDict):
    """`DTMF.groups()`: a group of numbers to rent from, costs in satoshis."""

    id: str
    type: str
    name: str
    country_code: str
    sms_support: bool
    voice_support: bool
    setup_cost: int
    rental_cost_per_minute: int
    cost_per_inbound_message: int | None
    cost_per_inbound_call_minute: int | None


# The functional form, because 'from' is a Python keyword.
_MessageFields = TypedDict(
    "_MessageFields",
    {
        "from": "str | None",
        "to": "str | None",
        "content": str,
        "timestamp": "str | None",
        "success": "bool | None",
        "cost": "int | None",
    },
)


class MessageDict(_MessageFields):
    """A message of a `NumberDict`, sent or received; `timestamp` is naive UTC."""


class NumberDict(TypedDict):
    """`DTMF.number()`, `numbers()`, `start_rental()`: a rented number with its messages."""

    e164: str
    group_id: str | None
    sms: bool | None
    cost_per_minute: int | None
    cost_per_inbound_message: int | None
    assignment_start: str | None
    sms_forwarded_to: str | None
    messages: list[MessageDict]


def format_timestamp(value: datetime | None) -> str | None:
    """The documented format: naive UTC with microseconds, '2018-01-01T01:01:01.000000'."""
    if value is None:
        return None
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")


def _wire_timestamp(value: datetime | str | None) -> str | None:
    """A message's wire timestamp (`Message.timestamp_on_wire`) in the documented format."""
    if isinstance(value, datetime) and value.tzinfo is None:
        # Naive is UTC: the common case formats directly, without the round trip
        # through an aware datetime that `Message.timestamp` makes.
        return value.isoformat(timespec="microseconds")
    try:
        return format_timestamp(parse_timestamp(value))
    except ValueError:
        return None  # as `Message.timestamp` says: not a timestamp


def satoshis(value: object) -> int | None:
    """A documented satoshi amount, or None for a fiat decimal of the later revision."""
    return value if isinstance(value, int) else None


def message_success(success: bool | None, status: str | None) -> bool | None:
    """The documented `success`; the later revision says it with `status` instead."""
    if success is None and status is not None:
        return status not in ("failed", "undelivered", "error")
    return success


def documented_message(
    sender: str | None,
    recipient: str | None,
    content: str,
    timestamp: str | None,
    success: bool | None,
    cost: int | None,
) -> MessageDict:
    """A `MessageDict` from its values (the one place its keys are written)."""
    return {
        "from": sender,
        "to": recipient,
        "content": content,
        "timestamp": timestamp,
        "success": success,
        "cost": cost,
    }


def message_dict(message: Message, e164: str) -> MessageDict:
    """A message of the number `e164`, with from/to filled in for either dialect."""
    sender, recipient = message.from_, message.to
    if sender is None and recipient is None and message.other_number is not None:
        # The later revision says 'other_number' and 'inbound' instead of from/to.
        inbound = bool(message.inbound)
        sender = message.other_number if inbound else e164
        recipient = e164 if inbound else message.other_number
    return documented_message(
        sender,
        recipient,
        message.content,
        _wire_timestamp(message.timestamp_on_wire),
        message_success(message.success, message.status),
        message.cost,
    )


# The documented keys, in order. The converters below take the values from the model
# fields of the same (wire) names, and convert those the documentation gives another form.
NUMBER_KEYS: tuple[str, ...] = tuple(NumberDict.__annotations__)
GROUP_KEYS: tuple[str, ...] = tuple(GroupDict.__annotations__)


def number_dict(number: BaseNumber) -> NumberDict:
    """A number with its messages."""
    result: dict[str, Any] = {key: getattr(number, key) for key in NUMBER_KEYS}
    result["cost_per_inbound_message"] = satoshis(number.cost_per_inbound_message)
    result["assignment_start"] = format_timestamp(number.assignment_start)
    result["messages"] = [message_dict(m, number.e164) for m in number.messages]
    return cast("NumberDict", result)


def group_dict(group: BaseGroup) -> GroupDict:
    """A group of numbers to rent from."""
    return cast("GroupDict", {key: getattr(group, key) for key in GROUP_KEYS})


def account_dict(account: Account) -> AccountDict:
    """The account: its balance in satoshis."""
    return {"balance": account.balance}


def address_dict(address: Address) -> AddressDict:
    """A Bitcoin deposit address."""
    return {"address": address.address}


def parse_number(content: bytes) -> NumberDict:
    """A number's body as its documented dict."""
    from . import _compat_wire  # builds its validators on first use

    fast = _compat_wire.number(content)
    if fast is None:
        # Not the documented dialect, or not valid: the models give the dict, or the error.
        return number_dict(get_number.result.parse_sync(content))
    return fast


def parse_numbers(content: bytes) -> list[NumberDict]:
    """A list of numbers' body as their documented dicts."""
    from . import _compat_wire

    fast = _compat_wire.numbers(content)
    if fast is None:
        return [number_dict(n) for n in list_numbers.result.parse_sync(content)]
    return fast
