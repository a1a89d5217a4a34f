"""The emulator's service behaviour, through the SDK, over every way of reaching it.

Each test runs three times: in-process with a `Client`, in-process with an
`AsyncClient`, and over real HTTP with a `Client` of `emu.serve()`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import dtmf
from dtmf.testing import Clock, Emulator
from tests.wire import wire

TOKEN = "emulator-test-token"
START = datetime(2018, 1, 1, 1, 1, 1, tzinfo=timezone.utc)
OTHER = "+447700900123"


class Api:
    """Runs `client.<resource>.<method>(...)` for a sync or async client alike."""

    def __init__(self, emu: Emulator, client: dtmf.Client | dtmf.AsyncClient) -> None:
        self.emu = emu
        self.client = client

    def __call__(self, operation: str, *args: Any) -> Any:
        resource, method = operation.split(".")
        result = getattr(getattr(self.client, resource), method)(*args)
        if isinstance(self.client, dtmf.AsyncClient):
            return asyncio.run(result)
        return result


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(seed=7, pool_size=3, clock=Clock(START)) as emulator:
        yield emulator


@pytest.fixture(params=["sync", "async", "port"])
def api(request: pytest.FixtureRequest, emu: Emulator) -> Iterator[Api]:
    emu.add_account(TOKEN, balance=1_000_000)
    if request.param == "sync":
        with emu.client(TOKEN, max_retries=0) as client:
            yield Api(emu, client)
    elif request.param == "async":
        client = emu.async_client(TOKEN, max_retries=0)
        yield Api(emu, client)
        asyncio.run(client.aclose())
        asyncio.run(emu.aclose())
    else:
        with emu.serve() as base_url, dtmf.Client(TOKEN, base_url=base_url, max_retries=0) as c:
            yield Api(emu, c)


def balance(api: Api) -> int:
    return int(api("account.get").balance)


def test_account_and_addresses(api: Api) -> None:
    assert balance(api) == 1_000_000
    first = api("addresses.list")
    assert len(first) == 1
    assert first[0].address.startswith("1")
    created = api("addresses.create")
    assert [a.address for a in api("addresses.list")] == [first[0].address, created.address]
    assert created.address != first[0].address


def test_groups_catalogue(api: Api) -> None:
    mobile = api("groups.list", "mobile")
    local = api("groups.list", "local")
    assert len(mobile) + len(local) >= 20
    assert {g.type for g in mobile} == {"mobile"}
    assert {g.type for g in local} == {"local"}
    countries = {g.country_code for g in mobile + local}
    assert {"us", "gb", "de", "fr", "cz", "nl", "se", "ca", "au", "es"} <= countries
    cz = next(g for g in mobile if g.id == "cz-mobile")
    assert (cz.name, cz.setup_cost, cz.rental_cost_per_minute) == ("Czech Republic", 32093, 269)
    assert any(not g.sms_support for g in local)
    assert any(not g.voice_support for g in mobile)
    for group in mobile + local:
        assert (group.cost_per_inbound_call_minute is None) == (not group.voice_support)
        assert group.id == f"{group.country_code}-{group.type}"


def test_rent_get_list_end(api: Api) -> None:
    number = api("numbers.rent", "gb-mobile")
    assert number.e164.startswith("+447700900")
    assert (number.group_id, number.sms, number.cost_per_minute) == ("gb-mobile", True, 21)
    assert number.assignment_start == START
    assert number.messages == []
    assert number.sms_forwarded_to is None
    assert balance(api) == 1_000_000 - 15400
    assert api("numbers.get", number.e164).e164 == number.e164
    assert [n.e164 for n in api("numbers.list")] == [number.e164]
    assert api("numbers.end_rental", number.e164) is None
    assert api("numbers.list") == []
    with pytest.raises(dtmf.NotFoundError, match="is not a number your account rents"):
        api("numbers.get", number.e164)
    with pytest.raises(dtmf.NotFoundError):
        api("numbers.end_rental", number.e164)


def test_timestamps_on_the_wire_are_naive_utc(api: Api, emu: Emulator) -> None:
    number = api("numbers.rent", "us-mobile")
    reply = emu.handle(
        *wire("numbers.get"), {"e164": number.e164}, {"authorization": f"Bearer {TOKEN}"}, b""
    )
    assert b'"assignment_start":"2018-01-01T01:01:01.000000"' in reply.body


def test_unknown_group_empty_pool_and_funds(api: Api, emu: Emulator) -> None:
    with pytest.raises(dtmf.NotFoundError, match="no group 'xx-mobile'"):
        api("numbers.rent", "xx-mobile")
    rented = {api("numbers.rent", "se-mobile").e164 for _ in range(3)}
    assert len(rented) == 3
    with pytest.raises(dtmf.ConflictError, match="no free numbers in group se-mobile"):
        api("numbers.rent", "se-mobile")
    poor = "poor-token"
    emu.add_account(poor, balance=100)
    before = emu.account(poor).balance
    with emu.client(poor, max_retries=0) as client:
        with pytest.raises(dtmf.InsufficientFundsError, match="costs 34500"):
            client.numbers.rent("au-mobile")
        assert client.numbers.list() == []
    assert emu.account(poor).balance == before == 100


def test_bad_token(api: Api, emu: Emulator) -> None:
    with emu.client("nobody", max_retries=0) as client, pytest.raises(dtmf.AuthenticationError):
        client.account.get()


def test_billing_per_whole_minute(api: Api, emu: Emulator) -> None:
    number = api("numbers.rent", "cz-mobile")  # 269 a minute
    after_setup = 1_000_000 - 32093
    emu.clock.advance(seconds=59)
    assert balance(api) == after_setup
    emu.clock.advance(seconds=1)
    assert balance(api) == after_setup - 269
    emu.clock.advance(minutes=10, seconds=30)
    assert balance(api) == after_setup - 11 * 269
    api("numbers.end_rental", number.e164)
    emu.clock.advance(minutes=60)
    assert balance(api) == after_setup - 11 * 269


def test_rental_ends_when_the_balance_runs_out(emu: Emulator) -> None:
    account = emu.add_account("short", balance=32093 + 3 * 269 + 100)
    with emu.client("short") as client:
        number = client.numbers.rent("cz-mobile")
        emu.clock.advance(minutes=5)
        assert account.balance == 100  # three minutes paid, never below zero
        assert client.numbers.list() == []
        with pytest.raises(dtmf.NotFoundError):
            number.refresh()


def test_send_sms(api: Api, emu: Emulator) -> None:
    number = api("numbers.rent", "gb-mobile")
    emu.clock.advance(seconds=5)
    api("messages.send", number.e164, OTHER, "Grüße aus Zürich €")
    [message] = api("numbers.get", number.e164).messages
    assert (message.from_, message.to, message.content) == (
        number.e164,
        OTHER,
        "Grusse aus Zurich EUR",
    )
    assert (message.success, message.cost, message.inbound) == (True, 520, False)
    assert message.timestamp == START + timedelta(seconds=5)
    assert message.id is not None
    assert message.id >= 1
    assert balance(api) == 1_000_000 - 15400 - 520


def test_send_sms_refusals(api: Api, emu: Emulator) -> None:
    with pytest.raises(dtmf.NotFoundError):
        api("messages.send", "+447700900555", OTHER, "hi")
    voice_only = api("numbers.rent", "gb-local")
    with pytest.raises(dtmf.PermissionDeniedError, match="no SMS support"):
        api("messages.send", voice_only.e164, OTHER, "hi")
    emu.add_account("broke", balance=15400 + 519)
    with emu.client("broke", max_retries=0) as client:
        number = client.numbers.rent("gb-mobile")
        with pytest.raises(dtmf.InsufficientFundsError):
            number.send_sms(OTHER, "hi")
        assert number.refresh().messages == []
        assert client.account.get().balance == 519


def test_set_sms_action(api: Api) -> None:
    number = api("numbers.rent", "us-mobile")
    api("numbers.set_sms_action", number.e164, "forward", OTHER)
    assert api("numbers.get", number.e164).sms_action == ("forward", OTHER)
    api("numbers.set_sms_action", number.e164, "webhook", "https://example.org/hook")
    assert api("numbers.get", number.e164).sms_forwarded_to == "https://example.org/hook"
    api("numbers.set_sms_action", number.e164, None, None)
    assert api("numbers.get", number.e164).sms_forwarded_to is None
    with pytest.raises(dtmf.NotFoundError):
        api("numbers.set_sms_action", "+12015550199", None, None)


def test_inbound_sms_stored_and_forwarded(api: Api, emu: Emulator) -> None:
    number = api("numbers.rent", "us-mobile")
    stored = emu.simulate_inbound_sms(number.e164, OTHER, "first")
    assert stored["inbound"] is True
    assert stored["from"] == OTHER
    assert stored["cost"] == 705
    api("numbers.set_sms_action", number.e164, "forward", "+12125550150")
    emu.simulate_inbound_sms(number.e164, OTHER, "second")
    messages = api("numbers.get", number.e164).messages
    assert [(m.inbound, m.from_, m.to, m.content) for m in messages] == [
        (True, OTHER, number.e164, "first"),
        (True, OTHER, number.e164, "second"),
        (False, number.e164, "+12125550150", "second"),
    ]
    assert [m.id for m in messages] == sorted({m.id for m in messages})
    assert balance(api) == 1_000_000 - 9850 - 3 * 705
    assert [m.content for m in api("numbers.get", number.e164).inbound_messages] == [
        "first",
        "second",
    ]
