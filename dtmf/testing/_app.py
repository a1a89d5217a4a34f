"""The emulator's HTTP face: one sans-I/O request handler and three ways to reach it.

`Server.handle()` turns (method, path, query, headers, body) into (status,
headers, body). It routes by the wire contract's table (`dtmf._contract.OPERATIONS`),
checks the token, validates the fields with the same checks the SDK uses
(`Operation.fields_from_wire`), and calls the service (`_state.State`).

`SyncTransport` and `AsyncTransport` serve it to an httpx client in-process, and
`ASGIApp` serves it on a port through uvicorn. Each applies the transport side of
fault injection (delays and dropped connections) its own way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import (
    Awaitable,
    Callable,
    Generator,
    Iterable,
    Mapping,
    MutableMapping,
)
from dataclasses import dataclass
from typing import Any, NamedTuple, cast
from urllib.parse import parse_qsl

import anyio
import httpx

from .._contract import OPERATIONS, Operation, WireFields
from .._errors import InvalidParameterError
from ._faults import Fault, Faults
from ._state import ServiceError, State

__all__ = [
    "API_PREFIX",
    "ASGIApp",
    "AsyncTransport",
    "Reply",
    "RequestRecord",
    "Server",
    "SyncTransport",
]

API_PREFIX = "/api/v1"
Headers = list[tuple[str, str]]
Handler = Callable[[str, WireFields], Any]


class Reply(NamedTuple):
    """An HTTP answer: status, headers and body."""

    status: int
    headers: Headers
    body: bytes


@dataclass(frozen=True)
class RequestRecord:
    """A request the emulator saw (whether or not it answered), for counting attempts."""

    operation: str | None
    method: str
    path: str
    fault: str | None = None


def _json_reply(status: int, payload: object, extra: Iterable[tuple[str, str]] = ()) -> Reply:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Reply(status, [("content-type", "application/json"), *extra], body)


def _error(status: int, error: str, message: str, extra: Iterable[tuple[str, str]] = ()) -> Reply:
    return _json_reply(status, {"error": error, "message": message}, extra)


_PROXY_PAGE = (
    b"<html><head><title>502 Bad Gateway</title></head><body>"
    b"<center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n"
)


def _spoil_types(value: Any) -> Any:
    """`value` with its first field changed to a value of the wrong type."""
    if isinstance(value, list):
        items: list[Any] = list(value)  # pyright: ignore[reportUnknownArgumentType]
        return [_spoil_types(items[0]), *items[1:]] if items else {"unexpected": "object"}
    if isinstance(value, dict):
        fields: dict[str, Any] = dict(value)  # pyright: ignore[reportUnknownArgumentType]
        for key, item in fields.items():
            if isinstance(item, bool):
                fields[key] = "yes"
            elif isinstance(item, (int, str)):
                fields[key] = [item] if isinstance(item, int) else {"text": item}
            else:
                continue
            return fields
        return fields
    return value


def _add_extra_fields(value: Any) -> Any:
    if isinstance(value, list):
        items: list[Any] = value  # pyright: ignore[reportUnknownVariableType]
        return [_add_extra_fields(item) for item in items]
    if isinstance(value, dict):
        fields = cast("dict[str, Any]", value)
        return {**fields, "x_emulator_note": "an unknown field", "x_emulator_level": 3}
    return value


def _spoil_body(fault: Fault, reply: Reply) -> Reply:
    if fault.body == "truncated":
        return Reply(reply.status, reply.headers, reply.body[: len(reply.body) // 2])
    if not reply.body or fault.body not in ("wrong_types", "extra_fields"):
        return reply
    value = json.loads(reply.body)
    spoiled = _spoil_types(value) if fault.body == "wrong_types" else _add_extra_fields(value)
    return _json_reply(reply.status, spoiled)


class Server:
    """Routes, authenticates, validates and answers requests against a `State`."""

    def __init__(self, state: State, faults: Faults, requests: list[RequestRecord]) -> None:
        self.state = state
        self.faults = faults
        self.requests = requests
        self._routes: dict[tuple[str, str], Operation[Any, Any, Any]] = {
            (op.method, API_PREFIX + op.path): op for op in OPERATIONS
        }
        self._handlers = self._make_handlers()
        missing = {op.name for op in OPERATIONS} - set(self._handlers)
        if missing:
            raise RuntimeError(f"the emulator has no handler for {sorted(missing)}")

    def _make_handlers(self) -> dict[str, Handler]:
        s = self.state
        return {
            "account.get": lambda token, f: s.account_wire(token),
            "addresses.list": lambda token, f: s.addresses(token),
            "addresses.create": lambda token, f: s.create_address(token),
            "groups.list": lambda token, f: s.groups(f["type"]),
            "numbers.list": lambda token, f: s.numbers(token),
            "numbers.get": lambda token, f: s.number(token, f["e164"]),
            "numbers.rent": lambda token, f: s.rent(token, f["group_id"]),
            "numbers.end_rental": lambda token, f: s.end_rental(token, f["e164"]),
            "numbers.set_sms_action": lambda token, f: s.set_sms_action(
                token, f["e164"], f["action"], f["destination"]
            ),
            "messages.send": lambda token, f: s.send_sms(token, f["from"], f["to"], f["content"]),
        }

    def route(self, method: str, path: str) -> Operation[Any, Any, Any] | None:
        """The operation a request is for, or None."""
        return self._routes.get((method.upper(), path.rstrip("/") or "/"))

    def admit(self, method: str, path: str) -> Fault | None:
        """Record a request and take its scheduled fault (call once per request, first)."""
        op = self.route(method, path)
        fault = self.faults.take(op.name) if op is not None else None
        self.requests.append(
            RequestRecord(
                op.name if op else None, method, path, fault.describe() if fault else None
            )
        )
        return fault

    def handle(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
        fault: Fault | None = None,
    ) -> Reply:
        """Answer one request (`headers` keys lower-case). Never raises."""
        try:
            if fault is not None and fault.answers_early:
                return self._early_answer(fault)
            reply = self._answer(method, path, query, headers, body)
            return _spoil_body(fault, reply) if fault is not None and fault.body else reply
        except Exception as exc:  # a bug here must still be a JSON answer, never a traceback
            return _error(
                500, "internal_error", f"the emulator failed: {type(exc).__name__}: {exc}"
            )

    def _early_answer(self, fault: Fault) -> Reply:
        if fault.status is not None:
            extra: Headers = []
            if fault.retry_after is not None:
                extra.append(("retry-after", f"{fault.retry_after:g}"))
            return _error(fault.status, "injected", f"injected fault: HTTP {fault.status}", extra)
        return Reply(502, [("content-type", "text/html")], _PROXY_PAGE)

    def _answer(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Reply:
        op = self.route(method, path)
        if op is None:
            allowed = sorted(m for (m, p) in self._routes if p == path.rstrip("/"))
            if allowed:
                return _error(
                    405, "method_not_allowed", f"{method} is not allowed on {path}",
                    [("allow", ", ".join(allowed))],
                )  # fmt: skip
            return _error(404, "not_found", f"no endpoint {method} {path}")
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _error(
                401, "unauthorized", "send the API token as 'Authorization: Bearer <token>'"
            )
        token = token.strip()
        if not self.state.has_account(token):
            return _error(401, "unauthorized", "the API token is not valid")
        values: dict[str, Any] = {name: query[name] for name in op.query if name in query}
        if op.body:
            parsed = self._parse_body(body)
            if isinstance(parsed, Reply):
                return parsed
            values.update({name: parsed[name] for name in op.body if name in parsed})
        try:
            fields = op.fields_from_wire(values)
        except InvalidParameterError as exc:
            return _json_reply(
                400,
                {
                    "error": "invalid_parameter",
                    "parameter": exc.parameter,
                    "message": f"{exc.parameter}: {exc.problem}",
                },
            )
        try:
            result = self._handlers[op.name](token, fields)
        except ServiceError as exc:
            return _error(exc.status, exc.error, exc.message)
        if result is None:
            return Reply(op.success_status, [], b"")
        return _json_reply(op.success_status, result)

    @staticmethod
    def _parse_body(body: bytes) -> dict[str, Any] | Reply:
        if not body.strip():
            return {}
        try:
            parsed: object = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return _error(422, "invalid_json", f"the body is not JSON: {exc}")
        if not isinstance(parsed, dict):
            return _error(
                422, "invalid_json", f"the body must be a JSON object, not {type(parsed).__name__}"
            )
        return dict(parsed)  # pyright: ignore[reportUnknownArgumentType]


def _query(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    query: dict[str, str] = {}
    for key, value in pairs:
        query.setdefault(key, value)  # the first of repeated parameters wins
    return query


def _wait(request: httpx.Request, delay: float) -> tuple[float, bool]:
    """How long an in-process delay lasts, and whether the client's read timeout ends it."""
    timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
    read = timeouts.get("read")
    if read is not None and read < delay:
        return read, True
    return delay, False


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
        reply = self._server.handle(
            request.method,
            request.url.path,
            _query(request.url.params.multi_items()),
            _lower_headers(request),
            body,
            fault,
        )
        if fault is not None and fault.drop == "after":
            raise httpx.RemoteProtocolError(
                "injected fault: server disconnected without sending a response", request=request
            )
        return httpx.Response(reply.status, headers=reply.headers, content=reply.body)


class SyncTransport(_InProcess, httpx.BaseTransport):
    """Serves `httpx.Client` requests from a `Server`, in-process, without sockets."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        fault, seconds, timed_out = self.admit(request)
        if seconds:
            time.sleep(seconds)
        return self.answer(request, fault, timed_out, request.read())


class AsyncTransport(_InProcess, httpx.AsyncBaseTransport):
    """Serves `httpx.AsyncClient` requests from a `Server`, in-process (asyncio or trio)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        fault, seconds, timed_out = self.admit(request)
        if seconds:
            await anyio.sleep(seconds)
        return self.answer(request, fault, timed_out, await request.aread())


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


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
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        server = self._server
        method: str = scope["method"]
        path: str = scope["path"]
        fault = server.admit(method, path)
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.drop == "before":
            await self._drop(send)
        query = _query(parse_qsl(scope.get("query_string", b"").decode("latin-1"), True))
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        reply = server.handle(method, path, query, headers, bytes(body), fault)
        if fault is not None and fault.drop == "after":
            await self._drop(send)
        raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers]
        raw_headers.append((b"content-length", str(len(reply.body)).encode()))
        await send({"type": "http.response.start", "status": reply.status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": reply.body})

    @staticmethod
    async def _drop(send: Send) -> None:
        try:
            await send(dict(_UNWRITABLE_START))
        except Exception as exc:
            raise DroppedConnection("injected fault: connection dropped") from exc
        raise DroppedConnection("injected fault: connection dropped")

    @staticmethod
    async def _lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


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
