"""One attempt of a call: send a request and read its body, within the call's bounds.

The drivers (sync and async) hand each request `_core.exchange()` yields to
`send()` / `asend()` and give back what they return: the response, read, or what
ended the attempt (a transport exception, or `BodyTooLarge`).

The body is read chunk by chunk and given up once it passes the client's
`max_response_size` counted after decompression, so an endless body or a
decompression bomb costs at most the cap plus one network read: gzip and deflate
are inflated here, a bounded piece at a time (httpx's decoders inflate a whole
network read at once, up to about a thousand times its size); any other encoding
httpx decodes. Reading also stops at the call's deadline, whatever the transport.

Requests go through the http client's public `send()`, streamed: its transport,
mounts (proxies), auth, cookies and event hooks apply, as to any httpx call.
"""

from __future__ import annotations

import contextlib
import time
import zlib
from collections.abc import AsyncGenerator
from typing import cast

import httpx

from ._auth import on_top
from ._core import DEADLINE, BodyTooLarge, Outcome
from ._deadline import Watchdog

__all__ = ["asend", "send"]

_PIECE = 256 * 1024
"""The most a gzip or deflate body is inflated at a time."""
_KEPT = 4096
"""How much of an oversized body the error keeps (errors show its beginning)."""


class _Body:
    """A response body as it arrives, sans I/O: `feed()` each chunk, then `end()`."""

    def __init__(self, response: httpx.Response, limit: int, *, timed: bool = True) -> None:
        self.response = response
        self.limit = limit
        # Async attempts are cancelled at the deadline instead: under trio, a body left
        # early leaves httpx's async generators to the garbage collector (a warning).
        self.deadline: float = response.request.extensions[DEADLINE] if timed else float("inf")
        self.chunks: list[bytes] = []
        self.size = 0
        encodings = response.headers.get_list("content-encoding", split_commas=True)
        encoding = encodings[0].strip().lower() if len(encodings) == 1 else None
        self.raw_deflate_next = encoding == "deflate"  # httpx's fallback, on the first chunk
        self.inflate = (
            zlib.decompressobj(zlib.MAX_WBITS | 16 if encoding == "gzip" else zlib.MAX_WBITS)
            # Already read whole (a mock transport's answer): httpx has decoded it.
            if encoding in ("gzip", "deflate") and not response.is_stream_consumed
            else None
        )

    @property
    def raw(self) -> bool:
        """Whether to feed raw chunks (this class inflates them), else httpx's decoded ones."""
        return self.inflate is not None

    def feed(self, data: bytes) -> Outcome:
        """Take the next chunk; an outcome ends the read."""
        if time.monotonic() > self.deadline:
            # A body trickled in through a transport that does not know the deadline.
            return httpx.ReadTimeout(
                "the call's call_timeout ran out", request=self.response.request
            )
        if self.inflate is None:
            return self._add(data)
        try:
            return self._inflate(data)
        except zlib.error as exc:
            if not self.raw_deflate_next:
                return httpx.DecodingError(str(exc), request=self.response.request)
            self.raw_deflate_next = False  # 'deflate' sent without its zlib header
            self.inflate = zlib.decompressobj(-zlib.MAX_WBITS)
            return self.feed(data)
        finally:
            self.raw_deflate_next = False

    def _inflate(self, data: bytes) -> Outcome:
        assert self.inflate is not None
        while data:
            # Bounded pieces: zlib grows its output buffer by doubling up to the bound.
            room = min(self.limit - self.size + 1, _PIECE)
            piece = self.inflate.decompress(data, room)
            data = self.inflate.unconsumed_tail
            ended = self._add(piece)
            if ended is not None:
                return ended
        return None

    def _add(self, piece: bytes) -> Outcome:
        self.size += len(piece)
        if self.size > self.limit:
            self._keep([*self.chunks[:4], piece])
            return BodyTooLarge(self.response, self.limit)
        self.chunks.append(piece)
        return None

    def end(self) -> Outcome:
        """The response, its body read, or what ended the read."""
        if self.inflate is not None:
            try:
                ended = self._add(self.inflate.flush())
            except zlib.error as exc:  # pragma: no cover - flush reports no errors in practice
                return httpx.DecodingError(str(exc), request=self.response.request)
            if ended is not None:
                return ended
        self._keep(self.chunks)
        return self.response

    def _keep(self, chunks: list[bytes]) -> None:
        # The response as `response.read()` leaves it, built anew (httpx has no public way
        # to store a body read by hand): `.content` and everything after it work as usual.
        content = b"".join(chunks)
        if self.size > self.limit:
            content = content[:_KEPT]
        read = self.response
        headers = read.headers
        if "content-encoding" in headers:
            # Decoded here or by httpx: the new response must not decode it again.
            headers = httpx.Headers([(k, v) for k, v in headers.raw if k != b"content-encoding"])
        self.response = httpx.Response(
            read.status_code,
            headers=headers,
            content=content,
            request=read.request,
            extensions=read.extensions,
        )


def send(http: httpx.Client, request: httpx.Request, limit: int) -> Outcome:
    """Send `request` through `http` and read the response's body (at most `limit` bytes,
    decoded), ending the attempt at the call's deadline (`Watchdog`)."""
    watchdog = Watchdog(request)
    try:
        response = http.send(
            request, stream=True, auth=on_top(http, request), follow_redirects=False
        )
    except httpx.RequestError as exc:
        watchdog.stop()
        return watchdog.outcome(exc)
    try:
        body = _Body(response, limit)
        for ended in map(body.feed, response.iter_raw() if body.raw else response.iter_bytes()):
            if ended is not None:
                return ended
    except httpx.RequestError as exc:
        return watchdog.outcome(exc)
    finally:
        watchdog.stop()  # before the connection can go back to the pool
        response.close()
    return body.end()


async def _asend(http: httpx.AsyncClient, request: httpx.Request, limit: int) -> Outcome:
    try:
        response = await http.send(
            request, stream=True, auth=on_top(http, request), follow_redirects=False
        )
    except httpx.RequestError as exc:
        return exc
    try:
        body = _Body(response, limit, timed=False)
        chunks = response.aiter_raw() if body.raw else response.aiter_bytes()
        async with contextlib.aclosing(cast("AsyncGenerator[bytes, None]", chunks)):
            async for chunk in chunks:
                ended = body.feed(chunk)
                if ended is not None:
                    return ended
    except httpx.RequestError as exc:
        return exc
    finally:
        await response.aclose()
    return body.end()


GRACE = 0.05
"""How long past the deadline an async attempt is cancelled: httpx's own timeouts,
each cut to the deadline by `exchange()`, end a pool wait or a connect first and
say which (a request that waited for the pool was never sent)."""


async def asend(http: httpx.AsyncClient, request: httpx.Request, limit: int) -> Outcome:
    """`send()` for an `httpx.AsyncClient`: the attempt is cancelled at the call's deadline
    whatever the transport (a trickled body, endless 1xx answers)."""
    import anyio

    deadline: float = request.extensions[DEADLINE]
    with anyio.move_on_after(deadline + GRACE - time.monotonic()):
        return await _asend(http, request, limit)
    # Cancelled: whether the request reached the server is unknown.
    return httpx.ReadTimeout("the call's call_timeout ran out", request=request)
