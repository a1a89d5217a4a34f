"""The HTTP layer on public httpx API: the user's http client's defaults, the tools
that hook httpx (vcrpy, respx) in a fresh interpreter, httpx2 refused early, and
the opt-in `dtmf.FastTransport`.

The compatibility suite proper (every tool, both orders, sync and async) lives
apart; these are the quick checks that the design holds.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

import dtmf
from tests.hostile import ACCOUNT, HostileServer

TOKEN = "http-layer-test-token"
DTMF_DIR = Path(dtmf.__file__).resolve().parent


# No private httpx or httpcore API in the SDK ------------------------------------

_PRIVATE = re.compile(
    r"\._(transport|pool|mounts|cookies|content)\b"  # httpx's and httpcore's privates
    r"|\bhttpx\._(?!_)|\bhttpcore2?\._(?!_)"  # their private modules
    r"|^\s*(import|from) httpcore\b"  # httpcore 1.0 itself (httpx's business)
    r"|\.handle_(async_)?request is not"  # patch detection
)


def test_the_sdk_uses_no_private_httpx_or_httpcore_api() -> None:
    found = [
        f"{path.relative_to(DTMF_DIR)}:{number}: {line.strip()}"
        for path in sorted(DTMF_DIR.rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if _PRIVATE.search(line)
    ]
    assert not found, "\n".join(found)


def test_the_check_finds_what_it_looks_for() -> None:
    for line in (
        "http._transport = t",
        "self.response._content = b''",
        "from httpx._client import UseClientDefault",
        "import httpcore",
        "if httpx.HTTPTransport.handle_request is not _HTTPX_SYNC:",
    ):
        assert _PRIVATE.search(line), line
    assert not _PRIVATE.search("f'httpx/{httpx.__version__}'")


# A server that counts what reaches it --------------------------------------------


class _Counting(ThreadingHTTPServer):
    daemon_threads = True
    hits = 0


class _Answer(BaseHTTPRequestHandler):
    server: _Counting

    def do_GET(self) -> None:
        self.server.hits += 1
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(ACCOUNT)))
        self.end_headers()
        self.wfile.write(ACCOUNT)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Server:
    """A loopback server answering every GET with an account of balance 1000."""

    def __init__(self) -> None:
        self._server = _Counting(("127.0.0.1", 0), _Answer)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}/api/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def hits(self) -> int:
        return self._server.hits

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.stop()


def _run(script: str, **values: object) -> dict[str, Any]:
    """`script` in a fresh interpreter (nothing imported before it); its last line, JSON."""
    code = textwrap.dedent(script).format(**{k: repr(v) for k, v in values.items()})
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# The tools, each in a fresh interpreter, the client made inside the context -------

_CALLS = """
import asyncio, json, dtmf

def sync_call(url):
    with dtmf.Client({token}, base_url=url, max_retries=0) as client:
        return client.account.get().balance

async def async_call(url):
    async with dtmf.AsyncClient({token}, base_url=url, max_retries=0) as client:
        return (await client.account.get()).balance

def call(url, flavour):
    return sync_call(url) if flavour == "sync" else asyncio.run(async_call(url))
"""

_RESPX = (
    _CALLS
    + """
import httpx, respx
with respx.mock:
    route = respx.get({url} + "/account").mock(
        return_value=httpx.Response(200, json=dict(id=1, email="r@example.com", balance=7))
    )
    balance = call({url}, {flavour})
print(json.dumps(dict(balance=balance, called=route.call_count)))
"""
)


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_respx_mock_default_sees_a_client_made_inside(server: Server, flavour: str) -> None:
    result = _run(_RESPX, token=TOKEN, url=server.base_url, flavour=flavour)
    assert result == {"balance": 7, "called": 1}
    assert server.hits == 0, "the request reached the network past respx"


_VCR = (
    _CALLS
    + """
import vcr
recorder = vcr.VCR(filter_headers=["authorization"], record_mode={mode})
with recorder.use_cassette({cassette}):
    balance = call({url}, {flavour})
print(json.dumps(dict(balance=balance)))
"""
)


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_vcrpy_records_then_replays_a_client_made_inside(
    server: Server, tmp_path: Path, flavour: str
) -> None:
    cassette = tmp_path / "account.yaml"
    options = {
        "token": TOKEN,
        "url": server.base_url,
        "flavour": flavour,
        "cassette": str(cassette),
    }
    assert _run(_VCR, mode="once", **options) == {"balance": 1000}
    assert server.hits == 1
    text = cassette.read_text()
    assert "/api/v1/account" in text
    assert TOKEN not in text
    server.stop()  # replayed with nothing listening: a network hit would fail
    assert _run(_VCR, mode="none", **options) == {"balance": 1000}


# Your http client's defaults, under the SDK's ------------------------------------


def _echo(seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=ACCOUNT)

    return httpx.MockTransport(handle)


class _Signing(httpx.Auth):
    """An auth of the user's own: it adds a header, and tries to set Authorization."""

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["X-Signature"] = "signed"
        request.headers["Authorization"] = "Basic dXNlcjpwYXNz"
        yield request


def test_your_http_client_headers_cookies_auth_and_hooks_apply() -> None:
    seen: list[httpx.Request] = []
    hooked: list[str] = []
    http = httpx.Client(
        transport=_echo(seen),
        headers={"X-Team": "billing", "User-Agent": "mine/1.0"},
        cookies={"session": "abc"},
        auth=_Signing(),
        event_hooks={"request": [lambda request: hooked.append(request.url.path)]},
    )
    with http, dtmf.Client(TOKEN, http_client=http) as client:
        assert client.account.get().balance == 1000
    (request,) = seen
    assert request.headers["x-team"] == "billing"
    assert request.headers["cookie"] == "session=abc"
    assert request.headers["x-signature"] == "signed"
    # The SDK's own on top.
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["user-agent"].startswith("dtmf-io/")
    assert request.headers["accept"] == "application/json"
    assert hooked == ["/api/v1/account"]


def test_your_async_http_client_defaults_apply() -> None:
    seen: list[httpx.Request] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=ACCOUNT)

    async def run() -> None:
        http = httpx.AsyncClient(
            transport=httpx.MockTransport(handle), headers={"X-Team": "billing"}, auth=_Signing()
        )
        async with http, dtmf.AsyncClient(TOKEN, http_client=http) as client:
            assert (await client.account.get()).balance == 1000

    asyncio.run(run())
    (request,) = seen
    assert request.headers["x-team"] == "billing"
    assert request.headers["x-signature"] == "signed"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"


def test_your_http_client_timeout_applies_unless_the_sdk_is_given_one() -> None:
    seen: list[httpx.Request] = []
    with httpx.Client(transport=_echo(seen), timeout=httpx.Timeout(7.0, connect=2.0)) as http:
        with dtmf.Client(TOKEN, http_client=http) as client:
            assert client.timeout == httpx.Timeout(7.0, connect=2.0)
            client.account.get()
        with dtmf.Client(TOKEN, http_client=http, timeout=3) as client:
            client.account.get()
    ours, explicit = (request.extensions["timeout"] for request in seen)
    assert ours == {"connect": 2.0, "read": 7.0, "write": 7.0, "pool": 7.0}
    assert explicit == {"connect": 3.0, "read": 3.0, "write": 3.0, "pool": 3.0}


def test_call_timeout_bounds_your_client_timeout_too() -> None:
    seen: list[httpx.Request] = []
    with (
        httpx.Client(transport=_echo(seen), timeout=60) as http,
        dtmf.Client(TOKEN, http_client=http, call_timeout=2) as client,
    ):
        client.account.get()
    assert all(value <= 2 for value in seen[0].extensions["timeout"].values())


# httpx2 and other clients: refused at construction -------------------------------


def test_an_httpx2_client_is_refused_with_what_to_do() -> None:
    httpx2 = pytest.importorskip("httpx2")
    if httpx2.Client is httpx.Client:  # httpx2.alias_httpx(): httpx is httpx2
        pytest.skip("httpx is httpx2 here: its clients are httpx's")
    with httpx2.Client() as http, pytest.raises(dtmf.ConfigurationError) as raised:
        dtmf.Client(TOKEN, http_client=http)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    message = str(raised.value)
    assert "httpx2.Client" in message
    assert "httpx.Client" in message
    assert "alias_httpx" in message

    async def run() -> None:
        async with httpx2.AsyncClient() as http:
            with pytest.raises(dtmf.ConfigurationError, match=r"httpx\.AsyncClient"):
                dtmf.AsyncClient(TOKEN, http_client=http)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]

    asyncio.run(run())


def test_a_client_of_the_wrong_kind_is_refused() -> None:
    with (
        httpx.Client() as http,
        pytest.raises(dtmf.ConfigurationError, match=r"needs an httpx\.AsyncClient"),
    ):
        dtmf.AsyncClient(TOKEN, http_client=http)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    with pytest.raises(dtmf.ConfigurationError, match=r"got builtins\.str"):
        dtmf.Client(TOKEN, http_client="http://proxy")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


# The opt-in fast transport ---------------------------------------------------------


def test_the_fast_transport_sends_sync_and_async(server: Server) -> None:
    with (
        httpx.Client(transport=dtmf.FastTransport()) as http,
        dtmf.Client(TOKEN, base_url=server.base_url, http_client=http) as client,
    ):
        assert [client.account.get().balance for _ in range(3)] == [1000] * 3

    async def run() -> list[int]:
        async with (
            httpx.AsyncClient(transport=dtmf.AsyncFastTransport()) as http,
            dtmf.AsyncClient(TOKEN, base_url=server.base_url, http_client=http) as client,
        ):
            return [(await client.account.get()).balance for _ in range(3)]

    assert asyncio.run(run()) == [1000] * 3
    assert server.hits == 6


def test_the_fast_transport_ends_endless_1xx_at_call_timeout() -> None:
    with (
        HostileServer("continue") as hostile,
        httpx.Client(transport=dtmf.FastTransport()) as http,
        dtmf.Client(TOKEN, base_url=hostile.base_url, http_client=http, call_timeout=1.0) as c,
    ):
        started = time.monotonic()
        with pytest.raises(dtmf.APITimeoutError):
            c.account.get()
        assert time.monotonic() - started < 1.75


def test_the_fast_transport_maps_errors_to_httpx() -> None:
    with (
        httpx.Client(transport=dtmf.FastTransport()) as http,
        dtmf.Client(TOKEN, base_url="http://127.0.0.1:9/api/v1", http_client=http) as client,
        pytest.raises(dtmf.APIConnectionError, match="never reached") as raised,
    ):
        client.with_options(max_retries=0).account.get()
    assert isinstance(raised.value.__cause__, httpx.ConnectError)
