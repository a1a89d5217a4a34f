"""`FastTransport` and `AsyncFastTransport`: httpcore2's connection pool as an httpx transport.

An opt-in, for programs that make many concurrent calls:

    http = httpx.AsyncClient(transport=dtmf.AsyncFastTransport())
    async with http, dtmf.AsyncClient(http_client=http) as client: ...

httpcore2 is the connection pool of httpx's maintained fork. Under a burst of
concurrent async calls httpcore 1.0's pool (httpx's own) spends most of its CPU
re-scanning its queue (encode/httpcore#1035) and probes for sniffio on every lock;
httpcore2's does neither. And every socket wait in this pool (connect, TLS, each read
and write) ends at the call's deadline (`call_timeout`, from the request's
`dtmf.deadline` extension), so a server trickling bytes or sending endless 1xx
answers is cut off there even on a reused connection.

What it costs: the tools that hook httpx's own transports or httpcore (vcrpy,
pytest-recording, respx, pytest-httpx) do not see requests sent through it, nor
does it speak to proxies. Use it in production, httpx's transports in tests.
The figures: README "Performance" (`make bench`).

Only public API: httpx's transport interface above, httpcore2's pool and network
backends below.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from contextvars import ContextVar
from typing import Any, cast

import httpcore2
import httpx

from ._client import DEFAULT_LIMITS
from ._core import DEADLINE

__all__ = ["AsyncFastTransport", "FastTransport"]

# The deadline of the call this thread or task is making: set around each step of a
# request, read by the network streams.
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


# The pool's exceptions as httpx's -------------------------------------------------

# httpcore2 names its exceptions as httpx does (it is a fork of httpcore, whose
# exceptions httpx's own transport maps to the same names).
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
_AS_HTTPX: dict[type[Exception], type[Exception]] = {
    getattr(httpcore2, name): getattr(httpx, name) for name in _NAMES
}


def _mapped(exc: Exception) -> Exception:
    """httpcore2's exception as httpx's of the same name; anything else as is."""
    equivalent = _AS_HTTPX.get(type(exc))
    if equivalent is None or equivalent is type(exc):
        return exc
    mapped = equivalent(str(exc))
    mapped.__cause__ = exc
    return mapped


class _Step:
    """A request's step in the pool: its deadline on the network streams' waits, and
    httpcore2's exceptions raised as httpx's.

    Entered once a request: the bodies set the deadline inline per read instead, as
    a `with` per chunk would cost two calls each."""

    __slots__ = ("_token", "deadline")

    def __init__(self, deadline: float | None) -> None:
        self.deadline = deadline

    def __enter__(self) -> None:
        self._token = _deadline.set(self.deadline)

    def __exit__(self, kind: object, exc: BaseException | None, traceback: object) -> None:
        _deadline.reset(self._token)
        if isinstance(exc, Exception):
            mapped = _mapped(exc)
            if mapped is not exc:
                raise mapped  # its cause is set


def _pool_request(request: httpx.Request) -> httpcore2.Request:
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


def _response(
    response: httpcore2.Response, body: httpx.SyncByteStream | httpx.AsyncByteStream
) -> httpx.Response:
    extensions = cast("dict[str, Any]", response.extensions)  # pyright: ignore[reportUnknownMemberType]
    return httpx.Response(
        response.status, headers=response.headers, stream=body, extensions=extensions
    )


class _SyncBody(httpx.SyncByteStream):
    """A response body from httpcore2: each read under the deadline, errors mapped."""

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
                chunk = next(chunks)
            except StopIteration:
                return
            except Exception as exc:
                raise _mapped(exc)  # noqa: B904 - its cause is set
            finally:
                _deadline.reset(token)
            yield chunk

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            try:
                close()
            except Exception as exc:
                raise _mapped(exc)  # noqa: B904 - its cause is set


class _AsyncBody(httpx.AsyncByteStream):
    """`_SyncBody` for async streams."""

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
                raise _mapped(exc)  # noqa: B904 - its cause is set
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
                raise _mapped(exc)  # noqa: B904 - its cause is set


def _pool_options(
    verify: ssl.SSLContext | str | bool, trust_env: bool, limits: httpx.Limits
) -> dict[str, Any]:
    return {
        # The SSL context as httpx's own transport makes it (certifi, SSL_CERT_FILE ...).
        "ssl_context": httpx.create_ssl_context(verify=verify, trust_env=trust_env),
        "max_connections": limits.max_connections,
        "max_keepalive_connections": limits.max_keepalive_connections,
        "keepalive_expiry": limits.keepalive_expiry,
    }


class FastTransport(httpx.BaseTransport):
    """httpcore2's connection pool for an `httpx.Client`, every wait ending at the deadline.

    >>> http = httpx.Client(transport=dtmf.FastTransport())
    >>> with http, dtmf.Client(http_client=http) as client: ...

    Direct connections only (no proxy); tools that hook httpx's own transports or
    httpcore (vcrpy, respx, pytest-httpx) do not see its requests: see README
    "Performance" for what it gains.
    """

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | str | bool = True,
        trust_env: bool = True,
        limits: httpx.Limits = DEFAULT_LIMITS,
    ) -> None:
        """Args:
        verify: TLS verification: True, a CA bundle path or an `ssl.SSLContext`.
        trust_env: Read certificates from the environment (SSL_CERT_FILE ...).
        limits: The pool's `httpx.Limits`. Default: 16 connections, as `dtmf.Client`.
        """
        options = _pool_options(verify, trust_env, limits)
        self._connections = httpcore2.ConnectionPool(**options, network_backend=_Backend())

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` through the pool (httpx's transport interface)."""
        step = _Step(request.extensions.get(DEADLINE))
        with step:
            response = self._connections.handle_request(_pool_request(request))
        stream = cast("Iterable[bytes]", response.stream)
        return _response(response, _SyncBody(stream, step.deadline))

    def close(self) -> None:
        """Close the pool's connections."""
        self._connections.close()


class AsyncFastTransport(httpx.AsyncBaseTransport):
    """`FastTransport` for an `httpx.AsyncClient` (asyncio or trio)."""

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | str | bool = True,
        trust_env: bool = True,
        limits: httpx.Limits = DEFAULT_LIMITS,
    ) -> None:
        """Args:
        verify: TLS verification: True, a CA bundle path or an `ssl.SSLContext`.
        trust_env: Read certificates from the environment (SSL_CERT_FILE ...).
        limits: The pool's `httpx.Limits`. Default: 16 connections, as `dtmf.AsyncClient`.
        """
        options = _pool_options(verify, trust_env, limits)
        self._connections = httpcore2.AsyncConnectionPool(
            **options, network_backend=_AsyncBackend()
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` through the pool (httpx's transport interface)."""
        step = _Step(request.extensions.get(DEADLINE))
        with step:
            response = await self._connections.handle_async_request(_pool_request(request))
        stream = cast("AsyncIterable[bytes]", response.stream)
        return _response(response, _AsyncBody(stream, step.deadline))

    async def aclose(self) -> None:
        """Close the pool's connections."""
        await self._connections.aclose()
