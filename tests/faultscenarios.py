"""Issue 14's reliability cases as rows of `make faults`, beside the operation x fault grid.

Each row is one hostile input or situation (a timestamp datetime cannot hold,
a lone surrogate, a nan timeout, `dtmf listen` losing a poll or a stop, the
reference server's control API fed bad or cross-origin requests, an access log
meeting a webhook secret); each cell runs it through one transport (sync or
async, in-process or on a port) on a fresh seeded `Emulator` and says whether it
ended as it must: correct behaviour, or the expected clear error. A paid action
(an SMS sent) is counted from the server's state afterwards: never twice.

`run_cell()` runs one cell; tests/test_fault_scenarios.py asserts every cell;
`python -m tests.faultmatrix` prints the table after the grid.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import math
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

import dtmf
from dtmf._asgi import read_body
from dtmf.cli._listen import Delivered, Listener
from dtmf.testing import Emulator, serve_asgi
from dtmf.testing._serving import serve_in_thread
from tests.faultmatrix import KINDS, TRANSPORTS, WIRES, Transport

TOKEN = "fault-scenarios-token-2b8e"
SEED = 4321
FRIEND = "+447700900123"
OUT_OF_RANGE = "9999-12-31T23:59:59-23:59"
SECRET = "s3cret-0f-the-hook"


@dataclass
class Cell:
    """What one row did through one transport."""

    transport: Transport
    row: str
    error: BaseException | None
    expected: bool
    """It ended as the row says it must."""
    clear: bool
    """A success, or a DTMFError / HTTP error answer a user can act on."""
    paid: int
    """SMS sent by the scenario's paid action (a duplicate when > 1)."""
    seconds: float
    detail: str = ""

    @property
    def code(self) -> str:
        text = "ok" if self.error is None else type(self.error).__name__.removesuffix("Error")
        if self.detail:
            text = self.detail
        if not self.clear:
            text = "UNCLEAR:" + text
        if not self.expected:
            text += " (unexpected)"
        return text + ("!!" if self.paid > 1 else "")


class Env:
    """One cell's world: a fresh emulator with an account and a rented number, maybe served.

    `answer`, when set, serves the requests of in-process clients instead of the
    emulator (a hostile server); on a port, `base_url` points at such a server.
    """

    def __init__(self, transport: Transport, emu: Emulator, base_url: str | None) -> None:
        self.transport = transport
        self.emu = emu
        self.base_url = base_url
        self.answer: Callable[[httpx.Request], httpx.Response] | None = None
        with emu.client(TOKEN) as setup:
            self.e164 = setup.numbers.rent("gb-mobile").e164

    def run(self, action: Callable[[Any], Any]) -> Any:
        """`action(client)` with a new client of the transport's kind (awaited when async)."""
        mock = self.answer if self.base_url is None else None
        if self.transport.kind == "sync":
            with contextlib.ExitStack() as stack:
                if self.base_url is not None:
                    client = dtmf.Client(TOKEN, base_url=self.base_url)
                elif mock is not None:
                    http = stack.enter_context(httpx.Client(transport=httpx.MockTransport(mock)))
                    client = dtmf.Client(TOKEN, base_url=self.emu.base_url, http_client=http)
                else:
                    client = self.emu.client(TOKEN)
                with client:
                    return action(client)

        async def run() -> Any:
            async with contextlib.AsyncExitStack() as stack:
                if self.base_url is not None:
                    aclient = dtmf.AsyncClient(TOKEN, base_url=self.base_url)
                elif mock is not None:
                    transport = httpx.MockTransport(mock)
                    http = await stack.enter_async_context(httpx.AsyncClient(transport=transport))
                    aclient = dtmf.AsyncClient(TOKEN, base_url=self.emu.base_url, http_client=http)
                else:
                    aclient = self.emu.async_client(TOKEN)
                try:
                    async with aclient:
                        result = action(aclient)
                        return await result if inspect.isawaitable(result) else result
                finally:
                    await self.emu.aclose()

        return asyncio.run(run())

    def wait(self, **options: Any) -> dtmf.MessageMatch:
        """`numbers.get(e164).wait_for_message(**options)` through the transport's client."""

        def in_sync(client: dtmf.Client) -> dtmf.MessageMatch:
            return client.numbers.get(self.e164).wait_for_message(**options)

        async def in_async(client: dtmf.AsyncClient) -> dtmf.MessageMatch:
            number = await client.numbers.get(self.e164)
            return await number.wait_for_message(**options)

        match: dtmf.MessageMatch = self.run(in_sync if self.transport.kind == "sync" else in_async)
        return match

    def sent(self) -> int:
        """SMS the number has sent (the paid action of the send rows)."""
        with self.emu.client(TOKEN) as clean:
            messages = clean.numbers.get(self.e164).messages
        return sum(not m.is_inbound_to(self.e164) for m in messages)

    def later(self, seconds: float, content: str) -> threading.Timer:
        """An inbound SMS `seconds` from now (while the cell waits)."""
        timer = threading.Timer(
            seconds, self.emu.simulate_inbound_sms, (self.e164, FRIEND, content)
        )
        timer.start()
        return timer


Outcome = tuple[bool, int, str]
"""(as expected, SMS sent by the paid action, detail for the table)."""
Runner = Callable[[Env], Outcome]


@dataclass(frozen=True)
class Row:
    name: str
    must: str
    """What must happen, in words (the table's legend)."""
    run: Runner
    kinds: tuple[str, ...] = KINDS
    wires: tuple[str, ...] = WIRES
    clear_errors: tuple[type[BaseException], ...] = ()
    """The errors this row expects (each a clear outcome)."""
    exclude: tuple[str, ...] = ()
    """Transports that do not apply ('sync/in-process': no sync ASGI client exists)."""


# Hostile bodies: the emulator's own answer with one field spoiled --------------------


@contextlib.contextmanager
def _hostile(env: Env, spoil: Callable[[dict[str, Any]], None]) -> Generator[None, None, None]:
    """Serve `env`'s clients the emulator's answers with their JSON passed through `spoil`."""

    def answer(request: httpx.Request) -> httpx.Response:
        reply = env.emu.handle(
            request.method,
            request.url.path,
            dict(request.url.params),
            {k.lower(): v for k, v in request.headers.items()},
            request.content,
        )
        body = json.loads(reply.body) if reply.body else None
        if isinstance(body, dict):
            spoil(body)
        return httpx.Response(reply.status, json=body)

    if env.base_url is None:
        env.answer = answer
        try:
            yield
        finally:
            env.answer = None
        return

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive) or b""
        url = f"http://server{scope['path']}?{scope['query_string'].decode()}"
        request = httpx.Request(scope["method"], url, headers=scope["headers"], content=body)
        response = answer(request)
        start = {"type": "http.response.start", "status": response.status_code}
        await send({**start, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": response.content})

    served = env.base_url
    with serve_in_thread(app, "127.0.0.1", 0) as base_url:
        env.base_url = base_url
        try:
            yield
        finally:
            env.base_url = served


def _message_out_of_range(env: Env) -> Outcome:
    env.emu.simulate_inbound_sms(env.e164, FRIEND, "hello")

    def spoil(body: dict[str, Any]) -> None:
        for message in body.get("messages", []):
            message["timestamp"] = OUT_OF_RANGE

    with _hostile(env, spoil):
        number = env.run(lambda c: c.numbers.get(env.e164))
    stamps = [m.timestamp for m in number.messages]
    dumped = number.model_dump()["messages"][0]["timestamp"]
    return stamps == [None] and dumped is None, 0, "ok, timestamp None"


def _field_out_of_range(env: Env) -> Outcome:
    def spoil(body: dict[str, Any]) -> None:
        body["assignment_start"] = OUT_OF_RANGE

    with _hostile(env, spoil):
        try:
            env.run(lambda c: c.numbers.get(env.e164))
        except dtmf.APIResponseValidationError as exc:
            named = exc.operation == "numbers.get" and "assignment_start" in str(exc)
            return named, 0, "body: assignment_start"
    return False, 0, "accepted"


# Bad input, refused before the network ------------------------------------------------


def _refused_before_sending(env: Env, action: Callable[[Any], Any], parameter: str) -> Outcome:
    before = len(env.emu.requests)
    try:
        env.run(action)
    except dtmf.InvalidParameterError as exc:
        quiet = len(env.emu.requests) == before
        return exc.parameter == parameter and quiet, env.sent(), f"invalid {parameter}"
    return False, env.sent(), "accepted"


def _surrogate_content(env: Env) -> Outcome:
    return _refused_before_sending(
        env, lambda c: c.messages.send(env.e164, FRIEND, "code \ud800"), "content"
    )


def _surrogate_url(env: Env) -> Outcome:
    url = f"https://example.org/hook/\udc80{SECRET}"
    return _refused_before_sending(
        env, lambda c: c.numbers.set_sms_action(env.e164, "webhook", url), "destination"
    )


def _wait_timeout(value: float) -> Runner:
    def run(env: Env) -> Outcome:
        started = time.monotonic()
        try:
            env.wait(timeout=value)
        except dtmf.InvalidParameterError as exc:
            return (
                exc.parameter == "timeout" and time.monotonic() - started < 1,
                0,
                "invalid timeout",
            )
        return False, 0, "returned"

    return run


# wait_for_message and the reference server's clock ------------------------------------


def _wait_since(now: Callable[[Env], datetime]) -> Runner:
    def run(env: Env) -> Outcome:
        since = now(env)
        env.emu.simulate_inbound_sms(env.e164, FRIEND, "code 4711")
        found = env.wait(timeout=5, since=since, match="4711")
        return found.message.content == "code 4711", 0, "ok, matched"

    return run


def _wait_too_old(env: Env) -> Outcome:
    timer = env.later(0.3, "code 1234")
    try:
        env.wait(timeout=1.0, since=datetime.now(timezone.utc) + timedelta(hours=1))
    except dtmf.MessageTimeoutError as exc:
        counted = "1 new inbound message(s) arrived but were timestamped before since=" in str(exc)
        return counted, 0, "timeout, counted"
    finally:
        timer.join()
    return False, 0, "matched"


def _wait_without_sms(env: Env) -> Outcome:
    with env.emu.client(TOKEN) as setup:
        local = setup.numbers.rent("gb-local").e164
    env.e164 = local
    started = time.monotonic()
    try:
        env.wait(timeout=30)
    except dtmf.InvalidParameterError as exc:
        at_once = time.monotonic() - started < 2
        return at_once and "no SMS support" in str(exc), 0, "invalid number"
    return False, 0, "returned"


# dtmf listen ---------------------------------------------------------------------------


@contextlib.contextmanager
def _listener(
    env: Env, app: Callable[[httpx.Request], httpx.Response]
) -> Generator[Listener, None, None]:
    events: list[object] = []
    client = (
        env.emu.client(TOKEN, max_retries=0)
        if env.base_url is None
        else dtmf.Client(TOKEN, base_url=env.base_url, max_retries=0)
    )
    with client, httpx.Client(transport=httpx.MockTransport(app)) as http:
        baseline = client.numbers.get(env.e164).messages
        listener = Listener(
            client, env.e164, "http://app/hook", events.append, http=http,
            baseline=baseline, poll_interval=0.01,
        )  # fmt: skip
        yield listener


def _thanks(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, text="thanks")


def _listen_outage(env: Env) -> Outcome:
    with _listener(env, _thanks) as listener:
        env.emu.faults.add("numbers.get", status=503)
        env.emu.simulate_inbound_sms(env.e164, FRIEND, "during the outage")
        listener.step()  # the poll fails
        env.emu.faults.clear()
        deadline = time.monotonic() + 5
        while not listener.deliveries and time.monotonic() < deadline:
            time.sleep(listener.step())
        delivered = [d.sms.content for d in listener.deliveries]
    return delivered == ["during the outage"], env.sent(), "ok, delivered"


def _listen_stop_mid_delivery(env: Env) -> Outcome:
    listener_box: list[Listener] = []
    finished_first: list[bool] = []

    def app(request: httpx.Request) -> httpx.Response:
        # The stop request arrives while the app has the message.
        finished_first.append(listener_box[0].request_stop())
        return httpx.Response(200, text="thanks")

    with _listener(env, app) as listener:
        listener_box.append(listener)
        env.emu.simulate_inbound_sms(env.e164, FRIEND, "stop now")
        listener.run()  # returns once stopped
        fates = [(f.sms.content, f.state) for f in listener.fates()]
        replied = [e.reply for e in listener.deliveries if isinstance(e, Delivered)]
    ok = finished_first == [True] and fates == [("stop now", "delivered")] and replied == ["thanks"]
    return ok, env.sent(), "ok, finished"


# The reference server's control API ----------------------------------------------------


def _control(env: Env, content: bytes, **headers: str) -> tuple[int, Any]:
    """POST to the control API: on a port, or in-process through httpx's ASGI transport."""
    app = env.emu.control_app()
    endpoint = headers.pop("endpoint", "credit")
    if env.base_url is not None:
        with serve_in_thread(app, "127.0.0.1", 0, prefix="") as root:
            url = f"{root}/_emulator/{endpoint}"
            if env.transport.kind == "sync":
                response = httpx.post(url, content=content, headers=headers, trust_env=False)
            else:

                async def post() -> httpx.Response:
                    async with httpx.AsyncClient(trust_env=False) as http:
                        return await http.post(url, content=content, headers=headers)

                response = asyncio.run(post())
    else:  # in-process: httpx's ASGI transport, async only

        async def post() -> httpx.Response:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as http:
                return await http.post(f"/_emulator/{endpoint}", content=content, headers=headers)

        response = asyncio.run(post())
    return response.status_code, response.json()


def _control_row(content: bytes, status: int, **headers: str) -> Runner:
    def run(env: Env) -> Outcome:
        before = env.emu.account(TOKEN).balance
        got, body = _control(env, content.replace(b"TOKEN", TOKEN.encode()), **headers)
        untouched = env.emu.account(TOKEN).balance <= before
        return got == status and "error" in body and untouched, 0, f"HTTP {got}"

    return run


_CREDIT = b'{"token": "TOKEN", "satoshis": 1000}'
_JSON = {"Content-Type": "application/json"}


# Logs and interruptions ------------------------------------------------------------------


def _access_log(env: Env) -> Outcome:
    access = logging.getLogger("uvicorn.access")
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler = Collect()
    app = dtmf.webhooks.asgi_app(lambda sms: "ok", secret=SECRET)
    payload = {"id": 1, "e164": env.e164, "sender": FRIEND, "content": "hi"}
    with serve_asgi(app) as root:
        level, handlers = access.level, access.handlers
        access.setLevel(logging.INFO)
        access.handlers = [handler]  # collected, not printed over the table
        try:
            with httpx.Client(trust_env=False) as http:
                http.post(f"{root}/hook/{SECRET}", json=payload)
                http.post(f"{root}/hook?secret={SECRET}", json={**payload, "id": 2})
        finally:
            access.handlers = handlers
            access.setLevel(level)
    return len(lines) == 2 and not any(SECRET in line for line in lines), 0, "no secret"


def default_sigint() -> None:
    """In a child: Ctrl-C as a terminal delivers it (a background job inherits it ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupted_send(env: Env) -> Outcome:
    assert env.base_url is not None
    env.emu.faults.add("messages.send", delay=2.0)
    process = subprocess.Popen(
        [sys.executable, "-m", "dtmf.cli", "send", env.e164, FRIEND, "hello"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"DTMF_TOKEN": TOKEN, "DTMF_BASE_URL": env.base_url, "NO_PROXY": "*", "NO_COLOR": "1"},
        preexec_fn=default_sigint,
    )
    deadline = time.monotonic() + 15
    while not any(r.operation == "messages.send" for r in env.emu.requests):
        if time.monotonic() > deadline:
            process.kill()
            process.communicate()
            return False, env.sent(), "never sent"
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=15)
    time.sleep(2.2)  # the server acts once its delay is over: count what it did
    said = "may or may not have been sent" in stderr and process.returncode == 130
    return said, env.sent(), "interrupted, may have gone"


ROWS = (
    Row(
        "message timestamp past 9999",
        "numbers.get succeeds; the timestamp is None",
        _message_out_of_range,
    ),
    Row(
        "assignment_start past 9999",
        "APIResponseValidationError naming the field",
        _field_out_of_range,
        clear_errors=(dtmf.APIResponseValidationError,),
    ),
    Row(
        "lone surrogate in content",
        "InvalidParameterError('content'), nothing sent",
        _surrogate_content,
        clear_errors=(dtmf.InvalidParameterError,),
    ),
    Row(
        "lone surrogate in webhook URL",
        "InvalidParameterError('destination')",
        _surrogate_url,
        clear_errors=(dtmf.InvalidParameterError,),
    ),
    Row(
        "wait timeout=nan",
        "InvalidParameterError('timeout') at once",
        _wait_timeout(math.nan),
        clear_errors=(dtmf.InvalidParameterError,),
    ),
    Row(
        "wait timeout=inf",
        "InvalidParameterError('timeout') at once",
        _wait_timeout(math.inf),
        clear_errors=(dtmf.InvalidParameterError,),
    ),
    Row(
        "wait since=emu.clock.now()",
        "matches the SMS that arrives",
        _wait_since(lambda env: env.emu.clock.now()),
    ),
    Row(
        "wait since=datetime.now(UTC)",
        "matches the SMS that arrives",
        _wait_since(lambda env: datetime.now(timezone.utc)),
    ),
    Row(
        "wait, SMS older than since",
        "MessageTimeoutError counting it",
        _wait_too_old,
        clear_errors=(dtmf.MessageTimeoutError,),
    ),
    Row(
        "wait on a number without SMS",
        "InvalidParameterError at once",
        _wait_without_sms,
        clear_errors=(dtmf.InvalidParameterError,),
    ),
    Row("listen: SMS during a failed poll", "delivered once", _listen_outage, kinds=("sync",)),
    Row(
        "listen: stop during a delivery",
        "finished, reply sent once, fate reported",
        _listen_stop_mid_delivery,
        kinds=("sync",),
    ),
    Row(
        "control: text/plain POST",
        "415, nothing credited",
        _control_row(_CREDIT, 415, **{"Content-Type": "text/plain"}),
        exclude=("sync/in-process",),
    ),
    Row(
        "control: cross-origin",
        "403, nothing credited",
        _control_row(_CREDIT, 403, Origin="https://evil.example", **_JSON),
        exclude=("sync/in-process",),
    ),
    Row(
        "control: nested JSON",
        "400",
        _control_row(b"[" * 30_000 + b"]" * 30_000, 400, **_JSON),
        exclude=("sync/in-process",),
    ),
    Row(
        "control: hours=1e308",
        "400",
        _control_row(b'{"hours": 1e308}', 400, endpoint="clock/advance", **_JSON),
        exclude=("sync/in-process",),
    ),
    Row(
        "serve_asgi access log",
        "no webhook secret in any line",
        _access_log,
        kinds=("sync",),
        wires=("port",),
    ),
    Row(
        "dtmf send interrupted",
        "exit 130, says the SMS may have gone; sent at most once",
        _interrupted_send,
        kinds=("sync",),
        wires=("port",),
    ),
)

CELLS = [
    (t, row)
    for row in ROWS
    for t in TRANSPORTS
    if t.kind in row.kinds and t.wire in row.wires and str(t) not in row.exclude
]


def run_cell(transport: Transport, row: Row) -> Cell:
    """One row through one transport, on a fresh emulator."""
    started = time.monotonic()
    with Emulator(seed=SEED) as emu:
        emu.add_account(TOKEN, balance=5_000_000)
        with contextlib.ExitStack() as stack:
            base_url = None
            if transport.wire == "port":
                base_url = stack.enter_context(emu.serve(port=0))
            env = Env(transport, emu, base_url)
            error: BaseException | None = None
            try:
                expected, paid, detail = row.run(env)
            except Exception as exc:  # an escape: unclear unless the row expects it
                error, expected, paid, detail = exc, False, 0, ""
    clear = error is None or isinstance(error, row.clear_errors)
    return Cell(
        transport, row.name, error, expected, clear, paid, time.monotonic() - started, detail
    )


def run_all(progress: Callable[[Cell], None] | None = None) -> list[Cell]:
    cells: list[Cell] = []
    for transport, row in CELLS:
        cell = run_cell(transport, row)
        cells.append(cell)
        if progress is not None:
            progress(cell)
    return cells


def render(cells: Iterable[Cell]) -> str:
    """The rows as a table (one column per transport), the legend and the totals."""
    cells = list(cells)
    by = {(c.row, str(c.transport)): c.code for c in cells}
    columns = [str(t) for t in TRANSPORTS]
    name_width = max(len(r.name) for r in ROWS)
    widths = [max(len(col), *(len(by.get((r.name, col), "-")) for r in ROWS)) for col in columns]
    head = "issue 14 cases (each row: what must happen; '-' not applicable)"
    lines = ["", head, "-" * len(head)]
    lines.append(
        " ".join([" " * name_width, *(c.ljust(w) for c, w in zip(columns, widths, strict=True))])
    )
    for row in ROWS:
        cells_text = [
            by.get((row.name, c), "-").ljust(w) for c, w in zip(columns, widths, strict=True)
        ]
        lines.append(" ".join([row.name.ljust(name_width), *cells_text]).rstrip())
    lines.append("")
    lines += [f"{row.name.ljust(name_width)}  must: {row.must}" for row in ROWS]
    lines += ["", *totals_lines(cells)]
    return "\n".join(lines)


def totals_lines(cells: Iterable[Cell]) -> list[str]:
    cells = list(cells)
    return [
        f"cases run:            {len(cells)} cells ({len(ROWS)} rows)",
        f"as they must end:     {sum(c.expected for c in cells)}",
        f"unclear failures:     {sum(not c.clear for c in cells)}",
        f"duplicated paid actions: {sum(c.paid > 1 for c in cells)}",
        f"time:                 {sum(c.seconds for c in cells):.1f} s",
    ]


def bad(cells: Iterable[Cell]) -> list[Cell]:
    return [c for c in cells if not (c.expected and c.clear) or c.paid > 1]


def main() -> int:
    cells = run_all()
    print(render(cells))
    for cell in bad(cells):
        print(f"{cell.transport} {cell.row}: {cell.code} {cell.error!r}", file=sys.stderr)
    return 1 if bad(cells) else 0


if __name__ == "__main__":
    sys.exit(main())
