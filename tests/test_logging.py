"""Logging: DTMF_LOG for programs without logging set up, and nothing formatted when off.

The lines themselves (one DEBUG per request, one INFO per retry) are checked in
test_retries.py; that no line shows the token, in test_security.py and
test_fault_matrix.py.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dtmf import _logging
from dtmf.testing import Emulator

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "logging-token-5e6f7a"

# A call retried once (a 503 first), against the reference server in-process.
PROGRAM = f"""
import dataclasses, logging, sys
import dtmf
from dtmf.testing import Emulator

logger = logging.getLogger("dtmf")
print("handlers", len(logger.handlers), "level", logger.level, file=sys.stdout)
with Emulator(seed=1) as emu:
    emu.add_account({TOKEN!r}, balance=1_000_000)
    emu.faults.add("account.get", status=503)
    with emu.client({TOKEN!r}) as client:
        o = client._options
        fast = dataclasses.replace(o.retry, initial_delay=0.001)
        client._setup(dataclasses.replace(o, retry=fast), client._lifecycle)
        client.account.get()
"""


def _run(env_value: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DTMF_")}
    if env_value is not None:
        env["DTMF_LOG"] = env_value
    return subprocess.run(
        [sys.executable, "-c", PROGRAM],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=True,
    )


def test_dtmf_log_debug_writes_requests_and_retries_to_stderr() -> None:
    done = _run("debug")
    lines = done.stderr.splitlines()
    debug = [line for line in lines if " DEBUG dtmf: " in line]
    info = [line for line in lines if " INFO dtmf: " in line]
    assert len(debug) == 2, done.stderr  # one per request
    assert "GET /account -> 503" in debug[0]
    assert "(retry 0)" in debug[0]
    assert "GET /account -> 200" in debug[1]
    assert "(retry 1)" in debug[1]
    assert " ms " in debug[1]
    assert len(info) == 1, done.stderr  # one per retry, with the reason and the wait
    assert "account.get: retrying in" in info[0]
    assert "after HTTP 503" in info[0]
    assert TOKEN not in done.stderr
    assert "handlers 1 level 10" in done.stdout


def test_dtmf_log_info_shows_retries_only() -> None:
    done = _run("INFO")
    assert " DEBUG " not in done.stderr
    assert done.stderr.count(" INFO dtmf: ") == 1
    assert "handlers 1 level 20" in done.stdout


def test_no_dtmf_log_no_handler_no_output() -> None:
    done = _run(None)
    assert done.stderr == ""
    assert "handlers 0 level 0" in done.stdout


def test_unknown_dtmf_log_value_is_said_once() -> None:
    done = _run("verbose")
    assert done.stderr.count("DTMF_LOG='verbose' is not one of debug, info") == 1
    assert " DEBUG " not in done.stderr
    assert "handlers 1 level 30" in done.stdout


def test_configure_from_env_adds_one_handler_once() -> None:
    logger = logging.getLogger("dtmf")
    before = (list(logger.handlers), logger.level)
    try:
        assert _logging.configure_from_env({}) is None
        assert _logging.configure_from_env({"DTMF_LOG": "  "}) is None
        handler = _logging.configure_from_env({"DTMF_LOG": "debug"})
        assert handler is not None
        assert logger.level == logging.DEBUG
        assert _logging.configure_from_env({"DTMF_LOG": "info"}) is None  # already there
        assert logger.handlers.count(handler) == 1
    finally:
        for handler in logger.handlers[:]:
            if handler not in before[0]:
                logger.removeHandler(handler)
        logger.setLevel(before[1])


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_nothing_is_formatted_when_logging_is_off(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the level off no LogRecord is made: no message formatting, no argument reprs."""
    logger = logging.getLogger("dtmf")
    made: list[tuple[Any, ...]] = []
    original = logger.makeRecord

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        made.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(logger, "makeRecord", make_record)

    def call(level: int) -> None:
        logger.setLevel(level)
        with Emulator(seed=1) as emu:
            emu.add_account(TOKEN, balance=1_000_000)
            emu.faults.add("account.get", status=503)
            emu.faults.add("numbers.list", drop="before")
            if kind == "sync":
                with emu.client(TOKEN, max_retries=1) as client:
                    client._setup(_fast(client._options), client._lifecycle)
                    client.account.get()
                    client.numbers.list()
            else:
                import asyncio

                async def main() -> None:
                    async with emu.async_client(TOKEN, max_retries=1) as client:
                        client._setup(_fast(client._options), client._lifecycle)
                        await client.account.get()
                        await client.numbers.list()
                    await emu.aclose()

                asyncio.run(main())

    before = logger.level
    try:
        call(logging.WARNING)
        assert made == []
        call(logging.DEBUG)
        assert len(made) == 6  # 4 requests, 2 retries
    finally:
        logger.setLevel(before)


def _fast(options: Any) -> Any:
    import dataclasses

    return dataclasses.replace(
        options, retry=dataclasses.replace(options.retry, initial_delay=0.001)
    )
