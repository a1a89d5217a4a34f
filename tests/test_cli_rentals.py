"""`dtmf rentals` (and `dtmf send --check`), run as a subprocess against a served emulator.

The emulator's clock starts three hours back and ticks: numbers rented first are
three hours old by the wall clock the command measures ages with, once the clock
is advanced to now.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from dtmf.cli._duration import parse_duration
from dtmf.testing import Clock, Emulator

from .cli_support import TOKEN, run_cli

pytest.importorskip("click")
pytest.importorskip("rich")

TO = "+447700900123"


class Served:
    """An emulator on a port with two three-hour-old rentals and a new one."""

    def __init__(self, emu: Emulator, url: str) -> None:
        self.emu = emu
        self.url = url
        self.client = emu.client(TOKEN)
        self.old = sorted(self.client.numbers.rent("gb-mobile").e164 for _ in range(2))
        emu.clock.advance(hours=3)
        self.new = self.client.numbers.rent("us-mobile").e164

    def running(self) -> set[str]:
        return {n.e164 for n in self.client.numbers.list()}


@pytest.fixture
def served() -> Iterator[Served]:
    clock = Clock(datetime.now(timezone.utc) - timedelta(hours=3), ticking=True)
    with Emulator(seed=9, clock=clock) as emu:
        emu.add_account(TOKEN, balance=10**9)
        with emu.serve() as url:
            yield Served(emu, url)


def test_parse_duration() -> None:
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("10m") == timedelta(minutes=10)
    assert parse_duration("1h30m") == timedelta(hours=1, minutes=30)
    assert parse_duration("2d") == timedelta(days=2)
    for bad in ("", "90", "1x", "1m1h", "-1h", "0s", "h"):
        with pytest.raises(ValueError, match="duration"):
            parse_duration(bad)


def test_lists_rentals_with_age_and_cost(served: Served) -> None:
    result = run_cli(served.url, "rentals", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["e164"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {*served.old, served.new}
    for e164 in served.old:
        assert 3 * 3600 - 60 < rows[e164]["age_seconds"] < 3 * 3600 + 60
        assert rows[e164]["cost_so_far"] >= 179 * rows[e164]["cost_per_minute"]
    assert rows[served.new]["age_seconds"] < 60
    table = run_cli(served.url, "rentals", "--no-json")
    assert table.returncode == 0, table.stderr
    assert "3h 0" in table.stdout  # e.g. '3h 00m'
    assert served.new in table.stdout


def test_dry_run_ends_nothing(served: Served) -> None:
    result = run_cli(served.url, "rentals", "--end-older-than", "1h", "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert sorted(row["e164"] for row in shown["to_end"]) == served.old
    assert [row["e164"] for row in shown["kept"]] == [served.new]
    assert served.running() == {*served.old, served.new}


def test_end_older_than_asks_first(served: Served) -> None:
    declined = run_cli(served.url, "rentals", "--end-older-than", "1h", "--no-json", input="n\n")
    assert declined.returncode == 0, declined.stderr
    assert "Nothing ended" in declined.stderr
    assert served.running() == {*served.old, served.new}
    agreed = run_cli(
        served.url, "rentals", "--end-older-than", "1h", "--keep", served.old[0], "--no-json",
        input="y\n",
    )  # fmt: skip
    assert agreed.returncode == 0, agreed.stderr
    assert f"Ended {served.old[1]}." in agreed.stdout
    assert served.running() == {served.old[0], served.new}


def test_yes_and_json_end_without_asking(served: Served) -> None:
    result = run_cli(served.url, "rentals", "--end-older-than", "2h", "--yes", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert sorted(row["e164"] for row in report["ended"]) == served.old
    assert report["failed"] == []
    assert served.running() == {served.new}


def test_a_failed_end_is_reported_with_an_error_exit(served: Served) -> None:
    served.emu.faults.add("numbers.end_rental", status=403, count=1)
    result = run_cli(served.url, "rentals", "--end-older-than", "1h", "--yes", "--json")
    assert result.returncode == 3, result.stderr
    report = json.loads(result.stdout)
    assert len(report["failed"]) == 1
    assert len(report["ended"]) == 1
    assert report["failed"][0]["e164"] in served.running()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--end-older-than", "soon"], "not a duration"),
        (["--dry-run"], "go with --end-older-than"),
        (["--end-older-than", "1h", "--keep", "12345"], "keep"),
    ],
)
def test_bad_usage_sends_nothing(served: Served, args: list[str], message: str) -> None:
    seen = len(served.emu.requests)
    result = run_cli(served.url, "rentals", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(served.emu.requests) == seen


def test_send_check_reports_sent_after_a_lost_answer(served: Served) -> None:
    served.emu.faults.add("messages.send", drop="after")
    sent = run_cli(served.url, "send", served.new, TO, "checked once", "--check", "--json")
    assert sent.returncode == 0, sent.stderr
    assert "the SMS was sent" in sent.stderr
    stored = [m for m in served.emu.stored_messages(served.new) if m["content"] == "checked once"]
    assert len(stored) == 1


def test_send_check_reports_not_sent(served: Served) -> None:
    served.emu.faults.add("messages.send", status=500)
    result = run_cli(served.url, "send", served.new, TO, "never went", "--check", "--json")
    assert result.returncode == 3, result.stderr
    assert "was not sent" in result.stderr
    assert "safe" in result.stderr
    assert not [m for m in served.emu.stored_messages(served.new) if m["content"] == "never went"]
