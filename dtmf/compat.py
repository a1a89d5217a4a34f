"""`DTMF`: the original client's interface, so code written for it runs unchanged.

Every documented method keeps its name, parameters and return shape (plain dicts
with the documented keys, lists, ``True``) and raises `ValueError` where the
original documentation says so. Underneath it is a `dtmf.Client`: responses are
validated by the same models, and errors are the same `DTMFError` classes.

=========================================  ==========================================
Original                                   New API
=========================================  ==========================================
``DTMF(token).account()``                  ``Client(token).account.get()``
``addresses()``                            ``addresses.list()``
``new_address()``                          ``addresses.create()``
``groups(group_type)``                     ``groups.list(group_type)``
``numbers()``                              ``numbers.list()``
``number(e164)``                           ``numbers.get(e164)``
``start_rental(group_id)``                 ``numbers.rent(group_id)`` / ``group.rent()``
``end_rental(e164)``                       ``numbers.end_rental(e164)``
``set_sms_action(e164, action, dest)``     ``numbers.set_sms_action(e164, action, dest)``
``send_sms(from_e164, to_e164, content)``  ``messages.send(from_e164, to_e164, content)``
=========================================  ==========================================
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal, TypedDict, cast

from ._client import Client, ClientKeywords
from ._contract import get_number, list_numbers, rent_number
from ._validate import GroupType, SmsActionName

if TYPE_CHECKING:
    from typing_extensions import Self, Unpack

    from ._models import Account, Address, BaseGroup, BaseNumber, Message

__all__ = [
    "DTMF",
    "AccountDict",
    "AddressDict",
    "GroupDict",
    "MessageDict",
    "NumberDict",
]


class AccountDict(TypedDict):
    balance: int


class AddressDict(TypedDict):
    address: str


class GroupDict(TypedDict):
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
MessageDict = TypedDict(
    "MessageDict",
    {
        "from": "str | None",
        "to": "str | None",
        "content": str,
        "timestamp": "str | None",
        "success": "bool | None",
        "cost": "int | None",
    },
)


class NumberDict(TypedDict):
    e164: str
    group_id: str | None
    sms: bool | None
    cost_per_minute: int | None
    cost_per_inbound_message: int | None
    assignment_start: str | None
    sms_forwarded_to: str | None
    messages: list[MessageDict]


def _timestamp(value: datetime | None) -> str | None:
    """The documented format: naive UTC with microseconds, '2018-01-01T01:01:01.000000'."""
    if value is None:
        return None
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")


def _satoshis(value: Any) -> int | None:
    # A fiat decimal from the service's later revision is not a satoshi amount.
    return value if isinstance(value, int) else None


def _message(message: Message, e164: str) -> MessageDict:
    sender, recipient = message.from_, message.to
    if sender is None and recipient is None and message.other_number is not None:
        # The later revision says 'other_number' and 'inbound' instead of from/to.
        inbound = bool(message.inbound)
        sender = message.other_number if inbound else e164
        recipient = e164 if inbound else message.other_number
    success = message.success
    if success is None and message.status is not None:
        success = message.status not in ("failed", "undelivered", "error")
    return {
        "from": sender,
        "to": recipient,
        "content": message.content,
        "timestamp": _timestamp(message.timestamp),
        "success": success,
        "cost": message.cost,
    }


def _number(number: BaseNumber) -> NumberDict:
    return {
        "e164": number.e164,
        "group_id": number.group_id,
        "sms": number.sms,
        "cost_per_minute": number.cost_per_minute,
        "cost_per_inbound_message": _satoshis(number.cost_per_inbound_message),
        "assignment_start": _timestamp(number.assignment_start),
        "sms_forwarded_to": number.sms_forwarded_to,
        "messages": [_message(m, number.e164) for m in number.messages],
    }


def _parse_number(content: bytes) -> NumberDict:
    """A number's body as its documented dict."""
    from . import _compat_wire  # builds its validators on first use

    fast = _compat_wire.number(content)
    if fast is None:
        # Not the documented dialect, or not valid: the models give the dict, or the error.
        return _number(get_number.result.parse_sync(content))
    return cast("NumberDict", fast)


def _parse_numbers(content: bytes) -> list[NumberDict]:
    """A list of numbers' body as their documented dicts."""
    from . import _compat_wire

    fast = _compat_wire.numbers(content)
    if fast is None:
        return [_number(n) for n in list_numbers.result.parse_sync(content)]
    return cast("list[NumberDict]", fast)


def _group(group: BaseGroup) -> GroupDict:
    return {
        "id": group.id,
        "type": group.type,
        "name": group.name,
        "country_code": group.country_code,
        "sms_support": group.sms_support,
        "voice_support": group.voice_support,
        "setup_cost": group.setup_cost,
        "rental_cost_per_minute": group.rental_cost_per_minute,
        "cost_per_inbound_message": group.cost_per_inbound_message,
        "cost_per_inbound_call_minute": group.cost_per_inbound_call_minute,
    }


def _account(account: Account) -> AccountDict:
    return {"balance": account.balance}


def _address(address: Address) -> AddressDict:
    return {"address": address.address}


class _QuietClient(Client):
    """A `Client` that does not warn when left unclosed.

    Code written for the original class never closes it, and must not be told to;
    the pool is released when the client is collected.
    """

    _warn_unclosed = False


class DTMF:
    """This class provides methods for each of the DTMF API functions.

    >>> from dtmf import DTMF
    >>> dtmf = DTMF("your token")

    Keyword options are those of `dtmf.Client` (base_url, timeout, max_retries, ...).
    """

    def __init__(self, token: str, **options: Unpack[ClientKeywords]) -> None:
        self.client: Client = _QuietClient(token, **options)
        """The `dtmf.Client` underneath, for moving to the new API one call at a time."""

    def account(self) -> AccountDict:
        """Gets your account information (currently only your account balance in satoshis)."""
        return _account(self.client.account.get())

    def addresses(self) -> list[AddressDict]:
        """Gets your active Bitcoin deposit addresses for adding funds to your account."""
        return [_address(a) for a in self.client.addresses.list()]

    def new_address(self) -> AddressDict:
        """Generates a new Bitcoin deposit address for adding funds to your account."""
        return _address(self.client.addresses.create())

    def groups(self, group_type: GroupType) -> list[GroupDict]:
        """Gets all possible phone number groups of a given type ('mobile' or 'local').

        Raises ValueError if group_type has an invalid value.
        """
        return [_group(g) for g in self.client.groups.list(group_type)]

    def numbers(self) -> list[NumberDict]:
        """Gets all phone numbers currently rented by your account."""
        # Numbers carry their messages: validated straight into dicts (see _compat_wire.py).
        wire = list_numbers.signature()
        numbers: list[NumberDict] = self.client._call(list_numbers, wire, _parse_numbers)  # pyright: ignore[reportPrivateUsage]
        return numbers

    def number(self, e164: str) -> NumberDict:
        """Gets a specific phone number that is currently rented by your account.

        Raises ValueError if the parameter is not in E.164 format.
        """
        wire = get_number.signature(e164)
        number: NumberDict = self.client._call(get_number, wire, _parse_number)  # pyright: ignore[reportPrivateUsage]
        return number

    def start_rental(self, group_id: str) -> NumberDict:
        """Rents a new number from a specified phone number group."""
        wire = rent_number.signature(group_id)
        number: NumberDict = self.client._call(rent_number, wire, _parse_number)  # pyright: ignore[reportPrivateUsage]
        return number

    def end_rental(self, e164: str) -> Literal[True]:
        """Ends the rental of a specified phone number.

        Raises ValueError if the parameter is not in E.164 format.
        """
        self.client.numbers.end_rental(e164)
        return True

    def set_sms_action(
        self, e164: str, action: SmsActionName | None, destination: str | None
    ) -> Literal[True]:
        """Sets the action to be taken when a specified phone number receives an SMS.

        `action` is 'forward' (destination: an E.164 number), 'webhook'
        (destination: an http(s) URL) or None (destination: None).
        Raises ValueError if any parameter has invalid format.
        """
        self.client.numbers.set_sms_action(e164, action, destination)
        return True

    def send_sms(self, from_e164: str, to_e164: str, content: str) -> Literal[True]:
        """Sends an SMS from a phone number that you have rented to another phone number.

        Raises ValueError if a number is not in E.164 format or the content, rendered
        to ASCII, is over 160 characters.
        """
        self.client.messages.send(from_e164, to_e164, content)
        return True

    def close(self) -> None:
        """Close the connections (the original class had no need to; it is optional)."""
        self.client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<dtmf.DTMF base_url={self.client.base_url!r}>"
