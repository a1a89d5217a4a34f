"""Every code block of the README, the PyPI description and the guides runs as printed.

Blocks are found in README.md, README.pypi.md and docs/**/*.md (the guides include
README sections, so those blocks are tested once, in README.md). By language:

- ``python``: run in this process against a reference server served on a loopback
  port, with DTMF_TOKEN and DTMF_BASE_URL set as a user would set them (and
  REDIS_URL, a real redis-server's, for a block that reads it). A fragment may use
  what the README's earlier blocks define: `number` (a number the account rents),
  `on_sms` (a webhook handler) and `secret` (a webhook secret). A test module (it
  defines ``test_*`` functions) is run by pytest, with the plugin's fixtures. A block
  that must run first in its process (`httpx2.alias_httpx()`) runs in a fresh one.
- ``shell``: run in bash, line by line, as a person types them: each command must
  exit 0, and after one started in the background (``&``) the next waits for what
  the person waits for, the line saying it is ready. The ports are swapped for
  free ones, so that parallel runs do not collide. A block runs in an empty
  folder, or in the project's root when it runs `examples/`. Two kinds are checked rather
  than run: ``pip`` lines (they change the environment; the test checks the
  distribution and its extras exist) and ``make`` lines (`make test` is what runs
  this; the test checks the targets exist).

A ``text`` block is not code (a diagram, a program's output) and is not run. Any
other block fails the test: a block must say what it is, and code must run.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import os
import queue
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

import dtmf
from dtmf.testing import Emulator
from tests.redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    ROOT / "README.md",
    ROOT / "README.pypi.md",
    *sorted((ROOT / "docs").rglob("*.md")),
]
TOKENS = ("readme-token", "YOUR_TOKEN")
SENDER = "+447700900123"
CODE_SMS = "Your Example verification code is 482913."


@dataclass(frozen=True)
class Block:
    source: Path
    line: int
    language: str
    code: str

    @property
    def id(self) -> str:
        return f"{self.source.relative_to(ROOT)}:{self.line}"


def blocks() -> list[Block]:
    found: list[Block] = []
    for source in SOURCES:
        text = source.read_text()
        for match in re.finditer(r"^```(\S*)[^\n]*\n(.*?)^```", text, flags=re.S | re.M):
            line = text.count("\n", 0, match.start()) + 1
            found.append(Block(source, line, match.group(1), match.group(2)))
    return found


BLOCKS = [block for block in blocks() if block.language != "text"]  # text: not code


def commands(code: str) -> list[str]:
    """Shell lines as typed: one per line, a here-document with the lines it spans."""
    lines = code.splitlines()
    result: list[str] = []
    while lines:
        line = lines.pop(0)
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        heredoc = re.search(r"<<-?'?(\w+)'?", line)
        if heredoc:
            end = lines.index(heredoc.group(1))
            line = "\n".join([line, *lines[: end + 1]])
            del lines[: end + 1]
        result.append(line)
    return result


def without_comment(command: str) -> list[str]:
    return shlex.split(command, comments=True)


# Checked, not run -------------------------------------------------------------------


def check_pip(command: str) -> None:
    words = without_comment(command)
    assert words[:2] in (["pip", "install"], ["pip", "uninstall"]), command
    installed = importlib.metadata.metadata("dtmf-io")
    extras = installed.get_all("Provides-Extra") or []
    for word in words[2:]:
        if word.startswith("-"):
            continue
        name, _, wanted = word.partition("[")
        if words[1] == "uninstall":
            assert name == "dtmf", f"{command}: only the clashing 'dtmf' is uninstalled"
            continue
        assert name == installed["Name"], command
        for extra in filter(None, wanted.rstrip("]").split(",")):
            assert extra in extras, f"{command}: no extra {extra}"


def check_make(command: str) -> None:
    words = without_comment(command)
    makefile = (ROOT / "Makefile").read_text()
    for target in words[1:]:
        assert re.search(rf"^{re.escape(target)}:", makefile, flags=re.M), command


# Python -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Emulator, str]]:
    with Emulator(seed=7) as emulator:
        for token in TOKENS:
            emulator.add_account(token, balance=10_000_000)
        with emulator.serve(port=0, control=True) as base_url:
            yield emulator, base_url


def _send_code_after_next_poll(emulator: Emulator, e164: str, stop: threading.Event) -> None:
    """Deliver CODE_SMS once the block has polled the number (its wait has begun)."""
    polls = sum(r.operation == "numbers.get" for r in emulator.requests)
    while not stop.is_set():
        if sum(r.operation == "numbers.get" for r in emulator.requests) > polls:
            emulator.simulate_inbound_sms(to=e164, sender=SENDER, content=CODE_SMS)
            return
        stop.wait(0.01)


def _send_code_to_next_rental(emulator: Emulator, known: set[str], stop: threading.Event) -> None:
    """Deliver CODE_SMS to the first number rented after `known` (a block's own rental)."""
    while not stop.is_set():
        new = [n["e164"] for n in emulator.state.numbers(TOKENS[0]) if n["e164"] not in known]
        if new:
            emulator.simulate_inbound_sms(to=new[0], sender=SENDER, content=CODE_SMS)
            return
        stop.wait(0.01)


def on_sms(sms: dtmf.InboundSMS) -> str | None:
    """The handler fragments may use, as the README's webhook example defines it."""
    return None if sms.content.strip().upper() == "STOP" else f"Thanks, got {sms.content!r}"


def run_python(block: Block, served: tuple[Emulator, str], monkeypatch: pytest.MonkeyPatch) -> str:
    emulator, base_url = served
    monkeypatch.setenv("DTMF_TOKEN", TOKENS[0])
    monkeypatch.setenv("DTMF_BASE_URL", base_url)
    monkeypatch.setenv("HOOK_SECRET", "s3cret")
    out = io.StringIO()
    with dtmf.Client() as client, contextlib.redirect_stdout(out):
        number = client.groups.list("mobile")[0].rent()
        stop = threading.Event()
        helper = threading.Thread(
            target=_send_code_after_next_poll, args=(emulator, number.e164, stop), daemon=True
        )
        if "rental(" in block.code or "receive_code(" in block.code:  # its own number
            known = {n["e164"] for n in emulator.state.numbers(TOKENS[0])}
            helper = threading.Thread(
                target=_send_code_to_next_rental, args=(emulator, known, stop), daemon=True
            )
            helper.start()
        elif "wait_for_message(" in block.code:
            helper.start()
        try:
            code = compile(block.code, block.id, "exec")
            context = {"number": number, "on_sms": on_sms, "secret": "s3cret"}
            exec(code, {"__name__": "__main__", **context})
        finally:
            stop.set()
            if helper.is_alive():
                helper.join(5)
    return out.getvalue()


def run_fresh(block: Block, served: tuple[Emulator, str]) -> None:
    pytest.importorskip("httpx2")  # installed with dev on Python 3.11 and newer
    env = {**os.environ, "DTMF_TOKEN": TOKENS[0], "DTMF_BASE_URL": served[1]}
    result = subprocess.run(
        [sys.executable, "-c", block.code + "\nprint(dtmf.Client().account.get().balance)\n"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def run_pytest_module(block: Block, tmp_path: Path) -> None:
    module = tmp_path / "test_block.py"
    module.write_text(block.code)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(module)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# Shell --------------------------------------------------------------------------------

READY = re.compile(r"^http://\S+/api/v1$|Uvicorn running on|^Listening for SMS")
# listen's line for a delivery answered 200 with a reply: a table row, or JSON lines.
DELIVERED = re.compile(r"\s200\s+reply '" + r'|"status": 200, "reply": "')
STATUS = "__block_status__"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Shell:
    """A bash reading commands from a pipe, its stdout and stderr as one stream of lines."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            ["bash", "--norc", "--noprofile"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            cwd=cwd,
            env=env,
            start_new_session=True,  # its background jobs can be ended as a group
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._pump_thread = threading.Thread(
            target=self._pump, args=(self.process.stdout,), daemon=True
        )
        self._pump_thread.start()

    def _pump(self, stream: IO[str] | None) -> None:
        assert stream is not None
        for line in stream:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def type(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def until(self, pattern: re.Pattern[str], what: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {what} within {timeout} s:\n" + self.transcript) from None
            if line is None:
                raise AssertionError(f"the shell ended before {what}:\n" + self.transcript)
            self.seen.append(line)
            if pattern.search(line):
                return line

    def run(self, command: str) -> None:
        """Type a command, as a person does, and wait until it is done (or ready)."""
        self.seen.append(f"$ {command}")
        self.type(command)
        if without_comment(command.splitlines()[0])[-1:] == ["&"]:  # a background job
            self.until(READY, f"ready line from {command!r}")
            return
        self.type(f'echo "{STATUS} $?"')
        done = self.until(re.compile(rf"^{STATUS} \d+$"), f"end of {command!r}")
        status = int(done.split()[1])
        assert status == 0, f"{command!r} exited {status}:\n" + self.transcript

    @property
    def transcript(self) -> str:
        return "\n".join(self.seen)

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        if self.process.stdin is not None:
            self.process.stdin.close()
        self._pump_thread.join(10)  # the group is gone: its output ends
        if self.process.stdout is not None:
            self.process.stdout.close()


def shell_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DTMF_", "COLUMNS"))}
    bin_dir = str(Path(sys.executable).parent)  # dtmf and uvicorn, as installed
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", NO_COLOR="1", COLUMNS="200")
    env.update(NO_PROXY="*", PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
    return env


def run_shell(block: Block, tmp_path: Path) -> str:
    code = block.code
    for port in ("8765", "8000"):
        code = code.replace(port, str(free_port()))
    # The examples live in the source tree; anything else runs in an empty folder.
    shell = Shell(ROOT if "examples/" in code else tmp_path, shell_env())
    listening = False
    try:
        for command in commands(code):
            shell.run(command)
            listening |= command.startswith("dtmf listen")
            if listening and command.startswith("dtmf emulator inbound"):
                # The person watches listen's line: the SMS reached the hook, the reply went out.
                shell.until(DELIVERED, "delivery by dtmf listen")
        shell.type("exit")
        assert shell.process.wait(30) == 0, shell.transcript
        return shell.transcript
    finally:
        shell.close()


# The test ---------------------------------------------------------------------------


def test_every_source_has_blocks() -> None:
    for source in (ROOT / "README.md", ROOT / "README.pypi.md"):
        assert any(block.source == source for block in BLOCKS), source


@pytest.mark.parametrize("block", BLOCKS, ids=[block.id for block in BLOCKS])
def test_block_runs(
    block: Block,
    served: tuple[Emulator, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    if "REDIS_URL" in block.code:  # a real server (only these blocks need one)
        redis: RedisServer = request.getfixturevalue("redis_server")
        monkeypatch.setenv("REDIS_URL", redis.url)
    if block.language == "python":
        if "alias_httpx()" in block.code:
            run_fresh(block, served)
            return
        if re.search(r"^(async )?def test_", block.code, flags=re.M):
            run_pytest_module(block, tmp_path)
            return
        output = run_python(block, served, monkeypatch)
        if any(call in block.code for call in ("wait_for_message(", "receive_code(")):
            assert "482913" in output
        return
    assert block.language == "shell", f"{block.id}: a block is `python`, `shell` or `text`"
    lines = commands(block.code)
    if all(line.startswith("pip ") for line in lines):
        for line in lines:
            check_pip(line)
    elif all(line.startswith("make ") for line in lines):
        for line in lines:
            check_make(line)
    else:
        transcript = run_shell(block, tmp_path)
        if "dtmf listen" in block.code:
            assert "Thanks for 'hi'" in transcript.split("dtmf numbers show")[-1], transcript
