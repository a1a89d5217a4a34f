"""The emulator served to an httpx client in-process, without sockets.

`SyncTransport` (for `httpx.Client`) and `AsyncTransport` (for `httpx.AsyncClient`,
under asyncio or trio) hand each request to a `Server` and apply the transport
side of fault injection as a network would show it: a delay that outlasts the
client's read timeout is a `ReadTimeout`, a dropped connection a transport error.
"""

from __future__ import annotations

import time
from typing import NamedTuple

import anyio
import httpx

from ._faults import Fault
from ._server import Reply, Server, first_values

__all__ = ["AsyncTransport", "SyncTransport"]


def _wait(request: httpx.Request, delay: float) -> tuple[float, bool]:
    """How long an in-process delay lasts, and whether the client's read timeout ends it."""
    timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
    read = timeouts.get("read")
    if read is not None and read < delay:
        return read, True
    return delay, False


class _Acted(NamedTuple):
    """What the server did with a request: its reply, and whether the line then drops."""

    reply: Reply
    dropped: bool


def _lower_headers(request: httpx.Request) -> dict[str, str]:
    return {key.lower(): value for key, value in request.headers.items()}


class _InProcess:
    """What both in-process transports do around a request; they differ only in waiting.

    `admit` applies the fault's delay rules and returns the fault and how long to
    wait; `answer` (after the wait) applies the rest and lets the server answer.
    """

    def __init__(self, server: Server) -> None:
        self._server = server

    def admit(self, request: httpx.Request) -> tuple[Fault | None, float, bool]:
        fault = self._server.admit(request.method, request.url.path)
        if fault is None or not fault.delay:
            return fault, 0.0, False
        # Like a socket, give up when the client's read timeout passes first.
        seconds, timed_out = _wait(request, fault.delay)
        return fault, seconds, timed_out

    def answer(
        self, request: httpx.Request, fault: Fault | None, timed_out: bool, body: bytes
    ) -> httpx.Response:
        if timed_out:
            raise httpx.ReadTimeout("injected fault: no answer in time", request=request)
        if fault is not None and fault.drop == "before":
            raise httpx.ConnectError("injected fault: connection refused", request=request)
        return self.answer_acted(request, self.act(request, fault, body), timed_out=False)

    def act(self, request: httpx.Request, fault: Fault | None, body: bytes) -> _Acted:
        """Let the server handle the request (the service acts); the answer is not sent yet."""
        reply = self._server.handle(
            request.method,
            request.url.path,
            first_values(request.url.params.multi_items()),
            _lower_headers(request),
            body,
            fault,
        )
        return _Acted(reply, fault is not None and fault.drop == "after")

    @staticmethod
    def answer_acted(request: httpx.Request, acted: _Acted, timed_out: bool) -> httpx.Response:
        """The answer to a request the server handled, unless the line dropped or timed out."""
        if timed_out:
            raise httpx.ReadTimeout("injected fault: no answer in time", request=request)
        if acted.dropped:
            raise httpx.RemoteProtocolError(
                "injected fault: server disconnected without sending a response", request=request
            )
        reply = acted.reply
        return httpx.Response(reply.status, headers=reply.headers, content=reply.body)


class SyncTransport(_InProcess, httpx.BaseTransport):
    """Serves `httpx.Client` requests from a `Server`, in-process, without sockets."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        fault, seconds, timed_out = self.admit(request)
        if fault is not None and fault.after_acting:
            acted = self.act(request, fault, request.read())
            time.sleep(seconds)
            return self.answer_acted(request, acted, timed_out)
        if seconds:
            time.sleep(seconds)
        return self.answer(request, fault, timed_out, request.read())


class AsyncTransport(_InProcess, httpx.AsyncBaseTransport):
    """Serves `httpx.AsyncClient` requests from a `Server`, in-process (asyncio or trio)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        fault, seconds, timed_out = self.admit(request)
        if fault is not None and fault.after_acting:
            acted = self.act(request, fault, await request.aread())
            await anyio.sleep(seconds)
            return self.answer_acted(request, acted, timed_out)
        if seconds:
            await anyio.sleep(seconds)
        return self.answer(request, fault, timed_out, await request.aread())
