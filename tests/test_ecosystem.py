"""The tools users test and observe httpx code with see dtmf's requests too.

Each cell runs a short script, written as the tool's own docs show, in a fresh
interpreter against the reference server on a loopback port: the tool imported and
entered before the first `dtmf` client is made ("inside"), or after it ("before"),
with `dtmf.Client` and with `dtmf.AsyncClient`. The witness is the server: a cell
fails when the server saw a request it should not have (a mock that was bypassed is
a real call, and on the live service a real call can cost Bitcoin), or missed one it
should have seen (a recorder that sent nothing recorded nothing).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dtmf.testing import Emulator

TOKEN = "ecosystem-token"
BALANCE = 1_234_567
MOCKED = 4_242

ORDERS = ("inside", "before")
MODES = ("sync", "async")

# What every cell's script starts with: `make()` builds the client of MODE, `balance()`
# makes one call with it and closes it, in the client's own way.
PRELUDE = """
import asyncio, json, os, sys
import dtmf

BASE, TOKEN, ORDER, MODE = (os.environ[k] for k in ("BASE", "TOKEN", "ORDER", "MODE"))

def make():
    kind = dtmf.Client if MODE == "sync" else dtmf.AsyncClient
    return kind(TOKEN, base_url=BASE, allow_http=True, max_retries=0)

def balance(client):
    if MODE == "sync":
        with client:
            return client.account.get().balance
    async def call():
        async with client:
            return (await client.account.get()).balance
    return asyncio.run(call())

early = make() if ORDER == "before" else None

def client():
    return early if early is not None else make()

def report(**values):
    print("RESULT " + json.dumps(values))
"""

CELLS: dict[str, str] = {
    "respx": """
        import respx
        with respx.mock(assert_all_called=False) as mock:
            route = mock.get(BASE + "/account").respond(json={"balance": %(mocked)d})
            got = balance(client())
        report(balance=got, called=route.called)
    """,
    "respx-using-httpx": """
        import respx
        with respx.mock(using="httpx", assert_all_called=False) as mock:
            route = mock.get(BASE + "/account").respond(json={"balance": %(mocked)d})
            got = balance(client())
        report(balance=got, called=route.called)
    """,
    "mock-transport": """
        import httpx
        calls = []
        def answer(request):
            calls.append(str(request.url))
            return httpx.Response(200, json={"balance": %(mocked)d})
        if MODE == "sync":
            http = httpx.Client(transport=httpx.MockTransport(answer))
            made = dtmf.Client(TOKEN, base_url=BASE, allow_http=True, http_client=http)
        else:
            http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
            made = dtmf.AsyncClient(TOKEN, base_url=BASE, allow_http=True, http_client=http)
        got = balance(made)
        report(balance=got, called=len(calls) == 1)
    """,
    "opentelemetry": """
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        HTTPXClientInstrumentor().instrument(tracer_provider=provider)
        got = balance(client())
        spans = [s for s in exporter.get_finished_spans() if s.kind == trace.SpanKind.CLIENT]
        report(balance=got, called=len(spans) == 1)
    """,
    "vcrpy-record": """
        import vcr
        cassette = os.environ["CASSETTE"]
        with vcr.use_cassette(cassette, record_mode="once", filter_headers=["authorization"]):
            got = balance(client())
        report(balance=got, called=os.path.exists(cassette))
    """,
    "vcrpy-replay": """
        import vcr
        cassette = os.environ["CASSETTE"]
        with vcr.use_cassette(cassette, record_mode="none", filter_headers=["authorization"]):
            got = balance(client())
        report(balance=got, called=True)
    """,
}

# Cells that are test files of their own, run by pytest with the tool's plugin.
TEST_FILES: dict[str, str] = {
    "pytest-recording": """
        import pytest

        @pytest.fixture(scope="module")
        def vcr_config():
            return {"filter_headers": ["authorization"]}

        @pytest.mark.vcr
        def test_balance():
            report(balance=balance(client()), called=True)
    """,
    "pytest-httpx": """
        def test_balance(httpx_mock):
            httpx_mock.add_response(url=BASE + "/account", json={"balance": %(mocked)d})
            got = balance(client())
            report(balance=got, called=len(httpx_mock.get_requests()) == 1)
    """,
}

# What the server must have seen, and the balance the script must print, per cell.
EXPECTED: dict[str, tuple[int, int]] = {
    "respx": (0, MOCKED),
    "respx-using-httpx": (0, MOCKED),
    "mock-transport": (0, MOCKED),
    "opentelemetry": (1, BALANCE),
    "vcrpy-record": (1, BALANCE),
    "vcrpy-replay": (0, BALANCE),
    "pytest-httpx": (0, MOCKED),
}


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(seed=21) as emulator:
        emulator.add_account(TOKEN, balance=BALANCE)
        yield emulator


def _script(body: str) -> str:
    return PRELUDE + textwrap.dedent(body) % {"mocked": MOCKED}


def run_cell(cell: str, base_url: str, order: str, mode: str, **env: str) -> dict[str, Any]:
    """Run a cell in a fresh interpreter; its RESULT line, parsed."""
    return _run([sys.executable, "-c", _script(CELLS[cell])], base_url, order, mode, **env)


def run_test_file(
    folder: Path, cell: str, base_url: str, order: str, mode: str, *options: str
) -> dict[str, Any]:
    """Run a cell's test file under pytest (and its plugin) in `folder`; its RESULT."""
    (folder / "pytest.ini").write_text("[pytest]\n")  # not this project's options
    (folder / "test_cell.py").write_text(_script(TEST_FILES[cell]))
    command = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:randomly", *options]
    return _run([*command, str(folder / "test_cell.py")], base_url, order, mode, cwd=folder)


def _run(
    command: list[str], base_url: str, order: str, mode: str, cwd: Path | None = None, **env: str
) -> dict[str, Any]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DTMF_")}
    result = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={
            **clean,
            "BASE": base_url,
            "TOKEN": TOKEN,
            "ORDER": order,
            "MODE": mode,
            "NO_PROXY": "*",
            **env,
        },
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0, result.stdout + result.stderr
    assert lines, result.stdout + result.stderr
    values: dict[str, Any] = json.loads(lines[-1].removeprefix("RESULT "))
    return values


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("cell", ["respx", "respx-using-httpx", "mock-transport", "opentelemetry"])
def test_the_tool_sees_the_sdks_requests(
    emu: Emulator, base_url: str, cell: str, order: str, mode: str
) -> None:
    pytest.importorskip(
        {"respx": "respx", "respx-using-httpx": "respx"}.get(cell, "httpx")
        if cell != "opentelemetry"
        else "opentelemetry.instrumentation.httpx"
    )
    seen = len(emu.requests)
    values = run_cell(cell, base_url, order, mode)
    reached, balance = EXPECTED[cell]
    assert len(emu.requests) - seen == reached, "the server saw what the tool should have had"
    assert values == {"balance": balance, "called": True}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("order", ORDERS)
def test_vcrpy_records_then_replays_with_the_server_gone(
    tmp_path: Path, order: str, mode: str
) -> None:
    pytest.importorskip("vcr")
    cassette = str(tmp_path / "account.yaml")
    with Emulator(seed=21) as emu:
        emu.add_account(TOKEN, balance=BALANCE)
        with emu.serve() as url:
            base_url = url
            recorded = run_cell("vcrpy-record", base_url, order, mode, CASSETTE=cassette)
            assert len(emu.requests) == 1
    assert recorded == {"balance": BALANCE, "called": True}
    text = Path(cassette).read_text()
    assert TOKEN not in text
    # The server is stopped: a request that got past the cassette fails to connect.
    replayed = run_cell("vcrpy-replay", base_url, order, mode, CASSETTE=cassette)
    assert replayed == {"balance": BALANCE, "called": True}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("order", ORDERS)
def test_pytest_httpx_answers_instead_of_the_server(
    emu: Emulator, base_url: str, tmp_path: Path, order: str, mode: str
) -> None:
    pytest.importorskip("pytest_httpx")
    seen = len(emu.requests)
    values = run_test_file(tmp_path, "pytest-httpx", base_url, order, mode)
    assert len(emu.requests) == seen, "pytest-httpx was bypassed: the server answered"
    assert values == {"balance": MOCKED, "called": True}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("order", ORDERS)
def test_pytest_recording_records_then_replays_with_the_server_gone(
    tmp_path: Path, order: str, mode: str
) -> None:
    pytest.importorskip("pytest_recording")
    with Emulator(seed=21) as emu:
        emu.add_account(TOKEN, balance=BALANCE)
        with emu.serve() as url:
            base_url = url
            recorded = run_test_file(
                tmp_path, "pytest-recording", base_url, order, mode, "--record-mode=once"
            )
            assert len(emu.requests) == 1
    assert recorded == {"balance": BALANCE, "called": True}
    cassettes = list(tmp_path.glob("cassettes/**/*.yaml"))
    assert len(cassettes) == 1
    assert TOKEN not in cassettes[0].read_text()
    replayed = run_test_file(
        tmp_path, "pytest-recording", base_url, order, mode, "--record-mode=none"
    )
    assert replayed == {"balance": BALANCE, "called": True}
