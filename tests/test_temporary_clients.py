"""A user's natural idioms on a client they did not keep never misreport a paid action.

Resources and bound models hold their client strongly: a rental made through a
temporary client is returned, not reported as a failure after it happened.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import warnings
from collections.abc import Iterator

import httpx
import pytest

import dtmf
from dtmf.testing import Emulator

_tokens = itertools.count(1)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(seed=22) as emulator:
        yield emulator


def new_account(emu: Emulator, balance: int) -> str:
    token = f"temporary-{next(_tokens)}"
    emu.add_account(token, balance=balance)
    return token


def _collect() -> None:
    gc.collect()  # one pass: a client holds no reference cycle, this only proves it


@pytest.fixture
def quiet() -> Iterator[None]:
    # A temporary client is never closed: its ResourceWarning (like httpx's) is expected.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        yield
        _collect()


def _rentals(emu: Emulator, token: str) -> list[str]:
    with emu.client(token) as client:
        return [n.e164 for n in client.numbers.list()]


@pytest.mark.usefixtures("quiet")
def test_one_liner_rent_returns_the_number_and_it_acts(emu: Emulator, base_url: str) -> None:
    token = new_account(emu, balance=1_000_000)
    number = dtmf.Client(token, base_url=base_url).numbers.rent("gb-mobile")
    _collect()
    assert _rentals(emu, token) == [number.e164]
    number.end_rental()  # the model keeps the client alive
    assert _rentals(emu, token) == []


@pytest.mark.usefixtures("quiet")
def test_a_resource_outlives_its_temporary_client(emu: Emulator, base_url: str) -> None:
    token = new_account(emu, balance=1_000_000)
    numbers = dtmf.Client(token, base_url=base_url).numbers
    _collect()
    number = numbers.rent("gb-mobile")
    _collect()
    assert number.refresh().e164 == number.e164
    numbers.end_rental(number.e164)
    assert _rentals(emu, token) == []


@pytest.mark.usefixtures("quiet")
def test_async_one_liners(emu: Emulator, base_url: str) -> None:
    token = new_account(emu, balance=1_000_000)

    async def main() -> str:
        number = await dtmf.AsyncClient(token, base_url=base_url).numbers.rent("gb-mobile")
        _collect()
        await number.send_sms("+447700900123", "hi")
        _collect()
        await number.end_rental()
        return number.e164

    e164 = asyncio.run(main())
    assert e164.startswith("+")
    assert _rentals(emu, token) == []


@pytest.mark.usefixtures("quiet")
def test_compat_one_liners(emu: Emulator, base_url: str) -> None:
    token = new_account(emu, balance=1_000_000)
    rented = dtmf.DTMF(token, base_url=base_url).start_rental("gb-mobile")
    _collect()
    assert _rentals(emu, token) == [rented["e164"]]
    assert dtmf.DTMF(token, base_url=base_url).end_rental(rented["e164"]) is True
    assert _rentals(emu, token) == []


def test_a_closed_client_sends_nothing(emu: Emulator, base_url: str) -> None:
    token = new_account(emu, balance=1_000_000)
    sent: list[httpx.Request] = []
    with httpx.Client(event_hooks={"request": [sent.append]}) as http:
        client = dtmf.Client(token, base_url=base_url, http_client=http)
        number = client.numbers.rent("gb-mobile")
        client.close()
        _collect()
        before = len(sent)
        with pytest.raises(dtmf.ClientClosedError, match="is closed"):
            client.numbers.rent("gb-mobile")
        with pytest.raises(dtmf.ClientClosedError):
            number.send_sms("+447700900123", "hi")
        assert len(sent) == before
        assert _rentals(emu, token) == [number.e164]
