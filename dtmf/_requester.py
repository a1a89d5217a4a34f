"""The two drivers of `_core.exchange()`: `SyncRequester` and `AsyncRequester`.

A client owns one requester; its resource methods hand it their operation and
arguments. The requester validates the arguments (the operation's signature
function), runs the sans-I/O exchange with blocking or awaitable I/O, parses the
body with the operation's model and binds the models to the client. The call only
goes down: resource method -> requester -> core -> parse -> bind.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Generator
from typing import Any, Generic, ParamSpec, TypeVar, cast, overload

import httpx
from typing_extensions import Self

from ._binding import Bindable
from ._contract import Operation, WireFields
from ._core import ClientOptions, Outcome, Step, exchange, parse_result
from ._errors import ClientClosedError, WrongEventLoopError
from ._send import asend, send

__all__ = ["AsyncRequester", "Lifecycle", "Resource", "SyncRequester"]

P = ParamSpec("P")
S = TypeVar("S")
A = TypeVar("A")
T = TypeVar("T")
HttpT = TypeVar("HttpT", httpx.Client, httpx.AsyncClient)


class Lifecycle:
    """Whether the connection pool a client and its `with_options()` views share is closed."""

    __slots__ = ("__weakref__", "clients", "closed", "loop", "owned")  # weakly
    # referable (DTMF's finalizer)

    def __init__(self, *, owned: bool) -> None:
        self.owned = owned
        """Whether the SDK made the pool (else it is the user's `http_client=`)."""
        self.closed = False
        self.loop: object = None  # an AsyncClient's event loop, once it has run in one
        self.clients: weakref.WeakSet[object] = weakref.WeakSet()
        """The client and its views alive: the last one collected warns if none closed it."""


def running_loop() -> object:
    """What identifies the event loop this task runs in: the asyncio loop or trio run."""
    import asyncio
    import sys

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        trio = sys.modules.get("trio")  # only a trio program has trio imported
        return None if trio is None else trio.lowlevel.current_trio_token()


class _Requester(Generic[HttpT]):
    """What both drivers share: the client's options, pool, lifecycle, and binding."""

    __slots__ = ("_owner", "http", "lifecycle", "options")

    http: HttpT
    options: ClientOptions
    lifecycle: Lifecycle

    def __init__(
        self, owner: object, http: HttpT, options: ClientOptions, lifecycle: Lifecycle
    ) -> None:
        # Weakly: the client holds this. What must keep a client alive (a resource taken
        # from it, a model bound to it) holds the client itself, so nothing is a cycle and
        # a dropped client is collected (and warns if unclosed) at once, as httpx's is.
        self._owner = weakref.ref(owner)
        self.http = http
        self.options = options
        self.lifecycle = lifecycle

    @property
    def owner(self) -> object:
        """The client whose methods use this requester: results are bound to it."""
        owner = self._owner()
        if owner is None:
            # Only a requester held without its client gets here (resources and models
            # hold their client): nothing has been sent.
            raise ClientClosedError(
                "this requester's client was garbage-collected: call through the client"
            )
        return owner

    def _check_open(self, retrying: str = "") -> None:
        if self.lifecycle.closed:
            name = type(self.owner).__name__
            state = f"was closed while {retrying} waited to retry" if retrying else "is closed"
            raise ClientClosedError(
                f"{name} {state}: create a new one (or use it in a `with` block)"
            )

    def _start(
        self, operation: Operation[Any, Any, Any], wire: WireFields
    ) -> Generator[Step, Outcome, httpx.Response]:
        """The call's steps (not yet begun), once the client is known to be open."""
        self._check_open()
        return exchange(self.options, operation, wire, self.http)

    def _result(
        self,
        operation: Operation[Any, Any, Any],
        wire: WireFields,
        response: httpx.Response,
        parse: Callable[[bytes], T],
    ) -> T:
        """The call's result, its models bound to the client."""
        result: T = parse_result(operation, wire, response, parse)
        value: object = result
        items = cast("list[object]", value) if isinstance(value, list) else (value,)
        for item in items:
            if isinstance(item, Bindable):
                object.__setattr__(item, "_dtmf_client", self.owner)
        return result


class SyncRequester(_Requester[httpx.Client]):
    """Runs a `Client`'s calls, blocking."""

    __slots__ = ()

    def call(self, operation: Operation[P, S, Any], *args: P.args, **kwargs: P.kwargs) -> S:
        """Validate the arguments, make the call, return the result as a `Client` gives it."""
        wire = operation.signature(*args, **kwargs)
        return self.send(operation, wire, operation.result.parse_sync)

    def send(
        self, operation: Operation[Any, Any, Any], wire: WireFields, parse: Callable[[bytes], T]
    ) -> T:
        """Make one call with validated wire fields; `parse` reads the body."""
        steps = self._start(operation, wire)
        try:
            step = next(steps)
            while True:
                if isinstance(step, httpx.Request):
                    step = steps.send(send(self.http, step, self.options.max_response_size))
                else:
                    time.sleep(step)
                    self._check_open(operation.name)  # closed meanwhile by another thread?
                    step = next(steps)
        except StopIteration as done:
            response: httpx.Response = done.value
        return self._result(operation, wire, response, parse)


class AsyncRequester(_Requester[httpx.AsyncClient]):
    """Runs an `AsyncClient`'s calls, awaiting (asyncio or trio)."""

    __slots__ = ()

    async def call(self, operation: Operation[P, Any, A], *args: P.args, **kwargs: P.kwargs) -> A:
        """Validate the arguments, make the call, return the result as an `AsyncClient` gives it."""
        wire = operation.signature(*args, **kwargs)
        return await self.send(operation, wire, operation.result.parse_async)

    async def send(
        self, operation: Operation[Any, Any, Any], wire: WireFields, parse: Callable[[bytes], T]
    ) -> T:
        """Make one call with validated wire fields; `parse` reads the body."""
        steps = self._start(operation, wire)
        self._check_loop()
        try:
            step = next(steps)
            while True:
                if isinstance(step, httpx.Request):
                    outcome = await asend(self.http, step, self.options.max_response_size)
                    step = steps.send(outcome)
                else:
                    import anyio  # only async code waits: `import dtmf` stays lean

                    await anyio.sleep(step)
                    self._check_open(operation.name)  # closed meanwhile by another task?
                    step = next(steps)
        except StopIteration as done:
            response: httpx.Response = done.value
        return self._result(operation, wire, response, parse)

    def _check_loop(self) -> None:
        # Like httpx's, the pool's connections belong to the loop that opened them; in
        # another loop they fail with a bare RuntimeError, so say what is wrong first.
        # Only for the SDK's own pool: an http_client you pass is yours to manage.
        if not self.lifecycle.owned:
            return
        loop = running_loop()
        lifecycle = self.lifecycle
        if lifecycle.loop is None:
            lifecycle.loop = loop
        elif loop is not lifecycle.loop:
            raise WrongEventLoopError(
                "this AsyncClient was first used in another event loop (an earlier "
                "asyncio.run() or trio.run()); its connections belong to that loop. "
                "Create one AsyncClient inside each run, e.g. `async with dtmf.AsyncClient()`."
            )


RequesterT = TypeVar("RequesterT", SyncRequester, AsyncRequester)


class Resource(Generic[RequesterT]):
    """A group of related operations (`client.numbers`), calling through one requester."""

    __slots__ = ("_client", "_requester")

    _requester: RequesterT

    def __init__(self, requester: RequesterT) -> None:
        self._requester = requester
        # Strongly: `Client(...).numbers.rent(...)` must keep its temporary client alive
        # for the call, or a rental that happened would be reported as a failure.
        self._client = requester.owner

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._requester.owner!r}>"


ResourceT = TypeVar("ResourceT", bound="Resource[Any]")


class ResourceAttribute(Generic[ResourceT]):
    """A client's resource (`client.numbers`), made at each use for that client.

    Not stored on the client: a resource holds its client (so that
    `Client(...).numbers.rent(...)` keeps a temporary client alive for the call), and a
    client holding its resources would be a reference cycle, left to the garbage
    collector. A plain descriptor, not a property, so that IPython's completion (its
    "limited" evaluation, which runs no property) still reaches the methods.
    """

    __slots__ = ("resource_class",)

    resource_class: type[ResourceT]

    def __init__(self, resource_class: type[ResourceT]) -> None:
        self.resource_class = resource_class

    @overload
    def __get__(self, client: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, client: object, owner: type[Any]) -> ResourceT: ...
    def __get__(self, client: object | None, owner: type[Any]) -> ResourceT | Self:
        if client is None:
            return self
        return self.resource_class(client._requester)  # type: ignore[attr-defined]
