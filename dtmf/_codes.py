"""One-call verification codes: rent a number, wait for the SMS with the code, end the rental.

`client.numbers.receive_code("us-mobile")` is a scoped rental (`_rentals.py`) around
`wait_for_message()` (`_waiting.py`): the rental ends on every way out, the code
arrived or not. `on_rented` hands the caller the number while the wait runs, so it
can be typed into the form that sends the code.

Every message the fresh rental receives counts, from the moment the service says the
rental started (`assignment_start`, on the service's own clock): a code that arrives
before the first poll is not missed.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, cast

from ._errors import InvalidParameterError
from ._rentals import DEFAULT_END_TIMEOUT, AsyncRental, Rental

if TYPE_CHECKING:
    from ._client import AsyncClient, Client
    from ._models import AsyncNumber, BaseNumber, Message, Number
    from ._requester import AsyncRequester, SyncRequester

__all__ = [
    "DEFAULT_CODE_PATTERN",
    "AsyncCodeMethods",
    "CodeMethods",
    "VerificationCode",
    "async_receive_code",
    "receive_code",
]

DEFAULT_CODE_PATTERN = r"(?<!\d)(\d{4,8})(?!\d)"
"""4 to 8 digits standing alone: not part of a longer number (a phone number, an amount)."""

DEFAULT_CODE_TIMEOUT = 120.0

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class VerificationCode:
    """The code `receive_code()` found, the SMS it came in, and the number that received it."""

    code: str
    """The code: the pattern's first group, or its whole match when it has no group."""
    message: Message
    """The SMS the code came in."""
    e164: str
    """The number that was rented to receive it (its rental has ended)."""


def _pattern(pattern: object) -> re.Pattern[str]:
    if isinstance(pattern, re.Pattern):
        return cast("re.Pattern[str]", pattern)
    if not isinstance(pattern, str):
        raise InvalidParameterError(
            "pattern", f"expected a regex (str or re.Pattern), got {type(pattern).__name__}"
        )
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise InvalidParameterError("pattern", f"{pattern!r} is not a regex: {exc}") from None


def _checked(pattern: object, timeout: object) -> re.Pattern[str]:
    """The pattern compiled, once it and `timeout` are known good (before renting)."""
    from ._waiting import check_timeout  # not at import: _waiting needs the models

    regex = _pattern(pattern)
    check_timeout(timeout)
    return regex


def _since(number: BaseNumber) -> datetime:
    # A fresh rental's messages are all for this caller; the service's own start time
    # leaves out any a previous renter of the number got, with no clock skew.
    return number.assignment_start or _EPOCH


def _result(number: BaseNumber, message: Message, code: str | None) -> VerificationCode:
    assert code is not None  # a regex matcher always gives a code
    return VerificationCode(code, message, number.e164)


def receive_code(
    client: Client,
    group_id: str,
    *,
    pattern: str | re.Pattern[str] = DEFAULT_CODE_PATTERN,
    timeout: float = DEFAULT_CODE_TIMEOUT,
    on_rented: Callable[[Number], object] | None = None,
    end_timeout: float = DEFAULT_END_TIMEOUT,
) -> VerificationCode:
    """`client.numbers.receive_code()` (see `CodeMethods.receive_code`)."""
    regex = _checked(pattern, timeout)
    with Rental(client, group_id, end_timeout=end_timeout) as number:
        if on_rented is not None:
            on_rented(number)
        found = number.wait_for_message(timeout=timeout, match=regex, since=_since(number))
    return _result(number, found.message, found.code)


async def async_receive_code(
    client: AsyncClient,
    group_id: str,
    *,
    pattern: str | re.Pattern[str] = DEFAULT_CODE_PATTERN,
    timeout: float = DEFAULT_CODE_TIMEOUT,
    on_rented: Callable[[AsyncNumber], object] | None = None,
    end_timeout: float = DEFAULT_END_TIMEOUT,
) -> VerificationCode:
    """`aclient.numbers.receive_code()` (see `AsyncCodeMethods.receive_code`)."""
    regex = _checked(pattern, timeout)
    async with AsyncRental(client, group_id, end_timeout=end_timeout) as number:
        if on_rented is not None:
            told = on_rented(number)
            if inspect.isawaitable(told):
                await told
        found = await number.wait_for_message(timeout=timeout, match=regex, since=_since(number))
    return _result(number, found.message, found.code)


class CodeMethods:
    """`client.numbers.receive_code()`."""

    __slots__ = ()

    if TYPE_CHECKING:
        _requester: SyncRequester

    def receive_code(
        self,
        group_id: str,
        *,
        pattern: str | re.Pattern[str] = DEFAULT_CODE_PATTERN,
        timeout: float = DEFAULT_CODE_TIMEOUT,
        on_rented: Callable[[Number], object] | None = None,
        end_timeout: float = DEFAULT_END_TIMEOUT,
    ) -> VerificationCode:
        """Rent a number, wait for an SMS with a code, end the rental, return the code.

        The rental ends on every way out: the code came, the wait timed out, something
        failed or Ctrl-C was pressed. Every SMS the new number receives counts.

        Args:
            group_id: The id of a group from `groups.list()` that takes SMS, e.g. 'us-mobile'.
            pattern: The regex the code is found with; its first group is the code (or the
                whole match, with no group). Default: 4 to 8 digits standing alone.
            timeout: Seconds to wait for the SMS.
            on_rented: Called with the number once rented, before the wait: give its
                `e164` to whoever sends the code.
            end_timeout: Seconds ending the rental may take, retries included.

        Raises:
            InvalidParameterError: a parameter is malformed (raised before any request).
            InsufficientFundsError: the balance does not cover the setup cost.
            MessageTimeoutError: no matching SMS within `timeout` (the rental was ended).
            RentalNotEndedError: ending failed: the number is still rented and billed.

        Example:
            ``code = client.numbers.receive_code("us-mobile", on_rented=print).code``
        """
        client = cast("Client", self._requester.owner)
        return receive_code(
            client,
            group_id,
            pattern=pattern,
            timeout=timeout,
            on_rented=on_rented,
            end_timeout=end_timeout,
        )


class AsyncCodeMethods:
    """`aclient.numbers.receive_code()`."""

    __slots__ = ()

    if TYPE_CHECKING:
        _requester: AsyncRequester

    async def receive_code(
        self,
        group_id: str,
        *,
        pattern: str | re.Pattern[str] = DEFAULT_CODE_PATTERN,
        timeout: float = DEFAULT_CODE_TIMEOUT,
        on_rented: Callable[[AsyncNumber], object] | None = None,
        end_timeout: float = DEFAULT_END_TIMEOUT,
    ) -> VerificationCode:
        """Rent a number, wait for an SMS with a code, end the rental, return the code.

        The rental ends on every way out, a cancellation included (ending is shielded
        from it). Every SMS the new number receives counts. asyncio or trio.

        Args:
            group_id: The id of a group from `groups.list()` that takes SMS, e.g. 'us-mobile'.
            pattern: The regex the code is found with; its first group is the code (or the
                whole match, with no group). Default: 4 to 8 digits standing alone.
            timeout: Seconds to wait for the SMS; other tasks run meanwhile.
            on_rented: Called with the number once rented, before the wait (it may be a
                coroutine function): give its `e164` to whoever sends the code.
            end_timeout: Seconds ending the rental may take, retries included.

        Raises:
            InvalidParameterError: a parameter is malformed (raised before any request).
            InsufficientFundsError: the balance does not cover the setup cost.
            MessageTimeoutError: no matching SMS within `timeout` (the rental was ended).
            RentalNotEndedError: ending failed: the number is still rented and billed.

        Example:
            ``code = (await client.numbers.receive_code("us-mobile", on_rented=print)).code``
        """
        client = cast("AsyncClient", self._requester.owner)
        return await async_receive_code(
            client,
            group_id,
            pattern=pattern,
            timeout=timeout,
            on_rented=on_rented,
            end_timeout=end_timeout,
        )
