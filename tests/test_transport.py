"""The SDK's transport and each call's hard bounds: time (`call_timeout`) and size
(`max_response_size`), against real hostile servers on a loopback port and in-process.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
import time
import tracemalloc
import warnings
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest
import trio

import dtmf
from dtmf._contract import OPERATIONS
from dtmf._core import DEFAULT_MAX_RESPONSE_SIZE, ClientOptions, build_request
from tests.hostile import (
    ACCOUNT,
    BOMB_SIZE,
    TRICKLE_INTERVAL,
    HostileServer,
    async_hostile_transport,
    hostile_transport,
    warm_up,
)

TOKEN = "transport-test-token"
SLACK = 0.75
"""How far past call_timeout a call may end on this loaded 2-core machine."""


@pytest.fixture(autouse=True)
def _warm() -> None:
    """The timed calls measure the call, not the first import of the models."""
    warm_up()


def _arun(factory: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(factory())


# The transport ------------------------------------------------------------------


def _transports_made(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The keyword arguments of every httpx transport made from now on."""
    made: list[dict[str, Any]] = []
    for cls in (httpx.HTTPTransport, httpx.AsyncHTTPTransport):
        original = cls.__init__

        def init(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> None:
            made.append({"class": type(self), **kwargs})
            _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "__init__", init)
    return made


def test_sdk_clients_send_through_httpx_own_transports(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a tool hooks on httpx's transport classes sees the SDK's requests."""
    seen: list[str] = []

    def handle(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, content=ACCOUNT)

    async def ahandle(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(200, content=ACCOUNT)

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", handle)
    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", ahandle)
    with dtmf.Client(TOKEN, base_url="https://dtmf.io/api/v1") as client:
        assert client.account.get().balance == 1000

    async def run() -> None:
        async with dtmf.AsyncClient(TOKEN, base_url="https://dtmf.io/api/v1") as client:
            assert (await client.account.get()).balance == 1000

    _arun(run)
    assert seen == ["/api/v1/account", "/api/v1/account"]


def test_verify_and_proxy_reach_httpx_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    made = _transports_made(monkeypatch)
    with dtmf.Client(TOKEN, verify=False, trust_env=False):
        (transport,) = made
        assert transport["verify"].verify_mode is ssl.CERT_NONE
    made.clear()
    with dtmf.Client(TOKEN, proxy="http://proxy.example:3128", trust_env=False):
        # httpx's own transport for the proxy, as httpx alone makes it.
        proxies = [str(t["proxy"].url) for t in made if t.get("proxy") is not None]
        assert proxies == ["http://proxy.example:3128"]


def test_requests_are_byte_for_byte_what_httpx_builds() -> None:
    """The parsed-URL cache and the client's parsed headers change nothing on the wire."""
    options = ClientOptions.create(TOKEN, "https://dtmf.io/api/v1", 30, 90, 2, False)
    values = {
        "e164": "+447700900123",
        "from": "+447700900123",
        "to": "+447700900124",
        "content": "hé & ünï ?=+/#%20",
        "group_id": "gb mobile&x",
    }
    for operation in OPERATIONS:
        wire = {key: values.get(key, "v a+l/ü") for key in (*operation.query, *operation.body)}
        for _ in range(2):  # the second from the cache
            ours = build_request(options, operation, wire)
            params, body = operation.split(wire)
            headers = {  # as the SDK passed them to httpx before
                "Authorization": f"Bearer {TOKEN}",
                "Accept": "application/json",
                "User-Agent": options.headers.plain["user-agent"],
                **({"Content-Type": "application/json"} if body else {}),
            }
            theirs = httpx.Request(
                operation.method,
                options.base_url + operation.path,
                params=params,
                content=ours.content if body else None,
                headers=headers,
            )
            assert str(ours.url) == str(theirs.url), operation.name
            assert ours.headers.raw == theirs.headers.raw, operation.name
            assert ours.method == theirs.method


# call_timeout: a hard bound on the whole call ----------------------------------------


@pytest.mark.slow  # waits out a real timeout
@pytest.mark.parametrize("behaviour", ["trickle", "continue"])
def test_call_timeout_bounds_a_trickle_and_endless_1xx_sync(behaviour: Any) -> None:
    with (
        HostileServer(behaviour) as server,
        dtmf.Client(TOKEN, base_url=server.base_url, call_timeout=1.0, timeout=5) as client,
    ):
        started = time.monotonic()
        with pytest.raises(dtmf.APITimeoutError, match=r"account\.get"):
            client.account.get()
        assert time.monotonic() - started < 1.0 + SLACK


@pytest.mark.slow  # waits out a real timeout
@pytest.mark.parametrize("behaviour", ["trickle", "continue"])
def test_call_timeout_bounds_a_trickle_and_endless_1xx_async(behaviour: Any) -> None:
    async def run() -> float:
        async with dtmf.AsyncClient(
            TOKEN, base_url=server.base_url, call_timeout=1.0, timeout=5
        ) as client:
            started = time.monotonic()
            with pytest.raises(dtmf.APITimeoutError, match=r"account\.get"):
                await client.account.get()
            return time.monotonic() - started

    with HostileServer(behaviour) as server:
        assert _arun(run) < 1.0 + SLACK


@pytest.mark.slow  # waits out a real timeout
def test_call_timeout_counts_the_wait_for_a_pooled_connection_sync() -> None:
    """Six calls on one connection to a server taking 1 s each, call_timeout=2.5."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    durations: list[float] = []
    errors: list[BaseException] = []

    def call() -> None:
        started = time.monotonic()
        try:
            client.with_options(max_retries=0).account.get()
        except dtmf.DTMFError as exc:
            errors.append(exc)
        durations.append(time.monotonic() - started)

    with (
        HostileServer("slow") as server,
        dtmf.Client(TOKEN, base_url=server.base_url, call_timeout=2.5, limits=limits) as client,
    ):
        threads = [threading.Thread(target=call) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert max(durations) < 2.5 + SLACK
    assert errors, "some calls must have run out of time waiting"
    assert all(isinstance(e, dtmf.APITimeoutError) for e in errors)
    # Those that waited for the pool (then, the connection being closed by a timed-out
    # read, for a new one) were never sent, and say so.
    never_sent = [e for e in errors if "free connection" in str(e) or "connecting" in str(e)]
    assert all("never reached" in str(e) for e in never_sent), [str(e) for e in errors]


@pytest.mark.slow  # waits out a real timeout
def test_call_timeout_counts_the_wait_for_a_pooled_connection_async() -> None:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)

    async def run() -> tuple[list[float], list[BaseException]]:
        async with dtmf.AsyncClient(
            TOKEN, base_url=server.base_url, call_timeout=2.5, limits=limits
        ) as client:

            async def call() -> float:
                started = time.monotonic()
                try:
                    await client.account.get()
                except dtmf.DTMFError as exc:
                    errors.append(exc)
                return time.monotonic() - started

            errors: list[BaseException] = []
            durations = await asyncio.gather(*(call() for _ in range(6)))
            return list(durations), errors

    with HostileServer("slow") as server:
        durations, errors = _arun(run)
    assert max(durations) < 2.5 + SLACK
    assert errors
    assert all(isinstance(e, dtmf.APITimeoutError) for e in errors)


@pytest.mark.slow  # waits out a real timeout
def test_call_timeout_under_trio() -> None:
    async def run() -> float:
        async with dtmf.AsyncClient(
            TOKEN, base_url=server.base_url, call_timeout=1.0, timeout=5
        ) as client:
            started = time.monotonic()
            with pytest.raises(dtmf.APITimeoutError):
                await client.account.get()
            return time.monotonic() - started

    with HostileServer("trickle") as server:
        assert trio.run(run) < 1.0 + SLACK


@pytest.mark.slow  # waits out a real timeout
def test_a_trickle_through_your_own_http_client_ends_at_call_timeout() -> None:
    """The best available without the SDK's transport: checked between body chunks
    (sync), cancelled at the deadline (async)."""
    budget = TRICKLE_INTERVAL * len(ACCOUNT) / 4
    with (
        httpx.Client(transport=hostile_transport("trickle")) as http,
        dtmf.Client(TOKEN, http_client=http, call_timeout=budget) as client,
    ):
        started = time.monotonic()
        with pytest.raises(dtmf.APITimeoutError):
            client.account.get()
        assert time.monotonic() - started < budget + SLACK

    async def run() -> float:
        async with (
            httpx.AsyncClient(transport=async_hostile_transport("trickle")) as http,
            dtmf.AsyncClient(TOKEN, http_client=http, call_timeout=budget) as client,
        ):
            started = time.monotonic()
            with pytest.raises(dtmf.APITimeoutError):
                await client.account.get()
            return time.monotonic() - started

    assert _arun(run) < budget + SLACK


def test_a_paid_action_cut_by_call_timeout_may_have_succeeded() -> None:
    with (
        HostileServer("trickle") as server,
        dtmf.Client(TOKEN, base_url=server.base_url, call_timeout=0.5) as client,
        pytest.raises(dtmf.APITimeoutError) as caught,
    ):
        client.messages.send("+447700900123", "+447700900124", "hi")
    assert caught.value.may_have_succeeded
    assert "may or may not" in str(caught.value)


# max_response_size: a cap on every body -------------------------------------------


def _peak(call: Callable[[], object]) -> tuple[BaseException | None, int]:
    tracemalloc.start()
    try:
        call()
    except dtmf.DTMFError as exc:
        error: BaseException | None = exc
    else:
        error = None
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return error, peak


CAP = 4 * 1024 * 1024
ALLOWANCE = 2 * 1024 * 1024
"""Memory a capped read may use beyond the cap: a network read or two, and the parser."""


@pytest.mark.parametrize("behaviour", ["endless", "gzip-bomb"])
@pytest.mark.parametrize("wire", ["port", "in-process"])
def test_a_body_past_the_cap_is_refused_with_bounded_memory_sync(behaviour: Any, wire: str) -> None:
    with HostileServer(behaviour) as server:
        if wire == "port":
            client = dtmf.Client(TOKEN, base_url=server.base_url, max_response_size=CAP)
        else:
            http = httpx.Client(transport=hostile_transport(behaviour))
            client = dtmf.Client(TOKEN, http_client=http, max_response_size=CAP)
        with client:
            error, peak = _peak(client.account.get)
    assert isinstance(error, dtmf.APIResponseValidationError)
    assert f"max_response_size={CAP}" in str(error)
    assert "larger max_response_size=" in str(error)
    assert not error.may_have_succeeded
    assert peak < CAP + ALLOWANCE, peak
    assert len(error.body) <= 4096


@pytest.mark.parametrize("behaviour", ["endless", "gzip-bomb"])
@pytest.mark.parametrize("wire", ["port", "in-process"])
def test_a_body_past_the_cap_is_refused_with_bounded_memory_async(
    behaviour: Any, wire: str
) -> None:
    async def run() -> tuple[BaseException | None, int]:
        if wire == "port":
            client = dtmf.AsyncClient(TOKEN, base_url=server.base_url, max_response_size=CAP)
        else:
            http = httpx.AsyncClient(transport=async_hostile_transport(behaviour))
            client = dtmf.AsyncClient(TOKEN, http_client=http, max_response_size=CAP)
        async with client:
            tracemalloc.start()
            try:
                await client.account.get()
            except dtmf.DTMFError as exc:
                return exc, tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
        return None, 0

    with HostileServer(behaviour) as server:
        error, peak = _arun(run)
    assert isinstance(error, dtmf.APIResponseValidationError)
    assert f"max_response_size={CAP}" in str(error)
    assert peak < CAP + ALLOWANCE, peak


def test_the_default_cap_and_raising_it() -> None:
    assert DEFAULT_MAX_RESPONSE_SIZE == 32 * 1024 * 1024
    assert BOMB_SIZE > DEFAULT_MAX_RESPONSE_SIZE
    small = len(ACCOUNT) - 1
    with (
        httpx.Client(transport=httpx.MockTransport(_answer_account)) as http,
        dtmf.Client(TOKEN, http_client=http, max_response_size=small) as client,
    ):
        with pytest.raises(dtmf.APIResponseValidationError, match="max_response_size"):
            client.account.get()
        assert client.with_options(max_response_size=len(ACCOUNT)).account.get().balance == 1000


def test_gzip_and_deflate_bodies_still_read() -> None:
    import zlib

    def answer(encoding: str, body: bytes) -> Callable[[httpx.Request], httpx.Response]:
        def handle(request: httpx.Request) -> httpx.Response:
            headers = {"content-type": "application/json", "content-encoding": encoding}
            return httpx.Response(200, headers=headers, content=body)

        return handle

    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    for encoding, body in [
        ("gzip", __import__("gzip").compress(ACCOUNT)),
        ("deflate", zlib.compress(ACCOUNT)),
        ("deflate", raw_deflate.compress(ACCOUNT) + raw_deflate.flush()),  # no zlib header
    ]:
        transport = httpx.MockTransport(answer(encoding, body))
        with (
            httpx.Client(transport=transport) as http,
            dtmf.Client(TOKEN, http_client=http) as client,
        ):
            assert client.account.get().balance == 1000
    transport = httpx.MockTransport(answer("gzip", b"not gzip"))
    with (
        httpx.Client(transport=transport) as http,
        dtmf.Client(TOKEN, http_client=http, max_retries=0) as client,
        pytest.raises(dtmf.APIConnectionError, match=r"account\.get"),
    ):
        client.account.get()


def _answer_account(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "application/json"}, content=ACCOUNT)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "big"])
def test_max_response_size_is_checked(bad: Any) -> None:
    with pytest.raises(dtmf.ConfigurationError, match="max_response_size"):
        dtmf.Client(TOKEN, max_response_size=bad)


# Lifecycle and configuration -------------------------------------------------------


def _unavailable(request: httpx.Request) -> httpx.Response:
    return httpx.Response(503, headers={"retry-after": "1"})


@pytest.mark.slow  # waits out a real timeout
def test_closing_while_a_call_waits_to_retry_raises_client_closed_sync() -> None:
    with httpx.Client(transport=httpx.MockTransport(_unavailable)) as http:
        client = dtmf.Client(TOKEN, http_client=http)
        closer = threading.Timer(0.2, client.close)
        closer.start()
        with pytest.raises(dtmf.ClientClosedError, match=r"account\.get waited to retry"):
            client.account.get()
        closer.join()


def test_closing_while_a_call_waits_to_retry_raises_client_closed_async() -> None:
    async def run() -> None:
        async with dtmf.AsyncClient(TOKEN) as client:
            client._http = httpx.AsyncClient(transport=httpx.MockTransport(_unavailable))  # pyright: ignore[reportPrivateUsage]

            async def close_soon() -> None:
                await asyncio.sleep(0.2)
                await client.aclose()

            closing = asyncio.create_task(close_soon())
            with pytest.raises(dtmf.ClientClosedError, match=r"account\.get waited to retry"):
                await client.account.get()
            await closing

    _arun(run)


def test_a_with_options_view_as_a_context_manager() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        # The client stays open for its own use after a view's block ...
        with dtmf.Client(TOKEN) as client:
            with client.with_options(timeout=5) as view:
                assert not view.is_closed
            assert not client.is_closed
        assert client.is_closed
        assert view.is_closed
        # ... and a view of a client nobody holds closes the pool at its block's end.
        with dtmf.Client(TOKEN).with_options(timeout=5) as view:
            assert not view.is_closed
        assert view.is_closed
        assert view._http.is_closed  # pyright: ignore[reportPrivateUsage]


@pytest.mark.parametrize(
    "url",
    [
        "https://bob:s3cret@dtmf.io/api/v1",
        "https://:s3cret@dtmf.io/api/v1",
        "http://localhost:s3cret@evil.example/api",  # not this machine either
    ],
)
def test_a_base_url_with_credentials_is_refused_without_showing_them(url: str) -> None:
    with pytest.raises(dtmf.ConfigurationError, match="user name or password") as caught:
        dtmf.Client(TOKEN, base_url=url)
    assert "s3cret" not in str(caught.value)
    assert "****@" in str(caught.value)


def test_the_hostile_rows_of_make_faults() -> None:
    """`make faults` runs every hostile row; here one row, so that the table never rots."""
    from tests.faultmatrix import TRANSPORTS, render_hostile, run_hostile

    results = [run_hostile("endless body", transport) for transport in TRANSPORTS]
    assert [r.problems() for r in results] == [[]] * len(TRANSPORTS)
    assert all(isinstance(r.error, dtmf.APIResponseValidationError) for r in results)
    table = render_hostile(results)
    assert "unclear failures 0" in table
    assert "longest past call_timeout" in table


ALIASED = """
import httpx2
httpx2.alias_httpx()
import asyncio, sys, httpx, httpcore, dtmf
assert httpx is httpx2 and httpcore.__name__ == "httpcore2"
with dtmf.Client("tok", base_url=sys.argv[1], call_timeout=5) as client:
    print(client.account.get().balance)
async def main():
    async with dtmf.AsyncClient("tok", base_url=sys.argv[1]) as client:
        print((await client.account.get()).balance)
asyncio.run(main())
with dtmf.Client("tok", base_url=sys.argv[2], call_timeout=1) as client:
    try:
        client.account.get()
    except dtmf.APITimeoutError as exc:
        print(type(exc).__name__)
"""


@pytest.mark.slow  # starts another process
def test_the_sdk_on_httpx2_through_its_alias(tmp_path: Any) -> None:
    """README "httpx and httpx2": `make test-matrix` runs the suite so; this is its smoke."""
    pytest.importorskip("httpx2")
    import subprocess
    import sys

    from dtmf.testing import Emulator

    script = tmp_path / "aliased.py"
    script.write_text(ALIASED)
    with Emulator(seed=3) as emu, HostileServer("trickle") as trickle:
        emu.add_account("tok", balance=42)
        with emu.serve(port=0) as base_url:
            result = subprocess.run(
                [sys.executable, str(script), base_url, trickle.base_url],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["42", "42", "APITimeoutError"]


@pytest.mark.parametrize(("status", "may_have_succeeded"), [(200, True), (503, True), (422, False)])
def test_an_oversized_answer_to_a_paid_action(status: int, may_have_succeeded: bool) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=b"x" * 2000)

    with (
        httpx.Client(transport=httpx.MockTransport(answer)) as http,
        dtmf.Client(TOKEN, http_client=http, max_response_size=1000) as client,
        pytest.raises(dtmf.APIResponseValidationError) as caught,
    ):
        client.messages.send("+447700900123", "+447700900124", "hi")
    error = caught.value
    assert error.may_have_succeeded is may_have_succeeded
    assert f"HTTP {status}, but the body is larger than max_response_size=1000" in str(error)
    assert ("may or may not" in str(error)) is may_have_succeeded
    assert not str(error).endswith("..")
