"""`Client` and `AsyncClient`: the two drivers of `_core.exchange()`.

They share every decision (see `_core.py`); each only knows how to send a
request and how to wait, blocking or awaiting.
"""

from __future__ import annotations

import copy
import inspect
import ssl
import time
import warnings
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypedDict, TypeVar, cast

import httpx

from ._binding import Bindable
from ._contract import Operation, WireFields
from ._core import (
    DEFAULT_CALL_TIMEOUT,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    ClientOptions,
    Outcome,
    exchange,
    parse_result,
)
from ._errors import ClientClosedError, ConfigurationError, WrongEventLoopError
from ._resources import (
    AccountResource,
    AddressesResource,
    GroupsResource,
    MessagesResource,
    NumbersResource,
)

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["DEFAULT_LIMITS", "AsyncClient", "Client", "ClientKeywords", "RequestOptions"]

# A bounded pool: httpcore's pool bookkeeping grows with the square of its size, so
# a larger pool is slower under a burst, not faster; excess calls queue for a
# connection (bounded by the pool timeout) instead. 16 by measurement (`make bench`,
# 300 concurrent calls on loopback): client CPU per call was about 1.0 ms at 16
# connections, 1.9 ms at 32, 1.5 ms at 64, against 1.25 ms for httpx's default pool.
# Against a distant server a pool this size caps throughput at 16 calls per round
# trip: pass `limits=` for more.
DEFAULT_LIMITS = httpx.Limits(max_connections=16, max_keepalive_connections=16)


HttpT = TypeVar("HttpT", httpx.Client, httpx.AsyncClient)


class RequestOptions(TypedDict, total=False):
    """The keyword options that shape each call: timeouts and retries."""

    timeout: float | httpx.Timeout
    call_timeout: float
    max_retries: int


class ClientKeywords(RequestOptions, total=False):
    """Every keyword option of `Client` (for wrappers such as `DTMF` that pass them on)."""

    base_url: str | None
    http_client: httpx.Client | None
    allow_http: bool
    proxy: str | httpx.Proxy | None
    verify: ssl.SSLContext | str | bool
    trust_env: bool
    limits: httpx.Limits


class _Lifecycle:
    """Whether the connection pool a client and its `with_options()` views share is closed."""

    __slots__ = ("__weakref__", "closed", "loop")  # weakly referable: DTMF closes its pool with it

    def __init__(self) -> None:
        self.closed = False
        self.loop: object = None  # an AsyncClient's event loop, once it has run in one


def _running_loop() -> object:
    """What identifies the event loop this task runs in: the asyncio loop or trio run."""
    import asyncio
    import sys

    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        trio = sys.modules.get("trio")  # only a trio program has trio imported
        return None if trio is None else trio.lowlevel.current_trio_token()


def _bind(result: object, client: BaseClient[Any]) -> None:
    """Make the models in a result act through `client`."""
    items = cast("list[object]", result) if isinstance(result, list) else (result,)
    for item in items:
        if isinstance(item, Bindable):
            object.__setattr__(item, "_dtmf_client", client)


F = TypeVar("F", bound=Callable[..., Any])


def _named(method: F, operation: Operation[Any, Any, Any]) -> F:
    """`method` named, documented and signed as the operation it calls.

    For help(), IDEs that introspect at run time, and tracebacks.
    """
    method.__name__ = operation.name.rpartition(".")[2]
    method.__qualname__ = operation.name
    method.__doc__ = operation.signature.__doc__
    signature = inspect.signature(operation.signature)
    method.__signature__ = signature.replace(return_annotation=inspect.Signature.empty)  # type: ignore[attr-defined]
    return method


class BaseClient(Generic[HttpT]):
    """What both clients share: options, resources, lifecycle, repr, and construction.

    `Client` and `AsyncClient` differ only in the httpx client they drive (`HttpT`)
    and in how they wait for it.
    """

    _http_class: ClassVar[type[httpx.Client] | type[httpx.AsyncClient]]
    _http: HttpT
    _options: ClientOptions
    _lifecycle: _Lifecycle
    _owns_http: bool
    _is_view: bool = False
    _account: AccountResource[Any]
    _addresses: AddressesResource[Any]
    _groups: GroupsResource[Any]
    _numbers: NumbersResource[Any]
    _messages: MessagesResource[Any]

    def __init__(
        self,
        token: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: HttpT | None = None,
        allow_http: bool = False,
        proxy: str | httpx.Proxy | None = None,
        verify: ssl.SSLContext | str | bool = True,
        trust_env: bool = True,
        limits: httpx.Limits = DEFAULT_LIMITS,
    ) -> None:
        """See the class docstring of `Client`; `AsyncClient` takes the same options."""
        self._setup(
            ClientOptions.create(token, base_url, timeout, call_timeout, max_retries, allow_http),
            _Lifecycle(),
            owns_http=http_client is None,
        )
        network_options = (proxy, verify, trust_env, limits) != (None, True, True, DEFAULT_LIMITS)
        if http_client is not None and network_options:
            raise ConfigurationError(
                "proxy, verify, trust_env and limits configure the httpx client the SDK makes; "
                "with http_client=, set them on your own httpx client instead"
            )
        if self._options.base_url.startswith("http://") and proxy is None:  # scheme lower-cased
            # Plain http is allowed to this machine only: a proxy from the environment
            # (HTTP_PROXY) would carry the token across the network in clear text.
            trust_env = False
        if http_client is None:
            http_client = cast(
                "HttpT",
                self._http_class(
                    timeout=self._options.timeout,
                    follow_redirects=False,
                    proxy=proxy,
                    verify=verify,
                    trust_env=trust_env,
                    limits=limits,
                ),
            )
        self._http = http_client

    def _setup(self, options: ClientOptions, lifecycle: _Lifecycle, owns_http: bool) -> None:
        self._options = options
        self._lifecycle = lifecycle
        self._owns_http = owns_http
        # Resources are made once per client, so each call is plain attribute lookups.
        self._account = AccountResource(self)
        self._addresses = AddressesResource(self)
        self._groups = GroupsResource(self)
        self._numbers = NumbersResource(self)
        self._messages = MessagesResource(self)

    @property
    def base_url(self) -> str:
        """The API's base URL, e.g. 'https://dtmf.io/api/v1'."""
        return self._options.base_url

    @property
    def timeout(self) -> httpx.Timeout:
        """The timeouts of each request."""
        return self._options.timeout

    @property
    def call_timeout(self) -> float:
        """The bound, in seconds, on a whole call with its retries and waits."""
        return self._options.call_timeout

    @property
    def max_retries(self) -> int:
        """How many times a failed call may be retried (when retrying is safe)."""
        return self._options.retry.max_retries

    @property
    def account(self) -> AccountResource[Self]:
        """Your account and its balance."""
        return self._account

    @property
    def addresses(self) -> AddressesResource[Self]:
        """Bitcoin deposit addresses."""
        return self._addresses

    @property
    def groups(self) -> GroupsResource[Self]:
        """Phone number groups to rent from."""
        return self._groups

    @property
    def numbers(self) -> NumbersResource[Self]:
        """Your rented phone numbers."""
        return self._numbers

    @property
    def messages(self) -> MessagesResource[Self]:
        """Sending SMS."""
        return self._messages

    @property
    def is_closed(self) -> bool:
        """Whether `close()` (or `aclose()`) was called."""
        return self._lifecycle.closed

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        call_timeout: float | None = None,
        max_retries: int | None = None,
    ) -> Self:
        """A view of this client with other timeouts or retries, sharing its connection pool.

        >>> client.with_options(timeout=5, max_retries=0).account.get()
        """
        view = copy.copy(self)  # shares the httpx client
        view._setup(
            self._options.changed(timeout, call_timeout, max_retries),
            self._lifecycle,
            owns_http=False,
        )
        view._is_view = True  # closing a view leaves its parent's pool alone
        return view

    def _result(
        self,
        operation: Operation[Any, Any, Any],
        wire: WireFields,
        response: httpx.Response,
        parse: Callable[[bytes], Any],
    ) -> Any:
        """The call's result, its models bound to this client."""
        result = parse_result(operation, wire, response, parse)
        _bind(result, self)
        return result

    def _closing(self) -> bool:
        """Mark the client closed; whether its httpx client is now ours to close."""
        if self._lifecycle.closed or self._is_view:
            return False
        self._lifecycle.closed = True
        return self._owns_http

    def _check_open(self) -> None:
        if self._lifecycle.closed:
            raise ClientClosedError(
                f"{type(self).__name__} is closed: create a new one (or use it in a `with` block)"
            )

    def _method(self, operation: Operation[Any, Any, Any]) -> Callable[..., Any]:
        raise NotImplementedError

    def __repr__(self) -> str:
        state = " closed" if self._lifecycle.closed else ""
        return f"<dtmf.{type(self).__name__} base_url={self._options.base_url!r}{state}>"

    _warn_unclosed = True
    """Subclasses whose users cannot be asked to close them (`DTMF`'s) turn the warning off."""

    def __del__(self) -> None:
        if (
            self._warn_unclosed
            and getattr(self, "_owns_http", False)
            and not self._lifecycle.closed
        ):
            warnings.warn(
                f"{self!r} was never closed: use it in a `with` block or call close()",
                ResourceWarning,
                stacklevel=2,
            )


class Client(BaseClient[httpx.Client]):
    """A synchronous client of the DTMF.io API.

    >>> with dtmf.Client() as client:          # token from DTMF_TOKEN
    ...     client.account.get().balance

    `token` defaults to the DTMF_TOKEN environment variable and `base_url` to
    DTMF_BASE_URL, then to https://dtmf.io/api/v1. `timeout` bounds each
    request (a number, or an `httpx.Timeout`); `call_timeout` bounds a whole call
    with its retries and waits. `proxy`, `verify`, `trust_env` and `limits` are
    passed to the httpx client it makes; `http_client` replaces that client
    altogether (configure and close it yourself; passing both is an error). Plain
    http is refused except to this machine, unless `allow_http=True`; over plain
    http, proxies from the environment are ignored.
    """

    _http_class = httpx.Client

    def _method(self, operation: Operation[Any, Any, Any]) -> Callable[..., Any]:
        def method(*args: Any, **kwargs: Any) -> Any:
            return self._call(operation, operation.signature(*args, **kwargs))

        return _named(method, operation)

    def _call(
        self,
        operation: Operation[Any, Any, Any],
        wire: WireFields,
        parse: Callable[[bytes], Any] | None = None,
    ) -> Any:
        """Make one call; `parse` reads the body instead of the operation's result shape."""
        self._check_open()
        steps = exchange(self._options, operation, wire)
        outcome: Outcome = None
        try:
            while True:
                step = steps.send(outcome)
                if isinstance(step, httpx.Request):
                    try:
                        outcome = self._http.send(step, follow_redirects=False)
                    except httpx.RequestError as exc:
                        outcome = exc
                else:
                    time.sleep(step)
                    outcome = None
        except StopIteration as done:
            response: httpx.Response = done.value
        return self._result(operation, wire, response, parse or operation.result.parse_sync)

    def close(self) -> None:
        """Close the connection pool (idempotent). Views from `with_options()` close with it;
        closing a view does nothing."""
        if self._closing():
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncClient(BaseClient[httpx.AsyncClient]):
    """An asynchronous client of the DTMF.io API, for asyncio and trio.

    >>> async with dtmf.AsyncClient() as client:
    ...     (await client.account.get()).balance

    It takes the same options as `Client`; `http_client` is an `httpx.AsyncClient`.
    Many concurrent calls through one client share its connection pool.
    """

    _http_class = httpx.AsyncClient

    def _method(
        self, operation: Operation[Any, Any, Any]
    ) -> Callable[..., Coroutine[Any, Any, Any]]:
        async def method(*args: Any, **kwargs: Any) -> Any:
            return await self._call(operation, operation.signature(*args, **kwargs))

        return _named(method, operation)

    async def _call(
        self,
        operation: Operation[Any, Any, Any],
        wire: WireFields,
        parse: Callable[[bytes], Any] | None = None,
    ) -> Any:
        """Make one call; `parse` reads the body instead of the operation's result shape."""
        self._check_open()
        self._check_loop()
        steps = exchange(self._options, operation, wire)
        outcome: Outcome = None
        try:
            while True:
                step = steps.send(outcome)
                if isinstance(step, httpx.Request):
                    try:
                        outcome = await self._http.send(step, follow_redirects=False)
                    except httpx.RequestError as exc:
                        outcome = exc
                else:
                    import anyio  # only async code waits: `import dtmf` stays lean

                    await anyio.sleep(step)
                    outcome = None
        except StopIteration as done:
            response: httpx.Response = done.value
        return self._result(operation, wire, response, parse or operation.result.parse_async)

    def _check_loop(self) -> None:
        # Like httpx's, the pool's connections belong to the loop that opened them; in
        # another loop they fail with a bare RuntimeError, so say what is wrong first.
        # Only for the SDK's own pool: an http_client you pass is yours to manage.
        if not (self._owns_http or self._is_view):
            return
        loop = _running_loop()
        lifecycle = self._lifecycle
        if lifecycle.loop is None:
            lifecycle.loop = loop
        elif loop is not lifecycle.loop:
            raise WrongEventLoopError(
                "this AsyncClient was first used in another event loop (an earlier "
                "asyncio.run() or trio.run()); its connections belong to that loop. "
                "Create one AsyncClient inside each run, e.g. `async with dtmf.AsyncClient()`."
            )

    async def aclose(self) -> None:
        """Close the connection pool (idempotent). Views from `with_options()` close with it;
        closing a view does nothing."""
        if not self._closing():
            return
        try:
            await self._http.aclose()
        except RuntimeError as exc:
            if self._lifecycle.loop in (None, _running_loop()):
                raise
            # Connections opened in an event loop that has ended cannot be closed from
            # this one; they are released when the client is garbage-collected.
            raise WrongEventLoopError(
                "this AsyncClient's connections were opened in an event loop that has "
                "ended, so they cannot be closed cleanly; close a client in the loop it "
                "ran in (`async with dtmf.AsyncClient() as client:` does)"
            ) from exc

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
