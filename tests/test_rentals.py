"""Scoped rentals and one-call verification codes, against the reference server.

Every way out of a `with client.numbers.rental(...)` block ends the rental (or keeps
it when asked); a failed end says which number is still billed. The kill test at the
end (marked slow) interrupts a script at 50 seeded random points between rent and
end, by SIGINT and by an exception, and counts the rentals left running.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

import dtmf
from dtmf.testing import Emulator

TOKEN = "rentals-token"
GROUP = "gb-mobile"
SENDER = "+447700900123"
BALANCE = 10_000_000


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(seed=23) as emulator:
        emulator.add_account(TOKEN, balance=BALANCE)
        yield emulator


@pytest.fixture
def client(emu: Emulator) -> Iterator[dtmf.Client]:
    with emu.client(TOKEN) as made:
        yield made


def running(emu: Emulator) -> list[str]:
    """The numbers the account rents now, as the service sees them."""
    return [number["e164"] for number in emu.state.numbers(TOKEN)]


def count(emu: Emulator, operation: str) -> int:
    return sum(record.operation == operation for record in emu.requests)


class Boom(Exception):
    pass


# Sync: every way out ------------------------------------------------------------------


def test_a_normal_exit_ends_the_rental(emu: Emulator, client: dtmf.Client) -> None:
    with client.numbers.rental(GROUP) as number:
        assert running(emu) == [number.e164]
        assert isinstance(number, dtmf.Number)
    assert running(emu) == []
    assert count(emu, "numbers.end_rental") == 1


def test_an_exception_ends_the_rental_and_propagates(emu: Emulator, client: dtmf.Client) -> None:
    with pytest.raises(Boom), client.numbers.rental(GROUP):
        raise Boom
    assert running(emu) == []


def test_keyboard_interrupt_in_the_block_ends_the_rental(
    emu: Emulator, client: dtmf.Client
) -> None:
    with pytest.raises(KeyboardInterrupt), client.numbers.rental(GROUP):
        raise KeyboardInterrupt
    assert running(emu) == []


def _interrupt_main_once(emu: Emulator, operation: str) -> threading.Thread:
    """SIGINT this process as soon as a request for `operation` has reached the emulator."""
    before = count(emu, operation)

    def watch() -> None:
        deadline = time.monotonic() + 10
        while count(emu, operation) == before and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_ctrl_c_while_ending_waits_for_the_end(emu: Emulator, client: dtmf.Client) -> None:
    # The end request is held by the server for a while: the Ctrl-C lands during it.
    emu.faults.add("numbers.end_rental", delay=0.5)
    rental = client.numbers.rental(GROUP)
    threads: list[threading.Thread] = []
    with pytest.raises(KeyboardInterrupt), rental:  # raised, but only once the end is done
        threads.append(_interrupt_main_once(emu, "numbers.end_rental"))
    threads[0].join()
    assert running(emu) == []
    assert rental.number is not None
    assert count(emu, "numbers.end_rental") == 1
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_while_renting_ends_the_new_rental(emu: Emulator, client: dtmf.Client) -> None:
    emu.faults.add("numbers.rent", delay=0.5)
    thread = _interrupt_main_once(emu, "numbers.rent")
    entered = False
    with pytest.raises(KeyboardInterrupt), client.numbers.rental(GROUP):
        entered = True
    thread.join()
    assert not entered
    assert count(emu, "numbers.rent") == 1
    assert running(emu) == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_in_the_block_stops_it_as_usual(emu: Emulator, client: dtmf.Client) -> None:
    reached_end = False

    def work() -> None:
        nonlocal reached_end
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000):  # the handler runs at the next check, within a few steps
            time.sleep(0.001)
        reached_end = True

    with pytest.raises(KeyboardInterrupt), client.numbers.rental(GROUP):
        work()
    assert not reached_end
    assert running(emu) == []


def test_a_failed_end_names_the_number_still_billed(emu: Emulator, client: dtmf.Client) -> None:
    emu.faults.add("numbers.end_rental", status=500, always=True)
    with pytest.raises(dtmf.RentalNotEndedError) as raised, client.numbers.rental(GROUP) as number:
        pass
    error = raised.value
    assert isinstance(error, dtmf.DTMFError)
    assert error.e164 == number.e164
    assert running(emu) == [number.e164]
    message = str(error)
    assert number.e164 in message
    assert "still billed" in message
    assert f"{number.cost_per_minute} satoshis a minute" in message
    assert f"client.numbers.end_rental({number.e164!r})" in message
    assert f"dtmf release {number.e164}" in message
    assert isinstance(error.end_error, dtmf.InternalServerError)
    assert error.__cause__ is error.end_error


def test_a_failed_end_after_a_failed_block_chains_the_block_error(
    emu: Emulator, client: dtmf.Client
) -> None:
    emu.faults.add("numbers.end_rental", drop="before", always=True)
    with pytest.raises(dtmf.RentalNotEndedError) as raised, client.numbers.rental(GROUP):
        raise Boom("the block failed")
    assert isinstance(raised.value.__cause__, Boom)
    assert isinstance(raised.value.end_error, dtmf.APIConnectionError)


def test_an_end_whose_answer_was_lost_is_retried_and_counts(
    emu: Emulator, client: dtmf.Client
) -> None:
    # Ended, then the connection drops: the retry finds the number gone (404): done.
    emu.faults.add("numbers.end_rental", drop="after")
    with client.numbers.rental(GROUP):
        pass
    assert running(emu) == []
    assert count(emu, "numbers.end_rental") == 2


def test_a_rental_ended_in_the_block_is_not_an_error(emu: Emulator, client: dtmf.Client) -> None:
    with client.numbers.rental(GROUP) as number:
        number.end_rental()
    assert running(emu) == []


def test_end_timeout_bounds_the_end(emu: Emulator, client: dtmf.Client) -> None:
    emu.faults.add("numbers.end_rental", delay=30, always=True)
    started = time.monotonic()
    with (
        pytest.raises(dtmf.RentalNotEndedError, match="still billed"),
        client.numbers.rental(GROUP, end_timeout=0.3),
    ):
        pass
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("how", ["keep=True", ".keep()"])
def test_a_kept_number_stays_rented(emu: Emulator, client: dtmf.Client, how: str) -> None:
    rental = client.numbers.rental(GROUP, keep=how == "keep=True")

    def fail() -> None:
        if how == ".keep()":
            rental.keep()
        raise Boom

    with pytest.raises(Boom), rental as number:
        fail()
    assert rental.kept
    assert running(emu) == [number.e164]
    assert count(emu, "numbers.end_rental") == 0


def test_group_rental(emu: Emulator, client: dtmf.Client) -> None:
    group = next(g for g in client.groups.list("mobile") if g.id == GROUP)
    with group.rental() as number:
        assert number.group_id == GROUP
    assert running(emu) == []


def test_a_failed_rent_leaves_nothing(emu: Emulator, client: dtmf.Client) -> None:
    emu.faults.add("numbers.rent", status=402)
    rental = client.numbers.rental(GROUP)
    with pytest.raises(dtmf.InsufficientFundsError), rental:
        pass
    assert rental.number is None
    assert running(emu) == []
    with rental:  # used again once done: a second number
        pass
    assert count(emu, "numbers.rent") == 2


def test_bad_input_is_refused_before_any_request(emu: Emulator, client: dtmf.Client) -> None:
    with pytest.raises(dtmf.InvalidParameterError, match="group_id"):
        client.numbers.rental("Not A Group")
    for end_timeout in (0, -1, float("nan"), float("inf"), "5"):
        with pytest.raises(dtmf.InvalidParameterError, match="end_timeout"):
            client.numbers.rental(GROUP, end_timeout=end_timeout)  # type: ignore[arg-type]
    with pytest.raises(dtmf.InvalidParameterError, match="keep"):
        client.numbers.rental(GROUP, keep=1)  # type: ignore[arg-type]
    assert emu.requests == []


def test_one_rental_is_entered_once_at_a_time(emu: Emulator, client: dtmf.Client) -> None:
    rental = client.numbers.rental(GROUP)
    with rental, pytest.raises(dtmf.DTMFError, match="already in use"), rental:
        pass
    assert running(emu) == []


# Async --------------------------------------------------------------------------------


async def requested(emu: Emulator, operation: str) -> None:
    """Return once a request for `operation` has reached the emulator (it has no event)."""
    while count(emu, operation) == 0:  # noqa: ASYNC110
        await asyncio.sleep(0.005)


@pytest.fixture
def aclient(emu: Emulator) -> dtmf.AsyncClient:
    return emu.async_client(TOKEN)  # the emulator closes its httpx client


def test_async_exits_end_the_rental(emu: Emulator, aclient: dtmf.AsyncClient) -> None:
    async def main() -> None:
        async with aclient.numbers.rental(GROUP) as number:
            assert isinstance(number, dtmf.AsyncNumber)
            assert running(emu) == [number.e164]
        assert running(emu) == []
        with pytest.raises(Boom):
            async with aclient.numbers.rental(GROUP):
                raise Boom
        assert running(emu) == []
        group = next(g for g in await aclient.groups.list("mobile") if g.id == GROUP)
        rental = group.rental()
        async with rental as number:
            rental.keep()
        assert running(emu) == [number.e164]

    asyncio.run(main())


def test_cancelling_the_block_ends_the_rental(emu: Emulator, aclient: dtmf.AsyncClient) -> None:
    async def main() -> None:
        with anyio.move_on_after(0.05) as scope:
            async with aclient.numbers.rental(GROUP):
                await anyio.sleep(30)
        assert scope.cancelled_caught

    asyncio.run(main())
    assert running(emu) == []


def test_cancelling_while_ending_waits_for_the_end(
    emu: Emulator, aclient: dtmf.AsyncClient
) -> None:
    # A task cancelled in its block, then cancelled again (a second Ctrl-C) mid-end.
    emu.faults.add("numbers.end_rental", delay=0.3)

    async def block(started: asyncio.Event) -> None:
        async with aclient.numbers.rental(GROUP):
            started.set()
            await asyncio.sleep(30)

    async def main() -> None:
        started = asyncio.Event()
        task = asyncio.create_task(block(started))
        await started.wait()
        task.cancel()
        await requested(emu, "numbers.end_rental")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()

    asyncio.run(main())
    assert running(emu) == []


def test_a_cancellation_during_a_clean_end_is_raised_after_it(
    emu: Emulator, aclient: dtmf.AsyncClient
) -> None:
    emu.faults.add("numbers.end_rental", delay=0.3)
    after_block = False

    async def block() -> None:
        nonlocal after_block
        async with aclient.numbers.rental(GROUP):
            pass
        after_block = True

    async def main() -> None:
        task = asyncio.create_task(block())
        await requested(emu, "numbers.end_rental")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert running(emu) == []
    assert not after_block


def test_cancelling_while_renting_ends_the_new_rental(
    emu: Emulator, aclient: dtmf.AsyncClient
) -> None:
    emu.faults.add("numbers.rent", delay=0.3)
    entered = False

    async def block() -> None:
        nonlocal entered
        async with aclient.numbers.rental(GROUP):
            entered = True

    async def main() -> None:
        task = asyncio.create_task(block())
        await requested(emu, "numbers.rent")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert not entered
    assert count(emu, "numbers.rent") == 1
    assert running(emu) == []


def test_async_end_timeout_and_failure(emu: Emulator, aclient: dtmf.AsyncClient) -> None:
    emu.faults.add("numbers.end_rental", delay=30, always=True)

    async def main() -> None:
        with pytest.raises(dtmf.RentalNotEndedError) as raised:
            async with aclient.numbers.rental(GROUP, end_timeout=0.2) as number:
                raise Boom
        assert raised.value.e164 == number.e164
        assert isinstance(raised.value.__cause__, Boom)

    started = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - started < 10
    assert len(running(emu)) == 1


def test_trio_cancellation_ends_the_rental(emu: Emulator) -> None:
    import trio

    async def main() -> None:
        async with emu.async_client(TOKEN) as trio_client:
            emu.faults.add("numbers.end_rental", delay=0.2)
            with trio.move_on_after(0.05):
                async with trio_client.numbers.rental(GROUP):
                    await trio.sleep(30)

    trio.run(main)
    assert running(emu) == []


# receive_code -------------------------------------------------------------------------

CODE_SMS = "Your Example code is 482913. Call +447700900999 if this was not you."


def test_receive_code_rents_waits_extracts_and_ends(emu: Emulator, client: dtmf.Client) -> None:
    told: list[str] = []

    def on_rented(number: dtmf.Number) -> None:
        told.append(number.e164)
        assert running(emu) == [number.e164]
        # Before the first poll: the code still counts (a fresh rental's SMS are all new).
        emu.simulate_inbound_sms(number.e164, SENDER, CODE_SMS)

    found = client.numbers.receive_code(GROUP, on_rented=on_rented)
    assert isinstance(found, dtmf.VerificationCode)
    assert found.code == "482913"  # not the phone number's digits
    assert found.message.content == CODE_SMS
    assert found.e164 == told[0]
    assert running(emu) == []


def test_receive_code_waits_for_an_sms_that_comes_later(emu: Emulator, client: dtmf.Client) -> None:
    stop = threading.Event()

    def sender(e164: str) -> None:
        polls = count(emu, "numbers.get")
        while not stop.is_set() and count(emu, "numbers.get") < polls + 2:
            stop.wait(0.005)
        emu.simulate_inbound_sms(e164, SENDER, "not it: 12")
        emu.simulate_inbound_sms(e164, SENDER, "G-771204 is your code")

    def on_rented(number: dtmf.Number) -> None:
        threading.Thread(target=sender, args=(number.e164,), daemon=True).start()

    try:
        found = client.numbers.receive_code(
            GROUP, pattern=r"G-\d+", timeout=20, on_rented=on_rented
        )
    finally:
        stop.set()
    assert found.code == "G-771204"  # no group: the whole match
    assert running(emu) == []


@pytest.mark.slow  # waits out a real timeout
def test_receive_code_timeout_ends_the_rental(
    emu: Emulator, client: dtmf.Client, sleeps: list[float]
) -> None:
    with pytest.raises(dtmf.MessageTimeoutError, match="no new inbound SMS"):
        client.numbers.receive_code(GROUP, timeout=2)
    assert sleeps  # it polled with backoff until the time was up
    assert count(emu, "numbers.rent") == 1
    assert running(emu) == []


def test_receive_code_refuses_bad_input_before_renting(emu: Emulator, client: dtmf.Client) -> None:
    with pytest.raises(dtmf.InvalidParameterError, match="pattern"):
        client.numbers.receive_code(GROUP, pattern="(unclosed")
    with pytest.raises(dtmf.InvalidParameterError, match="pattern"):
        client.numbers.receive_code(GROUP, pattern=42)  # type: ignore[arg-type]
    with pytest.raises(dtmf.InvalidParameterError, match="timeout"):
        client.numbers.receive_code(GROUP, timeout=-1)
    assert emu.requests == []


def test_receive_code_on_a_group_without_sms_ends_the_rental(
    emu: Emulator, client: dtmf.Client
) -> None:
    no_sms = [g.id for kind in ("mobile", "local") for g in client.groups.list(kind)]
    group = next(
        (g for kind in ("mobile", "local") for g in client.groups.list(kind) if not g.sms_support),
        None,
    )
    if group is None:
        pytest.skip(f"the reference server has no group without SMS ({no_sms})")
    with pytest.raises(dtmf.InvalidParameterError, match="cannot receive SMS"):
        client.numbers.receive_code(group.id)
    assert running(emu) == []


def test_async_receive_code(emu: Emulator, aclient: dtmf.AsyncClient) -> None:
    async def on_rented(number: dtmf.AsyncNumber) -> None:
        await emu.asimulate_inbound_sms(number.e164, SENDER, CODE_SMS)

    async def main() -> dtmf.VerificationCode:
        return await aclient.numbers.receive_code(GROUP, on_rented=on_rented)

    found = asyncio.run(main())
    assert found.code == "482913"
    assert running(emu) == []


@pytest.mark.slow  # waits out a real timeout
def test_async_receive_code_timeout_ends_the_rental(
    emu: Emulator, aclient: dtmf.AsyncClient, sleeps: list[float]
) -> None:
    async def main() -> None:
        with pytest.raises(dtmf.MessageTimeoutError):
            await aclient.numbers.receive_code(GROUP, timeout=1, pattern=re.compile(r"\d{6}"))

    asyncio.run(main())
    assert running(emu) == []


# Done when: killed at 50 random points between rent and end, 0 rentals left running ---

KILL_POINTS = 50

SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    import dtmf

    mode, point = sys.argv[1], int(sys.argv[2])  # point 0: only count the points
    seen = 0

    def in_rent_or_end(frame):
        while frame is not None:
            if frame.f_code.co_filename.endswith("_rentals.py"):
                return True
            frame = frame.f_back
        return False

    def trace(frame, event, arg):
        # A SIGINT may land on any line run, in the SDK, httpx and this script alike.
        # An exception comes from the script's block: its own lines and the SDK calls
        # it makes (one raised inside the rent or end call itself would be a bug in
        # the SDK or httpx, not the script failing).
        global seen
        if event == "line" and (mode == "sigint" or not in_rent_or_end(frame)):
            seen += 1
            if seen == point:
                if mode == "sigint":
                    signal.raise_signal(signal.SIGINT)  # as a Ctrl-C lands: at the next check
                else:
                    raise RuntimeError("killed at point %d" % point)
        return trace

    client = dtmf.Client()
    client.account.get()  # connected and warmed up: the points start at the rent
    sys.settrace(trace)  # in "count" mode point 0 never comes: it counts the points
    with client.numbers.rental("gb-mobile") as number:
        # The block: a script doing its work (and exceptions land in it).
        number.refresh()
        number.set_sms_action(None)
        number.refresh()
    sys.settrace(None)
    print(seen)  # the points there are in this mode
    """
)


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT semantics are POSIX")
def test_killed_at_random_points_between_rent_and_end_no_rental_is_left(
    tmp_path: Path,
) -> None:
    script = tmp_path / "rent_and_die.py"
    script.write_text(SCRIPT)
    with Emulator(seed=99) as emulator:
        emulator.add_account(TOKEN, balance=BALANCE)
        with emulator.serve() as base_url:
            env = {k: v for k, v in os.environ.items() if not k.startswith("DTMF_")}
            env.update(DTMF_TOKEN=TOKEN, DTMF_BASE_URL=base_url, NO_PROXY="*")

            def run(mode: str, point: int) -> subprocess.CompletedProcess[str]:
                return subprocess.run(
                    [sys.executable, str(script), mode, str(point)],
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=60,
                    check=False,
                )

            rng = random.Random(2323)
            outcomes: dict[str, dict[str, int]] = {}
            for mode, dies_as in (("sigint", "KeyboardInterrupt"), ("exception", "RuntimeError")):
                # Point 0 never comes: the run counts the points of this mode.
                counted = run(mode, 0)
                assert counted.returncode == 0, counted.stderr
                lines = int(counted.stdout.split()[-1])
                assert lines > 1000  # rent, the block's calls and the end, line by line
                assert running(emulator) == []
                seen: dict[str, int] = {}
                for point in sorted(rng.sample(range(1, lines + 1), KILL_POINTS)):
                    result = run(mode, point)
                    left = running(emulator)
                    assert left == [], (mode, point, result.stderr[-2000:])
                    assert result.returncode != 0 or mode == "sigint", (mode, point)
                    died = (
                        dies_as
                        if dies_as in result.stderr
                        else ("finished" if result.returncode == 0 else result.stderr[-300:])
                    )
                    seen[died] = seen.get(died, 0) + 1
                outcomes[mode] = seen
            # Every point was a real kill (not a run that happened to finish first).
            assert outcomes["sigint"] == {"KeyboardInterrupt": KILL_POINTS}, outcomes
            assert outcomes["exception"] == {"RuntimeError": KILL_POINTS}, outcomes
            rents = sum(r.operation == "numbers.rent" for r in emulator.requests)
            ends = sum(r.operation == "numbers.end_rental" for r in emulator.requests)
            print(f"\n{2 * KILL_POINTS} kills: {rents} rents, {ends} ends, 0 rentals left")
