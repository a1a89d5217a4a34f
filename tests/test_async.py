"""The AsyncClient under load and across event loops, against the emulator on a real port."""

from __future__ import annotations

import asyncio
import gc
import itertools
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
import trio

import dtmf
from dtmf.testing import Emulator

OTHER = "+447700900123"
SENDS = 300
GB_SETUP, GB_SMS = 15400, 520

_tokens = itertools.count(1)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(seed=5, pool_size=20) as emulator:
        yield emulator


def new_account(emu: Emulator, balance: int = 100_000_000) -> str:
    token = f"async-{next(_tokens)}"
    emu.add_account(token, balance=balance)
    return token


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "limits", [None, httpx.Limits(max_connections=4)], ids=["default-pool", "4-connections"]
)
async def test_concurrent_sms_through_one_client_are_each_stored_once(
    emu: Emulator, base_url: str, limits: httpx.Limits | None
) -> None:
    token = new_account(emu)
    options: dict[str, Any] = {} if limits is None else {"limits": limits}
    sends_before = sum(1 for r in emu.requests if r.operation == "messages.send")
    async with dtmf.AsyncClient(token, base_url=base_url, **options) as client:
        number = await client.numbers.rent("gb-mobile")

        async def send(i: int) -> None:
            await number.send_sms(OTHER, f"concurrent message {i:03d}")

        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            for i in range(SENDS):
                group.start_soon(send, i)
        elapsed = time.perf_counter() - started
        number = await number.refresh()
        await number.end_rental()

    contents = Counter(m.content for m in number.messages)
    assert contents == Counter(f"concurrent message {i:03d}" for i in range(SENDS))
    assert all(m.from_ == number.e164 and m.to == OTHER for m in number.messages)
    sends = sum(1 for r in emu.requests if r.operation == "messages.send") - sends_before
    assert sends == SENDS  # one request each: sending is never retried
    assert emu.account(token).balance == 100_000_000 - GB_SETUP - SENDS * GB_SMS
    print(f"{SENDS} SMS, limits={limits}: {elapsed:.2f} s")


async def _tour(base_url: str, token: str) -> int:
    """Rent, send, read and end through a new AsyncClient; returns the final balance."""
    async with dtmf.AsyncClient(token, base_url=base_url) as client:
        number = await client.numbers.rent("gb-mobile")
        await number.send_sms(OTHER, "hello")
        number = await number.refresh()
        assert [m.content for m in number.messages] == ["hello"]
        await number.end_rental()
        return (await client.account.get()).balance


def test_the_module_works_from_successive_event_loops(emu: Emulator, base_url: str) -> None:
    # Nothing in dtmf is tied to the first event loop that used it: two asyncio.run()
    # calls, then trio, each with its own client over real connections.
    token = new_account(emu)
    balances = [
        asyncio.run(_tour(base_url, token)),
        asyncio.run(_tour(base_url, token)),
        trio.run(_tour, base_url, token),
    ]
    step = GB_SETUP + GB_SMS
    assert balances == [100_000_000 - step, 100_000_000 - 2 * step, 100_000_000 - 3 * step]


def _abandon_an_async_client() -> None:
    dtmf.AsyncClient("token", base_url="http://127.0.0.1:9/api/v1")  # never closed
    gc.collect()


def test_an_unclosed_async_client_warns() -> None:
    with pytest.warns(ResourceWarning, match="AsyncClient.*was never closed"):
        _abandon_an_async_client()


def test_a_closed_or_borrowing_async_client_does_not_warn() -> None:
    closed = dtmf.AsyncClient("token", base_url="http://127.0.0.1:9/api/v1")
    asyncio.run(closed.aclose())
    http = httpx.AsyncClient()
    borrowing = dtmf.AsyncClient("token", base_url="http://127.0.0.1:9/api/v1", http_client=http)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del closed, borrowing
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
    asyncio.run(http.aclose())


@pytest.mark.anyio
async def test_aclose_is_idempotent(emu: Emulator, base_url: str) -> None:
    client = dtmf.AsyncClient(new_account(emu, balance=3), base_url=base_url)
    view = client.with_options(max_retries=0)
    assert (await view.account.get()).balance == 3
    await view.aclose()  # a view leaves the pool to its client
    assert not client.is_closed
    await client.aclose()
    await client.aclose()
    async with client:  # leaving a `with` block of a closed client is harmless too
        pass
    assert client.is_closed
    assert view.is_closed
    with pytest.raises(dtmf.ClientClosedError, match="AsyncClient is closed"):
        await client.account.get()
    with pytest.raises(dtmf.ClientClosedError):
        await view.account.get()


def test_a_second_event_loop_gets_a_clear_error(emu: Emulator, base_url: str) -> None:
    # Like httpx's, an AsyncClient's connections belong to the loop that opened them;
    # in a second loop they would fail with a bare RuntimeError.
    token = new_account(emu, balance=7)
    # No keep-alive, so that no socket outlives the first loop and the test can close.
    no_keep_alive = httpx.Limits(max_connections=4, max_keepalive_connections=0)
    client = dtmf.AsyncClient(token, base_url=base_url, limits=no_keep_alive)
    assert asyncio.run(client.account.get()).balance == 7
    with pytest.raises(dtmf.WrongEventLoopError, match="Create one AsyncClient inside each run"):
        asyncio.run(client.account.get())
    with pytest.raises(dtmf.WrongEventLoopError):
        trio.run(client.with_options(max_retries=0).account.get)
    asyncio.run(client.aclose())


@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_closing_after_the_loop_ended_says_why(emu: Emulator, base_url: str) -> None:
    # The socket of the ended loop is released at garbage collection (its warning is
    # the point of the advice, so it is filtered here).
    client = dtmf.AsyncClient(new_account(emu, balance=7), base_url=base_url)
    assert asyncio.run(client.account.get()).balance == 7
    with pytest.raises(dtmf.WrongEventLoopError, match="close a client in the loop it ran in"):
        asyncio.run(client.aclose())
    assert client.is_closed
    asyncio.run(client.aclose())  # idempotent: nothing more to do
    del client
    gc.collect()
