"""The emulator's sans-I/O request handling: routing, authentication, validation, answers.

`Server.handle()` turns (method, path, query, headers, body) into (status,
headers, body). It routes by the wire contract's table (`dtmf._contract.OPERATIONS`),
checks the token, validates the fields with the same checks the SDK uses
(`Operation.fields_from_wire`), and calls the service (`_state.State`). It also
applies the body-level faults (`_faults.Fault`); the ways of reaching it
(`_transports`, `_asgi_app`) apply the transport-level ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

# typing_extensions' TypedDict: pydantic reads it on Python < 3.12 (the OpenAPI schema).
from typing_extensions import NotRequired, TypedDict

from .._contract import OPERATIONS, Operation, WireFields
from .._errors import InvalidParameterError
from ._faults import Fault, Faults
from ._state import ServiceError, State

__all__ = ["API_PREFIX", "ErrorBody", "Reply", "RequestRecord", "Server", "first_values"]

API_PREFIX = "/api/v1"
Headers = list[tuple[str, str]]
Handler = Callable[[str, WireFields], Any]


class ErrorBody(TypedDict):
    """The body of every error answer: a code, a message for people, and the field at fault."""

    error: str
    """A short code: 'invalid_parameter', 'not_found', 'insufficient_funds', ..."""
    message: str
    """What went wrong, for people."""
    parameter: NotRequired[str]
    """The wire field at fault, for 'invalid_parameter'."""


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
    body: ErrorBody = {"error": error, "message": message}
    return _json_reply(status, body, extra)


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
            op = self.route(method, path)
            if op is None:
                return self._unrouted(method, path)
            reply = self._answer(op, query, headers, body)
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

    def _unrouted(self, method: str, path: str) -> Reply:
        allowed = sorted(m for (m, p) in self._routes if p == path.rstrip("/"))
        if allowed:
            return _error(
                405, "method_not_allowed", f"{method} is not allowed on {path}",
                [("allow", ", ".join(allowed))],
            )  # fmt: skip
        return _error(404, "not_found", f"no endpoint {method} {path}")

    def _answer(
        self,
        op: Operation[Any, Any, Any],
        query: Mapping[str, str],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Reply:
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
            refusal: ErrorBody = {
                "error": "invalid_parameter",
                "message": f"{exc.parameter}: {exc.problem}",
                "parameter": exc.parameter,
            }
            return _json_reply(400, refusal)
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


def first_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """A query string's parameters as `Server.handle` takes them: the first of repeats wins."""
    query: dict[str, str] = {}
    for key, value in pairs:
        query.setdefault(key, value)
    return query
