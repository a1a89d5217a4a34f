"""The benchmark's server: canned bodies over raw HTTP/1.1 keep-alive, in its own process.

Throughput figures measure the clients, so the server must cost next to nothing
per request: this one is an `asyncio.Protocol` that finds the request target,
looks up a prepared response (status line, headers and body as one bytes object)
and writes it. No HTTP library, no routing, no JSON encoding per request. The
bodies are the reference server's own (bench/bodies.py), made once at start-up.

It prints one JSON line (base URL, token, the numbers' e164s), then serves on a
free loopback port until its standard input closes.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from urllib.parse import parse_qs, urlsplit

from .bodies import TOKEN, make_bodies

PREFIX = "/api/v1"


def _response(status: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}"
    return head.encode() + b"\r\n\r\n" + body


NOT_FOUND = _response("404 Not Found", b'{"error":"not_found","message":"no such body"}')


class Routes:
    """Request target -> prepared response, each target resolved once."""

    def __init__(self, e164s: dict[str, str], bodies: dict[str, bytes]) -> None:
        self._numbers = {e164s[name]: _response("200 OK", bodies[name]) for name in e164s}
        self._account = _response("200 OK", bodies["account"])
        self._cache: dict[bytes, bytes] = {}

    def answer(self, target: bytes) -> bytes:
        response = self._cache.get(target)
        if response is None:
            response = self._cache[target] = self._resolve(target.decode("latin-1"))
        return response

    def _resolve(self, target: str) -> bytes:
        url = urlsplit(target)
        if url.path == f"{PREFIX}/account":
            return self._account
        if url.path == f"{PREFIX}/number":
            e164 = parse_qs(url.query).get("e164", [""])[0]
            return self._numbers.get(e164, NOT_FOUND)
        return NOT_FOUND


class Connection(asyncio.Protocol):
    """One keep-alive connection: answers each complete request head in order."""

    def __init__(self, routes: Routes) -> None:
        self._routes = routes
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buffer[:end]
            length = _content_length(head)
            if len(buffer) < end + 4 + length:
                break  # the request body has not all arrived
            buffer = buffer[end + 4 + length :]
            target = head.split(b" ", 2)[1]
            assert self._transport is not None
            self._transport.write(self._routes.answer(target))
        self._buffer = buffer


def _content_length(head: bytes) -> int:
    if head.startswith(b"GET "):
        return 0  # the clients measured send no body with a GET
    for line in head.lower().split(b"\r\n")[1:]:
        if line.startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 0


async def serve(routes: Routes, ready: dict[str, object]) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Connection(routes), "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print(json.dumps({**ready, "base_url": f"http://127.0.0.1:{port}{PREFIX}"}), flush=True)
    closed = loop.create_future()

    def wait_for_stdin() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(closed.set_result, None)

    threading.Thread(target=wait_for_stdin, daemon=True).start()
    async with server:
        await closed


def main() -> None:
    e164s, bodies = make_bodies()
    ready = {"token": TOKEN, "e164s": e164s, "sizes": {k: len(v) for k, v in bodies.items()}}
    asyncio.run(serve(Routes(e164s, bodies), ready))


if __name__ == "__main__":
    main()
