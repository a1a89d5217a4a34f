"""The retry policy, for every operation of the contract and every kind of fault.

Each scenario runs through both clients. Nothing really sleeps: waits are recorded
by the `sleeps` fixture (see conftest.py).
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from time import sleep as real_sleep  # bound before the `sleeps` fixture patches time.sleep
from typing import Any

import httpx
import pytest

import dtmf
from dtmf._contract import OPERATIONS, Retry
from dtmf._errors import status_error_class
from dtmf._retry import RetryPolicy

from .conftest import ARGS, OPS, MockClient, success

MAX_RETRIES = 2  # the default


@dataclass(frozen=True)
class Fault:
    """A failure the transport or the service produces, on every attempt or only the first."""

    name: str
    make: Callable[[httpx.Request], httpx.Response]
    reached: bool
    """Whether the request may have reached the service."""
    error: type[dtmf.APIError]
    retried_for_reads: bool = True
    retried_for_never_twice: bool = False

    def __str__(self) -> str:
        return self.name


def _raise(exc_type: type[httpx.RequestError], text: str) -> Callable[[httpx.Request], Any]:
    def fail(request: httpx.Request) -> httpx.Response:
        raise exc_type(text, request=request)

    return fail


def _status(status: int, **headers: str) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, json={"message": "nope"}, headers=headers)


FAULTS = [
    Fault(
        "connect error",
        _raise(httpx.ConnectError, "refused"),
        False,
        dtmf.APIConnectionError,
        retried_for_never_twice=True,
    ),
    Fault(
        "connect timeout",
        _raise(httpx.ConnectTimeout, "slow"),
        False,
        dtmf.APITimeoutError,
        retried_for_never_twice=True,
    ),
    Fault(
        "pool timeout",
        _raise(httpx.PoolTimeout, "busy"),
        False,
        dtmf.APITimeoutError,
        retried_for_never_twice=True,
    ),
    Fault("read timeout", _raise(httpx.ReadTimeout, "slow"), True, dtmf.APITimeoutError),
    Fault("write timeout", _raise(httpx.WriteTimeout, "slow"), True, dtmf.APITimeoutError),
    Fault(
        "reset after send",
        _raise(httpx.RemoteProtocolError, "Server disconnected"),
        True,
        dtmf.APIConnectionError,
    ),
    Fault("read error", _raise(httpx.ReadError, "reset by peer"), True, dtmf.APIConnectionError),
    Fault("408", _status(408), True, dtmf.APIStatusError),
    Fault("429", _status(429), False, dtmf.RateLimitError, retried_for_never_twice=True),
    *(Fault(str(s), _status(s), True, dtmf.InternalServerError) for s in (500, 502, 503, 504)),
    *(
        Fault(str(s), _status(s), False, status_error_class(s), retried_for_reads=False)
        for s in (400, 401, 402, 403, 404, 409, 422)
    ),
]

OPERATION_NAMES = [op.name for op in OPERATIONS]


def retried(fault: Fault, name: str) -> bool:
    if OPS[name].retry is Retry.NEVER_TWICE:
        return fault.retried_for_never_twice
    return fault.retried_for_reads


def always(fault: Fault) -> Callable[[httpx.Request], httpx.Response]:
    return fault.make


def first_only(fault: Fault, name: str) -> Callable[[httpx.Request], httpx.Response]:
    seen: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return fault.make(request) if len(seen) == 1 else success(name)

    return respond


@pytest.mark.parametrize("fault", FAULTS, ids=str)
@pytest.mark.parametrize("name", OPERATION_NAMES)
def test_fault_on_every_attempt(
    mock_client: MockClient, kind: str, name: str, fault: Fault
) -> None:
    harness = mock_client(always(fault), kind)
    with pytest.raises(dtmf.APIError) as caught:
        harness.call_default(name)
    error = caught.value
    assert type(error) is fault.error
    assert error.operation == name
    assert name in str(error)
    expected_attempts = 1 + MAX_RETRIES if retried(fault, name) else 1
    assert harness.attempts == expected_attempts
    assert len(harness.sleeps) == expected_attempts - 1
    never_twice = OPS[name].retry is Retry.NEVER_TWICE
    assert error.may_have_succeeded is (never_twice and fault.reached)
    if error.may_have_succeeded:
        assert "may or may not" in str(error)
        assert "check" in str(error)
    if isinstance(error, dtmf.APIConnectionError):
        assert isinstance(error.__cause__, httpx.TransportError)


@pytest.mark.parametrize("fault", [f for f in FAULTS if f.retried_for_reads], ids=str)
@pytest.mark.parametrize("name", OPERATION_NAMES)
def test_fault_on_first_attempt_only(
    mock_client: MockClient, kind: str, name: str, fault: Fault
) -> None:
    harness = mock_client(first_only(fault, name), kind)
    if retried(fault, name):
        result = harness.call_default(name)
        assert harness.attempts == 2
        assert len(harness.sleeps) == 1
        if BODY_EXPECTED[name]:
            assert result is not None
        else:
            assert result is None
    else:
        with pytest.raises(fault.error) as caught:
            harness.call_default(name)
        assert harness.attempts == 1, "a NEVER_TWICE call was tried again"
        assert caught.value.may_have_succeeded is True


BODY_EXPECTED = {op.name: op.result.has_body for op in OPERATIONS}

NEVER_TWICE = [op.name for op in OPERATIONS if op.retry is Retry.NEVER_TWICE]
MAY_HAVE_REACHED = [f for f in FAULTS if f.reached]


@pytest.mark.parametrize("fault", MAY_HAVE_REACHED, ids=str)
@pytest.mark.parametrize("name", NEVER_TWICE)
def test_never_twice_after_connect_error_then_ambiguous(
    mock_client: MockClient, kind: str, name: str, fault: Fault
) -> None:
    """Retried once (the first attempt never left), then never again after the ambiguous one."""
    attempts: list[int] = []

    def respond(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        if len(attempts) == 1:
            raise httpx.ConnectError("refused", request=request)
        return fault.make(request)

    harness = mock_client(respond, kind, max_retries=5)
    with pytest.raises(fault.error) as caught:
        harness.call_default(name)
    assert harness.attempts == 2
    assert caught.value.may_have_succeeded is True


def test_never_twice_ops_are_the_paid_and_creating_ones() -> None:
    assert set(NEVER_TWICE) == {"messages.send", "numbers.rent", "addresses.create"}
    idempotent = {op.name for op in OPERATIONS if op.retry is Retry.IDEMPOTENT}
    assert idempotent == {"numbers.end_rental", "numbers.set_sms_action"}
    assert all(op.retry is Retry.READ for op in OPERATIONS if op.method == "GET")


@pytest.mark.parametrize("fault", MAY_HAVE_REACHED, ids=str)
def test_end_rental_gone_after_ambiguous_failure_is_done(
    mock_client: MockClient, kind: str, fault: Fault
) -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        if harness.attempts == 1:
            return fault.make(request)
        return httpx.Response(404, json={"message": "no such number"})

    harness = mock_client(respond, kind)
    assert harness.call_default("numbers.end_rental") is None
    assert harness.attempts == 2


@pytest.mark.parametrize("first", ["connect error", "429"], ids=str)
def test_end_rental_404_after_unambiguous_failure_is_not_found(
    mock_client: MockClient, kind: str, first: str
) -> None:
    fault = next(f for f in FAULTS if f.name == first)

    def respond(request: httpx.Request) -> httpx.Response:
        if harness.attempts == 1:
            return fault.make(request)
        return httpx.Response(404, json={"message": "no such number"})

    harness = mock_client(respond, kind)
    with pytest.raises(dtmf.NotFoundError):
        harness.call_default("numbers.end_rental")
    assert harness.attempts == 2


def test_end_rental_404_on_first_attempt_is_not_found(mock_client: MockClient, kind: str) -> None:
    harness = mock_client(_status(404), kind)
    with pytest.raises(dtmf.NotFoundError):
        harness.call_default("numbers.end_rental")
    assert harness.attempts == 1


# Retry-After


def _retry_after_then_ok(name: str, value: str) -> Callable[[httpx.Request], httpx.Response]:
    calls: list[int] = []

    def respond(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": value})
        return success(name)

    return respond


@pytest.mark.parametrize("name", OPERATION_NAMES)
def test_retry_after_seconds_is_honoured(mock_client: MockClient, kind: str, name: str) -> None:
    harness = mock_client(_retry_after_then_ok(name, "3"), kind)
    harness.call_default(name)
    assert harness.attempts == 2
    assert harness.sleeps == [3.0]


def test_retry_after_http_date_is_honoured(mock_client: MockClient, kind: str) -> None:
    when = datetime.now(timezone.utc) + timedelta(seconds=10)
    value = email.utils.format_datetime(when, usegmt=True)
    harness = mock_client(_retry_after_then_ok("messages.send", value), kind)
    harness.call_default("messages.send")
    assert harness.attempts == 2
    [wait] = harness.sleeps
    assert 8.0 <= wait <= 10.0


def test_retry_after_in_the_past_is_no_wait(mock_client: MockClient, kind: str) -> None:
    value = "Wed, 21 Oct 2015 07:28:00 GMT"
    harness = mock_client(_retry_after_then_ok("account.get", value), kind)
    harness.call_default("account.get")
    assert harness.sleeps == [0.0]


@pytest.mark.parametrize("value", ["3600", "inf", "1e300"])
def test_retry_after_is_capped(mock_client: MockClient, kind: str, value: str) -> None:
    harness = mock_client(_retry_after_then_ok("account.get", value), kind, call_timeout=1000)
    harness.call_default("account.get")
    cap = harness.client._options.retry.max_retry_after
    assert harness.sleeps == [cap]


@pytest.mark.parametrize("value", ["soon", "", "nan", "-5", "Mon, 99 Foo 2020"])
def test_retry_after_garbage_falls_back_to_backoff(
    mock_client: MockClient, kind: str, value: str
) -> None:
    harness = mock_client(_retry_after_then_ok("account.get", value), kind)
    harness.call_default("account.get")
    [wait] = harness.sleeps
    assert 0.0 <= wait <= harness.client._options.retry.max_delay


def test_backoff_grows_and_is_capped_with_jitter() -> None:
    policy = RetryPolicy(initial_delay=1.0, max_delay=8.0)
    for attempt, ceiling in enumerate([1.0, 2.0, 4.0, 8.0, 8.0, 8.0]):
        waits = {policy.delay(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
        assert len(waits) > 1, "no jitter"


# Call budget


def test_retry_after_beyond_call_timeout_is_not_waited(mock_client: MockClient, kind: str) -> None:
    harness = mock_client(_retry_after_then_ok("account.get", "30"), kind, call_timeout=5)
    with pytest.raises(dtmf.RateLimitError):
        harness.call_default("account.get")
    assert harness.attempts == 1
    assert harness.sleeps == []


def test_call_timeout_bounds_total_time(mock_client: MockClient, kind: str) -> None:
    def slow_failure(request: httpx.Request) -> httpx.Response:
        real_sleep(0.01)
        raise httpx.ReadTimeout("slow", request=request)

    harness = mock_client(slow_failure, kind, call_timeout=0.08, max_retries=1000)
    started = time.monotonic()
    with pytest.raises(dtmf.APITimeoutError) as caught:
        harness.call_default("account.get")
    assert time.monotonic() - started < 0.5
    assert 2 <= harness.attempts < 1000
    assert "account.get" in str(caught.value)


def test_request_timeouts_never_exceed_call_timeout(mock_client: MockClient, kind: str) -> None:
    harness = mock_client(lambda request: success("account.get"), kind, call_timeout=2)
    harness.call_default("account.get")
    timeouts = harness.requests[0].extensions["timeout"]
    assert set(timeouts) == {"connect", "read", "write", "pool"}
    assert all(value is not None and 0 < value <= 2 for value in timeouts.values())


# Turning retries off


@pytest.mark.parametrize("fault", [f for f in FAULTS if f.retried_for_never_twice], ids=str)
def test_max_retries_zero_disables(mock_client: MockClient, kind: str, fault: Fault) -> None:
    harness = mock_client(always(fault), kind, max_retries=0)
    with pytest.raises(fault.error):
        harness.call_default("account.get")
    assert harness.attempts == 1
    assert harness.sleeps == []


def test_with_options_view(mock_client: MockClient, kind: str) -> None:
    harness = mock_client(_status(503), kind)
    view = harness.client.with_options(max_retries=0)
    assert view.max_retries == 0
    assert harness.client.max_retries == MAX_RETRIES
    assert view._http is harness.client._http, "the view has its own pool"
    with pytest.raises(dtmf.InternalServerError):
        harness.call("account.get", client=view)
    assert harness.attempts == 1
    with pytest.raises(dtmf.InternalServerError):
        harness.call("account.get")
    assert harness.attempts == 1 + 1 + MAX_RETRIES


def test_closing_the_parent_closes_the_view(mock_client: MockClient, kind: str) -> None:
    harness = mock_client(lambda request: success("account.get"), kind)
    view = harness.client.with_options(max_retries=0, timeout=3, call_timeout=10)
    assert harness.call("account.get", client=view).balance == 12345
    harness.close()
    assert view.is_closed
    for client in (view, harness.client):
        with pytest.raises(dtmf.ClientClosedError):
            harness.call("account.get", client=client)
    assert harness.attempts == 1


def test_closing_a_view_leaves_the_parent_usable(mock_client: MockClient, kind: str) -> None:
    harness = mock_client(lambda request: success("account.get"), kind)
    view = harness.client.with_options(max_retries=0)
    if kind == "sync":
        view.close()
    else:
        import asyncio

        asyncio.run(view.aclose())
    assert harness.call("account.get").balance == 12345


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2", None])
def test_with_options_rejects_bad_max_retries(mock_client: MockClient, bad: Any) -> None:
    harness = mock_client(lambda request: success("account.get"))
    if bad is None:
        assert harness.client.with_options(max_retries=bad).max_retries == MAX_RETRIES
        return
    with pytest.raises(dtmf.ConfigurationError):
        harness.client.with_options(max_retries=bad)


# Redirects


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("name", ["account.get", "messages.send"])
def test_redirect_is_never_followed_nor_retried(
    mock_client: MockClient, kind: str, status: int, name: str
) -> None:
    location = "https://evil.example/steal"
    harness = mock_client(
        lambda request: httpx.Response(status, headers={"Location": location}), kind
    )
    with pytest.raises(dtmf.UnexpectedRedirectError) as caught:
        harness.call_default(name)
    assert location in str(caught.value)
    assert harness.attempts == 1
    assert {request.url.host for request in harness.requests} == {"localhost"}


# Logging


def test_one_debug_line_per_request_and_one_info_line_per_retry(
    mock_client: MockClient, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    responses = iter(
        [
            httpx.Response(503),
            httpx.Response(429, headers={"Retry-After": "1"}),
            success("numbers.get"),
        ]
    )

    def respond(request: httpx.Request) -> httpx.Response:
        return next(responses)

    harness = mock_client(respond, kind)
    with caplog.at_level(logging.DEBUG, logger="dtmf"):
        harness.call_default("numbers.get")
    records = [r for r in caplog.records if r.name == "dtmf"]
    debug = [r.getMessage() for r in records if r.levelno == logging.DEBUG]
    info = [r.getMessage() for r in records if r.levelno == logging.INFO]
    assert len(debug) == 3
    for line, status, retry in zip(debug, [503, 429, 200], [0, 1, 2], strict=True):
        assert line.startswith("GET /number")
        assert str(status) in line
        assert " ms" in line
        assert f"retry {retry}" in line
    assert len(info) == 2
    assert "503" in info[0]
    assert "retrying in" in info[0]
    assert "429" in info[1]
    assert "1.00 s" in info[1]


def test_transport_failures_are_logged(
    mock_client: MockClient, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    harness = mock_client(_raise(httpx.ConnectError, "refused"), kind, max_retries=1)
    with caplog.at_level(logging.DEBUG, logger="dtmf"), pytest.raises(dtmf.APIConnectionError):
        harness.call_default("account.get")
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    info = [
        r.getMessage() for r in caplog.records if r.levelno == logging.INFO and r.name == "dtmf"
    ]
    assert len(debug) == 2
    assert all("ConnectError" in line for line in debug)
    assert len(info) == 1
    assert "ConnectError" in info[0]


def test_args_table_covers_every_operation() -> None:
    assert set(ARGS) == set(OPS)


def test_async_client_retries_under_trio(mock_client: MockClient) -> None:
    import anyio

    responses = iter([httpx.Response(503), success("numbers.get")])
    harness = mock_client(lambda request: next(responses), "async")

    async def main() -> Any:
        return await harness.client.numbers.get(ARGS["numbers.get"][0])

    number = anyio.run(main, backend="trio")
    assert number.e164 == ARGS["numbers.get"][0]
    assert harness.attempts == 2
    assert len(harness.sleeps) == 1
