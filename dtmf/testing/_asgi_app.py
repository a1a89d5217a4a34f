"""The emulator as an ASGI application, for uvicorn or any ASGI server.

`ASGIApp` hands each HTTP request to a `Server` and applies the transport side
of fault injection: delays, and dropped connections (`DroppedConnection`). It also
serves the API's OpenAPI document at ``GET /api/v1/openapi.json``, without a token
and outside the fault schedule (it describes the API; it is not part of it).
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl

from .._asgi import Receive, Scope, Send, lifespan, read_body
from ._server import API_PREFIX, Server, first_values

OPENAPI_PATH = API_PREFIX + "/openapi.json"

__all__ = ["ASGIApp", "DroppedConnection"]


class DroppedConnection(Exception):
    """Raised inside the ASGI app to make uvicorn close the connection without an answer."""


# An illegal header value makes h11 refuse to write the status line after uvicorn has
# marked the response as started; the app's exception then makes uvicorn close the
# connection with no bytes sent (instead of answering 500, as it does for an
# exception raised before any response starts). Relies on uvicorn's h11 protocol.
_UNWRITABLE_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"x-dropped", b"\x00")],
}


class ASGIApp:
    """The emulator as an ASGI 3 application, for uvicorn (`http="h11"`)."""

    def __init__(self, server: Server) -> None:
        self._server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        server = self._server
        method: str = scope["method"]
        path: str = scope["path"]
        if method in ("GET", "HEAD") and path == OPENAPI_PATH:
            await self._openapi(send, with_body=method == "GET")
            return
        fault = server.admit(method, path)
        body = await read_body(receive)
        if body is None:
            return
        if fault is not None and fault.delay and not fault.after_acting:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.drop == "before":
            await self._drop(send)
        query = first_values(parse_qsl(scope.get("query_string", b"").decode("latin-1"), True))
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        reply = server.handle(method, path, query, headers, body, fault)
        if fault is not None and fault.after_acting:
            await asyncio.sleep(fault.delay)  # the service acted; the answer is late
        if fault is not None and fault.drop == "after":
            await self._drop(send)
        raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers]
        raw_headers.append((b"content-length", str(len(reply.body)).encode()))
        await send({"type": "http.response.start", "status": reply.status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": reply.body})

    @staticmethod
    async def _openapi(send: Send, with_body: bool) -> None:
        from ._openapi import openapi_json

        document = openapi_json()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(document)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": document if with_body else b""})

    @staticmethod
    async def _drop(send: Send) -> None:
        try:
            await send(dict(_UNWRITABLE_START))
        except Exception as exc:
            raise DroppedConnection("injected fault: connection dropped") from exc
        raise DroppedConnection("injected fault: connection dropped")
