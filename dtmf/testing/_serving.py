"""Serving an ASGI application (the emulator's, or a webhook receiver) under uvicorn.

uvicorn is imported only here, on first use: it is needed only to serve on a port.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import threading
import time
from collections.abc import Generator, MutableMapping
from typing import Any

from .._asgi import Receive, Scope, Send, redacted_path
from .._errors import ConfigurationError
from ._asgi_app import DroppedConnection
from ._server import API_PREFIX

__all__ = [
    "UvicornMissingError",
    "bound_base_url",
    "check_bind",
    "is_loopback",
    "remote_warning",
    "serve_in_thread",
    "uvicorn_server",
]

logger = logging.getLogger("dtmf.testing")

INSTALL_TESTING = "pip install 'dtmf-io[testing]'"


class UvicornMissingError(ConfigurationError, ModuleNotFoundError):
    """Serving on a port needs uvicorn, which is not installed.

    Both a `ConfigurationError` and a `ModuleNotFoundError`, so code that guards an
    optional dependency with ``except ImportError`` still sees it.
    """


def is_loopback(host: str) -> bool:
    """Whether `host` is only reachable from this machine ('localhost', 127.0.0.0/8, ::1)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def remote_warning(host: str) -> str:
    """What serving on a non-loopback `host` exposes."""
    return (
        f"serving on {host}, reachable from other machines: anyone who can reach the port "
        "can use the emulator's accounts and, with the control API, credit them and make "
        "it POST to any URL (use --control-token, or serve on 127.0.0.1)"
    )


def check_bind(host: str, allow_remote: bool) -> None:
    """Refuse a non-loopback `host` unless `allow_remote`; then log a warning."""
    if is_loopback(host):
        return
    if not allow_remote:
        raise ValueError(
            f"refusing to serve the emulator on {host!r}, which other machines can reach; "
            "pass allow_remote=True (--allow-remote) if that is really wanted"
        )
    logger.warning("%s", remote_warning(host))


class _RedactedAccessLog:
    """Writes uvicorn's access lines itself, with `redacted_path()`, for a webhook receiver."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._log = logging.getLogger("uvicorn.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def logged(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start" and self._log.isEnabledFor(logging.INFO):
                client = scope.get("client")
                query = scope.get("query_string", b"").decode("latin-1")
                self._log.info(
                    '%s - "%s %s HTTP/%s" %d',
                    f"{client[0]}:{client[1]}" if client else "-",
                    scope["method"],
                    redacted_path(scope["path"], query),
                    scope.get("http_version", "1.1"),
                    message["status"],
                )
            await send(message)

        await self._app(scope, receive, logged)


class _HideDrops(logging.Filter):
    """Keeps injected connection drops out of uvicorn's error log (they are not bugs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DroppedConnection)


_HIDE_DROPS = _HideDrops()


def _h11_without_access_log() -> type[Any]:
    """uvicorn's h11 protocol, never writing an access line itself.

    uvicorn writes one whenever "uvicorn.access" has a handler (added by anyone,
    at any time), whatever `access_log` said; `_RedactedAccessLog` writes instead.
    """
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class QuietH11(H11Protocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.access_log = False

    return QuietH11


def uvicorn_server(
    app: Any, host: str, port: int, log_level: str = "warning", *, redact_access_log: bool = False
) -> Any:
    """A `uvicorn.Server` for `app` (imported here: uvicorn is only needed on a port).

    With `redact_access_log`, uvicorn's own access log is off and `app` writes one
    whose paths carry no webhook secret (`redacted_path`).
    """
    try:
        import uvicorn
    except ModuleNotFoundError as exc:
        if exc.name != "uvicorn":
            raise
        raise UvicornMissingError(
            f"serving on a port needs uvicorn, which is not installed: {INSTALL_TESTING} "
            "(in-process clients, Emulator.client() and async_client(), need nothing more)",
            name="uvicorn",
        ) from None

    logging.getLogger("uvicorn.error").addFilter(_HIDE_DROPS)
    config = uvicorn.Config(
        _RedactedAccessLog(app) if redact_access_log else app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="off",
        http=_h11_without_access_log() if redact_access_log else "h11",
        ws="none",
    )
    return uvicorn.Server(config)


def bound_base_url(server: Any, host: str, prefix: str = API_PREFIX) -> str:
    """The base URL of a started uvicorn server (with the real port when 0 was asked)."""
    port: int = server.servers[0].sockets[0].getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{prefix}"


@contextlib.contextmanager
def serve_in_thread(
    app: Any, host: str, port: int, prefix: str = API_PREFIX, *, redact_access_log: bool = False
) -> Generator[str, None, None]:
    """Run `app` (any ASGI app) under uvicorn in a background thread.

    Yields its URL (with `prefix`, the API's path by default) and stops it on exit.
    """
    server = uvicorn_server(app, host, port, redact_access_log=redact_access_log)
    thread = threading.Thread(target=server.run, name="dtmf-emulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(5)
            raise RuntimeError(f"the emulator could not serve on {host}:{port}")
        time.sleep(0.005)
    try:
        yield bound_base_url(server, host, prefix)
    finally:
        server.should_exit = True
        thread.join(10)
