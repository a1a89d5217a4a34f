"""Everything about a call except the I/O: requests, retries, errors, results.

`exchange()` is a generator that drives one call. It yields what to do next (an
`httpx.Request` to send, or a number of seconds to wait) and is sent back what
happened (the `httpx.Response`, or the transport exception). It returns the
successful response or raises a `DTMFError`. The sync and async clients are two
small loops that run it with blocking or awaitable I/O, so retries, deadlines,
error messages and logging exist once.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import os
import platform
import re
import time
from collections.abc import Generator
from dataclasses import dataclass, replace
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import httpx
import pydantic

from ._contract import Operation, Retry, WireFields
from ._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    ConfigurationError,
    status_error_class,
)
from ._retry import RetryPolicy, never_reached_server
from ._version import __version__

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_TIMEOUT",
    "ClientOptions",
    "Step",
    "Token",
    "exchange",
    "parse_result",
]

DEFAULT_BASE_URL = "https://dtmf.io/api/v1"
# A short connect timeout finds a dead host quickly; reads get longer.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DEFAULT_CALL_TIMEOUT = 90.0
DEFAULT_MAX_RETRIES = 2
DEADLINE = "dtmf.deadline"
"""The request extension that carries the call's deadline (`time.monotonic()` seconds):
the drivers (`_send.py`) end the attempt there, and `dtmf.FastTransport` ends every
network wait there."""

log = logging.getLogger("dtmf")

T = TypeVar("T")

DEFAULT_MAX_RESPONSE_SIZE = 32 * 1024 * 1024
"""The largest response body a call reads, in bytes after decompression (32 MiB; a
number with 1000 messages is about 200 KB)."""

Step = httpx.Request | float
"""What `exchange()` asks its driver to do: send this request, or wait this long."""


class BodyTooLarge(Exception):
    """A driver's report that a response body passed `max_response_size` (never raised)."""

    def __init__(self, response: httpx.Response, limit: int) -> None:
        super().__init__(response, limit)
        self.response = response
        self.limit = limit


Outcome = httpx.Response | Exception | None


class Token:
    """An API token that does not print itself by accident."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Token('****')"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a dtmf token cannot be pickled")


def _is_loopback(host: str) -> bool:
    # Only names that never leave the machine: 'foo.localhost' is looked up in DNS
    # by some resolvers, so it does not count.
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str, *, allow_http: bool) -> str:
    """The base URL without a trailing slash, refusing plain http to non-loopback hosts."""
    try:
        parts = urlsplit(base_url)
        httpx.URL(base_url)  # what httpx would refuse at the first call, refused now
    except (ValueError, httpx.InvalidURL):
        parts = None
    authority = re.match(r"[^:/?#]*://([^/?#]*)", base_url)
    if authority is not None and "@" in authority.group(1):
        # httpx would send it as Basic auth instead of the token, and show the password
        # in its log lines; the client's repr and errors would show it too.
        shown = re.sub(r"(?<=//)[^/?#]*@", "****@", base_url)
        raise ConfigurationError(
            f"base_url {shown!r} carries a user name or password: remove it (the API "
            "authenticates with the token alone, from token= or DTMF_TOKEN)"
        )
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"base_url {base_url!r} is not an absolute http(s) URL (e.g. {DEFAULT_BASE_URL!r})"
        )
    if parts.scheme == "http" and not allow_http and not _is_loopback(parts.hostname):
        raise ConfigurationError(
            f"base_url {base_url!r} is plain http to a host that is not this machine: the token "
            "would cross the network in clear text. Use https, or pass allow_http=True if you "
            "really mean it (e.g. a reference server in another container)."
        )
    # The scheme in lower case ('HTTP://' is http), so later checks can trust it.
    return (parts.scheme + base_url[len(parts.scheme) :]).rstrip("/")


def resolve_token(token: str | None) -> Token:
    value = token if token is not None else os.environ.get("DTMF_TOKEN")
    if value is None or value == "":
        raise ConfigurationError(
            "no API token: pass Client(token=...) or set the DTMF_TOKEN environment variable "
            "(create a token in your account on dtmf.io)"
        )
    if not isinstance(value, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ConfigurationError(f"the API token must be a str, got {type(value).__name__}")
    # An HTTP header value is ASCII; a non-ASCII token would fail at every call with a
    # UnicodeEncodeError that carries the token in its args.
    if not value.isascii() or any(ch.isspace() for ch in value) or not value.isprintable():
        raise ConfigurationError(
            "the API token must be a single printable ASCII word (check for spaces)"
        )
    return Token(value)


def user_agent() -> str:
    return (
        f"dtmf-io/{__version__} python/{platform.python_version()} "
        f"httpx/{httpx.__version__} pydantic/{pydantic.VERSION}"
    )


@dataclass(frozen=True)
class ClientOptions:
    """A client's settings; `with_options()` makes a changed copy."""

    token: Token
    base_url: str
    timeout: httpx.Timeout | None
    """None: the `http_client`'s own timeout (the SDK's, when given explicitly, wins)."""
    call_timeout: float
    retry: RetryPolicy
    headers: _Headers
    max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE

    @classmethod
    def create(
        cls,
        token: str | None,
        base_url: str | None,
        timeout: float | httpx.Timeout | None,
        call_timeout: float,
        max_retries: int,
        allow_http: bool,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
    ) -> ClientOptions:
        secret = resolve_token(token)
        url = check_base_url(
            base_url or os.environ.get("DTMF_BASE_URL") or DEFAULT_BASE_URL, allow_http=allow_http
        )
        return cls(
            token=secret,
            base_url=url,
            timeout=None if timeout is None else as_timeout(timeout),
            call_timeout=check_positive("call_timeout", call_timeout),
            retry=RetryPolicy(max_retries=check_retries(max_retries)),
            headers=_headers(secret),
            max_response_size=check_size(max_response_size),
        )

    def changed(
        self,
        timeout: float | httpx.Timeout | None,
        call_timeout: float | None,
        max_retries: int | None,
        max_response_size: int | None = None,
    ) -> ClientOptions:
        options = self
        if timeout is not None:
            options = replace(options, timeout=as_timeout(timeout))
        if call_timeout is not None:
            options = replace(options, call_timeout=check_positive("call_timeout", call_timeout))
        if max_retries is not None:
            options = replace(
                options, retry=replace(options.retry, max_retries=check_retries(max_retries))
            )
        if max_response_size is not None:
            options = replace(options, max_response_size=check_size(max_response_size))
        return options

    def __repr__(self) -> str:
        return f"ClientOptions(base_url={self.base_url!r}, token=****)"


@dataclass(frozen=True)
class _Headers:
    """A client's request headers, parsed once: without and with a JSON body."""

    plain: httpx.Headers
    json: httpx.Headers


def _headers(token: Token) -> _Headers:
    plain = {
        "Authorization": f"Bearer {token.reveal()}",
        "Accept": "application/json",
        "User-Agent": user_agent(),
    }
    return _Headers(
        httpx.Headers(plain), httpx.Headers({**plain, "Content-Type": "application/json"})
    )


def as_timeout(timeout: float | httpx.Timeout) -> httpx.Timeout:
    if isinstance(timeout, httpx.Timeout):
        return timeout
    return httpx.Timeout(check_positive("timeout", timeout), connect=min(5.0, timeout))


def check_positive(name: str, value: float) -> float:
    # Checked at run time too: callers without a type checker pass anything.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ConfigurationError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


def check_size(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ConfigurationError(
            f"max_response_size must be a whole number of bytes >= 1, got {value!r}"
        )
    return value


def check_retries(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ConfigurationError(f"max_retries must be a whole number >= 0, got {value!r}")
    return value


# What httpx 0.28 writes for `json=`: compact, UTF-8, no NaN.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def build_request(
    options: ClientOptions,
    operation: Operation[Any, Any, Any],
    wire: WireFields,
    http: httpx.Client | httpx.AsyncClient | None = None,
    extensions: dict[str, Any] | None = None,
) -> httpx.Request:
    """The call's request; built by `http` (its headers, cookies, params merged under the
    SDK's), or on its own without."""
    params, body = operation.split(wire)
    content: bytes | None = None
    headers = options.headers.plain
    if body is not None:
        # Serialised here, not by httpx: httpx 0.27 and 0.28 write JSON with different
        # separators, and the bytes on the wire should not depend on the httpx version.
        content = _JSON.encode(body).encode()
        headers = options.headers.json
    query = tuple(params.items()) if params else ()
    url = _url(options.base_url + operation.path, query)
    if http is None:
        return httpx.Request(operation.method, url, content=content, headers=headers)
    return http.build_request(
        operation.method, url, content=content, headers=headers, extensions=extensions
    )


@functools.lru_cache(maxsize=256)
def _url(url: str, query: tuple[tuple[str, str], ...]) -> httpx.URL:
    """A request's URL, parsed: parsing and encoding it cost a sixth of a small call.

    Bounded: calls about many numbers each parse their own (httpx's URLs are immutable,
    so requests can share one)."""
    return httpx.URL(url, params=query) if query else httpx.URL(url)


def exchange(
    options: ClientOptions,
    operation: Operation[Any, Any, Any],
    wire: WireFields,
    http: httpx.Client | httpx.AsyncClient,
) -> Generator[Step, Outcome, httpx.Response]:
    """Drive one call: attempts, waits and retries until a success or an error.

    Each request is built by `http` (`build_request`), so its defaults apply under
    the SDK's own headers; the SDK's timeout, when set, wins over `http`'s."""
    started = time.monotonic()
    deadline = started + options.call_timeout
    policy = options.retry
    call = operation.describe_call(wire)
    retries = 0
    ambiguous_failure = False  # an earlier attempt may have reached the service
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise APITimeoutError(
                f"{call}: gave up after {options.call_timeout:g} s in all ({retries} retries)."
                + (f" {operation.advice_if_unsure(wire)}" if ambiguous_failure else ""),
                operation=operation.name,
                may_have_succeeded=ambiguous_failure and operation.retry is Retry.NEVER_TWICE,
            )
        timeout = http.timeout if options.timeout is None else options.timeout
        extensions = {"timeout": _bounded(timeout, remaining), DEADLINE: deadline}
        request = build_request(options, operation, wire, http, extensions)
        sent_at = time.monotonic()
        outcome = yield request
        elapsed_ms = (time.monotonic() - sent_at) * 1000

        if isinstance(outcome, BodyTooLarge):
            raise _too_large(operation, wire, call, outcome)
        if isinstance(outcome, Exception):
            reached = not never_reached_server(outcome)
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "%s %s failed after %.1f ms (%s, retry %d)",
                    request.method,
                    operation.path,
                    elapsed_ms,
                    type(outcome).__name__,
                    retries,
                )
            if retries < policy.max_retries and policy.may_retry_error(operation.retry, outcome):
                wait = policy.delay(retries)
                if time.monotonic() + wait < deadline:
                    log.info("%s: retrying in %.2f s after %s", call, wait, type(outcome).__name__)
                    ambiguous_failure = ambiguous_failure or reached
                    retries += 1
                    yield wait
                    continue
            raise _transport_error(operation, wire, call, outcome, request, reached, retries)

        assert isinstance(outcome, httpx.Response)
        response = outcome
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s -> %d in %.1f ms (retry %d)",
                request.method,
                operation.path,
                response.status_code,
                elapsed_ms,
                retries,
            )
        status = response.status_code
        if 200 <= status < 300:
            return response
        if status == 404 and ambiguous_failure and operation.gone_means_done:
            # The earlier attempt ended the rental; this retry found it gone.
            return httpx.Response(operation.success_status, request=request)
        if retries < policy.max_retries and policy.may_retry_status(operation.retry, status):
            wait = policy.delay(retries, response)
            if time.monotonic() + wait < deadline:
                log.info("%s: retrying in %.2f s after HTTP %d", call, wait, status)
                ambiguous_failure = ambiguous_failure or status != 429
                retries += 1
                yield wait
                continue
        raise status_error(operation, wire, call, response, retries)


def _bounded(timeout: httpx.Timeout, remaining: float) -> dict[str, float | None]:
    """The per-request timeouts, none longer than what is left of the call's budget."""
    return {
        key: remaining if value is None else min(value, remaining)
        for key, value in timeout.as_dict().items()
    }


def _too_large(
    operation: Operation[Any, Any, Any], wire: WireFields, call: str, report: BodyTooLarge
) -> APIResponseValidationError:
    response = report.response
    status = response.status_code
    text = (
        f"{call}: HTTP {status}, but the body is larger than max_response_size="
        f"{report.limit} bytes, so it was not read. If such answers are expected, pass a "
        "larger max_response_size= to the client (or to with_options())"
    )
    # The service answered: a paid action it accepted took place, unless the status
    # says it refused (a 4xx other than 408).
    refused = 400 <= status < 500 and status != 408
    may_have_succeeded = operation.retry is Retry.NEVER_TWICE and not refused
    text += ". " + operation.advice_if_unsure(wire) if may_have_succeeded else "."
    return APIResponseValidationError(
        text,
        operation=operation.name,
        response=response,
        may_have_succeeded=may_have_succeeded,
    )


def _transport_error(
    operation: Operation[Any, Any, Any],
    wire: WireFields,
    call: str,
    exc: Exception,
    request: httpx.Request,
    reached: bool,
    retries: int,
) -> APIConnectionError:
    may_have_succeeded = reached and operation.retry is Retry.NEVER_TWICE
    what = _transport_problem(exc)
    tried = f" after {retries + 1} attempts" if retries else ""
    if may_have_succeeded:
        advice = operation.advice_if_unsure(wire) + " (not retried automatically)"
    elif not reached:
        advice = f"The request never reached {request.url.host}: check the network and base_url."
    else:
        advice = "It is safe to try again."
    error_class = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
    error = error_class(
        f"{call}: {what}{tried}. {advice}",
        operation=operation.name,
        request=request,
        may_have_succeeded=may_have_succeeded,
    )
    error.__cause__ = exc
    return error


def _transport_problem(exc: Exception) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "timed out connecting"
    if isinstance(exc, httpx.PoolTimeout):
        return "timed out waiting for a free connection in the pool"
    if isinstance(exc, httpx.TimeoutException):
        return "timed out waiting for the response"
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect ({exc})" if str(exc) else "could not connect"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the connection was closed before a complete response"
    return f"the connection failed ({type(exc).__name__}: {exc})"


def server_message(response: httpx.Response) -> str | None:
    """The service's own explanation of an error, when its body carries one."""
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    if isinstance(body, dict):
        for key in ("message", "error", "detail"):
            value: object = cast("dict[str, object]", body).get(key)
            if isinstance(value, str) and value:
                return value[:500]
    return None


def status_error(
    operation: Operation[Any, Any, Any],
    wire: WireFields,
    call: str,
    response: httpx.Response,
    retries: int,
) -> APIStatusError:
    status = response.status_code
    said = server_message(response)
    text = f"{call}: HTTP {status} {response.reason_phrase}".rstrip()
    if said:
        text += f": {said}"
    elif response.content:
        snippet = response.content[:120].decode("utf-8", "replace").strip()
        text += f" (body: {snippet!r})"
    if 300 <= status < 400:
        location = response.headers.get("location", "(no location)")
        text += (
            f". Redirected to {location}: redirects are not followed, so the token stays "
            f"on {response.url.host}; check base_url"
        )
    may_have_succeeded = operation.retry is Retry.NEVER_TWICE and (status >= 500 or status == 408)
    if retries:
        text += f" (after {retries + 1} attempts)"
    if may_have_succeeded:
        text += ". " + operation.advice_if_unsure(wire) + " (not retried automatically)"
    elif status == 401:
        text += ". Check the API token (DTMF_TOKEN)."
    elif status == 402:
        text += ". Add funds to a deposit address (client.addresses.list())."
    elif status == 429:
        text += ". Slow down and try again later."
    request_id = response.headers.get("x-request-id")
    if request_id:
        text += f" [request id {request_id}]"
    return status_error_class(status)(
        text,
        operation=operation.name,
        response=response,
        server_message=said,
        may_have_succeeded=may_have_succeeded,
    )


def parse_result(
    operation: Operation[Any, Any, Any],
    wire: WireFields,
    response: httpx.Response,
    parse: Any,
) -> Any:
    """The response body as the operation's result; a bad body is an APIResponseValidationError."""
    try:
        return parse(response.content)
    except pydantic.ValidationError as exc:
        call = operation.describe_call(wire)
        first = exc.errors(include_url=False)[0]
        if first["type"] == "json_invalid":
            snippet = response.content[:120].decode("utf-8", "replace")
            content_type = response.headers.get("content-type", "no content type")
            problem = f"the body ({content_type}) is not valid JSON: {snippet!r}"
        else:
            where = ".".join(str(part) for part in first["loc"]) or "body"
            problem = (
                f"the body does not have the expected shape ({exc.error_count()} problems; "
                f"first: {where}: {first['msg']})"
            )
        text = f"{call}: HTTP {response.status_code}, but {problem}"
        may_have_succeeded = operation.retry is Retry.NEVER_TWICE
        if may_have_succeeded:
            # The service answered with a success: whatever it made, it made.
            text += ". " + operation.advice_if_unsure(wire)
        error = APIResponseValidationError(
            text,
            operation=operation.name,
            response=response,
            may_have_succeeded=may_have_succeeded,
        )
        raise error from exc
