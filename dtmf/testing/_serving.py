"""Serving an ASGI application (the emulator's, or a webhook receiver) under uvicorn.

uvicorn is imported only here, on first use: it is needed only to serve on a port.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Generator
from typing import Any

from ._asgi_app import DroppedConnection
from ._server import API_PREFIX

__all__ = ["bound_base_url", "serve_in_thread", "uvicorn_server"]


class _HideDrops(logging.Filter):
    """Keeps injected connection drops out of uvicorn's error log (they are not bugs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DroppedConnection)


_HIDE_DROPS = _HideDrops()


def uvicorn_server(app: Any, host: str, port: int, log_level: str = "warning") -> Any:
    """A `uvicorn.Server` for `app` (imported here: uvicorn is only needed on a port)."""
    import uvicorn

    logging.getLogger("uvicorn.error").addFilter(_HIDE_DROPS)
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, lifespan="off", http="h11", ws="none"
    )
    return uvicorn.Server(config)


def bound_base_url(server: Any, host: str, prefix: str = API_PREFIX) -> str:
    """The base URL of a started uvicorn server (with the real port when 0 was asked)."""
    port: int = server.servers[0].sockets[0].getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{prefix}"


@contextlib.contextmanager
def serve_in_thread(
    app: Any, host: str, port: int, prefix: str = API_PREFIX
) -> Generator[str, None, None]:
    """Run `app` (any ASGI app) under uvicorn in a background thread.

    Yields its URL (with `prefix`, the API's path by default) and stops it on exit.
    """
    server = uvicorn_server(app, host, port)
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
