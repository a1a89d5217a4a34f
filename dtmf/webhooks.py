"""Receiving inbound SMS on your own server: the other end of the 'webhook' SMS action.

The service POSTs ``{"id": 1234, "e164": "+1234567890", "sender": "+1234",
"content": "SMS text"}`` to the number's webhook URL. A 2xx answer with a
non-empty body is sent back to the sender as an SMS (rendered to ASCII, cut to
160 characters); any other answer sends nothing.

Write a handler that takes an `InboundSMS` and returns the reply (or None) and
serve it with any ASGI or WSGI server::

    import os

    import dtmf
    from dtmf import webhooks

    def on_sms(sms: dtmf.InboundSMS) -> str | None:
        return f"Thanks, got {sms.content!r}"

    secret = os.environ["HOOK_SECRET"]
    app = webhooks.asgi_app(on_sms, secret=secret)  # then: uvicorn yourmodule:app
    # and, once: number.set_sms_action("webhook", f"https://example.org/hook/{secret}")

The request handling is written once, without I/O; the ASGI and WSGI adapters
only read the body, call the handler and the repeat-protection store (`dedupe`),
and send the answer.
"""

from __future__ import annotations

import hmac
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final, TypeAlias
from urllib.parse import parse_qs

import anyio.to_thread
from pydantic import ValidationError

from ._asgi import Receive as Receive
from ._asgi import Scope as Scope
from ._asgi import Send as Send
from ._asgi import lifespan
from ._dedupe import AsyncDedupeStore, DedupeStore, MemoryDedupe, RedisDedupe
from ._dedupe import async_store as _async_store
from ._dedupe import sync_store as _sync_store
from ._errors import InvalidParameterError, WebhookError
from ._models import InboundSMS
from ._validate import MAX_SMS_LENGTH, render_reply, render_sms

__all__ = [
    "AsyncDedupeStore",
    "DedupeStore",
    "MemoryDedupe",
    "RedisDedupe",
    "WebhookError",
    "asgi_app",
    "parse",
    "reply_text",
    "wsgi_app",
]

logger: logging.Logger = logging.getLogger("dtmf.webhooks")

Handler: TypeAlias = Callable[[InboundSMS], str | None]
"""A function that answers an inbound SMS: the reply text, or None for no reply."""
AnyHandler: TypeAlias = Callable[[InboundSMS], str | Awaitable[str | None] | None]
"""A `Handler`, or a coroutine function doing the same (ASGI only)."""

# The ASGI and WSGI callables, as loosely as their specifications define them.
ASGIApp: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[None]]
StartResponse: TypeAlias = Callable[..., Any]
WSGIApp: TypeAlias = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def parse(body: bytes | str | Mapping[str, object]) -> InboundSMS:
    """The inbound SMS in a webhook body (raw JSON, or JSON already decoded).

    Raises `WebhookError` saying what is wrong (not JSON, a missing or mistyped
    field) without echoing the body.
    """
    try:
        if isinstance(body, (bytes, str)):
            if not body.strip():
                raise WebhookError("webhook body is empty")
            return InboundSMS.model_validate_json(body)
        if isinstance(body, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
            return InboundSMS.model_validate(dict(body))
    except ValidationError as exc:
        raise WebhookError(_explain(exc)) from exc
    raise WebhookError(f"expected bytes, str or a mapping, got {type(body).__name__}")


def _explain(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    if any(error["type"] == "json_invalid" for error in errors):
        return f"webhook body is not JSON: {errors[0]['msg']}"
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
        for error in errors
    )
    return f"webhook body is not an inbound SMS: {problems}"


def reply_text(text: str) -> str:
    """The SMS the service will send for a webhook answer of `text`.

    Rendered to ASCII as the service does (`render_sms`) and cut to 160
    characters (`render_reply`); a WARNING on the "dtmf.webhooks" logger says when and how the text
    was altered, so a reply that silently lost its end gets noticed.
    """
    reply = render_reply(text)
    changes: list[str] = []
    transliterated = sum(1 for ch in text if not ch.isascii())
    dropped = sum(1 for ch in text if ch.isascii() and ch < " " and ch != "\n")
    if transliterated:
        changes.append(f"transliterated {transliterated} non-ASCII character(s)")
    if dropped:
        changes.append(f"dropped {dropped} control character(s)")
    # Only a reply of the full length may have been cut: render again to say by how much.
    if len(reply) == MAX_SMS_LENGTH and (length := len(render_sms(text))) > MAX_SMS_LENGTH:
        changes.append(f"cut from {length} to {MAX_SMS_LENGTH} characters")
    if changes:
        logger.warning(
            "webhook reply altered before sending: %s (dtmf.render_sms() previews it)",
            ", ".join(changes),
        )
    return reply


# The sans-I/O core.


@dataclass(frozen=True)
class _Answer:
    """An HTTP response to send: status, headers, body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True)
class _ReadBody:
    """Step: read the request body, at most `limit` + 1 bytes (`length` if known)."""

    limit: int
    length: int | None


@dataclass(frozen=True)
class _Sleep:
    """Step: sleep, then go on."""

    seconds: float


@dataclass(frozen=True)
class _Claim:
    """Step: the store's claim on `key` (True, False or the recorded reply)."""

    key: str


@dataclass(frozen=True)
class _Record:
    """Step: record `reply` for `key` in the store."""

    key: str
    reply: str


@dataclass(frozen=True)
class _Release:
    """Step: release the claim on `key`."""

    key: str


_StoreStep: TypeAlias = _Claim | _Record | _Release
# What `exchange` asks its driver for: the body, a sleep, a store call (its
# result, or the exception it raised) or the handler's outcome for an SMS (its
# return value, or the exception it raised).
_Step: TypeAlias = _ReadBody | _Sleep | _StoreStep | InboundSMS


def _text(status: int, text: str, *headers: tuple[str, str]) -> _Answer:
    body = text.encode()
    return _Answer(
        status,
        (
            ("content-type", "text/plain; charset=utf-8"),
            ("content-length", str(len(body))),
            *headers,
        ),
        body,
    )


def _reply_answer(reply: str) -> _Answer:
    return _text(200, reply) if reply else _NO_REPLY


_NO_REPLY: Final = _Answer(204, (), b"")
# Deliberately the same as any unknown path: a wrong secret does not reveal the hook.
_NOT_FOUND: Final = _text(404, "Not Found")
_NOT_ALLOWED: Final = _text(405, "Method Not Allowed", ("allow", "POST"))
_FAILED: Final = _text(500, "Internal Server Error")
# 503s send no reply; a service that retries later gets the recorded answer.
_STILL_HANDLED: Final = _text(503, "An earlier delivery of this message is still being handled")
_STORE_DOWN: Final = _text(503, "Repeat protection is unavailable; deliver again later")

# A second delivery of a message still being handled waits for the first answer,
# polling every _BUSY_POLL seconds, for at most _BUSY_LIMIT seconds.
_BUSY_POLL = 0.05
_BUSY_LIMIT = 30.0
# Recording a reply (or releasing a claim) is retried for up to _SETTLE_LIMIT
# seconds while the store is unreachable (a Redis restart takes about a second).
_SETTLE_LIMIT = 10.0


class _Endpoint:
    """The webhook's request handling, shared by the ASGI and WSGI adapters."""

    def __init__(self, secret: str | None, secret_param: str, max_body: int) -> None:
        if secret is not None and not secret:
            raise InvalidParameterError("secret", "is empty; use None for no secret")
        if max_body < 1:
            raise InvalidParameterError("max_body", f"must be at least 1 byte, got {max_body!r}")
        self._secret = None if secret is None else secret.encode()
        self._secret_param = secret_param
        self._max_body = max_body
        self._too_large = _text(413, f"Request body over {max_body} bytes")

    def _authorised(self, path: str, query: str) -> bool:
        if self._secret is None:
            return True
        candidates = [path.rstrip("/").rpartition("/")[2]]
        candidates += parse_qs(query, keep_blank_values=True).get(self._secret_param, [])
        found = False
        for candidate in candidates:  # no early exit: each comparison takes the same time
            found |= hmac.compare_digest(candidate.encode("utf-8", "replace"), self._secret)
        return found

    def exchange(
        self, method: str, path: str, query: str, content_length: str | None, *, chunked: bool
    ) -> Generator[_Step, object, _Answer]:
        """Handle one request; yields the I/O it needs and returns the answer.

        `chunked` says whether a body without Content-Length can be read to its end
        (always with ASGI; with WSGI only when the server sets wsgi.input_terminated).
        """
        if not self._authorised(path, query):
            return _NOT_FOUND
        if method != "POST":
            return _NOT_ALLOWED
        length: int | None = None
        if content_length is not None:
            digits = content_length.strip()
            if not (digits.isascii() and digits.isdigit()):  # '²' is a digit to isdigit()
                return _text(400, "Invalid Content-Length")
            length = int(digits)
            if length > self._max_body:
                return self._too_large
        elif not chunked:
            return _text(411, "Length Required")
        body = yield _ReadBody(self._max_body, length)
        assert isinstance(body, bytes)
        if len(body) > self._max_body:
            return self._too_large
        try:
            sms = parse(body)
        except WebhookError as exc:
            return _text(400, str(exc))
        return (yield from self._once(sms))

    def _once(self, sms: InboundSMS) -> Generator[_Step, object, _Answer]:
        """The answer to `sms`, calling the handler only if no other delivery did."""
        key = f"{sms.e164}:{sms.id}"
        waited = 0.0
        while (claim := (yield _Claim(key))) is False:
            if waited >= _BUSY_LIMIT:
                logger.warning(
                    "message %s: an earlier delivery was still being handled after %g s; "
                    "answered 503, no reply sent and the handler not called",
                    sms.id,
                    _BUSY_LIMIT,
                )
                return _STILL_HANDLED
            yield _Sleep(_BUSY_POLL)
            waited += _BUSY_POLL
        if isinstance(claim, str):
            logger.info("repeated delivery of message %s: answered as before", sms.id)
            return _reply_answer(claim)
        if claim is not True:
            if not isinstance(claim, BaseException):
                claim = TypeError(f"claim() returned a {type(claim).__name__}, not bool/str")
            logger.error(
                "message %s: repeat protection is unavailable (%s: %s); answered 503 so that "
                "the service may deliver it again, handler not called",
                sms.id,
                type(claim).__name__,
                claim,
            )
            return _STORE_DOWN
        reply = self._reply(sms, (yield sms))
        if reply is None:
            yield from self._settle(_Release(key), sms.id)
            return _FAILED
        yield from self._settle(_Record(key, reply), sms.id)
        return _reply_answer(reply)

    def _settle(self, step: _Record | _Release, message_id: int) -> Generator[_Step, object, None]:
        """Record or release, retried while the store fails, for up to _SETTLE_LIMIT seconds."""
        waited, pause = 0.0, 0.05
        while isinstance(error := (yield step), BaseException):
            if waited >= _SETTLE_LIMIT:
                if isinstance(step, _Record):
                    logger.error(
                        "message %s: its reply could not be recorded (%s: %s); sent anyway. "
                        "A repeat waits for its claim to expire, then runs the handler again",
                        message_id,
                        type(error).__name__,
                        error,
                    )
                else:
                    logger.error(
                        "message %s: its claim could not be released (%s: %s); a repeat "
                        "runs the handler once the claim expires",
                        message_id,
                        type(error).__name__,
                        error,
                    )
                return
            yield _Sleep(pause)
            waited += pause
            pause = min(pause * 2, 1.0)

    def _reply(self, sms: InboundSMS, outcome: object) -> str | None:
        """The reply ("" for none) for the handler's outcome; None when the handler failed."""
        if inspect.iscoroutine(outcome):
            outcome.close()  # never awaited: close it so Python does not warn
            outcome = TypeError("the handler returned a coroutine; use asgi_app for async code")
        elif not (outcome is None or isinstance(outcome, (str, BaseException))):
            outcome = TypeError(f"the handler returned a {type(outcome).__name__}, not str/None")
        if isinstance(outcome, Exception):
            logger.error("webhook handler failed for message %s", sms.id, exc_info=outcome)
            return None
        if isinstance(outcome, BaseException):
            logger.warning("handling of message %s was cancelled; its claim is released", sms.id)
            return None
        return reply_text(outcome) if outcome else ""


# The adapters: I/O only.


def asgi_app(
    handler: AnyHandler,
    *,
    secret: str | None = None,
    secret_param: str = "secret",
    max_body: int = 64 * 1024,
    dedupe: int | AsyncDedupeStore = 1024,
) -> ASGIApp:
    """An ASGI application that answers the service's webhook POSTs with `handler`.

    `handler` may be a coroutine function; a plain function runs in a worker
    thread so it cannot block the event loop. Answers 200 with the reply, 204 when
    the handler returns None or "", 400 for a malformed body, 405 for other
    methods, 413 over `max_body` bytes and 500 (logged, details not sent) when the
    handler raises.

    With `secret`, only requests whose URL ends with ``/<secret>`` or carries
    ``?<secret_param>=<secret>`` are handled; others get 404.

    `dedupe` protects against repeated deliveries: a number keeps the answers to
    the last `dedupe` messages in this process (`MemoryDedupe`; 0 turns it off),
    a store (an `AsyncDedupeStore` such as `RedisDedupe`) shares them between
    workers. A repeat gets the first answer again without calling the handler;
    a repeat of a message still being handled waits for its answer, up to 30 s,
    then gets 503 (no reply). When the store fails, the answer is 503 and the
    handler is not called. ASGI lifespan events are accepted; at shutdown the
    store's ``aclose()`` is awaited, if it has one.
    """
    endpoint = _Endpoint(secret, secret_param, max_body)
    store = _async_store(dedupe)
    # A coroutine function, or an object whose __call__ is one.
    is_async = inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        type(handler).__call__
    )

    async def call(sms: InboundSMS) -> object:
        try:
            if is_async:
                result = handler(sms)
            else:
                result = await anyio.to_thread.run_sync(handler, sms)
            if inspect.isawaitable(result):
                return await result
            return result
        except Exception as exc:
            return exc

    async def perform(step: _Step) -> object:
        if isinstance(step, _ReadBody):
            raise AssertionError("the body is read first")  # pragma: no cover
        if isinstance(step, _Sleep):
            await anyio.sleep(step.seconds)
            return None
        if isinstance(step, InboundSMS):
            return await call(step)
        try:
            if isinstance(step, _Claim):
                return await store.aclaim(step.key)
            if isinstance(step, _Record):
                await store.arecord(step.key, step.reply)
            else:
                await store.arelease(step.key)
            return None
        except Exception as exc:
            return exc

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send, on_shutdown=getattr(store, "aclose", None))
            return
        if scope["type"] != "http":
            return
        headers: Iterable[tuple[bytes, bytes]] = scope.get("headers", [])
        length = next((v.decode("latin-1") for k, v in headers if k == b"content-length"), None)
        query: bytes = scope.get("query_string", b"")
        steps = endpoint.exchange(
            scope["method"], scope["path"], query.decode("latin-1"), length, chunked=True
        )
        try:
            step = next(steps)
            if isinstance(step, _ReadBody):
                step = steps.send(await _read_asgi(receive, step.limit))
            while True:
                try:
                    outcome = await perform(step)
                except BaseException as exc:
                    if isinstance(step, InboundSMS):  # cancelled: still release the claim
                        await _abandon(steps, exc, perform)
                    raise
                step = steps.send(outcome)
        except StopIteration as done:
            answer: _Answer = done.value
        finally:
            steps.close()
        await send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [(k.encode(), v.encode()) for k, v in answer.headers],
            }
        )
        await send({"type": "http.response.body", "body": answer.body})

    return app


async def _abandon(
    steps: Generator[_Step, object, _Answer],
    exc: BaseException,
    perform: Callable[[_Step], Awaitable[object]],
) -> None:
    """Finish an exchange whose handler was cancelled: shielded, and within _SETTLE_LIMIT."""
    with anyio.CancelScope(shield=True, deadline=anyio.current_time() + _SETTLE_LIMIT):
        outcome: object = exc
        try:
            while True:
                outcome = await perform(steps.send(outcome))
        except StopIteration:
            pass


async def _read_asgi(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size <= limit:  # counted as it arrives: Content-Length may be absent
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away
        chunk: bytes = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def wsgi_app(
    handler: Handler,
    *,
    secret: str | None = None,
    secret_param: str = "secret",
    max_body: int = 64 * 1024,
    dedupe: int | DedupeStore = 1024,
) -> WSGIApp:
    """A WSGI application that answers the service's webhook POSTs with `handler`.

    The same answers and options as `asgi_app`; `handler` is a plain function
    (it may be called from several threads at once) and a `dedupe` store is a
    `DedupeStore` (`RedisDedupe` is both).
    """
    endpoint = _Endpoint(secret, secret_param, max_body)
    store = _sync_store(dedupe)

    def perform(step: _Step) -> object:
        try:
            if isinstance(step, _Sleep):
                time.sleep(step.seconds)
                return None
            if isinstance(step, InboundSMS):
                return handler(step)
            if isinstance(step, _Claim):
                return store.claim(step.key)
            if isinstance(step, _Record):
                store.record(step.key, step.reply)
            elif isinstance(step, _Release):
                store.release(step.key)
            else:
                raise AssertionError("the body is read first")  # pragma: no cover
            return None
        except Exception as exc:
            return exc

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        # PEP 3333 passes the path as latin-1 text of the raw bytes.
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        steps = endpoint.exchange(
            environ.get("REQUEST_METHOD", "GET"),
            path,
            environ.get("QUERY_STRING", ""),
            environ.get("CONTENT_LENGTH") or None,
            chunked=bool(environ.get("wsgi.input_terminated")),
        )
        try:
            step = next(steps)
            if isinstance(step, _ReadBody):
                step = steps.send(_read_wsgi(environ["wsgi.input"], step))
            while True:
                try:
                    outcome = perform(step)
                except BaseException as exc:  # interrupted: still release the claim
                    if isinstance(step, InboundSMS):
                        outcome = exc
                        try:
                            while True:
                                outcome = perform(steps.send(outcome))
                        except StopIteration:
                            pass
                    raise
                step = steps.send(outcome)
        except StopIteration as done:
            answer: _Answer = done.value
        finally:
            steps.close()
        status = f"{answer.status} {HTTPStatus(answer.status).phrase}"
        start_response(status, list(answer.headers))
        # An empty list, not [b""]: servers then add no Content-Length to a 204.
        return [answer.body] if answer.body else []

    return app


def _read_wsgi(stream: Any, step: _ReadBody) -> bytes:
    want = step.limit + 1 if step.length is None else min(step.length, step.limit + 1)
    chunks: list[bytes] = []
    size = 0
    while size < want:  # counted as read: a terminated input has no length
        chunk: bytes = stream.read(min(64 * 1024, want - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)
