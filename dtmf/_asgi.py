"""What the SDK's ASGI applications share: the ASGI types and the lifespan protocol.

Used by `dtmf.webhooks.asgi_app`, by the reference server in `dtmf.testing` and by
`dtmf listen` (`redacted_path`, for lines that must not show a webhook secret).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, TypeAlias
from urllib.parse import parse_qsl, quote, urlencode

__all__ = ["Receive", "Scope", "Send", "lifespan", "read_body", "redacted_path"]

# The ASGI callables' arguments, as loosely as the specification defines them.
Scope: TypeAlias = MutableMapping[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send: TypeAlias = Callable[[MutableMapping[str, Any]], Awaitable[None]]


async def lifespan(
    receive: Receive, send: Send, on_shutdown: Callable[[], Awaitable[object]] | None = None
) -> None:
    """Answer a "lifespan" scope's events until shutdown, awaiting `on_shutdown` then.

    There is nothing to set up; answering keeps servers from warning about a
    missing lifespan.
    """
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if on_shutdown is not None:
                await on_shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def read_body(receive: Receive, limit: int | None = None) -> bytes | None:
    """An HTTP request's body, or None when the client disconnected first.

    With `limit`, reading stops once more than `limit` bytes have arrived.
    """
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        if (limit is not None and len(body) > limit) or not message.get("more_body", False):
            return bytes(body)


def redacted_path(path: str, query: str = "") -> str:
    """A request path as an access log may show it: no webhook secret.

    A webhook secret is the path's last segment or a query value, so both are
    replaced by '***': '/hook/s3cret?secret=s3cret' becomes '/hook/***?secret=***'.
    """
    trimmed = path.rstrip("/")
    head, _, last = trimmed.rpartition("/")
    shown = f"{head}/***{path[len(trimmed) :]}" if last else path
    if query:
        shown += "?" + urlencode(
            [(name, "***") for name, _ in parse_qsl(query, keep_blank_values=True)],
            quote_via=quote,
            safe="*",
        )
    return shown
