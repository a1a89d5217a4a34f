"""A sync attempt's hard end at the call's deadline, on any httpx transport.

httpx's timeouts bound each network wait, and `exchange()` cuts them to what is
left of the call; reading the body stops at the deadline between chunks
(`_send._Body`). What neither bounds is a server that keeps a wait alive with a
byte now and then before the response's headers (endless `100 Continue` answers,
trickled headers). For those, `Watchdog` listens to the request's `trace`
extension (httpcore's public tracing hook, which httpx passes on): when the attempt
opens a connection, it is handed that connection's network stream, and a timer
shuts the stream's socket at the deadline unless the attempt has ended. The wait
then fails, and the attempt reports a timeout.

A connection reused from the pool is not announced to the trace, so on those only
httpx's per-wait timeouts apply; `dtmf.FastTransport` ends every wait at the
deadline. Async attempts are cancelled at the deadline instead (`_send.asend`).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any

import httpx

from ._core import DEADLINE, Outcome

__all__ = ["Watchdog"]

_CONNECTED = frozenset(
    {
        "connection.connect_tcp.complete",
        "connection.connect_unix_socket.complete",
        # TLS wraps the socket anew (the plain one is detached).
        "connection.start_tls.complete",
    }
)


class Watchdog:
    """Ends one sync attempt at its deadline; `stop()` it before its connection is reused."""

    __slots__ = ("_lock", "_socket", "_stopped", "_timer", "deadline", "request")

    def __init__(self, request: httpx.Request) -> None:
        self.request = request
        self.deadline: float = request.extensions[DEADLINE]
        self._timer: threading.Timer | None = None
        self._lock: threading.Lock | None = None
        self._socket: socket.socket | None = None
        self._stopped = False
        request.extensions["trace"] = self._trace

    def _trace(self, event: str, info: dict[str, Any]) -> None:
        if event not in _CONNECTED or self._stopped:
            return
        sock = info["return_value"].get_extra_info("socket")
        if not isinstance(sock, socket.socket):  # a network backend without sockets
            return
        self._socket = sock
        if self._timer is None:
            self._lock = threading.Lock()
            timer = threading.Timer(self.deadline - time.monotonic(), self._shut)
            timer.daemon = True
            self._timer = timer
            timer.start()

    def _shut(self) -> None:
        assert self._lock is not None
        with self._lock:
            if self._stopped or self._socket is None:
                return
            self._stopped = True
            with contextlib.suppress(OSError):  # closed meanwhile
                self._socket.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        """The attempt has ended: its connection must not be shut after this."""
        if self._lock is None:
            self._stopped = True
            return
        with self._lock:
            self._stopped = True
        assert self._timer is not None
        self._timer.cancel()

    def outcome(self, exc: httpx.RequestError) -> Outcome:
        """What ended the attempt: past the deadline, a timeout (the watchdog's doing)."""
        if isinstance(exc, httpx.TimeoutException) or time.monotonic() < self.deadline:
            return exc
        timeout = httpx.ReadTimeout("the call's call_timeout ran out", request=self.request)
        timeout.__cause__ = exc
        return timeout
