"""The connection pool under the SDK's own httpx clients, and the call's deadline on every wait.

httpx stays the SDK's HTTP API: the clients are `httpx.Client` / `httpx.AsyncClient`
with subclasses of httpx's own `HTTPTransport` / `AsyncHTTPTransport`, so timeouts,
limits, proxies, `verify`, `trust_env`, the exceptions, and tools that hook httpx's
transports (vcrpy, pytest-recording) behave as with httpx alone. Only the connection
pool is httpcore2's (the pool of httpx's maintained fork) instead of httpcore 1.0's,
which spends most of an async burst's CPU re-scanning its queue (encode/httpcore#1035)
and probes for sniffio on every lock. Measured with `bench/async_pool.py`: see README
"Performance".

Every socket wait in that pool (connect, TLS, each read and write) is clamped to
what is left of the call's `call_timeout`, read from the request's `dtmf.deadline`
extension; so a body trickled a byte at a time or endless `100 Continue` answers
end in a timeout at the deadline, like a slow server does. Requests through an
`http_client` of your own, or through a proxy, keep httpx's own pool: `_send.py`
bounds those as well as it can (README "Timeouts and retries").

`_Transport` / `_AsyncTransport` send straight to httpcore2. While a tool hooks
httpx's transport methods they go through the hook, whose httpx code calls
`self._pool.handle_request(httpcore.Request)`: `_SyncPool` and `_AsyncPool` answer
that call from httpcore2. httpx is at its last release, 0.28.1, and the SDK pins
`httpx<0.29`, so the private seams used here (`Client._transport`,
`HTTPTransport._pool`, `Client._cookies`) hold still; under `httpx2.alias_httpx()`
they are httpx2's, the same.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, MutableMapping
from contextvars import ContextVar
from typing import Any, cast

import httpcore
import httpcore2
import httpx

from ._core import DEADLINE

__all__ = ["use_httpcore2"]

# The deadline of the call this thread or task is making: set by the pools below
# around each step of a request, read by the network streams.
_deadline: ContextVar[float | None] = ContextVar("dtmf_deadline", default=None)


def _bounded(timeout: float | None, error: type[Exception]) -> float | None:
    """`timeout`, cut to what is left of the current call; past the deadline, `error`."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the call's call_timeout ran out")
    return left if timeout is None or left < timeout else timeout


# Network: streams whose every wait ends at the deadline --------------------------


class _Stream(httpcore2.NetworkStream):
    def __init__(self, stream: httpcore2.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore2.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore2.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore2.NetworkStream:
        bounded = _bounded(timeout, httpcore2.ConnectTimeout)
        return _Stream(self._stream.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _Backend(httpcore2.NetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore2.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        bounded = _bounded(timeout, httpcore2.ConnectTimeout)
        return _Stream(
            self._backend.connect_tcp(host, port, bounded, local_address, socket_options)
        )

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore2.NetworkStream:
        bounded = _bounded(timeout, httpcore2.ConnectTimeout)
        return _Stream(self._backend.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _AsyncStream(httpcore2.AsyncNetworkStream):
    def __init__(self, stream: httpcore2.AsyncNetworkStream) -> None:
        self._stream = stream

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._stream.read(max_bytes, _bounded(timeout, httpcore2.ReadTimeout))

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, _bounded(timeout, httpcore2.WriteTimeout))

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        bounded = _bounded(timeout, httpcore2.ConnectTimeout)
        return _AsyncStream(await self._stream.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _AsyncBackend(httpcore2.AsyncNetworkBackend):
    """anyio's network under asyncio, trio's under trio (as httpcore's own choice)."""

    _backend: httpcore2.AsyncNetworkBackend | None = None

    def _chosen(self) -> httpcore2.AsyncNetworkBackend:
        if self._backend is None:
            try:
                import sniffio  # trio brings it; a plain install has no need of it
            except ImportError:
                library = "asyncio"
            else:
                library = sniffio.current_async_library()
            backend = httpcore2.TrioBackend() if library == "trio" else httpcore2.AnyIOBackend()
            self._backend = cast("httpcore2.AsyncNetworkBackend", backend)
        return self._backend

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        bounded = _bounded(timeout, httpcore2.ConnectTimeout)
        stream = await self._chosen().connect_tcp(
            host, port, bounded, local_address, socket_options
        )
        return _AsyncStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore2.AsyncNetworkStream:
        bounded = _bounded(timeout, httpcore2.ConnectTimeout)
        return _AsyncStream(await self._chosen().connect_unix_socket(path, bounded, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._chosen().sleep(seconds)


# The pools: httpcore's interface, httpcore2's pool --------------------------------

# httpcore2's exceptions by name: httpcore and httpx name theirs the same (httpcore2
# is a fork of httpcore, and httpx's transport maps each to the same name).
_NAMES = (
    "ConnectError",
    "ConnectTimeout",
    "LocalProtocolError",
    "NetworkError",
    "PoolTimeout",
    "ProtocolError",
    "ProxyError",
    "ReadError",
    "ReadTimeout",
    "RemoteProtocolError",
    "TimeoutException",
    "UnsupportedProtocol",
    "WriteError",
    "WriteTimeout",
)
_AS_HTTPCORE: dict[type[Exception], type[Exception]] = {
    getattr(httpcore2, name): getattr(httpcore, name) for name in _NAMES
}
_AS_HTTPX: dict[type[Exception], type[Exception]] = {
    getattr(httpcore2, name): getattr(httpx, name) for name in _NAMES
}
ErrorMap = dict[type[Exception], type[Exception]]


def _mapped(exc: Exception, errors: ErrorMap) -> Exception:
    """httpcore2's exception as the one of the same name in `errors`; anything else as is."""
    equivalent = errors.get(type(exc))
    if equivalent is None or equivalent is type(exc):
        return exc
    mapped = equivalent(str(exc))
    mapped.__cause__ = exc
    return mapped


def _extensions(message: httpcore.Request | httpcore2.Response) -> MutableMapping[str, Any]:
    return message.extensions  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]


def _request(request: httpcore.Request) -> httpcore2.Request:
    url = request.url
    return httpcore2.Request(
        method=request.method,
        url=httpcore2.URL(scheme=url.scheme, host=url.host, port=url.port, target=url.target),
        headers=request.headers,
        content=request.stream,
        extensions=_extensions(request),
    )


class _Step:
    """A request's step in the pool: its deadline on the network streams' waits, and
    httpcore2's exceptions raised as their namesakes in `errors`.

    Entered once a request: the bodies set the deadline inline per read instead, as
    a `with` per chunk would cost two calls each."""

    __slots__ = ("_errors", "_token", "deadline")

    def __init__(self, deadline: float | None, errors: ErrorMap) -> None:
        self.deadline = deadline
        self._errors = errors

    def __enter__(self) -> None:
        self._token = _deadline.set(self.deadline)

    def __exit__(self, kind: object, exc: BaseException | None, traceback: object) -> None:
        _deadline.reset(self._token)
        if isinstance(exc, Exception):
            mapped = _mapped(exc, self._errors)
            if mapped is not exc:
                raise mapped  # its cause is set


_ByteStream = httpx.SyncByteStream | httpx.AsyncByteStream


def _as_httpcore(response: httpcore2.Response, body: _ByteStream) -> httpcore.Response:
    extensions = _extensions(response)
    return httpcore.Response(
        response.status, headers=response.headers, content=body, extensions=extensions
    )


def _as_httpx(response: httpcore2.Response, body: _ByteStream) -> httpx.Response:
    extensions = _extensions(response)
    return httpx.Response(
        response.status, headers=response.headers, stream=body, extensions=extensions
    )


class _SyncBody(httpx.SyncByteStream):
    """A response body from httpcore2: each read under the deadline, errors mapped."""

    def __init__(self, stream: Iterable[bytes], deadline: float | None, errors: ErrorMap) -> None:
        self._stream = stream
        self._deadline = deadline
        self._errors = errors

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self._stream)
        while True:
            # Each read under the call's deadline (set per read: this generator runs in
            # its caller's context).
            token = _deadline.set(self._deadline)
            try:
                chunk = next(chunks)
            except StopIteration:
                return
            except Exception as exc:
                raise _mapped(exc, self._errors)  # noqa: B904 - its cause is set
            finally:
                _deadline.reset(token)
            yield chunk

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            try:
                close()
            except Exception as exc:
                raise _mapped(exc, self._errors)  # noqa: B904 - its cause is set


class _SyncPool:
    """What httpx's `HTTPTransport` asks of its pool, answered by httpcore2's."""

    def __init__(self, pool: httpcore2.ConnectionPool) -> None:
        self.pool = pool

    def handle_request(self, request: httpcore.Request) -> httpcore.Response:
        step = _Step(_extensions(request).get(DEADLINE), _AS_HTTPCORE)
        with step:
            response = self.pool.handle_request(_request(request))
        stream = cast("Iterable[bytes]", response.stream)
        return _as_httpcore(response, _SyncBody(stream, step.deadline, _AS_HTTPCORE))

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> _SyncPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _AsyncBody(httpx.AsyncByteStream):
    """`_SyncBody` for async streams."""

    def __init__(
        self, stream: AsyncIterable[bytes], deadline: float | None, errors: ErrorMap
    ) -> None:
        self._stream = stream
        self._deadline = deadline
        self._errors = errors

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = aiter(self._stream)
        while True:
            token = _deadline.set(self._deadline)  # as in _SyncBody
            try:
                chunk = await anext(chunks, None)
            except Exception as exc:
                raise _mapped(exc, self._errors)  # noqa: B904 - its cause is set
            finally:
                _deadline.reset(token)
            if chunk is None:
                return
            yield chunk

    async def aclose(self) -> None:
        aclose = getattr(self._stream, "aclose", None)
        if aclose is not None:
            try:
                await aclose()
            except Exception as exc:
                raise _mapped(exc, self._errors)  # noqa: B904 - its cause is set


class _AsyncPool:
    """What httpx's `AsyncHTTPTransport` asks of its pool, answered by httpcore2's."""

    def __init__(self, pool: httpcore2.AsyncConnectionPool) -> None:
        self.pool = pool

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        step = _Step(_extensions(request).get(DEADLINE), _AS_HTTPCORE)
        with step:
            response = await self.pool.handle_async_request(_request(request))
        stream = cast("AsyncIterable[bytes]", response.stream)
        return _as_httpcore(response, _AsyncBody(stream, step.deadline, _AS_HTTPCORE))

    async def aclose(self) -> None:
        await self.pool.aclose()

    async def __aenter__(self) -> _AsyncPool:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


# httpx's own methods, as imported: a tool that records or mocks httpx (vcrpy,
# pytest-recording) replaces them on httpx's classes.
_HTTPX_SYNC = httpx.HTTPTransport.handle_request
_HTTPX_ASYNC = httpx.AsyncHTTPTransport.handle_async_request


def _httpcore2_request(request: httpx.Request) -> httpcore2.Request:
    url = request.url
    return httpcore2.Request(
        method=request.method,
        url=httpcore2.URL(
            scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
        ),
        headers=request.headers.raw,
        content=request.stream,  # pyright: ignore[reportArgumentType]
        extensions=request.extensions,
    )


class _Transport(httpx.HTTPTransport):
    """httpx's transport, straight onto httpcore2's pool.

    It does what httpx's `handle_request` does with httpcore (build the request,
    map the exceptions) without the round trip through httpcore's classes; while a
    tool hooks httpx's method, it goes through that hook (and `_SyncPool`) instead.
    """

    adapter: _SyncPool
    """httpcore2's pool, as httpx's code (through a hook) asks for it, in `_pool` too."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if httpx.HTTPTransport.handle_request is not _HTTPX_SYNC:
            return httpx.HTTPTransport.handle_request(self, request)
        step = _Step(request.extensions.get(DEADLINE), _AS_HTTPX)
        with step:
            response = self.adapter.pool.handle_request(_httpcore2_request(request))
        stream = cast("Iterable[bytes]", response.stream)
        return _as_httpx(response, _SyncBody(stream, step.deadline, _AS_HTTPX))


class _AsyncTransport(httpx.AsyncHTTPTransport):
    """`_Transport` for `httpx.AsyncClient`."""

    adapter: _AsyncPool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if httpx.AsyncHTTPTransport.handle_async_request is not _HTTPX_ASYNC:
            return await httpx.AsyncHTTPTransport.handle_async_request(self, request)
        step = _Step(request.extensions.get(DEADLINE), _AS_HTTPX)
        with step:
            response = await self.adapter.pool.handle_async_request(_httpcore2_request(request))
        stream = cast("AsyncIterable[bytes]", response.stream)
        return _as_httpx(response, _AsyncBody(stream, step.deadline, _AS_HTTPX))


class _Cookies(httpx.Cookies):
    """httpx's cookie jar, which skips the answers that set no cookie.

    httpx reads every answer into its jar through urllib's cookie machinery, a
    few percent of a small call's CPU; the API sets no cookies."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


def use_httpcore2(
    http: httpx.Client | httpx.AsyncClient, ssl_context: ssl.SSLContext, limits: httpx.Limits
) -> None:
    """Put httpcore2's pool, with deadlines, under `http`'s transport for direct connections.

    `http` is made by the SDK with `verify=ssl_context` and `limits`: the new pool
    gets the same. Its proxy transports (mounts) keep httpx's own pool.
    """
    options: dict[str, Any] = {
        "ssl_context": ssl_context,
        "max_connections": limits.max_connections,
        "max_keepalive_connections": limits.max_keepalive_connections,
        "keepalive_expiry": limits.keepalive_expiry,
    }
    if isinstance(http, httpx.Client):
        transport = _Transport(verify=ssl_context, limits=limits)
        pool = httpcore2.ConnectionPool(**options, network_backend=_Backend())
        transport.adapter = _SyncPool(pool)
        transport._pool = cast("Any", transport.adapter)  # pyright: ignore[reportPrivateUsage]
        http._transport = transport  # pyright: ignore[reportPrivateUsage]
    else:
        atransport = _AsyncTransport(verify=ssl_context, limits=limits)
        apool = httpcore2.AsyncConnectionPool(**options, network_backend=_AsyncBackend())
        atransport.adapter = _AsyncPool(apool)
        atransport._pool = cast("Any", atransport.adapter)  # pyright: ignore[reportPrivateUsage]
        http._transport = atransport  # pyright: ignore[reportPrivateUsage]
    http._cookies = _Cookies(http.cookies)  # pyright: ignore[reportPrivateUsage]
