"""Sends that reconcile: an ambiguous `send_sms` failure is answered from the history.

The done-when of issue 23: 200 seeded ambiguous-send faults, sync and async, each
ending as "sent" (the message found, or the send confirmed) or "not sent"
(`SendNotFoundError`, then one retry), checked against the messages the
reference server really stored: 0 duplicates, 0 unknown. `-s` prints the tally.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import anyio
import pytest

import dtmf
from dtmf._reconcile import _Lookup  # pyright: ignore[reportPrivateUsage]
from dtmf.testing import Emulator
from tests.conftest import fast_retries

TOKEN = "reconcile-token"
TO = "+447700900123"
CASES = 200
READ_TIMEOUT = 0.02
"""The clients' read timeout: an injected delay longer than this is a timeout."""

# name -> the fault on the send (None: no fault). Each is used up by one request.
FAULTS: dict[str, dict[str, Any] | None] = {
    "drop after send": {"drop": "after"},
    "timeout after send": {"delay": 1.0, "after_acting": True},
    "drop before send": {"drop": "before"},  # connection refused: the SDK retries it
    "timeout before send": {"delay": 1.0},  # the service never acted
    "status 500": {"status": 500},  # answered before acting: not sent
    "no fault": None,
}


@pytest.fixture
def emu() -> Iterator[Emulator]:
    # The history lags up to two reads behind: three lookups always see a stored send.
    with Emulator(seed=23, history_lag=2) as emulator:
        emulator.add_account(TOKEN, balance=10**9)
        yield emulator


def _stored(emu: Emulator, e164: str, content: str) -> int:
    return sum(1 for m in emu.stored_messages(e164) if m["content"] == content and not m["inbound"])


def _client(emu: Emulator) -> dtmf.Client:
    client = emu.client(TOKEN, timeout=READ_TIMEOUT)
    fast_retries(client)
    return client


def _async_client(emu: Emulator) -> dtmf.AsyncClient:
    client = emu.async_client(TOKEN, timeout=READ_TIMEOUT)
    fast_retries(client)
    return client


class Tally:
    """How each case ended, checked against what the server stored."""

    def __init__(self, emu: Emulator, e164: str) -> None:
        self.emu = emu
        self.e164 = e164
        self.outcomes: Counter[str] = Counter()
        self.by_fault: Counter[tuple[str, str]] = Counter()

    def record(self, fault: str, content: str, outcome: str) -> None:
        self.outcomes[outcome] += 1
        self.by_fault[fault, outcome] += 1
        stored = _stored(self.emu, self.e164, content)
        assert stored == 1, f"{fault}: {outcome}, but the server stored it {stored} times"

    def check_not_sent(self, content: str) -> None:
        """A `SendNotFoundError` must be true: the server stored nothing."""
        assert _stored(self.emu, self.e164, content) == 0, "reported not sent, but it was"

    def report(self, flavour: str) -> str:
        lines = [f"{flavour}: {dict(sorted(self.outcomes.items()))}"]
        lines += [f"  {fault:20} {outcome:12} {n}" for (fault, outcome), n in self.by_fault.items()]
        return "\n".join(lines)


def _plan(seed: int) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(sorted(FAULTS)) for _ in range(CASES)]


def _schedule(emu: Emulator, fault: str) -> None:
    options = FAULTS[fault]
    if options is not None:
        emu.faults.add("messages.send", **options)


def _sync_case(emu: Emulator, number: dtmf.Number, tally: Tally, fault: str, i: int) -> None:
    content = f"sync case {i}: {fault}"
    _schedule(emu, fault)
    check: dict[str, Any] = {"on_ambiguous": "check", "lookups": 3, "interval": 0.0}
    try:
        found = number.send_sms(TO, content, **check)
    except dtmf.SendNotFoundError:
        tally.check_not_sent(content)
        assert number.send_sms(TO, content, **check) is None  # the one retry
        tally.record(fault, content, "not sent")
        return
    tally.record(fault, content, "confirmed" if found is None else "found")
    if found is not None:
        assert found.content == content
        assert found.to == TO


@pytest.mark.slow  # 200 fault cases
def test_ambiguous_sends_sync(emu: Emulator) -> None:
    client = _client(emu)
    number = client.numbers.rent("gb-mobile")
    tally = Tally(emu, number.e164)
    for i, fault in enumerate(_plan(seed=23)):
        _sync_case(emu, number, tally, fault, i)
    print("\n" + tally.report("sync"))
    assert sum(tally.outcomes.values()) == CASES
    assert set(tally.outcomes) <= {"confirmed", "found", "not sent"}
    # Every kind of ending happened (the plan is seeded: this guards the mix itself).
    assert {"found", "not sent", "confirmed"} <= set(tally.outcomes)


async def _async_cases(emu: Emulator) -> Tally:
    client = _async_client(emu)
    number = await client.numbers.rent("gb-mobile")
    tally = Tally(emu, number.e164)
    for i, fault in enumerate(_plan(seed=24)):
        content = f"async case {i}: {fault}"
        _schedule(emu, fault)
        try:
            found = await number.send_sms(
                TO, content, on_ambiguous="check", lookups=3, interval=0.0
            )
        except dtmf.SendNotFoundError:
            tally.check_not_sent(content)
            retried = await number.send_sms(
                TO, content, on_ambiguous="check", lookups=3, interval=0.0
            )
            assert retried is None
            tally.record(fault, content, "not sent")
            continue
        tally.record(fault, content, "confirmed" if found is None else "found")
    return tally


@pytest.mark.slow  # 200 fault cases
def test_ambiguous_sends_async(emu: Emulator) -> None:
    tally = anyio.run(_async_cases, emu)
    print("\n" + tally.report("async"))
    assert sum(tally.outcomes.values()) == CASES
    assert set(tally.outcomes) <= {"confirmed", "found", "not sent"}
    assert {"found", "not sent", "confirmed"} <= set(tally.outcomes)


# The rule, case by case ------------------------------------------------------


def _sent_after() -> datetime:
    return datetime.now(timezone.utc)


def test_found_message_is_the_one_sent(emu: Emulator) -> None:
    client = _client(emu)
    number = client.numbers.rent("gb-mobile")
    emu.faults.add("messages.send", drop="after")
    found = number.send_sms(TO, "Grüße aus Zürich", on_ambiguous="check", interval=0)
    assert found is not None
    assert found.content == "Grusse aus Zurich"  # what was sent: rendered to ASCII
    assert found.id == emu.stored_messages(number.e164)[-1]["id"]


def test_default_raises_and_looks_nothing_up(emu: Emulator) -> None:
    client = _client(emu)
    number = client.numbers.rent("gb-mobile")
    emu.faults.add("messages.send", drop="after")
    seen = len(emu.requests)
    with pytest.raises(dtmf.APIConnectionError) as info:
        number.send_sms(TO, "hello")
    assert info.value.may_have_succeeded
    assert [r.operation for r in emu.requests[seen:]] == ["messages.send"]


def test_a_failure_that_is_not_ambiguous_is_raised_as_is(emu: Emulator) -> None:
    setup = next(g.setup_cost for g in _client(emu).groups.list("mobile") if g.id == "gb-mobile")
    emu.add_account("poor", balance=setup)
    client = emu.client("poor")
    number = client.numbers.rent("gb-mobile")  # nothing is left to pay for an SMS
    seen = len(emu.requests)
    with pytest.raises(dtmf.InsufficientFundsError):
        number.send_sms(TO, "hello", on_ambiguous="check", interval=0)
    assert [r.operation for r in emu.requests[seen:]] == ["messages.send"]


def test_reconcile_send_ignores_other_messages(emu: Emulator) -> None:
    client = _client(emu)
    number = client.numbers.rent("gb-mobile")
    started = _sent_after()
    number.send_sms("+447700900999", "hello")  # another recipient
    number.send_sms(TO, "hello again")  # other content
    emu.simulate_inbound_sms(number.e164, TO, "hello")  # received, not sent
    with pytest.raises(dtmf.SendNotFoundError, match="was not sent") as info:
        number.reconcile_send(TO, "hello", sent_after=started, lookups=2, interval=0)
    assert "safe" in str(info.value)
    assert info.value.lookups == 2
    assert isinstance(info.value, dtmf.DTMFError)
    number.send_sms(TO, "hello")
    assert (
        client.messages.reconcile_send(
            number.e164, TO, "hello", sent_after=started, interval=0
        ).content
        == "hello"
    )


def test_window_allows_clock_skew_and_excludes_older_sends(emu: Emulator) -> None:
    client = _client(emu)
    number = client.numbers.rent("gb-mobile")
    number.send_sms(TO, "same text")
    stamp = number.refresh().messages[-1].timestamp
    assert stamp is not None
    # Within the skew before sent_after: counts (the service's clock may run behind).
    within = stamp + timedelta(seconds=10)
    assert (
        number.reconcile_send(
            TO, "same text", sent_after=within, clock_skew=timedelta(seconds=30), interval=0
        ).timestamp
        == stamp
    )
    # Older than the window: an earlier send of the same text is not this one.
    later = stamp + timedelta(minutes=5)
    with pytest.raises(dtmf.SendNotFoundError):
        number.reconcile_send(TO, "same text", sent_after=later, lookups=1, interval=0)


def test_a_message_without_timestamp_counts_as_sent() -> None:
    # The service's later dialect may send '' as a timestamp: it cannot be ruled out.
    number = dtmf.Number.model_validate(
        {
            "e164": "+447700900001",
            "messages": [
                {"other_number": TO, "inbound": False, "content": "hi", "timestamp": ""},
                {"other_number": TO, "inbound": True, "content": "hi", "timestamp": ""},
            ],
        }
    )
    lookup = _Lookup(
        number.e164, TO, "hi", sent_after=_sent_after(), clock_skew=timedelta(0), lookups=1,
        interval=0,
    )  # fmt: skip
    assert lookup.find(number) is number.messages[0]


def test_history_that_cannot_be_read_leaves_the_original_error(emu: Emulator) -> None:
    client = _client(emu)
    number = client.numbers.rent("gb-mobile")
    emu.faults.add("messages.send", drop="after")
    emu.faults.add("numbers.get", status=503, always=True)
    with pytest.raises(dtmf.APIConnectionError) as info:
        number.send_sms(TO, "hello", on_ambiguous="check", interval=0)
    assert info.value.operation == "messages.send"
    assert info.value.may_have_succeeded
    assert isinstance(info.value.__context__, dtmf.InternalServerError)


@pytest.mark.parametrize(
    ("options", "parameter"),
    [
        ({"on_ambiguous": "maybe"}, "on_ambiguous"),
        ({"on_ambiguous": "check", "lookups": 0}, "lookups"),
        ({"on_ambiguous": "check", "interval": -1}, "interval"),
        ({"on_ambiguous": "check", "clock_skew": timedelta(seconds=-1)}, "clock_skew"),
    ],
)
def test_bad_options_are_refused_before_any_request(
    emu: Emulator, options: dict[str, Any], parameter: str
) -> None:
    number = _client(emu).numbers.rent("gb-mobile")
    seen = len(emu.requests)
    with pytest.raises(dtmf.InvalidParameterError) as info:
        number.send_sms(TO, "hello", **options)
    assert info.value.parameter == parameter
    assert len(emu.requests) == seen
    assert _stored(emu, number.e164, "hello") == 0


def test_naive_sent_after_is_refused(emu: Emulator) -> None:
    number = _client(emu).numbers.rent("gb-mobile")
    with pytest.raises(dtmf.InvalidParameterError, match="sent_after"):
        number.reconcile_send(TO, "hello", sent_after=datetime.now())


def test_async_reconcile_send(emu: Emulator) -> None:
    async def run() -> None:
        client = _async_client(emu)
        number = await client.numbers.rent("gb-mobile")
        started = _sent_after()
        with pytest.raises(dtmf.SendNotFoundError):
            await client.messages.reconcile_send(
                number.e164, TO, "hi", sent_after=started, interval=0
            )
        await number.send_sms(TO, "hi")
        found = await number.reconcile_send(TO, "hi", sent_after=started, interval=0)
        assert found.to == TO

    anyio.run(run)


def test_history_lag_hides_new_messages_for_a_few_reads() -> None:
    with Emulator(seed=5, history_lag=3) as emu:
        emu.add_account(TOKEN, balance=10**9)
        client = emu.client(TOKEN)
        number = client.numbers.rent("gb-mobile")
        for i in range(20):
            number.send_sms(TO, f"message {i}")
        seen = [len(client.numbers.get(number.e164).messages) for _ in range(5)]
        assert seen[0] < 20  # some lag behind the send
        assert seen == sorted(seen)
        assert seen[3:] == [20, 20]
        assert len(emu.stored_messages(number.e164)) == 20


def test_timeout_after_send_on_a_served_port(emu: Emulator) -> None:
    # The ASGI app applies `after_acting` too: the service stores the SMS, then answers late.
    with emu.serve() as url, dtmf.Client(TOKEN, base_url=url, timeout=0.1) as client:
        number = client.numbers.rent("gb-mobile")
        emu.faults.add("messages.send", delay=0.5, after_acting=True)
        found = number.send_sms(TO, "late answer", on_ambiguous="check", interval=0)
        assert found is not None
        assert _stored(emu, number.e164, "late answer") == 1


def test_after_acting_needs_a_delay_and_an_acting_service(emu: Emulator) -> None:
    refused: list[dict[str, Any]] = [
        {},
        {"delay": 1, "status": 500},
        {"delay": 1, "drop": "before"},
    ]
    for options in refused:
        with pytest.raises(ValueError, match="after_acting"):
            emu.faults.add("messages.send", after_acting=True, **options)
