"""The connection pool under the SDK's own httpx clients, and the call's deadline on every wait.

httpx stays the SDK's HTTP API: the clients are `httpx.Client` / `httpx.AsyncClient`
with httpx's own `HTTPTransport` / `AsyncHTTPTransport`, so timeouts, limits, proxies,
`verify`, `trust_env`, the exceptions, and tools that hook httpx's transports (vcrpy,
pytest-recording) behave as with httpx alone. Only the connection pool inside the
transport is httpcore2's (the pool of httpx's maintained fork) instead of httpcore
1.0's, which spends most of an async burst's CPU re-scanning its queue
(encode/httpcore#1035) and probes for sniffio on every lock. Measured with
`bench/transport.py`: see README "Performance".

Every socket wait in that pool (connect, TLS, each read and write) is clamped to
what is left of the call's `call_timeout`, read from the request's `dtmf.deadline`
extension; so a body trickled a byte at a time or endless `100 Continue` answers
end in a timeout at the deadline, like a slow server does. Requests through an
`http_client` of your own, or through a proxy, keep httpx's own pool and only get
per-request timeouts (README "Timeouts and retries").

httpx's transport calls `self._pool.handle_request(httpcore.Request)`; `_SyncPool`
and `_AsyncPool` answer that call from httpcore2 (httpx is at its last release,
0.28.1, and the SDK pins `httpx<0.29`, so that seam holds still). Under
`httpx2.alias_httpx()` `httpcore` is httpcore2 itself, and the adapters still apply
the deadline.
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

# httpcore2's exceptions as the httpcore exceptions of the same name, which httpx's
# transport maps to its own (httpcore2 is a fork: the names are the same).
_AS_HTTPCORE: dict[type[Exception], type[Exception]] = {
    getattr(httpcore2, name): getattr(httpcore, name)
    for name in (
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
}


def _as_httpcore(exc: Exception) -> Exception:
    """httpcore2's exception as httpcore's of the same name, which httpx's transport maps
    to its own; anything else as it is."""
    equivalent = _AS_HTTPCORE.get(type(exc))
    if equivalent is None or equivalent is type(exc):
        return exc
    mapped = equivalent(str(exc))
    mapped.__cause__ = exc
    return mapped


def _extensions(request: httpcore.Request) -> MutableMapping[str, Any]:
    return request.extensions  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]


def _request(request: httpcore.Request) -> httpcore2.Request:
    url = request.url
    return httpcore2.Request(
        method=request.method,
        url=httpcore2.URL(scheme=url.scheme, host=url.host, port=url.port, target=url.target),
        headers=request.headers,
        content=request.stream,
        extensions=_extensions(request),
    )


class _SyncBody:
    def __init__(self, stream: Iterable[bytes], deadline: float | None) -> None:
        self._stream = stream
        self._deadline = deadline

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self._stream)
        while True:
            # Each read under the call's deadline (set per read: this generator runs in
            # its caller's context).
            token = _deadline.set(self._deadline)
            try:
                chunk = next(chunks, None)
            except Exception as exc:
                raise _as_httpcore(exc)  # noqa: B904 - its cause is set
            finally:
                _deadline.reset(token)
            if chunk is None:
                return
            yield chunk

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            try:
                close()
            except Exception as exc:
                raise _as_httpcore(exc)  # noqa: B904 - its cause is set


class _SyncPool:
    """What httpx's `HTTPTransport` asks of its pool, answered by httpcore2's."""

    def __init__(self, pool: httpcore2.ConnectionPool) -> None:
        self._pool = pool

    def handle_request(self, request: httpcore.Request) -> httpcore.Response:
        deadline: float | None = _extensions(request).get(DEADLINE)
        token = _deadline.set(deadline)
        try:
            response = self._pool.handle_request(_request(request))
        except Exception as exc:
            raise _as_httpcore(exc)  # noqa: B904 - its cause is set
        finally:
            _deadline.reset(token)
        stream = cast("Iterable[bytes]", response.stream)
        return httpcore.Response(
            response.status,
            headers=response.headers,
            content=_SyncBody(stream, deadline),
            extensions=response.extensions,  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
        )

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> _SyncPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _AsyncBody:
    def __init__(self, stream: AsyncIterable[bytes], deadline: float | None) -> None:
        self._stream = stream
        self._deadline = deadline

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = aiter(self._stream)
        while True:
            token = _deadline.set(self._deadline)  # as in _SyncBody
            try:
                chunk = await anext(chunks, None)
            except Exception as exc:
                raise _as_httpcore(exc)  # noqa: B904 - its cause is set
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
                raise _as_httpcore(exc)  # noqa: B904 - its cause is set


class _AsyncPool:
    """What httpx's `AsyncHTTPTransport` asks of its pool, answered by httpcore2's."""

    def __init__(self, pool: httpcore2.AsyncConnectionPool) -> None:
        self._pool = pool

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        deadline: float | None = _extensions(request).get(DEADLINE)
        token = _deadline.set(deadline)
        try:
            response = await self._pool.handle_async_request(_request(request))
        except Exception as exc:
            raise _as_httpcore(exc)  # noqa: B904 - its cause is set
        finally:
            _deadline.reset(token)
        stream = cast("AsyncIterable[bytes]", response.stream)
        return httpcore.Response(
            response.status,
            headers=response.headers,
            content=_AsyncBody(stream, deadline),
            extensions=response.extensions,  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
        )

    async def aclose(self) -> None:
        await self._pool.aclose()

    async def __aenter__(self) -> _AsyncPool:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


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
    transport = http._transport  # pyright: ignore[reportPrivateUsage]
    if isinstance(transport, httpx.HTTPTransport):
        pool = httpcore2.ConnectionPool(**options, network_backend=_Backend())
        transport._pool = cast("Any", _SyncPool(pool))  # pyright: ignore[reportPrivateUsage]
    elif isinstance(transport, httpx.AsyncHTTPTransport):
        apool = httpcore2.AsyncConnectionPool(**options, network_backend=_AsyncBackend())
        transport._pool = cast("Any", _AsyncPool(apool))  # pyright: ignore[reportPrivateUsage]
    else:  # pragma: no cover - httpx < 0.29 always makes these
        raise TypeError(f"unexpected httpx transport {type(transport).__name__}")
