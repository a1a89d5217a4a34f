"""`Client` and `AsyncClient`: options, resources and lifecycle.

Each client owns a requester (`_requester.py`), the sync or async driver of the
sans-I/O core (`_core.py`), and its resources (`client.numbers`, ...: plain
attributes, generated into `_resources.py`) hand their calls to it.
"""

from __future__ import annotations

import copy
import ssl
import warnings
import weakref
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypedDict, TypeVar, cast

import httpx

from ._core import (
    DEFAULT_CALL_TIMEOUT,
    DEFAULT_MAX_RESPONSE_SIZE,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    ClientOptions,
)
from ._errors import ConfigurationError, WrongEventLoopError
from ._requester import (
    AsyncRequester,
    Lifecycle,
    ResourceAttribute,
    SyncRequester,
    running_loop,
)
from ._resources import (
    AccountResource,
    AddressesResource,
    AsyncAccountResource,
    AsyncAddressesResource,
    AsyncGroupsResource,
    AsyncMessagesResource,
    AsyncNumbersResource,
    GroupsResource,
    MessagesResource,
    NumbersResource,
)

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["DEFAULT_LIMITS", "AsyncClient", "Client", "ClientKeywords", "RequestOptions"]

# A bounded pool: excess calls queue for a connection (bounded by the pool timeout
# and call_timeout). 16 by measurement on httpcore 1.0's pool, whose bookkeeping grows
# with the square of its size (300 concurrent calls on loopback: about 1.0 ms of
# client CPU per call at 16 connections, 1.9 ms at 32); the performance targets are
# set on 16/16. Against a distant server a pool this size caps throughput at 16 calls
# per round trip: pass `limits=` for more.
DEFAULT_LIMITS = httpx.Limits(max_connections=16, max_keepalive_connections=16)


HttpT = TypeVar("HttpT", httpx.Client, httpx.AsyncClient)


class RequestOptions(TypedDict, total=False):
    """The keyword options that shape each call: timeouts and retries."""

    timeout: float | httpx.Timeout
    call_timeout: float
    max_retries: int
    max_response_size: int


class ClientKeywords(RequestOptions, total=False):
    """Every keyword option of `Client` (for wrappers such as `DTMF` that pass them on)."""

    base_url: str | None
    http_client: httpx.Client | None
    allow_http: bool
    proxy: str | httpx.Proxy | None
    verify: ssl.SSLContext | str | bool
    trust_env: bool
    limits: httpx.Limits


class BaseClient(Generic[HttpT]):
    """What both clients share: options, resources, lifecycle, repr, and construction.

    `Client` and `AsyncClient` differ only in the httpx client they drive (`HttpT`),
    the requester that drives it, and the flavour of their resources.
    """

    _http_class: ClassVar[type[httpx.Client] | type[httpx.AsyncClient]]
    _requester_class: ClassVar[type[SyncRequester] | type[AsyncRequester]]
    _http: HttpT
    _options: ClientOptions
    _lifecycle: Lifecycle
    _requester: Any
    _is_view: bool = False
    _root: weakref.ReferenceType[BaseClient[Any]] | None = None
    """A view's client (the one `with_options()` was first called on), weakly."""

    def __init__(
        self,
        token: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        call_timeout: float = DEFAULT_CALL_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        http_client: HttpT | None = None,
        allow_http: bool = False,
        proxy: str | httpx.Proxy | None = None,
        verify: ssl.SSLContext | str | bool = True,
        trust_env: bool = True,
        limits: httpx.Limits = DEFAULT_LIMITS,
    ) -> None:
        """Create a client; use it in a `with` block (`async with` for `AsyncClient`).

        Args:
            token: Your API token. Default: the DTMF_TOKEN environment variable.
                It never appears in a repr, log line or error message.
            base_url: The API's base URL. Default: DTMF_BASE_URL, then
                'https://dtmf.io/api/v1'. Plain http is refused except to this
                machine (a reference server), unless `allow_http` is true.
            timeout: Seconds each HTTP request may take (a number, or an
                `httpx.Timeout` for connect/read/write/pool separately).
                Default: 30 s, 5 s to connect; with `http_client=`, that
                client's own timeout unless you pass this one.
            call_timeout: Seconds a whole call may take, retries and waits
                included: the wait for a pooled connection, a body trickled in
                slowly, 1xx answers. Default: 90 s.
            max_retries: How many times a failed call is retried when that is
                safe (never for a send or a rental that may have happened).
                Default: 2.
            max_response_size: The largest response body a call reads, in
                bytes after decompression; a larger one fails the call with an
                `APIResponseValidationError`. Default: 32 MiB.
            http_client: An `httpx.Client` (`httpx.AsyncClient` for `AsyncClient`)
                to send through instead of the one the SDK makes; you configure
                and close it. Its headers, auth, cookies, event hooks, proxies and
                transport apply to every request, under the SDK's own
                `Authorization`, `Accept` and `User-Agent`. Not combinable with the
                four network options below. An `httpx2` client is refused: see
                the README's "httpx2".
            allow_http: Allow a plain http `base_url` to another machine.
            proxy: A proxy URL or `httpx.Proxy`. Default: from the environment
                (HTTP_PROXY...), except over plain http.
            verify: TLS verification: True, a CA bundle path or an `ssl.SSLContext`.
            trust_env: Read proxies and certificates from the environment.
            limits: The connection pool's `httpx.Limits`. Default: 16 connections.

        Raises:
            ConfigurationError: no token, a malformed token or base URL, plain
                http to another machine, or a bad option value.
        """
        given_timeout: float | httpx.Timeout | None = timeout
        if http_client is not None:
            self._check_http_client(http_client)
            if timeout is DEFAULT_TIMEOUT:
                given_timeout = None  # not given: your client's own timeout applies
        lifecycle = Lifecycle(owned=http_client is None)
        options = ClientOptions.create(
            token, base_url, given_timeout, call_timeout, max_retries, allow_http, max_response_size
        )
        network_options = (proxy, verify, trust_env, limits) != (None, True, True, DEFAULT_LIMITS)
        if http_client is not None and network_options:
            raise ConfigurationError(
                "proxy, verify, trust_env and limits configure the httpx client the SDK makes; "
                "with http_client=, set them on your own httpx client instead"
            )
        if options.base_url.startswith("http://") and proxy is None:  # scheme lower-cased
            # Plain http is allowed to this machine only: a proxy from the environment
            # (HTTP_PROXY) would carry the token across the network in clear text.
            trust_env = False
        if http_client is None:
            # httpx's own client and transports, so that every tool made for httpx
            # (recorders, mocks, tracing) sees the SDK's requests. The SSL context as
            # httpx's transport makes it (certifi, SSL_CERT_FILE ...): a CA bundle path
            # given to `verify=` itself is deprecated in httpx 0.28.
            ssl_context = httpx.create_ssl_context(verify=verify, trust_env=trust_env)
            http_client = cast(
                "HttpT",
                self._http_class(
                    timeout=timeout,
                    follow_redirects=False,
                    proxy=proxy,
                    verify=ssl_context,
                    trust_env=trust_env,
                    limits=limits,
                ),
            )
        self._http = http_client
        self._setup(options, lifecycle)

    def _check_http_client(self, http_client: object) -> None:
        """Refuse, now, an `http_client` the SDK cannot send through (it would fail later)."""
        expected = cast("type[object]", self._http_class)
        if isinstance(http_client, expected):
            return
        kind = type(http_client)
        got = f"{kind.__module__.split('.')[0]}.{kind.__qualname__}"
        wanted = f"httpx.{expected.__qualname__}"
        if got.startswith("httpx2."):
            advice = (
                f"the SDK sends through httpx, not httpx2: pass an {wanted} configured like "
                "yours (or none, and the SDK makes its own); or, to run everything on "
                "httpx2, call httpx2.alias_httpx() at start-up, before importing dtmf, so "
                "that httpx is httpx2"
            )
        else:
            advice = f"pass an {wanted}, or none (the SDK then makes its own)"
        raise ConfigurationError(
            f"{type(self).__name__}(http_client=...) needs an {wanted}, got {got}: {advice}"
        )

    def _setup(self, options: ClientOptions, lifecycle: Lifecycle) -> None:
        self._options = options
        self._lifecycle = lifecycle
        lifecycle.clients.add(self)
        self._requester = self._requester_class(self, self._http, options, lifecycle)  # type: ignore[arg-type]

    @property
    def base_url(self) -> str:
        """The API's base URL, e.g. 'https://dtmf.io/api/v1'."""
        return self._options.base_url

    @property
    def timeout(self) -> httpx.Timeout:
        """The timeouts of each request (with `http_client=` and no `timeout=`, its own)."""
        timeout = self._options.timeout
        return self._http.timeout if timeout is None else timeout

    @property
    def call_timeout(self) -> float:
        """The bound, in seconds, on a whole call with its retries and waits."""
        return self._options.call_timeout

    @property
    def max_retries(self) -> int:
        """How many times a failed call may be retried (when retrying is safe)."""
        return self._options.retry.max_retries

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
        max_response_size: int | None = None,
    ) -> Self:
        """A view of this client with other timeouts, retries or body cap, sharing its pool.

        Args:
            timeout: Seconds each HTTP request may take (or an `httpx.Timeout`).
            call_timeout: Seconds a whole call may take, retries included.
            max_retries: How many times a failed call may be retried when safe.
            max_response_size: The largest response body a call reads, in bytes.

        Example:
            ``client.with_options(timeout=5, max_retries=0).account.get()``

        A view closes with its client. Closing a view, or leaving its `with` block,
        leaves the pool to its client while that client is alive; a view of a client
        nothing else holds closes the pool: `with dtmf.Client().with_options(timeout=5)
        as client:` neither leaks the pool nor warns.
        """
        view = copy.copy(self)  # shares the httpx client
        view._is_view = True  # closing a view leaves its parent's pool alone ...
        view._root = self._root or weakref.ref(self)  # ... while the parent is alive
        options = self._options.changed(timeout, call_timeout, max_retries, max_response_size)
        view._setup(options, self._lifecycle)
        return view

    def _closing(self) -> bool:
        """Mark the client closed; whether its httpx client is now ours to close."""
        if self._lifecycle.closed:
            return False
        if self._is_view and self._root is not None and self._root() is not None:
            return False  # its client closes the pool
        # A client, or a view whose client is gone.
        self._lifecycle.closed = True
        return self._lifecycle.owned

    def __repr__(self) -> str:
        state = " closed" if self._lifecycle.closed else ""
        return f"<dtmf.{type(self).__name__} base_url={self._options.base_url!r}{state}>"

    _warn_unclosed = True
    """Subclasses whose users cannot be asked to close them (`DTMF`'s) turn the warning off."""

    def __del__(self) -> None:
        lifecycle: Lifecycle | None = getattr(self, "_lifecycle", None)
        if (
            self._warn_unclosed
            and lifecycle is not None
            and lifecycle.owned
            and not lifecycle.closed
            # The last of the client and its views to go warns.
            and not any(other is not self for other in lifecycle.clients)
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
    DTMF_BASE_URL, then to https://dtmf.io/api/v1 (see `__init__` for every option).
    """

    _http_class = httpx.Client
    _requester_class = SyncRequester
    _requester: SyncRequester

    account: ResourceAttribute[AccountResource] = ResourceAttribute(AccountResource)
    """Your account and its balance."""
    addresses: ResourceAttribute[AddressesResource] = ResourceAttribute(AddressesResource)
    """Bitcoin deposit addresses that fund your account."""
    groups: ResourceAttribute[GroupsResource] = ResourceAttribute(GroupsResource)
    """The groups of phone numbers you can rent from."""
    numbers: ResourceAttribute[NumbersResource] = ResourceAttribute(NumbersResource)
    """The phone numbers your account rents."""
    messages: ResourceAttribute[MessagesResource] = ResourceAttribute(MessagesResource)
    """Sending SMS."""

    def close(self) -> None:
        """Close the connection pool (idempotent).

        Views from `with_options()` close with it; closing a view does nothing while its
        client is alive (see `with_options()`).
        """
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

    It takes the same options as `Client` (see `__init__`); `http_client` is an
    `httpx.AsyncClient`. Many concurrent calls through one client share its pool.
    """

    _http_class = httpx.AsyncClient
    _requester_class = AsyncRequester
    _requester: AsyncRequester

    account: ResourceAttribute[AsyncAccountResource] = ResourceAttribute(AsyncAccountResource)
    """Your account and its balance."""
    addresses: ResourceAttribute[AsyncAddressesResource] = ResourceAttribute(AsyncAddressesResource)
    """Bitcoin deposit addresses that fund your account."""
    groups: ResourceAttribute[AsyncGroupsResource] = ResourceAttribute(AsyncGroupsResource)
    """The groups of phone numbers you can rent from."""
    numbers: ResourceAttribute[AsyncNumbersResource] = ResourceAttribute(AsyncNumbersResource)
    """The phone numbers your account rents."""
    messages: ResourceAttribute[AsyncMessagesResource] = ResourceAttribute(AsyncMessagesResource)
    """Sending SMS."""

    async def aclose(self) -> None:
        """Close the connection pool (idempotent).

        Views from `with_options()` close with it; closing a view does nothing while its
        client is alive (see `with_options()`).
        """
        if not self._closing():
            return
        try:
            await self._http.aclose()
        except RuntimeError as exc:
            if self._lifecycle.loop in (None, running_loop()):
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
