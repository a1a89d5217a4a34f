"""The emulator's control API: drive a reference server on a port from outside its process.

Tests written in another language, or shell scripts, cannot call
`Emulator.simulate_inbound_sms()`; these endpoints do the same over HTTP. They
live under ``/_emulator``, outside the API's ``/api/v1``, take and return JSON,
and need no token (the emulator is a local test tool: serve it on loopback).

=====================================  ==========================================================
``POST /_emulator/inbound``            ``{"to": E164, "sender": E164, "content": text}``: the
                                       rented number `to` receives an SMS and applies its SMS
                                       action (a webhook is POSTed to before the answer).
                                       201 ``{"message": <stored message as the API lists it>,
                                       "webhook": null | {"url", "status", "error", "reply"}}``.
                                       404 when no account rents `to`, 409 when its group has no
                                       SMS support, 400 for a bad field.
``POST /_emulator/clock/advance``      ``{"seconds": n}`` (also "minutes", "hours"): move the
                                       emulator's clock forward and bill the rentals.
                                       200 ``{"now": ISO 8601 UTC}``.
``POST /_emulator/credit``             ``{"token": T, "satoshis": n}``: fund an account as a
                                       Bitcoin deposit would. 200 ``{"balance": n}``.
=====================================  ==========================================================

Errors are ``{"error": code, "message": text}``. The control API is off unless asked
for: ``python -m dtmf.testing`` and ``dtmf emulator`` serve it, and
``Emulator.serve(control=True)`` does in tests. `dtmf.Client` never calls it; the
`inbound()` function here is its client, for the `dtmf emulator inbound` command.

It can credit accounts and make the emulator POST to any URL, so it is guarded
even on loopback: a request must be ``Content-Type: application/json`` (415
otherwise), and a browser's cross-origin request (an ``Origin`` other than the
server's own, or ``Sec-Fetch-Site`` other than same-origin) gets 403, so no web
page can drive it. With a control token (``--control-token``), a request must
also carry ``Authorization: Bearer <token>`` (401 otherwise). Bad input is
always a 400, never a 500.
"""

from __future__ import annotations

import hmac
import json
import math
from typing import TYPE_CHECKING, Any

import httpx

from .._asgi import Receive, Scope, Send, read_body
from .._errors import InvalidParameterError
from ._asgi_app import ASGIApp
from ._server import API_PREFIX

if TYPE_CHECKING:
    from . import Emulator

__all__ = ["CONTROL_PREFIX", "ControlApp", "ControlError", "control_url", "inbound"]

CONTROL_PREFIX = "/_emulator"
_MAX_BODY = 64 * 1024


class ControlError(Exception):
    """A control request the emulator refused: HTTP status, error code and message."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


class ControlApp(ASGIApp):
    """The emulator's ASGI app with the control API mounted under ``/_emulator``."""

    def __init__(self, emulator: Emulator, token: str | None = None) -> None:
        super().__init__(emulator.server)
        self._emulator = emulator
        self._token = None if token is None else token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not (
            path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")
        ):
            await super().__call__(scope, receive, send)
            return
        body = await read_body(receive, _MAX_BODY)
        if body is None:
            return
        asked = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            self._guard(asked)
            status, result = await self._dispatch(scope["method"], path, asked, body)
        except ControlError as exc:
            status, result = exc.status, {"error": exc.error, "message": exc.message}
        payload = json.dumps(result).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(payload)),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def _guard(self, headers: dict[str, str]) -> None:
        """Refuse browsers on another origin, and callers without the control token."""
        origin = headers.get("origin")
        site = headers.get("sec-fetch-site")
        if (origin is not None and origin != f"http://{headers.get('host', '')}") or (
            site is not None and site not in ("same-origin", "none")
        ):
            raise ControlError(
                403, "cross_origin", "the control API refuses requests from web pages"
            )
        if self._token is not None:
            given = headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode("utf-8", "replace"), self._token):
                raise ControlError(
                    401,
                    "unauthorized",
                    "this control API needs 'Authorization: Bearer <control token>'",
                )

    async def _dispatch(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any]:
        routes = {
            "/inbound": self._inbound,
            "/clock/advance": self._advance,
            "/credit": self._credit,
        }
        handler = routes.get(path[len(CONTROL_PREFIX) :].rstrip("/"))
        if handler is None:
            raise ControlError(404, "not_found", f"no control endpoint {path}")
        if method != "POST":
            raise ControlError(405, "method_not_allowed", f"use POST for {path}")
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            raise ControlError(
                415, "unsupported_media_type", "send the body as Content-Type: application/json"
            )
        if len(body) > _MAX_BODY:
            raise ControlError(413, "too_large", f"the body is over {_MAX_BODY} bytes")
        try:
            fields: object = json.loads(body or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ControlError(400, "invalid_json", f"the body is not JSON: {exc}") from None
        except RecursionError:
            raise ControlError(400, "invalid_json", "the body is nested too deeply") from None
        if not isinstance(fields, dict):
            raise ControlError(400, "invalid_json", "the body must be a JSON object")
        return await handler(dict(fields))  # pyright: ignore[reportUnknownArgumentType]

    async def _inbound(self, fields: dict[str, Any]) -> tuple[int, Any]:
        to, sender, content = (_text(fields, name) for name in ("to", "sender", "content"))
        emulator = self._emulator
        try:
            message = await emulator.asimulate_inbound_sms(to, sender, content)
        except InvalidParameterError as exc:
            raise ControlError(400, "invalid_parameter", str(exc)) from None
        except LookupError as exc:
            raise ControlError(404, "not_rented", str(exc)) from None
        except ValueError as exc:
            raise ControlError(409, "no_sms_support", str(exc)) from None
        webhook = next(
            (
                {"url": d.url, "status": d.status, "error": d.error, "reply": d.reply}
                for d in reversed(emulator.webhook_deliveries)
                if d.message_id == message["id"]
            ),
            None,
        )
        return 201, {"message": message, "webhook": webhook}

    async def _advance(self, fields: dict[str, Any]) -> tuple[int, Any]:
        amounts = {unit: _number(fields, unit) for unit in ("hours", "minutes", "seconds")}
        if not any(amounts.values()):
            raise ControlError(400, "invalid_parameter", "give 'seconds', 'minutes' or 'hours'")
        try:
            now = self._emulator.clock.advance(**amounts)
        except ValueError as exc:
            raise ControlError(400, "invalid_parameter", str(exc)) from None
        return 200, {"now": now.isoformat()}

    async def _credit(self, fields: dict[str, Any]) -> tuple[int, Any]:
        token = _text(fields, "token")
        satoshis = fields.get("satoshis")
        if not isinstance(satoshis, int) or isinstance(satoshis, bool) or satoshis <= 0:
            raise ControlError(400, "invalid_parameter", "'satoshis' must be a positive integer")
        try:
            account = self._emulator.account(token)
        except KeyError:
            raise ControlError(404, "no_account", "no account has this token") from None
        return 200, {"balance": account.credit(satoshis)}


def _text(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str):
        raise ControlError(400, "invalid_parameter", f"'{name}' must be a string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # JSON can escape a lone surrogate; no SMS can carry one
        raise ControlError(400, "invalid_parameter", f"'{name}' is not valid text") from None
    return value


def _number(fields: dict[str, Any], name: str) -> float:
    value = fields.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ControlError(400, "invalid_parameter", f"'{name}' must be a number")
    return float(value)


def control_url(base_url: str, endpoint: str) -> str:
    """The URL of a control endpoint, from the API base URL ('http://host:port/api/v1')."""
    root = base_url.rstrip("/")
    if root.endswith(API_PREFIX):
        root = root[: -len(API_PREFIX)]
    return f"{root}{CONTROL_PREFIX}/{endpoint.lstrip('/')}"


def inbound(
    base_url: str,
    to: str,
    sender: str,
    content: str,
    *,
    timeout: float = 30.0,
    control_token: str | None = None,
) -> dict[str, Any]:
    """Make an emulator served at `base_url` receive an SMS; returns its answer.

    Raises `ControlError` when the emulator refuses, `httpx.HTTPError` when it
    cannot be reached (or serves no control API).
    """
    headers = {} if control_token is None else {"Authorization": f"Bearer {control_token}"}
    with httpx.Client(
        timeout=timeout, trust_env=False, follow_redirects=False, headers=headers
    ) as http:
        response = http.post(
            control_url(base_url, "inbound"), json={"to": to, "sender": sender, "content": content}
        )
    try:
        answer: Any = response.json()
    except ValueError:
        answer = None
    if not response.is_success:
        if isinstance(answer, dict) and "message" in answer:
            fields: dict[str, Any] = answer  # pyright: ignore[reportUnknownVariableType]
            raise ControlError(
                response.status_code, str(fields.get("error")), str(fields["message"])
            )
        raise ControlError(
            response.status_code,
            "no_control_api",
            f"{response.request.url} answered HTTP {response.status_code}: is this a reference "
            "server started with 'dtmf emulator' or 'python -m dtmf.testing'?",
        )
    if not isinstance(answer, dict):
        raise ControlError(response.status_code, "invalid_json", "the answer is not a JSON object")
    return answer  # pyright: ignore[reportUnknownVariableType]
