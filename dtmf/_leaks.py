"""The leak finder: end the rentals that have run longer than they should.

`client.numbers.end_older_than(age)` lists the running rentals, ends each that
started more than `age` ago (unless named in `keep`) and reports what it did in
an `EndedRentals`: one failure does not stop the others. `split_by_age()` is the
choice itself, without I/O; `dtmf rentals --end-older-than` shows it first
(`--dry-run`, or the confirmation prompt), then makes the same call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Generic, TypeVar, cast

from ._errors import DTMFError, InvalidParameterError, NotFoundError
from ._validate import check_e164

if TYPE_CHECKING:
    from ._models import AsyncNumber, BaseNumber, Number

__all__ = ["AsyncFindLeaks", "EndedRentals", "FindLeaks", "split_by_age"]

NumberT = TypeVar("NumberT", bound="BaseNumber")


@dataclass(frozen=True)
class EndedRentals(Generic[NumberT]):
    """What `numbers.end_older_than()` did: which rentals it ended, kept, or failed to end.

    A number already gone when it was ended (the service answered 404) counts as
    ended: it is no longer billed.
    """

    ended: tuple[NumberT, ...]
    """The rentals ended (as listed before ending them)."""
    kept: tuple[NumberT, ...]
    """The rentals left running: named in `keep`, not older than `age`, or of unknown age."""
    failed: dict[str, DTMFError]
    """E.164 -> why ending it failed; these are still running and billed."""

    @property
    def ok(self) -> bool:
        """Whether every rental chosen for ending was ended."""
        return not self.failed


def check_age(age: object, now: object) -> tuple[timedelta, datetime]:
    """`age` and `now` (default: this moment, UTC) validated, before any request."""
    if not isinstance(age, timedelta) or age <= timedelta(0):
        raise InvalidParameterError("age", f"must be a positive timedelta, got {age!r}")
    from ._models import _moment  # pyright: ignore[reportPrivateUsage]

    return age, _moment(now)


def check_keep(keep: object) -> frozenset[str]:
    """The E.164 numbers of `keep`, validated (one string alone is refused, not split)."""
    if isinstance(keep, str):
        raise InvalidParameterError("keep", "pass a list of E.164 numbers, not one string")
    if not isinstance(keep, Iterable):
        raise InvalidParameterError("keep", f"must be an iterable of E.164 numbers, not {keep!r}")
    return frozenset(check_e164(e164, "keep") for e164 in cast("Iterable[object]", keep))


def split_by_age(
    numbers: Sequence[NumberT], age: timedelta, keep: frozenset[str], now: datetime
) -> tuple[list[NumberT], list[NumberT]]:
    """(to end, to keep): a rental is ended when it started more than `age` before `now`.

    Kept: the numbers in `keep`, and those whose start the service did not give.
    """
    to_end: list[NumberT] = []
    kept: list[NumberT] = []
    for number in numbers:
        known = number.assignment_start is not None
        if known and number.e164 not in keep and number.age(now) > age:
            to_end.append(number)
        else:
            kept.append(number)
    return to_end, kept


class FindLeaks:
    """`client.numbers.end_older_than()` (the hand-written part of `NumbersResource`)."""

    __slots__ = ()

    if TYPE_CHECKING:

        def list(self) -> list[Number]: ...
        def end_rental(self, e164: str) -> None: ...

    def end_older_than(
        self, age: timedelta, *, keep: Iterable[str] = (), now: datetime | None = None
    ) -> EndedRentals[Number]:
        """End every rental that started more than `age` ago, except those in `keep`.

        Lists the running rentals, then ends the chosen ones one by one: a failure
        is recorded in the result and the others are still ended. A rental whose
        start the service did not give is kept.

        Args:
            age: Rentals older than this are ended (a positive timedelta).
            keep: E.164 numbers never to end, whatever their age.
            now: The moment ages are measured at (aware; default: now).

        Returns:
            Which rentals were ended, kept, and failed to end (with the error).

        Raises:
            InvalidParameterError: a parameter is malformed (raised before any request).
            APIError: the rentals could not be listed (nothing was ended).

        Example:
            ``result = client.numbers.end_older_than(timedelta(hours=1), keep=["+447700900001"])``
        """
        age, moment = check_age(age, now)
        kept_numbers = check_keep(keep)
        to_end, kept = split_by_age(self.list(), age, kept_numbers, moment)
        ended: list[Number] = []
        failed: dict[str, DTMFError] = {}
        for number in to_end:
            try:
                self.end_rental(number.e164)
            except NotFoundError:
                ended.append(number)  # gone already: no longer billed
            except DTMFError as exc:
                failed[number.e164] = exc
            else:
                ended.append(number)
        return EndedRentals(tuple(ended), tuple(kept), failed)


class AsyncFindLeaks:
    """`await client.numbers.end_older_than()` (the hand-written part of the async resource)."""

    __slots__ = ()

    if TYPE_CHECKING:

        async def list(self) -> list[AsyncNumber]: ...
        async def end_rental(self, e164: str) -> None: ...

    async def end_older_than(
        self, age: timedelta, *, keep: Iterable[str] = (), now: datetime | None = None
    ) -> EndedRentals[AsyncNumber]:
        """End every rental that started more than `age` ago, except those in `keep`.

        Lists the running rentals, then ends the chosen ones one by one: a failure
        is recorded in the result and the others are still ended. A rental whose
        start the service did not give is kept.

        Args:
            age: Rentals older than this are ended (a positive timedelta).
            keep: E.164 numbers never to end, whatever their age.
            now: The moment ages are measured at (aware; default: now).

        Returns:
            Which rentals were ended, kept, and failed to end (with the error).

        Raises:
            InvalidParameterError: a parameter is malformed (raised before any request).
            APIError: the rentals could not be listed (nothing was ended).

        Example:
            ``result = await client.numbers.end_older_than(timedelta(hours=1))``
        """
        age, moment = check_age(age, now)
        kept_numbers = check_keep(keep)
        to_end, kept = split_by_age(await self.list(), age, kept_numbers, moment)
        ended: list[AsyncNumber] = []
        failed: dict[str, DTMFError] = {}
        for number in to_end:
            try:
                await self.end_rental(number.e164)
            except NotFoundError:
                ended.append(number)  # gone already: no longer billed
            except DTMFError as exc:
                failed[number.e164] = exc
            else:
                ended.append(number)
        return EndedRentals(tuple(ended), tuple(kept), failed)
