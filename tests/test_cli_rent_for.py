"""`dtmf rent GROUP --for DURATION` and `dtmf code GROUP`, run as a user runs them."""

from __future__ import annotations

import datetime
import json
import signal
import subprocess
import threading
from collections.abc import Iterator

import pytest

from dtmf.cli._duration import parse_duration
from dtmf.testing import Emulator
from tests.cli_support import SENDER, TOKEN, Lines, run_cli, start_cli, wait_for_polls


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(seed=5) as emulator:
        emulator.add_account(TOKEN, balance=10_000_000)
        yield emulator


def running(emu: Emulator) -> list[str]:
    return [number["e164"] for number in emu.state.numbers(TOKEN)]


@pytest.fixture(autouse=True)
def nothing_left_running(emu: Emulator) -> Iterator[None]:
    yield
    assert running(emu) == []


def finish(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("10m", 600), ("1h", 3600), ("1h30m", 5400), ("2d", 172800), (" 2H5S ", 7205)],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == datetime.timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "10", "10x", "1m1h", "-5m", "1.5h", "m"])
def test_parse_duration_refuses_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(text)


def test_rent_for_ends_the_rental_when_the_time_is_up(base_url: str, emu: Emulator) -> None:
    result = run_cli(base_url, "rent", "gb-mobile", "--for", "1s", "--no-json")
    assert result.returncode == 0, result.stderr
    e164 = result.stdout.strip()
    assert e164.startswith("+44")
    assert f"Rented {e164} from gb-mobile" in result.stderr
    assert "for 1s: the rental ends at" in result.stderr
    assert f"Ended the rental of {e164} after 1s." in result.stderr
    ended = [r for r in emu.requests if r.operation == "numbers.end_rental"]
    assert ended, "the rental was not ended through the API"


def test_rent_for_ends_the_rental_on_ctrl_c(base_url: str, emu: Emulator) -> None:
    process = start_cli(base_url, "rent", "gb-mobile", "--for", "1h", "--json")
    out, err = Lines(process.stdout), Lines(process.stderr)
    try:
        shown = json.loads(out.next())
        assert shown["for"] == "1h"
        assert running(emu) == [shown["e164"]]
        err.until(lambda line: "the rental ends at" in line)
        process.send_signal(signal.SIGINT)
        assert process.wait(15) == 130
        rest = err.rest()
    finally:
        finish(process)
    assert f"dtmf: interrupted: ended the rental of {shown['e164']}" in rest


def test_rent_for_refuses_a_bad_duration_before_renting(base_url: str, emu: Emulator) -> None:
    before = len(emu.requests)
    result = run_cli(base_url, "rent", "gb-mobile", "--for", "ten minutes")
    assert result.returncode == 2
    assert "'ten minutes' is not a duration" in result.stderr
    assert len(emu.requests) == before


def _text_code_once_waiting(emu: Emulator, err: Lines, content: str) -> threading.Thread:
    """Play the sender: once the command says it waits (and has polled), text the code."""
    line = err.until(lambda text: text.startswith("Rented +"))
    e164 = line.split()[1]
    err.until(lambda text: text.startswith("Waiting up to"))
    since = len(emu.requests)

    def send() -> None:
        wait_for_polls(emu, e164, 1, since)
        emu.simulate_inbound_sms(e164, SENDER, content)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def test_code_prints_the_code_and_ends_the_rental(base_url: str, emu: Emulator) -> None:
    process = start_cli(base_url, "code", "gb-mobile", "--no-json", "--timeout", "30s")
    out, err = Lines(process.stdout), Lines(process.stderr)
    try:
        sender = _text_code_once_waiting(emu, err, "Your code is 482913. Do not share it.")
        assert out.next(30) == "482913"
        assert process.wait(15) == 0
        sender.join(5)
        seen = err.seen + err.rest()
    finally:
        finish(process)
    waiting = next(line for line in seen if line.startswith("Waiting up to"))
    assert "Waiting up to 30s for an SMS with a code to +44" in waiting
    assert any(line.startswith("Ended the rental of +44") for line in seen), seen


def test_code_with_a_pattern_as_json(base_url: str, emu: Emulator) -> None:
    process = start_cli(base_url, "code", "gb-mobile", "--json", "--pattern", r"G-(\d+)")
    out, err = Lines(process.stdout), Lines(process.stderr)
    try:
        _text_code_once_waiting(emu, err, "G-771204 is your Example code")
        body = json.loads("\n".join(out.rest(30)))
        assert process.wait(15) == 0
    finally:
        finish(process)
    assert body["code"] == "771204"
    assert body["message"]["content"] == "G-771204 is your Example code"
    assert body["e164"].startswith("+44")


def test_code_timeout_ends_the_rental_and_exits_5(base_url: str) -> None:
    result = run_cli(base_url, "code", "gb-mobile", "--timeout", "1", "--no-json")
    assert result.returncode == 5, result.stderr
    assert result.stdout == ""
    assert "Ended the rental of +44" in result.stderr
    assert "dtmf: error: no new inbound SMS to +44" in result.stderr


def test_code_refuses_a_bad_pattern_before_renting(base_url: str, emu: Emulator) -> None:
    before = len(emu.requests)
    result = run_cli(base_url, "code", "gb-mobile", "--pattern", "(")
    assert result.returncode == 2
    assert "is not a regular expression" in result.stderr
    assert len(emu.requests) == before
