"""A webhook receiver under `uvicorn --workers N`, and a lean HTTP client to load it.

Used by the multi-worker tests and by `python -m bench.webhooks`. The receiver is
`make_app` below, started by uvicorn as an app factory in every worker process;
it is configured through the environment:

- DEDUPE_REDIS_URL: use `RedisDedupe` on it (else the in-memory default);
- DEDUPE_PREFIX: its key prefix;
- DEDUPE_LOG: a file to which the handler appends each message id it handles, so
  that the test counts the handler's runs across processes (not in any one's memory);
- DEDUPE_SLOW: every 7th message takes 20 ms to handle, so that repeats arrive meanwhile.

The handler answers "reply <id> from <pid>", or nothing for every 10th message.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import dtmf
from dtmf import webhooks

from .redis_server import free_port

ROOT = Path(__file__).resolve().parent.parent


def make_app() -> webhooks.ASGIApp:
    """The receiver, configured from the environment (see the module docstring)."""
    url = os.environ.get("DEDUPE_REDIS_URL")
    log = os.environ.get("DEDUPE_LOG")
    slow = bool(os.environ.get("DEDUPE_SLOW"))
    dedupe: int | webhooks.RedisDedupe = 1024
    if url:
        dedupe = webhooks.RedisDedupe(url, prefix=os.environ.get("DEDUPE_PREFIX", "dtmf:webhook:"))

    def handler(sms: dtmf.InboundSMS) -> str | None:
        if log:
            with open(log, "a") as file:  # one small O_APPEND write: never interleaved
                file.write(f"{sms.id}\n")
        if slow and sms.id % 7 == 0:
            time.sleep(0.02)  # a slow handler: repeats of this message arrive meanwhile
        if sms.id % 10 == 0:
            return None
        return f"reply {sms.id} from {os.getpid()}"

    return webhooks.asgi_app(handler, dedupe=dedupe)


@contextmanager
def serve_workers(
    workers: int, log_dir: Path, env: dict[str, str], startup: float = 60
) -> Iterator[int]:
    """`uvicorn --workers N` running `make_app` on a free loopback port; yields the port."""
    port = free_port()
    log_path = log_dir / f"uvicorn-{port}.log"
    with log_path.open("wb") as log:
        command = [sys.executable, "-m", "uvicorn", "--factory", "tests.workers:make_app"]
        command += ["--workers", str(workers), "--host", "127.0.0.1", "--port", str(port)]
        command += ["--log-level", "info", "--no-access-log"]
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + startup
        while log_path.read_text(errors="replace").count("Application startup complete") < workers:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"uvicorn did not start {workers} workers:\n"
                    + log_path.read_text(errors="replace")[-3000:]
                )
            time.sleep(0.05)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def deliveries(ids: Sequence[int], repeats: int, seed: int) -> list[int]:
    """Each id once plus `repeats` repeats of random ids, shuffled."""
    rng = random.Random(seed)
    order = [*ids, *(rng.choice(ids) for _ in range(repeats))]
    rng.shuffle(order)
    return order


def body(id: int) -> bytes:
    return (
        f'{{"id": {id}, "e164": "+15550001111", "sender": "+15550002222", "content": "hi {id}"}}'
    ).encode()


class Connection:
    """One keep-alive HTTP/1.1 connection, posting webhook bodies (lean: no httpx per request)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, content: bytes) -> tuple[int, str]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(
            b"POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(content), content)
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        text = (await self.reader.readexactly(length)).decode() if length else ""
        return status, text

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


Result = tuple[int, list[int], str]


@contextmanager
def serve_processes(count: int, log_dir: Path, env: dict[str, str]) -> Iterator[list[int]]:
    """`count` one-worker uvicorn processes, each on its own port; yields the ports.

    For tests that need deliveries to reach several processes: which worker of
    `uvicorn --workers N` accepts a connection is the kernel's choice, and on a loaded
    machine one may take them all; `post_all` spreads its connections over these ports.
    """
    with ExitStack() as stack:
        yield [stack.enter_context(serve_workers(1, log_dir, env)) for _ in range(count)]


async def post_all(
    port: int | Sequence[int],
    ids: Iterable[int],
    concurrency: int,
    *,
    retry_503: bool = False,
    on_result: Callable[[Result], None] | None = None,
) -> list[Result]:
    """POST each id's body over `concurrency` connections; (id, statuses, final text) each.

    Given several ports, the connections go to them in turn, as a load balancer's would.

    With `retry_503`, a 503 is delivered again after 50 ms until something else
    comes back, as the service may do; `statuses` lists every answer's status.
    `on_result` is called with each result as it comes.
    """
    queue: asyncio.Queue[int] = asyncio.Queue()
    for id in ids:
        queue.put_nowait(id)
    results: list[Result] = []

    ports = [port] if isinstance(port, int) else list(port)

    async def run(index: int) -> None:
        connection = Connection(ports[index % len(ports)])
        try:
            while not queue.empty():
                id = queue.get_nowait()
                statuses: list[int] = []
                while True:
                    status, text = await connection.post(body(id))
                    statuses.append(status)
                    if status != 503 or not retry_503:
                        break
                    await asyncio.sleep(0.05)
                results.append((id, statuses, text))
                if on_result is not None:
                    on_result(results[-1])
        finally:
            await connection.close()

    await asyncio.gather(*(run(index) for index in range(concurrency)))
    return results
