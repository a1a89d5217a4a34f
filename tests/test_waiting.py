"""wait_for_message(): polling a number until a new inbound SMS matches."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

import dtmf
from dtmf import _waiting
from dtmf._waiting import MessageMatch, _Watch, async_wait_for_message, wait_for_message

E164 = "+15550100001"
OTHER = "+447700900123"

Msg = dict[str, Any]


def msg(id: int | None, content: str, *, inbound: bool = True, **extra: Any) -> Msg:
    """A message as the service lists it (documented shape plus `inbound`)."""
    data: Msg = {
        "from": OTHER if inbound else E164,
        "to": E164 if inbound else OTHER,
        "content": content,
        "timestamp": "2026-11-25T10:00:00.000000",
        "success": True,
        "cost": 5,
        "inbound": inbound,
    }
    if id is not None:
        data["id"] = id
    data.update(extra)
    return data


OLD = msg(1, "Your code is 111111")


class Service:
    """A fake service whose number gains messages as it is polled.

    `script[n]` is the message list served from the n-th poll on (0 is the first).
    """

    def __init__(self, script: dict[int, list[Msg]]) -> None:
        self.script = script
        self.polls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/number"
        current = max(n for n in self.script if n <= self.polls)
        self.polls += 1
        return httpx.Response(200, json={"e164": E164, "messages": self.script[current]})


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    # The real backoff starts at 0.5 s; tests poll quickly (the sequence has its own test).
    monkeypatch.setattr(_waiting, "FIRST_DELAY", 0.01)
    monkeypatch.setattr(_waiting, "MAX_DELAY", 0.02)


@pytest.fixture
def number_for() -> Iterator[Callable[[Service], dtmf.Number]]:
    opened: list[tuple[dtmf.Client, httpx.Client]] = []

    def make(service: Service) -> dtmf.Number:
        http = httpx.Client(transport=httpx.MockTransport(service))
        client = dtmf.Client("tok", base_url="http://localhost/api/v1", http_client=http)
        opened.append((client, http))
        number = dtmf.Number(e164=E164).bind(client)
        return number

    yield make
    for client, http in opened:
        client.close()
        http.close()


def test_returns_the_new_inbound_message_ignoring_old_and_outbound(
    number_for: Callable[[Service], dtmf.Number],
) -> None:
    outbound = msg(2, "Your code is 222222", inbound=False)
    new = msg(3, "Your code is 333333")
    service = Service({0: [OLD], 1: [OLD, outbound], 2: [OLD, outbound, new]})
    found = wait_for_message(number_for(service), timeout=5)
    assert found.message.id == 3
    assert found.message.content == "Your code is 333333"
    assert found.match is None
    assert found.code is None
    assert service.polls == 3


def test_regex_captures_the_code(number_for: Callable[[Service], dtmf.Number]) -> None:
    service = Service({0: [OLD], 2: [OLD, msg(2, "Hello"), msg(3, "Your code is 654321")]})
    found = wait_for_message(number_for(service), timeout=5, match=re.compile(r"code is (\d+)"))
    assert found.message.id == 3
    assert found.match is not None
    assert found.match.group(0) == "code is 654321"
    assert found.code == "654321"


def test_regex_without_group_gives_the_whole_match(
    number_for: Callable[[Service], dtmf.Number],
) -> None:
    service = Service({0: [OLD], 1: [OLD, msg(2, "Your code is 654321")]})
    found = wait_for_message(number_for(service), timeout=5, match=re.compile(r"\d{6}"))
    assert found.code == "654321"


def test_substring_skips_messages_that_do_not_contain_it(
    number_for: Callable[[Service], dtmf.Number],
) -> None:
    service = Service({0: [OLD], 1: [OLD, msg(2, "spam")], 3: [OLD, msg(2, "spam"), msg(3, "G-1")]})
    found = wait_for_message(number_for(service), timeout=5, match="G-")
    assert found.message.id == 3
    assert found.code is None


def test_predicate(number_for: Callable[[Service], dtmf.Number]) -> None:
    service = Service({0: [OLD], 1: [OLD, msg(2, "a") | {"from": "+1999"}, msg(3, "b")]})
    found = wait_for_message(number_for(service), timeout=5, match=lambda m: m.from_ == OTHER)
    assert found.message.id == 3


def test_timeout_raises_quickly_and_says_what_was_awaited(
    number_for: Callable[[Service], dtmf.Number],
) -> None:
    service = Service({0: [OLD], 1: [OLD, msg(2, "not it")]})
    started = time.monotonic()
    with pytest.raises(dtmf.MessageTimeoutError) as raised:
        wait_for_message(number_for(service), timeout=0.3, match=re.compile(r"code (\d+)"))
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 1.5
    text = str(raised.value)
    assert E164 in text
    assert "0.3 s" in text
    assert repr(r"code (\d+)") in text
    assert "1 new inbound message(s) arrived but did not match" in text
    assert service.polls > 2


def test_timeout_zero_polls_once(number_for: Callable[[Service], dtmf.Number]) -> None:
    service = Service({0: [OLD]})
    with pytest.raises(dtmf.MessageTimeoutError):
        wait_for_message(number_for(service), timeout=0)
    assert service.polls == 1


def test_negative_timeout_is_refused(number_for: Callable[[Service], dtmf.Number]) -> None:
    with pytest.raises(dtmf.InvalidParameterError, match="timeout"):
        wait_for_message(number_for(Service({0: []})), timeout=-1)


def test_messages_without_id_or_timestamp(number_for: Callable[[Service], dtmf.Number]) -> None:
    # The same text twice with no id and no timestamp: only the second one is new.
    same = msg(None, "Your code is 777777", timestamp=None)
    service = Service({0: [same], 1: [same, same]})
    found = wait_for_message(number_for(service), timeout=5)
    assert found.message.content == "Your code is 777777"
    assert service.polls == 2


def test_clock_difference_cannot_cause_a_false_or_missed_match(
    number_for: Callable[[Service], dtmf.Number],
) -> None:
    # The service's clock is far off: an old message is stamped in the future and
    # the new one in the past. Only what appeared after the first poll counts.
    future_old = msg(1, "old", timestamp="2999-01-01T00:00:00")
    past_new = msg(2, "new", timestamp="2001-01-01T00:00:00")
    service = Service({0: [future_old], 1: [future_old, past_new]})
    found = wait_for_message(number_for(service), timeout=5)
    assert found.message.id == 2


def test_explicit_since_accepts_a_message_already_there(
    number_for: Callable[[Service], dtmf.Number],
) -> None:
    earlier = msg(1, "too old", timestamp="2026-11-25T09:00:00")
    later = msg(2, "recent", timestamp="2026-11-25T10:00:00")
    service = Service({0: [earlier, later]})
    since = datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc)
    found = wait_for_message(number_for(service), timeout=5, since=since)
    assert found.message.id == 2
    assert service.polls == 1


def test_explicit_naive_since_is_utc(number_for: Callable[[Service], dtmf.Number]) -> None:
    service = Service({0: [msg(1, "x", timestamp="2026-11-25T10:00:00")]})
    with pytest.raises(dtmf.MessageTimeoutError):
        # A microsecond after the message, read as UTC: too old.
        wait_for_message(number_for(service), timeout=0, since=datetime(2026, 11, 25, 10, 0, 0, 1))
    found = wait_for_message(number_for(service), timeout=0, since=datetime(2026, 11, 25, 10, 0))
    assert found.message.id == 1  # timestamped at `since`: counts


def test_older_shape_without_inbound_flag_uses_to(
    number_for: Callable[[Service], dtmf.Number],
) -> None:
    sent: Msg = {"from": E164, "to": OTHER, "content": "sent", "timestamp": None}
    received: Msg = {"from": OTHER, "to": E164, "content": "received", "timestamp": None}
    service = Service({0: [], 1: [sent], 2: [sent, received]})
    found = wait_for_message(number_for(service), timeout=5)
    assert found.message.content == "received"


def test_several_new_messages_oldest_first(number_for: Callable[[Service], dtmf.Number]) -> None:
    # The service may list newest first; the oldest new match is returned.
    newer = msg(3, "code 2", timestamp="2026-11-25T10:00:02")
    older = msg(2, "code 1", timestamp="2026-11-25T10:00:01")
    service = Service({0: [], 1: [newer, older]})
    assert wait_for_message(number_for(service), timeout=5).message.id == 2


def test_backoff_sequence_and_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_waiting, "FIRST_DELAY", 0.5)
    monkeypatch.setattr(_waiting, "MAX_DELAY", 5.0)
    watch = _Watch(E164, 100.0, None, None)
    delays = [watch.next_delay() for _ in range(8)]
    assert delays == pytest.approx([0.5, 0.75, 1.125, 1.6875, 2.53125, 3.796875, 5.0, 5.0])

    short = _Watch(E164, 0.6, None, None)
    assert short.next_delay() == pytest.approx(0.5)
    second = short.next_delay()  # 0.75 would sleep past the deadline
    assert second is not None
    assert second <= 0.6
    short.deadline = time.monotonic() - 1
    assert short.next_delay() is None


def test_message_match_is_frozen() -> None:
    found = MessageMatch(dtmf.Message(content="x"))
    with pytest.raises(AttributeError):
        found.match = None  # type: ignore[misc]


# The async variant, under asyncio and trio.


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.anyio
async def test_async_wait(anyio_backend: str) -> None:
    service = Service(
        {
            0: [OLD],
            1: [OLD, msg(2, "out", inbound=False)],
            2: [
                OLD,
                msg(2, "out", inbound=False),
                msg(3, "Your code is 424242"),
            ],
        }
    )
    http = httpx.AsyncClient(transport=httpx.MockTransport(service))
    client = dtmf.AsyncClient("tok", base_url="http://localhost/api/v1", http_client=http)
    try:
        number = dtmf.AsyncNumber(e164=E164).bind(client)
        found = await async_wait_for_message(number, timeout=5, match=re.compile(r"code is (\d+)"))
        assert found.code == "424242"
        assert found.message.id == 3
        with pytest.raises(dtmf.MessageTimeoutError, match=r"\+15550100001"):
            await async_wait_for_message(number, timeout=0.2)
    finally:
        await client.aclose()
        await http.aclose()


@pytest.mark.slow  # waits out a real timeout
def test_a_slow_poll_does_not_overrun_the_wait() -> None:
    from dtmf.testing import Emulator

    with Emulator(seed=3) as emu:
        emu.add_account("wait-token", balance=10_000_000)
        with emu.client("wait-token") as client:
            number = client.numbers.rent("gb-mobile")
            emu.faults.add("numbers.get", delay=30, always=True)  # the service hangs
            started = time.monotonic()
            with pytest.raises(dtmf.APITimeoutError):
                number.wait_for_message(timeout=1)
            assert time.monotonic() - started < 10  # bounded by the wait, not by the 30 s hang


class Flaky(Service):
    """A `Service` that answers 503 on the polls numbered in `failing`."""

    def __init__(self, script: dict[int, list[Msg]], failing: set[int]) -> None:
        super().__init__(script)
        self.failing = failing

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.polls in self.failing:
            self.polls += 1
            return httpx.Response(503, json={"message": "try later"})
        return super().__call__(request)


def test_transient_poll_failures_do_not_end_the_wait(
    number_for: Callable[[Service], dtmf.Number],
) -> None:
    service = Flaky({0: [OLD], 3: [OLD, msg(2, "code 4242")]}, failing={1, 2})
    number = number_for(service)
    found = number.bind(number._client().with_options(max_retries=0)).wait_for_message(  # pyright: ignore[reportPrivateUsage]
        timeout=30, match=re.compile(r"code (\d+)")
    )
    assert found.code == "4242"
    assert service.polls == 4  # the baseline, two failed polls, the one that found it


def test_a_timeout_after_failed_polls_names_the_failure(
    number_for: Callable[[Service], dtmf.Number],
) -> None:
    service = Flaky({0: [OLD]}, failing=set(range(1, 10_000)))
    number = number_for(service)
    with pytest.raises(dtmf.MessageTimeoutError, match="last poll failed"):
        number.bind(number._client().with_options(max_retries=0)).wait_for_message(timeout=0.3)  # pyright: ignore[reportPrivateUsage]


def test_a_failed_first_poll_ends_the_wait() -> None:
    # Without a first poll there is no baseline: a message arriving meanwhile could
    # not be told from an old one, so the error is raised rather than risk a miss.
    from dtmf.testing import Emulator

    with Emulator(seed=3) as emu:
        emu.add_account("wait-token", balance=10_000_000)
        with emu.client("wait-token", max_retries=0) as client:
            number = client.numbers.rent("gb-mobile")
            emu.faults.add("numbers.get", status=503, count=1)
            with pytest.raises(dtmf.InternalServerError):
                number.wait_for_message(timeout=5)
