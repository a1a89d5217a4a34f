"""The fault-injection matrix over the reference server: `make faults`.

Every operation of the API meets every fault, through both clients, in-process
and over a real port. Each cell starts from a fresh seeded `Emulator` with an
account and a rented number (set up through a clean client), schedules one fault,
makes one call, then reads the server's state back through a clean client.

`run_cell()` runs one cell and returns what happened; `expect()` says what should
have happened; tests/test_fault_matrix.py asserts one against the other per cell,
and `python -m tests.faultmatrix` prints the whole matrix as a table with totals.

A cell reads::

    ok 2        succeeded; the server saw 2 requests for the operation (one retry)
    5xx? 1      InternalServerError after 1 request, may_have_succeeded true
    conn 3      APIConnectionError after 3 requests (the server saw them all)
    ...*        a paid or creating action (send, rent, new address) took effect once
    ...!!       it took effect twice or more: a duplicate (must never happen)
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

import dtmf
from dtmf._contract import OPERATIONS, Retry
from dtmf.testing import Emulator
from dtmf.testing._asgi_app import ASGIApp
from dtmf.testing._serving import serve_in_thread

TOKEN = "fault-matrix-token-7f3c9a"
SEED = 1234
BALANCE = 5_000_000
GROUP = "gb-mobile"
FRIEND = "+447700900123"
CONTENT = "fault matrix probe"

TIMEOUT = 5.0
"""Each request's timeout in the cells that do not test timeouts."""
SHORT_TIMEOUT = 0.2
"""The client's timeout in the read-timeout cells ..."""
DELAY = 0.4
"""... and how long the server then sits on the request."""

Kind = Literal["sync", "async"]
Wire = Literal["in-process", "port"]

OPS = {op.name: op for op in OPERATIONS}
NAMES = tuple(OPS)
PAID = frozenset(op.name for op in OPERATIONS if op.retry is Retry.NEVER_TWICE)
STATEFUL = PAID | {"numbers.end_rental", "numbers.set_sms_action"}


@dataclass(frozen=True)
class Transport:
    kind: Kind
    wire: Wire

    def __str__(self) -> str:
        return f"{self.kind}/{self.wire}"


KINDS: tuple[Kind, ...] = ("sync", "async")
WIRES: tuple[Wire, ...] = ("in-process", "port")
TRANSPORTS = tuple(Transport(kind, wire) for wire in WIRES for kind in KINDS)


@dataclass(frozen=True)
class Fault:
    """One column of the matrix: what the server is told to do (`Faults.add` arguments)."""

    name: str
    label: str  # the table's column header
    options: Mapping[str, Any] = field(default_factory=dict[str, Any])
    timeout: float = TIMEOUT

    def __str__(self) -> str:
        return self.name


FAULTS = (
    Fault("5xx once", "5xx", {"status": 503}),
    Fault("5xx always", "5xx-all", {"status": 500, "always": True}),
    Fault("429 retry-after", "429", {"status": 429, "retry_after": 0.01}),
    # In-process the connection is refused every time; on a port nothing listens.
    Fault("refused", "refused", {"drop": "before", "always": True}),
    # In-process a refused connection (provably never sent); on a port the server
    # reads the request and hangs up before acting: the client cannot tell that
    # from a drop after acting.
    Fault("drop before", "drop<", {"drop": "before"}),
    Fault("drop after", "drop>", {"drop": "after"}),
    Fault("read timeout", "timeout", {"delay": DELAY}, timeout=SHORT_TIMEOUT),
    Fault("truncated body", "trunc", {"body": "truncated"}),
    Fault("html body", "html", {"body": "html"}),
    Fault("wrong types", "types", {"body": "wrong_types"}),
    Fault("extra fields", "extra", {"body": "extra_fields"}),
)

CELLS = [(t, name, f) for t in TRANSPORTS for name in NAMES for f in FAULTS]


@dataclass(frozen=True)
class Expected:
    """What a cell should end with."""

    error: type[dtmf.DTMFError] | None
    requests: int
    """Requests for the operation the server saw during the call."""
    may_have_succeeded: bool = False
    effects: int | None = None
    """For writes: how often the action took effect (None for reads)."""


def expect(transport: Transport, name: str, fault: Fault) -> Expected:
    """The expected end of a cell: the retry rules of README "Timeouts and retries"."""
    paid = name in PAID
    has_body = OPS[name].result.has_body
    port = transport.wire == "port"
    done = 1 if name in STATEFUL else None  # the action happened once
    undone = 0 if name in STATEFUL else None  # ... or not at all
    kind = fault.name

    if kind in ("5xx once", "html body"):  # the server answered 5xx without acting
        if paid:
            return Expected(dtmf.InternalServerError, 1, True, undone)
        return Expected(None, 2, effects=done)
    if kind == "5xx always":
        if paid:
            return Expected(dtmf.InternalServerError, 1, True, undone)
        return Expected(dtmf.InternalServerError, 3, effects=undone)
    if kind == "429 retry-after":  # the service did not act: any call is retried
        return Expected(None, 2, effects=done)
    if kind == "refused":  # never reached: retried, then a clear "could not connect"
        return Expected(dtmf.APIConnectionError, 0 if port else 3, effects=undone)
    if kind == "drop before":
        if port and paid:
            return Expected(dtmf.APIConnectionError, 1, True, undone)
        return Expected(None, 2, effects=done)
    if kind == "drop after":  # the server acted, the answer was lost
        if paid:
            return Expected(dtmf.APIConnectionError, 1, True, done)
        return Expected(None, 2, effects=done)
    if kind == "read timeout":
        # In-process the transport gives up without the server acting; on a port the
        # server acts once its delay is over, after the client has given up.
        if paid:
            return Expected(dtmf.APITimeoutError, 1, True, done if port else undone)
        return Expected(None, 2, effects=done)
    if kind in ("truncated body", "wrong types"):  # a 2xx the client cannot read
        if has_body:
            return Expected(dtmf.APIResponseValidationError, 1, paid, done)
        return Expected(None, 1, effects=done)  # no body to spoil
    if kind == "extra fields":
        return Expected(None, 1, effects=done)
    raise ValueError(f"no expectation for fault {fault}")


@dataclass
class CellResult:
    """What one call did under one fault."""

    transport: Transport
    operation: str
    fault: Fault
    error: BaseException | None
    requests: int
    """Requests for the operation the server saw during the call."""
    spoiled: int
    """Of those, how many a fault spoiled."""
    effects: int | None
    seconds: float

    @property
    def may_have_succeeded(self) -> bool:
        return bool(getattr(self.error, "may_have_succeeded", False))

    @property
    def clear(self) -> bool:
        """A success, or a DTMFError that names the operation."""
        error = self.error
        if error is None:
            return True
        return (
            isinstance(error, dtmf.APIError)
            and error.operation == self.operation
            and self.operation in str(error)
        )

    @property
    def duplicate(self) -> bool:
        return self.operation in PAID and (self.effects or 0) > 1

    @property
    def outcome(self) -> str:
        return "ok" if self.error is None else type(self.error).__name__

    def code(self) -> str:
        """The cell as the table shows it."""
        error = self.error
        if error is None:
            text = "ok"
        elif not self.clear:
            text = "UNCLEAR:" + type(error).__name__
        else:
            text = _SHORT.get(type(error), type(error).__name__)
        if self.may_have_succeeded:
            text += "?"
        text += f" {self.requests}"
        if self.operation in PAID and self.effects:
            text += "*" if self.effects == 1 else "!!"
        return text

    def check(self) -> list[str]:
        """How this result differs from `expect()` (empty: as expected)."""
        want = expect(self.transport, self.operation, self.fault)
        problems: list[str] = []
        got_class = None if self.error is None else type(self.error)
        if got_class is not want.error:
            problems.append(
                f"outcome {self.outcome} ({self.error!r}), expected "
                f"{want.error.__name__ if want.error else 'ok'}"
            )
        elif self.error is not None:
            if not self.clear:
                problems.append(f"the error does not name {self.operation}: {self.error}")
            if self.may_have_succeeded is not want.may_have_succeeded:
                problems.append(
                    f"may_have_succeeded={self.may_have_succeeded}, expected "
                    f"{want.may_have_succeeded}"
                )
            if self.may_have_succeeded and not (
                "may or may not" in str(self.error) and "check" in str(self.error)
            ):
                problems.append(f"the error does not say how to check: {self.error}")
        if self.requests != want.requests:
            problems.append(f"the server saw {self.requests} requests, expected {want.requests}")
        if self.effects != want.effects:
            problems.append(f"the action took effect {self.effects} times, expected {want.effects}")
        return problems


_SHORT: dict[type[BaseException], str] = {
    dtmf.InternalServerError: "5xx",
    dtmf.RateLimitError: "429",
    dtmf.APIConnectionError: "conn",
    dtmf.APITimeoutError: "timeout",
    dtmf.APIResponseValidationError: "body",
}


# Serving ------------------------------------------------------------------------


class SharedPort:
    """One uvicorn on a loopback port that serves whichever emulator the current cell set.

    Starting and stopping a server per cell costs about 0.3 s; a cell still gets a
    fresh emulator, served by the same ASGI application `Emulator.serve()` runs.
    """

    def __init__(self) -> None:
        self.target: ASGIApp | None = None
        self.base_url = ""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert self.target is not None, "no emulator set"
        await self.target(scope, receive, send)

    @contextlib.contextmanager
    def serving(self) -> Generator[SharedPort, None, None]:
        with serve_in_thread(self, "127.0.0.1", 0) as base_url:
            self.base_url = base_url
            yield self

    @contextlib.contextmanager
    def serve(self, emu: Emulator) -> Generator[str, None, None]:
        self.target = emu.app
        try:
            yield self.base_url
        finally:
            self.target = None


def closed_port_url() -> str:
    """A loopback base URL where nothing listens: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v1"


# One cell -----------------------------------------------------------------------


def _fast_retries(client: dtmf.Client | dtmf.AsyncClient) -> None:
    """Shrink the backoff (as tests/conftest.py does): retries cost milliseconds."""
    options = client._options  # pyright: ignore[reportPrivateUsage]
    faster = dataclasses.replace(
        options, retry=dataclasses.replace(options.retry, initial_delay=0.001, max_delay=0.002)
    )
    client._setup(faster, client._lifecycle)  # pyright: ignore[reportPrivateUsage]


def _arguments(name: str, e164: str) -> tuple[Any, ...]:
    return {
        "account.get": (),
        "addresses.list": (),
        "addresses.create": (),
        "groups.list": ("mobile",),
        "numbers.list": (),
        "numbers.get": (e164,),
        "numbers.rent": (GROUP,),
        "numbers.end_rental": (e164,),
        "numbers.set_sms_action": (e164, "forward", FRIEND),
        "messages.send": (e164, FRIEND, CONTENT),
    }[name]


def _effects(emu: Emulator, name: str, e164: str, addresses_before: int) -> int | None:
    """How often the cell's write took effect, read back through a clean client."""
    if name not in STATEFUL:
        return None
    with emu.client(TOKEN) as clean:
        if name == "messages.send":
            number = clean.numbers.get(e164)
            return sum(m.content == CONTENT and m.to == FRIEND for m in number.messages)
        if name == "numbers.rent":
            return len(clean.numbers.list()) - 1  # one was rented by the set-up
        if name == "addresses.create":
            return len(clean.addresses.list()) - addresses_before
        if name == "numbers.end_rental":
            return int(all(n.e164 != e164 for n in clean.numbers.list()))
        return int(clean.numbers.get(e164).sms_forwarded_to == FRIEND)  # set_sms_action


def _call(
    transport: Transport,
    emu: Emulator,
    base_url: str | None,
    timeout: float,
    name: str,
    args: tuple[Any, ...],
) -> BaseException | None:
    """Make one call through a new client of the transport's kind; what it raised, if anything."""
    resource, method = name.split(".")
    if transport.kind == "sync":
        client = (
            emu.client(TOKEN, timeout=timeout)
            if base_url is None
            else dtmf.Client(TOKEN, base_url=base_url, timeout=timeout)
        )
        with client:
            _fast_retries(client)
            try:
                getattr(getattr(client, resource), method)(*args)
            except Exception as exc:
                return exc
        return None

    async def run() -> BaseException | None:
        client = (
            emu.async_client(TOKEN, timeout=timeout)
            if base_url is None
            else dtmf.AsyncClient(TOKEN, base_url=base_url, timeout=timeout)
        )
        try:
            async with client:
                _fast_retries(client)
                try:
                    await getattr(getattr(client, resource), method)(*args)
                except Exception as exc:
                    return exc
            return None
        finally:
            await emu.aclose()

    return asyncio.run(run())


def run_cell(
    transport: Transport, name: str, fault: Fault, *, port: SharedPort | None = None
) -> CellResult:
    """Run one cell on a fresh emulator. On a port, `port` saves starting a server per cell."""
    started = time.monotonic()
    with Emulator(seed=SEED) as emu:
        emu.add_account(TOKEN, balance=BALANCE)
        with emu.client(TOKEN) as setup:
            e164 = setup.numbers.rent(GROUP).e164
            addresses_before = len(setup.addresses.list())
        emu.faults.add(name, **fault.options)
        first = len(emu.requests)
        with contextlib.ExitStack() as stack:
            base_url: str | None = None
            if transport.wire == "port":
                if fault.name == "refused":
                    base_url = closed_port_url()
                elif port is not None:
                    base_url = stack.enter_context(port.serve(emu))
                else:
                    base_url = stack.enter_context(emu.serve(port=0))
            called = time.monotonic()
            error = _call(transport, emu, base_url, fault.timeout, name, _arguments(name, e164))
            if fault.options.get("delay") and transport.wire == "port" and name in PAID:
                # The server acts once its delay is over, whoever still listens: wait
                # for it before counting what the paid action did.
                time.sleep(max(0.0, called + DELAY + 0.15 - time.monotonic()))
        seen = [r for r in emu.requests[first:] if r.operation == name]
        emu.faults.clear()
        effects = _effects(emu, name, e164, addresses_before)
    return CellResult(
        transport,
        name,
        fault,
        error,
        requests=len(seen),
        spoiled=sum(r.fault is not None for r in seen),
        effects=effects,
        seconds=time.monotonic() - started,
    )


def run_matrix(
    cells: Iterable[tuple[Transport, str, Fault]] = CELLS,
    progress: Callable[[CellResult], None] | None = None,
) -> list[CellResult]:
    results: list[CellResult] = []
    with SharedPort().serving() as port:
        for transport, name, fault in cells:
            result = run_cell(transport, name, fault, port=port)
            results.append(result)
            if progress is not None:
                progress(result)
    return results


# The table ----------------------------------------------------------------------

LEGEND = (
    "cell: outcome ('ok' or the error: 5xx InternalServerError, 429 RateLimitError, conn "
    "APIConnectionError,\n      timeout APITimeoutError, body APIResponseValidationError), "
    "'?' may_have_succeeded,\n      the requests the server saw, '*' the paid/creating action "
    "happened once ('!!' twice)\n"
    "faults: " + ", ".join(f"{f.label} = {f.name}" for f in FAULTS)
)


def render(results: Iterable[CellResult]) -> str:
    """The matrix (one grid per wire, sync and async merged when they agree) and totals."""
    results = list(results)
    lines: list[str] = []
    for wire in WIRES:
        cells: dict[tuple[str, str], dict[str, str]] = {}
        for r in results:
            if r.transport.wire == wire:
                cells.setdefault((r.operation, r.fault.name), {})[r.transport.kind] = r.code()
        if not cells:
            continue
        kinds = [k for k in KINDS if any(r.transport == Transport(k, wire) for r in results)]
        widths = [
            max(len(f.label), *(len(_merge(cells.get((n, f.name), {}))) for n in NAMES))
            for f in FAULTS
        ]
        head = f"{wire} ({' + '.join(kinds)}; 'a|b' where sync and async differ)"
        lines += ["", head, "-" * len(head)]
        name_width = max(len(n) for n in NAMES)
        lines.append(
            " ".join(
                [" " * name_width, *(f.label.ljust(w) for f, w in zip(FAULTS, widths, strict=True))]
            )
        )
        for name in NAMES:
            row = [
                _merge(cells.get((name, f.name), {})).ljust(w)
                for f, w in zip(FAULTS, widths, strict=True)
            ]
            lines.append(" ".join([name.ljust(name_width), *row]).rstrip())
    lines += ["", LEGEND, "", *totals_lines(results)]
    return "\n".join(lines)


def _merge(codes: Mapping[str, str]) -> str:
    values = [codes[k] for k in ("sync", "async") if k in codes]
    return values[0] if len(set(values)) == 1 else "|".join(values)


def totals(results: Iterable[CellResult]) -> Counter[str]:
    count: Counter[str] = Counter()
    for r in results:
        count["cells"] += 1
        count["spoiled"] += r.spoiled
        if r.error is None:
            count["recovered"] += 1
            count["after a retry"] += r.requests > 1
        elif r.clear:
            count["failed clearly"] += 1
            count["may have succeeded"] += r.may_have_succeeded
        else:
            count["unclear"] += 1
        count["duplicates"] += r.duplicate
        count["unexpected"] += bool(r.check())
    return count


def totals_lines(results: Iterable[CellResult]) -> list[str]:
    results = list(results)
    c = totals(results)
    transports = len({r.transport for r in results})
    seconds = sum(r.seconds for r in results)
    return [
        f"faults injected:      {c['cells']} cells ({transports} transports x {len(NAMES)} "
        f"operations x {len(FAULTS)} faults), {c['spoiled']} requests spoiled",
        f"calls recovered:      {c['recovered']} ({c['after a retry']} after a retry, the rest "
        "unharmed by the fault)",
        f"calls failed clearly: {c['failed clearly']} (a DTMFError naming the operation; "
        f"{c['may have succeeded']} say the action may have happened and how to check)",
        f"unclear failures:     {c['unclear']}",
        f"duplicates:           {c['duplicates']}",
        f"unexpected outcomes:  {c['unexpected']} (against tests/faultmatrix.py expect())",
        f"time:                 {seconds:.1f} s",
    ]


# Hostile servers: the hard bounds of a call (issue 14) ---------------------------

HOSTILE_CALL_TIMEOUT = 1.5
HOSTILE_POOL_CALLS = 4
"""Calls at once on a 1-connection pool to the 'slow' server (1 s per request)."""
MEMORY_ALLOWANCE = 8 * 1024 * 1024
"""What a capped read may hold beyond the cap: network reads, parser, the error."""


@dataclass
class HostileResult:
    """One call (or, for the pool, the slowest of several) against a hostile server."""

    case: str
    transport: Transport
    error: BaseException | None
    seconds: float
    peak: int
    """Peak traced Python memory during the call, in bytes."""

    @property
    def past(self) -> float:
        """Seconds the call ran past its call_timeout (0 if it ended in time)."""
        return max(0.0, self.seconds - HOSTILE_CALL_TIMEOUT)

    @property
    def clear(self) -> bool:
        error = self.error
        return error is None or (
            isinstance(error, dtmf.APIError)
            and error.operation == "account.get"
            and "account.get" in str(error)
        )

    def problems(self) -> list[str]:
        from dtmf._core import DEFAULT_MAX_RESPONSE_SIZE

        found: list[str] = []
        if not self.clear:
            found.append(f"unclear failure {self.error!r}")
        if self.past > 1.0:
            found.append(f"ran {self.past:.2f} s past call_timeout")
        if self.peak > DEFAULT_MAX_RESPONSE_SIZE + MEMORY_ALLOWANCE:
            found.append(f"peak memory {self.peak / 2**20:.1f} MiB")
        return found


HOSTILE_CASES = {
    "endless body": "endless",
    "gzip bomb": "gzip-bomb",
    "trickled body": "trickle",
    "endless 100 Continue": "continue",
    "pool wait": "slow",
}


def _hostile_client(transport: Transport, behaviour: Any, base_url: str) -> Any:
    from tests.hostile import async_hostile_transport, hostile_transport

    options: dict[str, Any] = {"call_timeout": HOSTILE_CALL_TIMEOUT, "max_retries": 0}
    if behaviour == "slow":
        options["limits"] = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    if transport.wire == "in-process":
        if transport.kind == "sync":
            http = httpx.Client(transport=hostile_transport(behaviour))
            return dtmf.Client(TOKEN, http_client=http, **options)
        ahttp = httpx.AsyncClient(transport=async_hostile_transport(behaviour))
        return dtmf.AsyncClient(TOKEN, http_client=ahttp, **options)
    if transport.kind == "sync":
        return dtmf.Client(TOKEN, base_url=base_url, **options)
    return dtmf.AsyncClient(TOKEN, base_url=base_url, **options)


def run_hostile(case: str, transport: Transport) -> HostileResult:
    """One hostile cell: the call's outcome, its time and its peak memory."""
    import threading
    import tracemalloc

    from tests.hostile import HostileServer, warm_up

    behaviour: Any = HOSTILE_CASES[case]
    calls = HOSTILE_POOL_CALLS if behaviour == "slow" else 1
    errors: list[BaseException] = []
    durations: list[float] = []

    def record(started: float, error: BaseException | None) -> None:
        durations.append(time.monotonic() - started)
        if error is not None:
            errors.append(error)

    warm_up()  # outside the measured call
    with HostileServer(behaviour) as server:
        client = _hostile_client(transport, behaviour, server.base_url)
        tracemalloc.start()
        try:
            if transport.kind == "sync":

                def call() -> None:
                    started = time.monotonic()
                    try:
                        client.account.get()
                    except Exception as exc:
                        record(started, exc)
                    else:
                        record(started, None)

                threads = [threading.Thread(target=call) for _ in range(calls)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                client.close()
            else:

                async def acall() -> None:
                    started = time.monotonic()
                    try:
                        await client.account.get()
                    except Exception as exc:
                        record(started, exc)
                    else:
                        record(started, None)

                async def run() -> None:
                    async with client:
                        await asyncio.gather(*(acall() for _ in range(calls)))

                asyncio.run(run())
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    error = next((e for e in errors if not isinstance(e, dtmf.APIError)), None)
    return HostileResult(
        case, transport, error or (errors[0] if errors else None), max(durations), peak
    )


def hostile_cells() -> list[tuple[str, Transport]]:
    from tests.hostile import IN_PROCESS

    return [
        (case, t)
        for case, behaviour in HOSTILE_CASES.items()
        for t in TRANSPORTS
        if t.wire == "port" or behaviour in IN_PROCESS
    ]


def render_hostile(results: Iterable[HostileResult]) -> str:
    from dtmf._core import DEFAULT_MAX_RESPONSE_SIZE

    results = list(results)
    cap = DEFAULT_MAX_RESPONSE_SIZE / 2**20
    head = (
        f"hostile servers (call_timeout={HOSTILE_CALL_TIMEOUT:g} s, max_response_size="
        f"{cap:g} MiB, max_retries=0; the pool wait is {HOSTILE_POOL_CALLS} calls on one "
        "connection to a server taking 1 s each: the slowest counts)"
    )
    lines = ["", head, "-" * len(head)]
    lines.append(f"{'case':21} {'transport':17} {'outcome':28} {'past call_timeout':>17} peak")
    for r in results:
        outcome = "ok" if r.error is None else type(r.error).__name__
        if getattr(r.error, "may_have_succeeded", False):
            outcome += "?"
        flag = "  <- " + "; ".join(r.problems()) if r.problems() else ""
        lines.append(
            f"{r.case:21} {r.transport!s:17} {outcome:28} {r.past:16.2f}s "
            f"{r.peak / 2**20:6.1f} MiB{flag}"
        )
    worst_past = max((r.past for r in results), default=0.0)
    worst_peak = max((r.peak for r in results), default=0) / 2**20
    lines += [
        "",
        f"hostile cells:        {len(results)}, unclear failures "
        f"{sum(not r.clear for r in results)}",
        f"longest past call_timeout: {worst_past:.2f} s (bound: 1 s)",
        f"peak memory:          {worst_peak:.1f} MiB (bound: the {cap:g} MiB cap + "
        f"{MEMORY_ALLOWANCE / 2**20:g} MiB)",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    names = [a for a in argv if a in OPS] or NAMES
    cells = [(t, n, f) for (t, n, f) in CELLS if n in names]
    results = run_matrix(cells)
    print(render(results))
    bad = [r for r in results if r.check() or not r.clear or r.duplicate]
    for r in bad:
        print(f"{r.transport} {r.operation} {r.fault}: {'; '.join(r.check())}", file=sys.stderr)
    # Issue 14's cases (hostile input, listen, the control API), after the grid.
    from tests import faultscenarios

    scenario_failures = faultscenarios.main()
    # The hard bounds of a call: time and size against hostile servers.
    hostile = [run_hostile(case, t) for case, t in hostile_cells()]
    print(render_hostile(hostile))
    return 1 if bad or scenario_failures or any(r.problems() for r in hostile) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
