"""The leak finder: `numbers.end_older_than()`, and `number.age()` / `cost_so_far()`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import anyio
import pytest

import dtmf
from dtmf.testing import Clock, Emulator
from tests.conftest import fast_retries

TOKEN = "leaks-token"
START = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(seed=11, clock=Clock(START)) as emulator:
        emulator.add_account(TOKEN, balance=10**9)
        yield emulator


def _client(emu: Emulator) -> dtmf.Client:
    client = emu.client(TOKEN)
    fast_retries(client)
    return client


def _rent_old_and_new(client: dtmf.Client, emu: Emulator) -> tuple[list[str], str]:
    old = [client.numbers.rent("gb-mobile").e164 for _ in range(3)]
    emu.clock.advance(minutes=61)
    return old, client.numbers.rent("us-mobile").e164


def test_ends_the_old_rentals_and_keeps_the_rest(emu: Emulator) -> None:
    client = _client(emu)
    old, new = _rent_old_and_new(client, emu)
    result = client.numbers.end_older_than(HOUR, keep=[old[0]], now=emu.clock.now())
    assert {n.e164 for n in result.ended} == set(old[1:])
    assert {n.e164 for n in result.kept} == {old[0], new}
    assert result.ok
    assert result.failed == {}
    assert {n.e164 for n in client.numbers.list()} == {old[0], new}


def test_a_failure_is_reported_and_the_others_still_end(emu: Emulator) -> None:
    client = _client(emu)
    old, _ = _rent_old_and_new(client, emu)
    emu.faults.add("numbers.end_rental", status=500, count=3)  # the first, and its retries
    result = client.numbers.end_older_than(HOUR, now=emu.clock.now())
    assert not result.ok
    (failed, error), *others = result.failed.items()
    assert not others
    assert isinstance(error, dtmf.InternalServerError)
    assert {n.e164 for n in result.ended} == set(old) - {failed}
    assert failed in {n.e164 for n in client.numbers.list()}  # still running, and reported


def test_a_number_already_gone_counts_as_ended(emu: Emulator) -> None:
    client = _client(emu)
    old, _ = _rent_old_and_new(client, emu)
    emu.faults.add("numbers.end_rental", status=404)
    result = client.numbers.end_older_than(HOUR, now=emu.clock.now())
    assert {n.e164 for n in result.ended} == set(old)
    assert result.ok


@pytest.mark.parametrize(
    ("arguments", "parameter"),
    [
        ({"age": timedelta(0)}, "age"),
        ({"age": 3600}, "age"),
        ({"age": HOUR, "keep": "+447700900001"}, "keep"),
        ({"age": HOUR, "keep": ["07700 900001"]}, "keep"),
        ({"age": HOUR, "now": datetime(2026, 3, 1)}, "now"),
    ],
)
def test_bad_arguments_are_refused_before_any_request(
    emu: Emulator, arguments: dict[str, Any], parameter: str
) -> None:
    client = _client(emu)
    seen = len(emu.requests)
    with pytest.raises(dtmf.InvalidParameterError) as info:
        client.numbers.end_older_than(**arguments)
    assert info.value.parameter == parameter
    assert len(emu.requests) == seen


def test_async_end_older_than(emu: Emulator) -> None:
    async def run() -> dtmf.EndedRentals[dtmf.AsyncNumber]:
        client = emu.async_client(TOKEN)
        old = await client.numbers.rent("gb-mobile")
        emu.clock.advance(minutes=90)
        await client.numbers.rent("gb-mobile")
        result = await client.numbers.end_older_than(HOUR, now=emu.clock.now())
        assert [n.e164 for n in result.ended] == [old.e164]
        return result

    result = anyio.run(run)
    assert len(result.kept) == 1
    assert isinstance(result.ended[0], dtmf.AsyncNumber)


def test_age_and_cost_so_far_match_the_servers_billing(emu: Emulator) -> None:
    client = _client(emu)
    group = next(g for g in client.groups.list("mobile") if g.id == "gb-mobile")
    before = client.account.get().balance
    number = client.numbers.rent(group.id)
    emu.clock.advance(minutes=10, seconds=30)
    number.send_sms("+447700900123", "hello")
    emu.simulate_inbound_sms(number.e164, "+447700900123", "hi back")
    number = number.refresh()
    now = emu.clock.now()
    assert number.age(now) == timedelta(minutes=10, seconds=30)
    spent = before - client.account.get().balance
    # What the server billed, less the setup cost a number does not carry.
    assert number.cost_so_far(now) == spent - group.setup_cost
    assert number.cost_so_far(now) > 10 * group.rental_cost_per_minute  # messages count too


def test_age_of_an_unknown_start_is_zero_and_such_rentals_are_kept() -> None:
    number = dtmf.Number.model_validate({"e164": "+447700900001", "cost_per_minute": 5})
    assert number.age() == timedelta(0)
    assert number.cost_so_far() == 0
    with pytest.raises(dtmf.InvalidParameterError, match="now"):
        number.age(datetime(2026, 1, 1))
