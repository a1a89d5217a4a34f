"""Scoped rentals: a number rented for one `with` block and ended on every way out.

``with client.numbers.rental("us-mobile") as number:`` rents on entry and ends the
rental when the block ends: normally, by an exception, by Ctrl-C (`Client`) or by a
cancellation (`AsyncClient`). Ending is the one step that must not be skipped:

- sync: a Ctrl-C that lands while the number is being rented or ended is held
  until that call is done (main thread only), then raised. The signal handler
  recognises those moments by the frames it interrupts, not by a flag set a few
  bytecodes too late, so there is no gap between "rented" and "will be ended".
- async: renting and ending are shielded from cancellation (anyio's cancel scopes
  and asyncio's `Task.cancel()` alike) and bounded by their own timeout; a
  cancellation that arrived meanwhile is raised once they are done.

If ending fails, `RentalNotEndedError` says which number is still billed and how to
end it. A 404 while ending means the number is no longer rented (ended in the block,
or by an earlier attempt whose answer was lost): that counts as ended.
"""

from __future__ import annotations

import math
import signal
import threading
from collections.abc import Awaitable, Callable
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from ._errors import DTMFError, InvalidParameterError, NotFoundError, RentalNotEndedError
from ._validate import check_group_id

if TYPE_CHECKING:
    from ._client import AsyncClient, Client
    from ._models import AsyncNumber, Number
    from ._requester import AsyncRequester, SyncRequester

__all__ = [
    "DEFAULT_END_TIMEOUT",
    "AsyncGroupRentalMethods",
    "AsyncRental",
    "AsyncRentalMethods",
    "GroupRentalMethods",
    "Rental",
    "RentalMethods",
]

DEFAULT_END_TIMEOUT = 30.0
"""Seconds ending a scoped rental may take, retries included."""

# Renting under a shield gets the client's call_timeout plus this much: the SDK's own
# deadline should end it first, with its clearer error.
_RENT_MARGIN = 5.0

N = TypeVar("N")
T = TypeVar("T")


def check_end_timeout(end_timeout: object) -> float:
    """`end_timeout` as seconds, or InvalidParameterError (before any request)."""
    if (
        isinstance(end_timeout, bool)
        or not isinstance(end_timeout, (int, float))
        or not 0 < end_timeout < math.inf
    ):
        raise InvalidParameterError(
            "end_timeout", f"must be a finite number of seconds > 0, got {end_timeout!r}"
        )
    return float(end_timeout)


class _Scope(Generic[N]):
    """What both flavours share: the options, the state of one use, and the error."""

    __slots__ = ("_active", "_kept", "_number", "end_timeout", "group_id", "keep_on_exit")

    def __init__(self, group_id: str, keep: bool, end_timeout: float) -> None:
        self.group_id: str = check_group_id(group_id)
        """The group the number is rented from."""
        if keep is not True and keep is not False:
            raise InvalidParameterError("keep", f"expected True or False, got {keep!r}")
        self.keep_on_exit: bool = keep
        """Whether the block's end leaves the number rented (`keep=True`)."""
        self.end_timeout: float = check_end_timeout(end_timeout)
        """Seconds ending the rental may take, retries included."""
        self._kept = False
        self._active = False
        self._number: N | None = None

    @property
    def number(self) -> N | None:
        """The number this rental rented (None before the block is entered)."""
        return self._number

    @property
    def kept(self) -> bool:
        """Whether the number stays rented when the block ends."""
        return self.keep_on_exit or self._kept

    def keep(self) -> None:
        """Keep the number: the block's end, however it comes, leaves it rented (and billed).

        End it later with `number.end_rental()` (or `dtmf release E164`).
        """
        self._kept = True

    def _begin(self) -> None:
        if self._active:
            raise DTMFError(
                f"this rental from {self.group_id} is already in use: enter each "
                "`numbers.rental()` once at a time (call it again for a second number)"
            )
        self._active = True
        self._kept = False
        self._number = None

    def _not_ended(self, e164: str, cost: int | None, error: BaseException) -> RentalNotEndedError:
        return RentalNotEndedError(e164, error, cost_per_minute=cost)

    def __repr__(self) -> str:
        number = getattr(self._number, "e164", None)
        state = f" number={number!r}" if number else ""
        kept = " kept" if self.kept else ""
        return f"<{type(self).__name__} group_id={self.group_id!r}{state}{kept}>"


# Sync: Ctrl-C --------------------------------------------------------------------------


class _SigintGuard:
    """While installed, a SIGINT that interrupts a rental's `__enter__` or `__exit__` is held.

    Elsewhere (the block's own code) it goes to the handler that was there before
    (Python's default raises KeyboardInterrupt), so Ctrl-C stops the block as usual.
    Installed only in the main thread, over a Python-level handler.
    """

    __slots__ = ("held", "installed", "previous")

    def __init__(self) -> None:
        self.held = False
        self.installed = False
        self.previous: Callable[[int, FrameType | None], Any] | None = None
        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread receives signals (and may set handlers)
        previous = signal.getsignal(signal.SIGINT)
        if not callable(previous):
            return  # ignored, or a handler outside Python: nothing to hold
        self.previous = previous
        signal.signal(signal.SIGINT, self._on_sigint)
        self.installed = True

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        if _in_rental_step(frame):
            self.held = True  # raised once the rent or end call is done
            return
        if self.previous is not None:
            self.previous(signum, frame)

    def release(self) -> None:
        """Put the previous handler back (unless the block replaced ours meanwhile)."""
        if self.installed:
            self.installed = False
            if signal.getsignal(signal.SIGINT) == self._on_sigint:
                signal.signal(signal.SIGINT, self.previous)

    def deliver(self) -> None:
        """Hand a held SIGINT to the previous handler (the default raises KeyboardInterrupt)."""
        if self.held and self.previous is not None:
            self.held = False
            self.previous(signal.SIGINT, None)


def _in_rental_step(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code in _PROTECTED:
            return True
        frame = frame.f_back
    return False


class Rental(_Scope["Number"]):
    """A number rented for one `with` block: ``with client.numbers.rental(group) as number:``.

    Entering rents the number; leaving ends the rental, whatever ends the block,
    unless `keep()` was called or it was made with ``keep=True``. A Ctrl-C while
    the number is being rented or ended waits for that call, then stops the program.

    Raises (on leaving):
        RentalNotEndedError: ending failed; the number is still rented and billed.
    """

    __slots__ = ("_client", "_guard")

    def __init__(
        self,
        client: Client,
        group_id: str,
        *,
        keep: bool = False,
        end_timeout: float = DEFAULT_END_TIMEOUT,
    ) -> None:
        super().__init__(group_id, keep, end_timeout)
        self._client = client
        self._guard: _SigintGuard | None = None

    def __enter__(self) -> Number:
        self._begin()
        self._guard = _SigintGuard()
        try:
            self._number = self._client.numbers.rent(self.group_id)
            self._guard.deliver()  # a Ctrl-C held while renting stops the program here
        except BaseException as exc:
            self._finish(exc)
            raise
        return self._number

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._finish(exc)

    def _finish(self, exc: BaseException | None) -> None:
        """End the rental (unless kept), then let a held Ctrl-C through."""
        guard = self._guard
        try:
            number = self._number
            if number is not None and not self.kept:
                try:
                    view = self._client.with_options(call_timeout=self.end_timeout)
                    view.numbers.end_rental(number.e164)
                except NotFoundError:
                    pass  # no longer rented: ended in the block, or by a lost first answer
                except (Exception, KeyboardInterrupt) as error:
                    raise self._not_ended(number.e164, number.cost_per_minute, error) from (
                        exc or error
                    )
        finally:
            self._active = False
            if guard is not None:
                guard.release()
        if guard is not None and not isinstance(exc, KeyboardInterrupt):
            guard.deliver()


_PROTECTED = frozenset(
    {Rental.__enter__.__code__, Rental.__exit__.__code__, Rental._finish.__code__}  # pyright: ignore[reportPrivateUsage]
)


# Async: cancellation ---------------------------------------------------------------------


def _asyncio_running() -> bool:
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def _shielded(
    call: Callable[[], Awaitable[T]], timeout: float, cancels: list[BaseException]
) -> T:
    """Await `call()` to its end, whatever cancellation comes, for at most `timeout` seconds.

    A native asyncio cancellation (`Task.cancel()`) that arrives meanwhile is caught
    and appended to `cancels`, for the caller to raise afterwards; anyio's and trio's
    cancel scopes are held off by a shielded scope and deliver their own afterwards.
    Raises TimeoutError when `timeout` passes first (the call is then cancelled).
    """
    import anyio

    with anyio.CancelScope(shield=True):
        if not _asyncio_running():  # trio: the shield is enough
            with anyio.move_on_after(timeout):
                return await call()
            raise TimeoutError(f"it took longer than {timeout:g} s")
        import asyncio

        async def run() -> T:
            return await call()

        task = asyncio.ensure_future(run())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not task.done():
            remaining = deadline - loop.time()
            if remaining <= 0:
                task.cancel()
                await asyncio.wait({task})
                raise TimeoutError(f"it took longer than {timeout:g} s")
            try:
                await asyncio.wait({task}, timeout=remaining)
            except asyncio.CancelledError as cancelled:
                cancels.append(cancelled)  # `asyncio.wait` leaves the task running
        return task.result()
    # Reached only if the shield swallowed an exception, which a shield never does.
    raise AssertionError("unreachable")  # pragma: no cover


class AsyncRental(_Scope["AsyncNumber"]):
    """A number rented for one `async with` block: ``async with aclient.numbers.rental(g) as n:``.

    Entering rents the number; leaving ends the rental, whatever ends the block
    (a cancellation included), unless `keep()` was called or it was made with
    ``keep=True``. Renting and ending are shielded from cancellation, each bounded
    by its own timeout; a cancellation that came meanwhile is raised afterwards.
    Works under asyncio and trio.

    Raises (on leaving):
        RentalNotEndedError: ending failed; the number is still rented and billed.
    """

    __slots__ = ("_cancels", "_client")

    def __init__(
        self,
        client: AsyncClient,
        group_id: str,
        *,
        keep: bool = False,
        end_timeout: float = DEFAULT_END_TIMEOUT,
    ) -> None:
        super().__init__(group_id, keep, end_timeout)
        self._client = client
        self._cancels: list[BaseException] = []

    async def __aenter__(self) -> AsyncNumber:
        import anyio

        self._begin()
        self._cancels = []
        numbers = self._client.numbers
        group_id = self.group_id
        try:
            self._number = await _shielded(
                lambda: numbers.rent(group_id),
                self._client.call_timeout + _RENT_MARGIN,
                self._cancels,
            )
            if self._cancels:
                raise self._cancels.pop(0)  # cancelled while renting: end it, then stop
            await anyio.lowlevel.checkpoint()  # an anyio or trio cancellation, likewise
        except BaseException as exc:
            await self._finish(exc)
            raise
        return self._number

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._finish(exc)

    async def _finish(self, exc: BaseException | None) -> None:
        import anyio

        try:
            number = self._number
            if number is not None and not self.kept:
                view = self._client.with_options(call_timeout=self.end_timeout)
                e164 = number.e164
                try:
                    await _shielded(
                        lambda: view.numbers.end_rental(e164), self.end_timeout, self._cancels
                    )
                except NotFoundError:
                    pass  # no longer rented: ended in the block, or by a lost first answer
                except Exception as error:
                    raise self._not_ended(e164, number.cost_per_minute, error) from (exc or error)
        finally:
            self._active = False
        cancelled = anyio.get_cancelled_exc_class()
        if self._cancels and not isinstance(exc, cancelled):
            raise self._cancels.pop(0)  # the cancellation that waited for the end


# The methods the generated classes inherit (tests/generate.py's MIXINS) ------------------


class RentalMethods:
    """`client.numbers.rental()`."""

    __slots__ = ()

    if TYPE_CHECKING:
        _requester: SyncRequester

    def rental(
        self, group_id: str, *, keep: bool = False, end_timeout: float = DEFAULT_END_TIMEOUT
    ) -> Rental:
        """Rent a number for the length of a `with` block, ended on every way out.

        The rental ends when the block ends: normally, by an exception or by Ctrl-C
        (which waits for a rent or end call under way, then stops the program).

        Args:
            group_id: The id of a group from `groups.list()`, e.g. 'us-mobile'.
            keep: Leave the number rented when the block ends (or call `.keep()` on
                the rental inside the block).
            end_timeout: Seconds ending the rental may take, retries included.

        Raises:
            InvalidParameterError: a parameter is malformed (raised before any request).
            InsufficientFundsError: the balance does not cover the setup cost (on entry).
            RentalNotEndedError: ending failed: the number is still rented and billed.

        Example:
            ``with client.numbers.rental("us-mobile") as number: print(number.e164)``
        """
        client = cast("Client", self._requester.owner)
        return Rental(client, group_id, keep=keep, end_timeout=end_timeout)


class AsyncRentalMethods:
    """`aclient.numbers.rental()`."""

    __slots__ = ()

    if TYPE_CHECKING:
        _requester: AsyncRequester

    def rental(
        self, group_id: str, *, keep: bool = False, end_timeout: float = DEFAULT_END_TIMEOUT
    ) -> AsyncRental:
        """Rent a number for the length of an `async with` block, ended on every way out.

        The rental ends when the block ends: normally, by an exception or by a
        cancellation (renting and ending are shielded from it, each bounded by its
        own timeout). Works under asyncio and trio.

        Args:
            group_id: The id of a group from `groups.list()`, e.g. 'us-mobile'.
            keep: Leave the number rented when the block ends (or call `.keep()` on
                the rental inside the block).
            end_timeout: Seconds ending the rental may take, retries included.

        Raises:
            InvalidParameterError: a parameter is malformed (raised before any request).
            InsufficientFundsError: the balance does not cover the setup cost (on entry).
            RentalNotEndedError: ending failed: the number is still rented and billed.

        Example:
            ``async with client.numbers.rental("us-mobile") as number: print(number.e164)``
        """
        client = cast("AsyncClient", self._requester.owner)
        return AsyncRental(client, group_id, keep=keep, end_timeout=end_timeout)


class GroupRentalMethods:
    """`group.rental()`."""

    __slots__ = ()

    if TYPE_CHECKING:
        id: str

        def _client(self) -> Client: ...

    def rental(self, *, keep: bool = False, end_timeout: float = DEFAULT_END_TIMEOUT) -> Rental:
        """Rent a number from this group for the length of a `with` block, ended on every way out.

        Args:
            keep: Leave the number rented when the block ends.
            end_timeout: Seconds ending the rental may take, retries included.

        Raises:
            RentalNotEndedError: ending failed: the number is still rented and billed.

        Example:
            ``with group.rental() as number: print(number.e164)``
        """
        return Rental(self._client(), self.id, keep=keep, end_timeout=end_timeout)


class AsyncGroupRentalMethods:
    """`agroup.rental()`."""

    __slots__ = ()

    if TYPE_CHECKING:
        id: str

        def _client(self) -> AsyncClient: ...

    def rental(
        self, *, keep: bool = False, end_timeout: float = DEFAULT_END_TIMEOUT
    ) -> AsyncRental:
        """Rent a number from this group for an `async with` block, ended on every way out.

        Args:
            keep: Leave the number rented when the block ends.
            end_timeout: Seconds ending the rental may take, retries included.

        Raises:
            RentalNotEndedError: ending failed: the number is still rented and billed.

        Example:
            ``async with group.rental() as number: print(number.e164)``
        """
        return AsyncRental(self._client(), self.id, keep=keep, end_timeout=end_timeout)
