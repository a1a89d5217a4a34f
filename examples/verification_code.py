"""Receive a verification code: rent a number, wait for the SMS, print the code.

    python examples/verification_code.py                  # against the bundled reference server
    DTMF_TOKEN=... python examples/verification_code.py   # against your DTMF.io account

It rents a number (the cheapest mobile group that takes SMS, or `--group`), prints
it, waits for an SMS containing a 4 to 8 digit code, prints the code and ends the
rental, all with one call, `client.numbers.receive_code()`: the rental ends also
when no code comes, something fails or you press Ctrl-C, so billing never runs on.

Without DTMF_TOKEN it starts the reference server in-process (nothing is charged)
and plays the sender too: the SMS arrives a second after the wait begins.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import dtmf

if TYPE_CHECKING:
    from dtmf.testing import Emulator

OnRented = Callable[[dtmf.Number], None]

DEMO_TOKEN = "demo-token"
DEMO_SENDER = "+447700900123"
DEMO_SMS = "Your Example verification code is 482913. It expires in 10 minutes."


def choose_group(client: dtmf.Client, group_id: str | None) -> str:
    if group_id:
        return group_id
    groups = [g for g in client.groups.list("mobile") if g.sms_support]
    if not groups:
        raise SystemExit("No mobile group takes SMS right now; pass --group.")
    cheapest = min(groups, key=lambda g: (g.setup_cost, g.rental_cost_per_minute))
    print(
        f"Cheapest SMS group: {cheapest.id} ({cheapest.name}), setup {cheapest.setup_cost} "
        f"satoshis, then {cheapest.rental_cost_per_minute} a minute."
    )
    return cheapest.id


def receive(client: dtmf.Client, group_id: str, timeout: float, on_rented: OnRented) -> int:
    """Rent, wait for the code, end the rental: `receive_code` does all three, and ends
    the rental on every way out (no code, an error, Ctrl-C)."""
    rented: list[str] = []

    def tell(number: dtmf.Number) -> None:
        rented.append(number.e164)
        print(f"Rented {number.e164}. Send the code to this number.")
        on_rented(number)
        print(f"Waiting up to {timeout:g} s for an SMS with a 4-8 digit code (Ctrl-C to stop)...")

    try:
        found = client.numbers.receive_code(group_id, timeout=timeout, on_rented=tell)
    except dtmf.RentalNotEndedError as exc:
        print(exc, file=sys.stderr)  # names the number still billed, and how to end it
        return 1
    except dtmf.MessageTimeoutError as exc:
        print(f"No code arrived: {exc}.")
        return ended(rented, 1)
    except KeyboardInterrupt:
        print("\nInterrupted: no code was awaited any longer.")
        return ended(rented, 130)
    except dtmf.DTMFError as exc:
        print(f"Failed: {exc}", file=sys.stderr)
        return ended(rented, 1)
    print(f"SMS from {found.message.from_}: {found.message.content!r}")
    print(f"Code: {found.code}")
    return ended(rented, 0)


def ended(rented: list[str], status: int) -> int:
    if rented:
        print(f"Ended the rental of {rented[0]}.")
    return status


def play_sender(emulator: Emulator, e164: str, delay: float) -> threading.Event:
    """Demo only: text the code to `e164` after `delay` seconds, unless told to stop."""
    stop = threading.Event()

    def send() -> None:
        if not stop.wait(delay):
            with contextlib.suppress(LookupError):  # the rental ended first
                emulator.simulate_inbound_sms(e164, DEMO_SENDER, DEMO_SMS)

    threading.Thread(target=send, name="demo-sender", daemon=True).start()
    return stop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Rent a number and wait for a code by SMS.")
    parser.add_argument("--group", help="the group to rent from, e.g. us-mobile")
    parser.add_argument("--timeout", type=float, help="seconds to wait (default 300; demo 10)")
    parser.add_argument(
        "--demo-delay", type=float, default=1.0, help="demo only: when the sender texts (s)"
    )
    args = parser.parse_args(argv)
    live = bool(os.environ.get("DTMF_TOKEN"))

    with contextlib.ExitStack() as stack:
        emulator: Emulator | None = None
        if live:
            client = stack.enter_context(dtmf.Client())  # token from DTMF_TOKEN
            print(f"Using your DTMF.io account at {client.base_url}.")
        else:
            from dtmf.testing import Emulator  # the reference server, for the demo

            emulator = stack.enter_context(Emulator())
            emulator.add_account(DEMO_TOKEN, balance=1_000_000)
            client = stack.enter_context(emulator.client(DEMO_TOKEN))
            print("DTMF_TOKEN is not set: using the bundled reference server (nothing is charged).")

        stops: list[threading.Event] = []

        def on_rented(number: dtmf.Number) -> None:
            if emulator is not None:  # the demo plays the sender too
                stops.append(play_sender(emulator, number.e164, args.demo_delay))

        try:
            group_id = choose_group(client, args.group)
        except dtmf.DTMFError as exc:
            print(f"Could not choose a group: {exc}", file=sys.stderr)
            return 1
        timeout = args.timeout if args.timeout is not None else (300 if live else 10)
        try:
            return receive(client, group_id, timeout, on_rented)
        finally:
            for stop in stops:
                stop.set()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # outside the wait (e.g. while renting)
        print("\nInterrupted.", file=sys.stderr)
        sys.exit(130)
