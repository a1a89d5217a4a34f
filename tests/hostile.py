"""Servers that misbehave on purpose, on a loopback port and in-process.

`HostileServer(behaviour)` is a real HTTP/1.1 server on 127.0.0.1 (a thread per
connection) that answers every request in one hostile way; `hostile_transport()`
and `async_hostile_transport()` give the same answers in-process, as httpx
transports, where the behaviour exists above HTTP (1xx answers and the pool do
not). Used by tests/test_transport.py and the hostile rows of `make faults`.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from functools import cache
from typing import Literal

import httpx

Behaviour = Literal["endless", "gzip-bomb", "trickle", "continue", "slow"]
BEHAVIOURS: tuple[Behaviour, ...] = ("endless", "gzip-bomb", "trickle", "continue", "slow")
IN_PROCESS: tuple[Behaviour, ...] = ("endless", "gzip-bomb", "trickle")
"""The behaviours an httpx transport can show (1xx answers and pool waits need a socket)."""

ACCOUNT = json.dumps(
    {"id": 1, "email": "hostile@example.com", "balance": 1000, "created_at": None}
).encode()
BOMB_SIZE = 256 * 1024 * 1024
"""What the gzip bomb inflates to: 8 times the default cap, from about 250 KB."""
CHUNK = b"x" * 65536
TRICKLE_INTERVAL = 0.05
"""Seconds between two bytes of a trickled body (each read is well within any timeout)."""
SLOW_DELAY = 1.0
"""How long the 'slow' server takes over each request (one at a time per connection)."""


@cache
def bomb() -> bytes:
    """A gzip body of BOMB_SIZE zero bytes (made once, a megabyte at a time)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(1024 * 1024)
    parts = [packer.compress(zeros) for _ in range(BOMB_SIZE // len(zeros))]
    return b"".join([*parts, packer.flush()])


def warm_up() -> None:
    """Make the gzip bomb, and load what a first call loads (models, adapters), now."""
    import dtmf

    bomb()
    answer = httpx.MockTransport(lambda request: httpx.Response(200, content=ACCOUNT))
    with httpx.Client(transport=answer) as http, dtmf.Client("warm-up", http_client=http) as c:
        c.account.get()


def _head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    return "\r\n".join(lines).encode()


class HostileServer:
    """A loopback HTTP/1.1 server answering every request with one `behaviour`."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._listener.settimeout(0.1)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        port = self._listener.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}/api/v1"

    def __enter__(self) -> HostileServer:
        self._spawn(self._accept)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.settimeout(0.5)
            while not self._stopping.is_set():
                if not self._read_request(conn):
                    return
                self._answer(conn)

    def _read_request(self, conn: socket.socket) -> bool:
        data = b""
        while b"\r\n\r\n" not in data:
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                if self._stopping.is_set():
                    return False
                continue
            if not chunk:
                return False
            data += chunk
        return True  # the SDK's GETs carry no body

    def _answer(self, conn: socket.socket) -> None:
        behaviour = self.behaviour
        json_type = {"content-type": "application/json"}
        if behaviour == "endless":
            conn.sendall(_head("200 OK", {**json_type, "connection": "close"}))
            while not self._stopping.is_set():
                conn.sendall(CHUNK)
        elif behaviour == "gzip-bomb":
            body = bomb()
            headers = {**json_type, "content-encoding": "gzip", "content-length": str(len(body))}
            conn.sendall(_head("200 OK", headers) + body)
        elif behaviour == "trickle":
            conn.sendall(_head("200 OK", {**json_type, "content-length": str(len(ACCOUNT))}))
            for byte in ACCOUNT:
                if self._stopping.wait(TRICKLE_INTERVAL):
                    return
                conn.sendall(bytes([byte]))
        elif behaviour == "continue":
            while not self._stopping.wait(TRICKLE_INTERVAL):
                conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        else:  # slow
            if self._stopping.wait(SLOW_DELAY):
                return
            conn.sendall(
                _head("200 OK", {**json_type, "content-length": str(len(ACCOUNT))}) + ACCOUNT
            )


# In-process ----------------------------------------------------------------------


def _headers(behaviour: Behaviour) -> dict[str, str]:
    if behaviour == "gzip-bomb":
        return {"content-type": "application/json", "content-encoding": "gzip"}
    return {"content-type": "application/json"}


class _Endless(httpx.SyncByteStream, httpx.AsyncByteStream):
    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour

    def __iter__(self) -> Iterator[bytes]:
        if self.behaviour == "endless":
            while True:
                yield b"x" * len(CHUNK)  # a new buffer each time, as from a socket
        elif self.behaviour == "gzip-bomb":
            body = bomb()
            for start in range(0, len(body), 65536):
                yield body[start : start + 65536]
        else:
            for byte in ACCOUNT:
                time.sleep(TRICKLE_INTERVAL)
                yield bytes([byte])

    async def __aiter__(self) -> AsyncIterator[bytes]:
        import anyio

        if self.behaviour == "trickle":
            for byte in ACCOUNT:
                await anyio.sleep(TRICKLE_INTERVAL)
                yield bytes([byte])
            return
        for chunk in self:
            await anyio.lowlevel.checkpoint()
            yield chunk


def _handler(behaviour: Behaviour) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=_headers(behaviour), stream=_Endless(behaviour))

    return httpx.MockTransport(handle)


def hostile_transport(behaviour: Behaviour) -> httpx.BaseTransport:
    """An in-process transport answering like `HostileServer(behaviour)` (IN_PROCESS only)."""
    assert behaviour in IN_PROCESS
    return _handler(behaviour)


def async_hostile_transport(behaviour: Behaviour) -> httpx.AsyncBaseTransport:
    """`hostile_transport()` for an `httpx.AsyncClient`."""
    assert behaviour in IN_PROCESS
    return _handler(behaviour)
