"""The SDK's main job, end to end: rent a number, receive and answer SMS, send one, release it.

    make demo                      # against the bundled reference server, in-process
    DTMF_TOKEN=... python examples/quickstart.py   # against your live account

Against the reference server it also shows what only a test double can do: an SMS
arriving from outside, and an hour of rental billed on a fast-forwarded clock.
Against a live account, set DTMF_WEBHOOK_URL to a public URL that reaches this
machine's port 8000 to see the webhook part; without it that part is skipped.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Generator
from typing import TYPE_CHECKING

import dtmf

if TYPE_CHECKING:
    from dtmf.testing import Emulator

FRIEND = "+447700900123"
SATOSHIS_PER_BTC = 100_000_000


def btc(satoshis: int) -> str:
    return f"{satoshis:>13,} sat  ({satoshis / SATOSHIS_PER_BTC:.8f} BTC)"


def heading(text: str) -> None:
    print(f"\n== {text}")


@contextlib.contextmanager
def connect() -> Generator[tuple[dtmf.Client, Emulator | None], None, None]:
    """A client of the live service when DTMF_TOKEN is set, else of a reference server."""
    if os.environ.get("DTMF_TOKEN"):
        with dtmf.Client() as client:
            yield client, None
        return
    from dtmf.testing import Emulator

    with Emulator(seed=2026) as emulator:
        emulator.add_account("demo-token", balance=2_500_000)
        with emulator.client("demo-token") as client:
            yield client, emulator


def answer(sms: dtmf.InboundSMS) -> str:
    """The webhook handler: whatever it returns is sent back to the sender."""
    print(f"   webhook  <- {sms.sender}: {sms.content!r}")
    return f"Thanks! Your message ({len(sms.content)} characters) reached {sms.e164}."


@contextlib.contextmanager
def webhook_receiver(emulator: Emulator | None) -> Generator[str | None, None, None]:
    """A real HTTP receiver (dtmf.webhooks.asgi_app under uvicorn); yields its public URL."""
    from dtmf import webhooks
    from dtmf.testing import serve_asgi

    app = webhooks.asgi_app(answer, secret="s3cret-demo-path")
    public = os.environ.get("DTMF_WEBHOOK_URL")
    if emulator is None and not public:
        yield None
        return
    with serve_asgi(app, port=0 if emulator else 8000) as local:
        yield f"{public or local}/hook/s3cret-demo-path"


def main() -> int:
    with connect() as (client, emulator):
        where = "the reference server (in-process)" if emulator else client.base_url
        print(f"dtmf-io {dtmf.__version__}: the SDK's main job against {where}")

        heading("Account")
        start_balance = client.account.get().balance
        print(f"   balance  {btc(start_balance)}")
        addresses = client.addresses.list() or [client.addresses.create()]
        print(f"   deposit  {addresses[0].address}  (pay BTC here to add funds)")

        heading("Mobile groups with SMS, cheapest per minute first (costs in satoshis)")
        groups = sorted(
            (g for g in client.groups.list("mobile") if g.sms_support),
            key=lambda g: g.rental_cost_per_minute,
        )
        print(f"   {'group':<12} {'country':<16} {'setup':>9} {'per min':>8} {'per SMS':>8}")
        for g in groups[:6]:
            inbound = g.cost_per_inbound_message if g.cost_per_inbound_message is not None else "-"
            print(
                f"   {g.id:<12} {g.name:<16} {g.setup_cost:>9,} {g.rental_cost_per_minute:>8,} "
                f"{inbound:>8}"
            )

        heading(f"Renting a number from {groups[0].id}")
        number = groups[0].rent()
        print(f"   rented   {number.e164} at {number.assignment_start:%Y-%m-%d %H:%M:%S %Z}")
        print(f"   balance  {btc(client.account.get().balance)}  (setup cost debited)")

        try:
            with webhook_receiver(emulator) as hook_url:
                if hook_url is not None:
                    heading("Inbound SMS to a webhook")
                    number.set_sms_action("webhook", hook_url)
                    print(f"   action   {number.refresh().sms_action.action} -> {hook_url}")
                    if emulator is not None:
                        emulator.simulate_inbound_sms(
                            to=number.e164, sender=FRIEND, content="Hi! Is this the bakery?"
                        )
                        reply = emulator.webhook_deliveries[-1].reply
                        print(f"   replied  -> {FRIEND}: {reply!r}")
                    number.set_sms_action(None)

            heading("Sending an SMS")
            text = "See you at the café in Zürich at 3pm"
            print(f"   text     {text!r}")
            print(f"   as sent  {dtmf.render_sms(text)!r}  (the service sends ASCII)")
            number.send_sms(FRIEND, text)

            if emulator is not None:
                before = client.account.get().balance
                emulator.clock.advance(minutes=60)
                billed = before - client.account.get().balance
                print(f"   an hour passes on the reference server's clock: {billed:,} sat billed")

            heading(f"Messages of {number.e164}")
            for message in number.refresh().messages:
                direction = "in " if message.is_inbound_to(number.e164) else "out"
                other = message.from_ if direction == "in " else message.to
                when = f"{message.timestamp:%H:%M:%S %Z}" if message.timestamp else "-"
                cost = f"{message.cost:,} sat" if message.cost is not None else ""
                text = message.content if len(message.content) <= 48 else message.content[:47] + "…"
                print(f"   {when}  {direction}  {other:<15} {cost:>10}  {text!r}")
        finally:
            heading("Ending the rental")
            number.end_rental()
            print(
                f"   released {number.e164}; it is no longer in numbers.list(): "
                f"{number.e164 not in {n.e164 for n in client.numbers.list()}}"
            )

        end_balance = client.account.get().balance
        print(f"   balance  {btc(end_balance)}")
        print(f"   spent    {btc(start_balance - end_balance)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except dtmf.DTMFError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
