"""Issue 14's SDK-side cases: each ends in correct behaviour or a clear DTMFError.

Timestamps datetime cannot hold in UTC, lone surrogates, nan/inf timeouts, and
`wait_for_message(since=...)` against the reference server's own clock, access
logs without webhook secrets, an interrupted `dtmf send`. The `dtmf listen` and
reference-server cases are in test_cli_listen.py and test_emulator_control.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

import dtmf
from dtmf.testing import Clock, Emulator, serve_asgi
from tests.cli_support import TOKEN as TOKEN_CLI
from tests.cli_support import cli_env, run_cli
from tests.conftest import E164, NUMBER, OTHER, MockClient
from tests.faultscenarios import default_sigint

# Valid ISO 8601, but in UTC past the year 9999 or before the year 1.
OUT_OF_RANGE = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"]
LATE = "9999-12-31T23:59:59.000000"  # fine in UTC, past 9999 in any zone east of it


def _number(**fields: Any) -> dict[str, Any]:
    return {**NUMBER, **fields}


def _message(timestamp: str) -> dict[str, Any]:
    return {**NUMBER["messages"][0], "from": OTHER, "to": E164, "timestamp": timestamp}


# Timestamps out of datetime's range ---------------------------------------------------


@pytest.mark.parametrize("wire", OUT_OF_RANGE)
def test_out_of_range_message_timestamp_is_none(wire: str) -> None:
    message = dtmf.Message.model_validate({"content": "x", "timestamp": wire})
    assert message.timestamp is None  # as for any timestamp that cannot be read
    assert message.model_dump()["timestamp"] is None
    assert json.loads(message.model_dump_json())["timestamp"] is None


@pytest.mark.parametrize("wire", OUT_OF_RANGE)
def test_out_of_range_field_fails_validation_naming_it(wire: str) -> None:
    with pytest.raises(ValueError, match=r"(?s)assignment_start.*out of range"):
        dtmf.Number.model_validate({"e164": E164, "assignment_start": wire})


@pytest.mark.parametrize("wire", OUT_OF_RANGE)
@pytest.mark.parametrize("operation", ["numbers.get", "numbers.list"])
def test_out_of_range_timestamps_through_the_client(
    mock_client: MockClient, kind: str, operation: str, wire: str
) -> None:
    def body(number: dict[str, Any]) -> Any:
        return number if operation == "numbers.get" else [number]

    messages = mock_client(
        lambda request: httpx.Response(200, json=body(_number(messages=[_message(wire)]))), kind
    )
    result = messages.call(operation, *([E164] if operation == "numbers.get" else []))
    number = result if operation == "numbers.get" else result[0]
    assert number.messages[0].timestamp is None
    assert number.model_dump()["messages"][0]["timestamp"] is None

    start = mock_client(
        lambda request: httpx.Response(200, json=body(_number(assignment_start=wire))), kind
    )
    with pytest.raises(dtmf.APIResponseValidationError, match="assignment_start") as caught:
        start.call(operation, *([E164] if operation == "numbers.get" else []))
    assert caught.value.operation == operation


@pytest.mark.parametrize("wire", OUT_OF_RANGE)
def test_out_of_range_timestamps_in_the_compat_client(wire: str) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=_number(assignment_start=wire))

    with httpx.Client(transport=httpx.MockTransport(answer)) as http:
        api = dtmf.DTMF("tok", base_url="http://localhost/api/v1", http_client=http)
        with pytest.raises(dtmf.APIResponseValidationError, match="assignment_start"):
            api.number(E164)

    def message(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=_number(messages=[_message(wire)]))

    with httpx.Client(transport=httpx.MockTransport(message)) as http:
        api = dtmf.DTMF("tok", base_url="http://localhost/api/v1", http_client=http)
        assert api.number(E164)["messages"][0]["timestamp"] is None


def test_wait_for_message_with_out_of_range_timestamps(mock_client: MockClient) -> None:
    polls = 0

    def service(request: httpx.Request) -> httpx.Response:
        nonlocal polls
        polls += 1
        messages = [] if polls == 1 else [{**_message(OUT_OF_RANGE[0]), "id": 9}]
        return httpx.Response(200, json=_number(messages=messages))

    client = mock_client(service).client
    number = dtmf.Number(e164=E164).bind(client)
    assert number.wait_for_message(timeout=5).message.id == 9  # new, though its time is unknown
    since = datetime(9999, 12, 31, 23, 59, tzinfo=timezone(-timedelta(hours=23)))
    with pytest.raises(dtmf.InvalidParameterError, match=r"(?s)since.*out of range"):
        number.wait_for_message(timeout=5, since=since)


@pytest.fixture
def crafted_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A loopback server answering `numbers.get` with whatever number the test puts first."""
    numbers: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = json.dumps(numbers[0]).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    with serve_asgi(app) as url:
        yield f"{url}/api/v1", numbers


@pytest.mark.slow  # starts another process
def test_cli_with_out_of_range_timestamps(crafted_server: tuple[str, list[dict[str, Any]]]) -> None:
    base_url, numbers = crafted_server
    numbers.append(_number(assignment_start=OUT_OF_RANGE[0]))
    result = run_cli(base_url, "numbers", "show", E164, "--no-json")
    assert result.returncode == 3, result.stderr
    assert "assignment_start" in result.stderr
    assert "unexpected" not in result.stderr

    numbers[0] = _number(messages=[_message(OUT_OF_RANGE[0]), _message(LATE)])
    for zone in ("UTC", "Asia/Tokyo"):  # east of UTC, 9999-12-31 23:59 UTC is past 9999
        shown = run_cli(base_url, "numbers", "show", E164, "--no-json", TZ=zone)
        assert shown.returncode == 0, shown.stderr
        assert "9999-12-31 23:59:59" in shown.stdout
        as_json = run_cli(base_url, "numbers", "show", E164, "--json", TZ=zone)
        assert as_json.returncode == 0, as_json.stderr
        stamps = [m["timestamp"] for m in json.loads(as_json.stdout)["messages"]]
        assert stamps == [None, "9999-12-31T23:59:59.000000"]


# Lone surrogates ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "args", "parameter"),
    [
        ("messages.send", (E164, OTHER, "code \ud800"), "content"),
        ("numbers.set_sms_action", (E164, "webhook", "https://example.org/\udc80"), "destination"),
    ],
)
def test_lone_surrogates_are_invalid_parameters(
    mock_client: MockClient, kind: str, operation: str, args: tuple[Any, ...], parameter: str
) -> None:
    harness = mock_client(lambda request: httpx.Response(204), kind)
    with pytest.raises(dtmf.InvalidParameterError, match="surrogate") as caught:
        harness.call(operation, *args)
    assert caught.value.parameter == parameter
    assert harness.attempts == 0  # refused before the network


def test_cli_send_with_a_lone_surrogate() -> None:
    # Arguments that are not UTF-8 reach Python as lone surrogates (surrogateescape).
    result = run_cli("http://127.0.0.1:9/api/v1", "send", E164, OTHER, "caf\udce9")
    assert result.returncode == 2, result.stderr
    assert "surrogate" in result.stderr
    assert "unexpected" not in result.stderr


# Timeouts that never end ------------------------------------------------------------


@pytest.mark.parametrize("timeout", [math.nan, math.inf, -math.inf, -1.0, True, "5"])
def test_wait_for_message_refuses_a_timeout_that_is_not_finite(
    mock_client: MockClient, kind: str, timeout: Any
) -> None:
    harness = mock_client(lambda request: httpx.Response(200, json=_number()), kind)
    if kind == "sync":
        number = dtmf.Number(e164=E164).bind(harness.client)
        with pytest.raises(dtmf.InvalidParameterError, match=r"timeout.*finite"):
            number.wait_for_message(timeout=timeout)
    else:
        anumber = dtmf.AsyncNumber(e164=E164).bind(harness.client)
        with pytest.raises(dtmf.InvalidParameterError, match=r"timeout.*finite"):
            asyncio.run(anumber.wait_for_message(timeout=timeout))
    assert harness.attempts == 0


@pytest.mark.parametrize("timeout", ["nan", "inf", "-inf"])
def test_cli_wait_refuses_a_timeout_that_is_not_finite(timeout: str) -> None:
    result = run_cli("http://127.0.0.1:9/api/v1", "wait", E164, "--timeout", timeout)
    assert result.returncode == 2, result.stderr
    assert "--timeout" in result.stderr


# since= against the reference server's clock ------------------------------------------


@pytest.fixture
def emu_number() -> Iterator[tuple[Emulator, dtmf.Number]]:
    with Emulator(seed=3) as emu:
        emu.add_account("tok", balance=10_000_000)
        with emu.client("tok") as client:
            yield emu, client.numbers.rent("gb-mobile")


def test_since_now_matches_a_message_that_arrives_now(
    emu_number: tuple[Emulator, dtmf.Number],
) -> None:
    emu, number = emu_number
    for n, now in enumerate((emu.clock.now, lambda: datetime.now(timezone.utc))):
        since = now()
        emu.simulate_inbound_sms(number.e164, OTHER, f"code {n}")
        found = number.wait_for_message(timeout=2, since=since)
        assert found.message.content == f"code {n}"
        assert found.message.timestamp is not None
        assert found.message.timestamp >= since


def test_since_is_at_or_after_on_a_fixed_clock() -> None:
    start = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)
    with Emulator(seed=3, clock=Clock(start)) as emu:
        emu.add_account("tok", balance=10_000_000)
        with emu.client("tok") as client:
            number = client.numbers.rent("gb-mobile")
            emu.simulate_inbound_sms(number.e164, OTHER, "at start")
            assert number.wait_for_message(timeout=1, since=start).message.content == "at start"
            assert emu.clock.now() == start  # fixed: timestamps never depend on the run's speed


def test_default_clock_bills_only_when_advanced(emu_number: tuple[Emulator, dtmf.Number]) -> None:
    emu, number = emu_number
    account = emu.account("tok")
    before = account.balance
    emu.clock._wall_start -= timedelta(minutes=5)  # pyright: ignore[reportPrivateUsage]
    assert account.balance == before  # five wall minutes later: no charge
    assert emu.clock.now() > datetime.now(timezone.utc) + timedelta(minutes=4)
    emu.clock.advance(minutes=1)
    assert account.balance < before
    assert number.e164


def test_timeout_counts_messages_too_old_and_not_matching(mock_client: MockClient) -> None:
    since = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
    old = {**_message("2026-11-25T09:59:59.000000"), "id": 2, "content": "code 1"}
    other = {**_message("2026-11-25T10:00:01.000000"), "id": 3, "content": "hello"}
    polls = 0

    def service(request: httpx.Request) -> httpx.Response:
        nonlocal polls
        polls += 1
        return httpx.Response(200, json=_number(messages=[] if polls == 1 else [old, other]))

    number = dtmf.Number(e164=E164).bind(mock_client(service).client)
    with pytest.raises(dtmf.MessageTimeoutError) as caught:
        number.wait_for_message(timeout=0.05, match="code", since=since)
    text = str(caught.value)
    assert "1 new inbound message(s) arrived but did not match" in text
    assert "1 new inbound message(s) arrived but were timestamped before since=" in text


def test_waiting_on_a_number_without_sms_fails_at_once(kind: str) -> None:
    with Emulator(seed=3) as emu:
        emu.add_account("tok", balance=10_000_000)
        if kind == "sync":
            with emu.client("tok") as client:
                number = client.numbers.rent("gb-local")
                assert number.sms is False
                with pytest.raises(dtmf.InvalidParameterError, match="no SMS support"):
                    number.wait_for_message(timeout=30)
                # A number built by hand does not know: the first poll tells.
                blank = dtmf.Number(e164=number.e164).bind(client)
                with pytest.raises(dtmf.InvalidParameterError, match="no SMS support"):
                    blank.wait_for_message(timeout=30)
            return

        async def run() -> None:
            async with emu.async_client("tok") as client:
                number = await client.numbers.rent("gb-local")
                with pytest.raises(dtmf.InvalidParameterError, match="no SMS support"):
                    await number.wait_for_message(timeout=30)
                blank = dtmf.AsyncNumber(e164=number.e164).bind(client)
                with pytest.raises(dtmf.InvalidParameterError, match="no SMS support"):
                    await blank.wait_for_message(timeout=30)
            await emu.aclose()

        asyncio.run(run())


# Access logs and interrupted sends --------------------------------------------------


def test_serve_asgi_access_log_never_shows_the_webhook_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "s3cret-in-the-url-77"
    app = dtmf.webhooks.asgi_app(lambda sms: "ok", secret=secret)
    access = logging.getLogger("uvicorn.access")  # uvicorn's own: it does not propagate
    payload = {"id": 1, "e164": E164, "sender": OTHER, "content": "hi"}
    with serve_asgi(app) as url:
        level = access.level
        access.setLevel(logging.INFO)
        access.addHandler(caplog.handler)
        try:
            with httpx.Client(trust_env=False) as http:
                assert http.post(f"{url}/hook/{secret}", json=payload).status_code == 200
                again = {**payload, "id": 2}
                assert http.post(f"{url}/hook?secret={secret}", json=again).status_code == 200
                assert http.post(f"{url}/hook/{secret}x", json=payload).status_code == 404
        finally:
            access.removeHandler(caplog.handler)
            access.setLevel(level)
    lines = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert len(lines) == 3, lines
    assert all(secret not in line for line in lines), lines
    assert '"POST /hook/*** HTTP/1.1" 200' in lines[0]
    assert '"POST /***?secret=*** HTTP/1.1" 200' in lines[1]


@pytest.mark.slow  # starts another process
def test_interrupted_send_says_the_sms_may_have_gone() -> None:
    with Emulator(seed=4) as emu:
        emu.add_account(TOKEN_CLI, balance=10_000_000)
        with emu.client(TOKEN_CLI) as client:
            e164 = client.numbers.rent("gb-mobile").e164
        emu.faults.add("messages.send", delay=3.0)  # the request sits at the server
        with emu.serve() as base_url:
            process = subprocess.Popen(
                [sys.executable, "-m", "dtmf.cli", "send", e164, OTHER, "hello"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=cli_env(base_url, DTMF_TOKEN=TOKEN_CLI),
                # A shell's background job starts with SIGINT ignored: as a terminal would.
                preexec_fn=default_sigint,
            )
            deadline = time.monotonic() + 15
            while not any(r.operation == "messages.send" for r in emu.requests):
                assert time.monotonic() < deadline, "the send never reached the server"
                time.sleep(0.01)
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=15)
    assert process.returncode == 130, stderr
    assert "interrupted while sending" in stderr
    assert "may or may not have been sent" in stderr
    assert f"dtmf numbers show {e164}" in stderr
