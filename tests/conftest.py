"""Shared fixtures: clients of both kinds over an httpx.MockTransport.

`mock_client(handler, kind=...)` builds a `dtmf.Client` or `dtmf.AsyncClient` whose
requests go to `handler` and returns a `Harness` that records every request and
every wait, and runs any operation by name the same way for both kinds::

    def test_x(mock_client, kind):
        harness = mock_client(lambda request: httpx.Response(200, json={"balance": 1}), kind)
        assert harness.call("account.get").balance == 1

Waits are recorded, not slept: the harness patches `time.sleep` (sync) and
`anyio.sleep` (async) for the duration of the test, and shrinks the backoff.
Everything built here is closed at teardown (warnings are errors).
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest

import dtmf
from dtmf._contract import OPERATIONS, Operation
from dtmf.testing import Emulator
from tests.documented import DOC_GROUP, DOC_MESSAGE, DOC_NUMBER
from tests.redis_server import RedisServer

TOKEN = "secret-token-XYZ"
BASE_URL = "http://localhost/api/v1"
E164 = "+441234567890"
OTHER = "+447700900123"

KINDS = ("sync", "async")

Handler = Callable[[httpx.Request], httpx.Response]

# Arguments that pass validation, for every operation.
ARGS: dict[str, tuple[Any, ...]] = {
    "account.get": (),
    "addresses.list": (),
    "addresses.create": (),
    "groups.list": ("mobile",),
    "numbers.list": (),
    "numbers.get": (E164,),
    "numbers.rent": ("gb-mobile",),
    "numbers.end_rental": (E164,),
    "numbers.set_sms_action": (E164, "forward", OTHER),
    "messages.send": (E164, OTHER, "hello"),
}

GROUP = DOC_GROUP
# The documented number, as a number of this suite's (E164) sent the message.
NUMBER = {**DOC_NUMBER, "e164": E164, "messages": [{**DOC_MESSAGE, "from": E164}]}

# A valid success body for every operation (None: no content).
BODIES: dict[str, Any] = {
    "account.get": {"balance": 12345},
    "addresses.list": [{"address": "1abc"}, {"address": "1def"}],
    "addresses.create": {"address": "1new"},
    "groups.list": [GROUP],
    "numbers.list": [NUMBER],
    "numbers.get": NUMBER,
    "numbers.rent": NUMBER,
    "numbers.end_rental": None,
    "numbers.set_sms_action": None,
    "messages.send": None,
}

OPS: dict[str, Operation[Any, Any, Any]] = {op.name: op for op in OPERATIONS}


def success(name: str) -> httpx.Response:
    """The documented success response of an operation."""
    op = OPS[name]
    body = BODIES[name]
    if body is None:
        return httpx.Response(op.success_status)
    return httpx.Response(op.success_status, json=body)


@dataclasses.dataclass
class Harness:
    """One client over a MockTransport, with what it sent and how long it waited."""

    kind: str
    client: Any  # dtmf.Client | dtmf.AsyncClient
    http: httpx.Client | httpx.AsyncClient
    requests: list[httpx.Request]
    sleeps: list[float]

    @property
    def attempts(self) -> int:
        return len(self.requests)

    def call(self, name: str, *args: Any, client: Any = None, **kwargs: Any) -> Any:
        """Run operation `name` ('numbers.get') through the client, sync or async alike."""
        target = self.client if client is None else client
        resource, method = name.split(".")
        function = getattr(getattr(target, resource), method)
        if self.kind == "sync":
            return function(*args, **kwargs)

        async def run() -> Any:
            return await function(*args, **kwargs)

        return asyncio.run(run())

    def call_default(self, name: str, **kwargs: Any) -> Any:
        """Run operation `name` with valid arguments."""
        return self.call(name, *ARGS[name], **kwargs)

    def close(self) -> None:
        http = self.http
        if isinstance(http, httpx.Client):
            self.client.close()
            http.close()
        else:

            async def close() -> None:
                await self.client.aclose()
                await http.aclose()

            asyncio.run(close())


MockClient = Callable[..., Harness]


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    """'sync' or 'async': every test using it runs for both clients."""
    return str(request.param)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every wait the clients ask for, in seconds; nothing really sleeps."""
    recorded: list[float] = []

    def fake_sleep(seconds: float) -> None:
        recorded.append(seconds)

    async def fake_async_sleep(seconds: float) -> None:
        recorded.append(seconds)
        await anyio.lowlevel.checkpoint()

    # The clients call time.sleep and anyio.sleep through their modules.
    monkeypatch.setattr(time, "sleep", fake_sleep)
    monkeypatch.setattr(anyio, "sleep", fake_async_sleep)
    return recorded


def fast_retries(client: Any) -> None:
    """Shrink a client's backoff so that retries cost microseconds."""
    options = client._options
    faster = dataclasses.replace(
        options,
        retry=dataclasses.replace(options.retry, initial_delay=0.001, max_delay=0.002),
    )
    client._setup(faster, client._lifecycle)  # a new requester and resources with them


@pytest.fixture
def mock_client(sleeps: list[float]) -> Iterator[MockClient]:
    """A factory: mock_client(handler, kind="sync", **client_options) -> Harness."""
    made: list[Harness] = []

    def make(handler: Handler, kind: str = "sync", **options: Any) -> Harness:
        requests: list[httpx.Request] = []

        def recording(request: httpx.Request) -> httpx.Response:
            requests.append(request)
            return handler(request)

        options.setdefault("base_url", BASE_URL)
        token = options.pop("token", TOKEN)
        transport = httpx.MockTransport(recording)
        http: httpx.Client | httpx.AsyncClient
        if kind == "sync":
            http = httpx.Client(transport=transport)
            client: Any = dtmf.Client(token, http_client=http, **options)
        else:
            http = httpx.AsyncClient(transport=transport)
            client = dtmf.AsyncClient(token, http_client=http, **options)
        fast_retries(client)
        harness = Harness(kind, client, http, requests, sleeps)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No DTMF_* environment variables."""
    monkeypatch.delenv("DTMF_TOKEN", raising=False)
    monkeypatch.delenv("DTMF_BASE_URL", raising=False)


def elapsed(function: Callable[[], Any]) -> tuple[float, Any]:
    """How long `function()` took, and what it returned or raised."""
    started = time.monotonic()
    try:
        result: Any = function()
    except Exception as exc:
        result = exc
    return time.monotonic() - started, result


# The fast lane (`make check`, `pytest -m "not slow"`) leaves out what starts other
# processes (the CLI, type checkers, editors, docs blocks, examples, workers), runs
# the whole fault matrix, or serves the reference server on a loopback port; a test
# that waits out a real timeout says so with its own `@pytest.mark.slow`.
SLOW_MODULES = frozenset(
    {
        "test_cli",
        "test_cli_listen",
        "test_cli_rent_for",
        "test_cli_rentals",
        "test_dedupe_workers",
        "test_docs_blocks",
        "test_doctor",
        "test_ecosystem",
        "test_editors",
        "test_emulator_control",
        "test_examples",
        "test_extras_and_entry_points",
        "test_fault_matrix",
        "test_fault_scenarios",
        "test_fuzz",
        "test_inbound_e2e",
        "test_typing",
    }
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        module = item.path.stem
        callspec = getattr(item, "callspec", None)
        on_a_port = callspec is not None and "port" in re.split(r"[-/]", callspec.id)
        if module in SLOW_MODULES or on_a_port:
            item.add_marker(pytest.mark.slow)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """The fault matrix's totals after a run that included it; the whole table with -v."""
    import sys

    module = sys.modules.get("tests.test_fault_matrix")
    results = getattr(module, "RESULTS", None)
    if not results:
        return
    from tests import faultmatrix

    terminalreporter.write_sep("-", "fault matrix (make faults prints it alone)")
    if config.getoption("verbose") > 0:
        terminalreporter.write_line(faultmatrix.render(results))
    else:
        for line in faultmatrix.totals_lines(results):
            terminalreporter.write_line(line)


@pytest.fixture(scope="module")
def base_url(emu: Emulator) -> Iterator[str]:
    """The test module's own `emu` fixture served on a loopback port, control API on."""
    with emu.serve(control=True) as url:
        yield url


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server on a loopback port for the whole run (skipped when not installed)."""
    server = RedisServer.started(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()
