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

import weakref
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from ._client import Client, ClientKeywords
from ._contract import get_number, list_numbers, rent_number
from ._documented import (
    AccountDict,
    AddressDict,
    GroupDict,
    MessageDict,
    NumberDict,
    account_dict,
    address_dict,
    group_dict,
    parse_number,
    parse_numbers,
)
from ._validate import GroupType, SmsActionName

if TYPE_CHECKING:
    from collections.abc import Callable

    from typing_extensions import Self, Unpack

    from ._contract import Operation, WireFields

__all__ = [
    "DTMF",
    "AccountDict",
    "AddressDict",
    "GroupDict",
    "MessageDict",
    "NumberDict",
]

_T = TypeVar("_T")


class _QuietClient(Client):
    """A `Client` that does not warn when left unclosed.

    Code written for the original class never closes it, and must not be told to;
    its pool is closed when the client and its `with_options()` views are collected.
    """

    _warn_unclosed = False

    def __init__(self, token: str, **options: Unpack[ClientKeywords]) -> None:
        super().__init__(token, **options)
        if self._lifecycle.owned:
            # The lifecycle is shared with the views: the pool outlives none of them.
            weakref.finalize(self._lifecycle, self._http.close)


_QuietClient.__name__ = _QuietClient.__qualname__ = "Client"  # what users were promised


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
        return account_dict(self.client.account.get())

    def addresses(self) -> list[AddressDict]:
        """Gets your active Bitcoin deposit addresses for adding funds to your account."""
        return [address_dict(a) for a in self.client.addresses.list()]

    def new_address(self) -> AddressDict:
        """Generates a new Bitcoin deposit address for adding funds to your account."""
        return address_dict(self.client.addresses.create())

    def groups(self, group_type: str) -> list[GroupDict]:
        """Gets all possible phone number groups of a given type ('mobile' or 'local').

        Raises ValueError if group_type has an invalid value.
        """
        # The original took any str and raised ValueError at run time; so does this
        # (the contract's check runs before any request), so old code type-checks.
        groups = self.client.groups.list(cast("GroupType", group_type))
        return [group_dict(g) for g in groups]

    def numbers(self) -> list[NumberDict]:
        """Gets all phone numbers currently rented by your account."""
        return self._parsed(list_numbers, list_numbers.signature(), parse_numbers)

    def number(self, e164: str) -> NumberDict:
        """Gets a specific phone number that is currently rented by your account.

        Raises ValueError if the parameter is not in E.164 format.
        """
        return self._parsed(get_number, get_number.signature(e164), parse_number)

    def start_rental(self, group_id: str) -> NumberDict:
        """Rents a new number from a specified phone number group."""
        return self._parsed(rent_number, rent_number.signature(group_id), parse_number)

    def end_rental(self, e164: str) -> Literal[True]:
        """Ends the rental of a specified phone number.

        Raises ValueError if the parameter is not in E.164 format.
        """
        self.client.numbers.end_rental(e164)
        return True

    def set_sms_action(
        self, e164: str, action: str | None, destination: str | None
    ) -> Literal[True]:
        """Sets the action to be taken when a specified phone number receives an SMS.

        `action` is 'forward' (destination: an E.164 number), 'webhook'
        (destination: an http(s) URL) or None (destination: None).
        Raises ValueError if any parameter has invalid format.
        """
        checked = cast("SmsActionName | None", action)  # checked before any request
        self.client.numbers.set_sms_action(e164, checked, destination)
        return True

    def send_sms(self, from_e164: str, to_e164: str, content: str) -> Literal[True]:
        """Sends an SMS from a phone number that you have rented to another phone number.

        Raises ValueError if a number is not in E.164 format or the content, rendered
        to ASCII, is over 160 characters.
        """
        self.client.messages.send(from_e164, to_e164, content)
        return True

    def _parsed(
        self, operation: Operation[Any, Any, Any], wire: WireFields, parse: Callable[[bytes], _T]
    ) -> _T:
        # Numbers carry their messages, and building their dicts from the models costs
        # more than parsing: `parse` reads the body straight into the documented dicts
        # (see _compat_wire.py). The public methods return models, so this goes to the
        # client's requester, which takes such a `parse`.
        return self.client._requester.send(operation, wire, parse)  # pyright: ignore[reportPrivateUsage]

    def close(self) -> None:
        """Close the connections (the original class had no need to; it is optional)."""
        self.client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<dtmf.DTMF base_url={self.client.base_url!r}>"
