"""Running the real `dtmf` command in a subprocess against a reference server on a port."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import IO

from dtmf.testing import Emulator

TOKEN = "cli-test-token"
SENDER = "+447700900123"


def cli_env(base_url: str, **extra: str) -> dict[str, str]:
    """The environment of a `dtmf` subprocess: token and base URL, no colours, no proxies."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DTMF_", "COLUMNS"))}
    env.update(DTMF_TOKEN=TOKEN, DTMF_BASE_URL=base_url, NO_COLOR="1", COLUMNS="200")
    env.update({"NO_PROXY": "*", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


def run_cli(
    base_url: str, *args: str, input: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """`python -m dtmf.cli ARGS` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "dtmf.cli", *args],
        capture_output=True,
        text=True,
        input=input,
        env=cli_env(base_url, **env),
        timeout=60,
        check=False,
    )


def start_cli(base_url: str, *args: str) -> subprocess.Popen[str]:
    """`python -m dtmf.cli ARGS` in the background, with piped output."""
    return subprocess.Popen(
        [sys.executable, "-m", "dtmf.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(base_url),
    )


class Lines:
    """The lines of a subprocess stream, read in a thread so a test can wait with a timeout."""

    def __init__(self, stream: IO[str] | None) -> None:
        assert stream is not None
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)  # the end of the stream

    def next(self, timeout: float = 15.0) -> str:
        """The next line; fails the test after `timeout` seconds."""
        line = self._queue.get(timeout=timeout)
        if line is None:
            self._queue.put(None)
            raise EOFError("the stream ended")
        self.seen.append(line)
        return line

    def until(self, predicate: Callable[[str], bool], timeout: float = 15.0) -> str:
        """The first line (from now) for which `predicate` holds."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.next(max(0.01, deadline - time.monotonic()))
            if predicate(line):
                return line

    def rest(self, timeout: float = 5.0) -> list[str]:
        """What is left once the stream closes."""
        lines: list[str] = []
        try:
            while True:
                lines.append(self.next(timeout))
        except (queue.Empty, EOFError):
            return lines


def stop(process: subprocess.Popen[str], stderr: Lines) -> list[str]:
    """Ctrl-C a running command; returns the rest of its stderr and closes its pipes."""
    process.send_signal(signal.SIGINT)
    code = process.wait(10)
    rest = stderr.rest(5)
    for stream in (process.stdout, process.stderr, process.stdin):
        if stream is not None:
            stream.close()
    assert code in (0, 130), rest
    return rest


def wait_for_polls(emu: Emulator, e164: str, count: int, since: int, timeout: float = 15) -> None:
    """Wait until `count` `numbers.get` requests for `e164` came in after request number `since`.

    A `wait` or `listen` that has polled twice has recorded what already exists, so
    a message sent now is new to it.
    """
    deadline = time.monotonic() + timeout
    while sum(1 for r in emu.requests[since:] if r.operation == "numbers.get") < count:
        assert time.monotonic() < deadline, "the command never polled the number"
        time.sleep(0.02)
