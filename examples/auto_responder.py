"""An SMS auto-responder: a webhook receiver that answers every SMS a number receives.

    python examples/auto_responder.py     # a self-contained demo on the reference server
    DTMF_TOKEN=... python examples/auto_responder.py --public-url https://hooks.example.org
        [--number +E164] [--host 127.0.0.1] [--port 8000]

The service POSTs each SMS that arrives at a number to the number's webhook URL.
A 2xx answer with a non-empty body is sent back to the sender as an SMS, rendered
to ASCII and cut to 160 characters; any other answer sends nothing.
`dtmf.webhooks.asgi_app` does the HTTP part (a secret in the URL, repeated
deliveries answered once); `answer()` below is the whole logic.

Without DTMF_TOKEN it demonstrates itself: it starts the reference server on a
loopback port, rents a number, serves the receiver on another port, points the
number's webhook at it, has two SMS sent to the number (one not ASCII), delivers
the last one a second time as the service does when an answer is lost, prints
what was received and replied, and ends the rental.

With DTMF_TOKEN the service must reach the receiver: `--public-url` is where this
machine's `--host`:`--port` can be reached from the internet (a tunnel or a
reverse proxy). It serves until Ctrl-C, then restores the number's previous SMS
action (or ends the rental, when it rented the number itself).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import secrets
import sys
import threading
import time
from collections.abc import Generator
from typing import Any

import httpx
import uvicorn

import dtmf
from dtmf import webhooks

DEMO_TOKEN = "demo-token"
DEMO_SENDER = "+447700900123"
DEMO_MESSAGES = ["Hello, are you open today?", "Grüße aus Zürich! Haben Sie Brötchen?"]

received: list[dtmf.InboundSMS] = []


def answer(sms: dtmf.InboundSMS) -> str | None:
    """The reply to an inbound SMS, or None for no reply."""
    received.append(sms)
    print(f"  received  {sms.sender} -> {sms.e164}: {sms.content!r}")
    if sms.content.strip().upper() in {"STOP", "UNSUBSCRIBE"}:
        return None
    # Non-ASCII is fine: the service sends 'Zurich' for 'Zürich' (dtmf.render_sms shows how).
    return f"Thanks for your message «{sms.content}». We are open 8-18 h, Monday to Saturday."


@contextlib.contextmanager
def serve_in_background(app: webhooks.ASGIApp, host: str, port: int) -> Generator[str, None, None]:
    """Run `app` under uvicorn in a thread; yields its origin, e.g. http://127.0.0.1:53211."""
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="receiver", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"could not serve on {host}:{port}")
        time.sleep(0.01)
    try:
        bound_port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(5)


def cheapest_sms_group(client: dtmf.Client) -> str:
    groups = [g for g in client.groups.list("mobile") if g.sms_support]
    return min(groups, key=lambda g: (g.setup_cost, g.rental_cost_per_minute)).id


def demo() -> int:
    from dtmf.testing import Emulator  # the reference server

    print("DTMF_TOKEN is not set: a demo on the bundled reference server (nothing is charged).")
    with Emulator() as emulator, emulator.serve() as api_url:
        emulator.add_account(DEMO_TOKEN, balance=1_000_000)
        with dtmf.Client(DEMO_TOKEN, base_url=api_url) as client:
            number = client.numbers.rent(cheapest_sms_group(client))
            print(f"Rented {number.e164} from the service at {api_url}.")
            try:
                secret = secrets.token_urlsafe(16)
                app = webhooks.asgi_app(answer, secret=secret)
                with serve_in_background(app, "127.0.0.1", 0) as origin:
                    hook = f"{origin}/sms/{secret}"
                    number.set_sms_action("webhook", hook)
                    print(f"Receiver listening at {origin}; webhook set to {origin}/sms/<secret>.")
                    message: dict[str, Any] = {}
                    for text in DEMO_MESSAGES:
                        print(f"{DEMO_SENDER} texts {number.e164}: {text!r}")
                        message = emulator.simulate_inbound_sms(number.e164, DEMO_SENDER, text)
                        delivery = emulator.webhook_deliveries[-1]
                        print(f"  answered  HTTP {delivery.status}")
                        print(f"  replied   {delivery.reply!r}")

                    # The service delivers a message again when it did not get the answer;
                    # the receiver answers as before without calling answer() twice.
                    print(f"The service delivers message {message['id']} a second time:")
                    payload = {
                        "id": message["id"],
                        "e164": number.e164,
                        "sender": DEMO_SENDER,
                        "content": message["content"],
                    }
                    with httpx.Client(trust_env=False) as http:
                        again = http.post(hook, json=payload)
                    print(f"  answered  HTTP {again.status_code} {again.text!r}")
                    print(f"  answer() ran {len(received)} times for 3 deliveries.")

                print(f"Messages of {number.e164}, through the SDK:")
                for m in number.refresh().messages:
                    way = "in " if m.is_inbound_to(number.e164) else "out"
                    print(f"  {way} {m.from_} -> {m.to}: {m.content!r}")
            finally:
                number.end_rental()
                print(f"Ended the rental of {number.e164}.")
    return 0


def serve(args: argparse.Namespace) -> int:
    secret = os.environ.get("DTMF_WEBHOOK_SECRET") or secrets.token_urlsafe(16)
    hook = f"{args.public_url.rstrip('/')}/sms/{secret}"
    with dtmf.Client() as client:  # token from DTMF_TOKEN
        rented_here = args.number is None
        if rented_here:
            number = client.numbers.rent(cheapest_sms_group(client))
            print(f"Rented {number.e164}.")
        else:
            number = client.numbers.get(args.number)
        previous = number.sms_action
        try:
            number.set_sms_action("webhook", hook)
            print(f"SMS to {number.e164} are POSTed to {args.public_url.rstrip('/')}/sms/<secret>.")
            print(f"Serving on http://{args.host}:{args.port}; Ctrl-C to stop.")
            # No access log: uvicorn's would write each request's path, and the
            # secret is in the path.
            app = webhooks.asgi_app(answer, secret=secret)
            uvicorn.run(app, host=args.host, port=args.port, access_log=False)
        finally:
            if rented_here:
                number.end_rental()
                print(f"Ended the rental of {number.e164}.")
            else:
                number.set_sms_action(previous.action, previous.destination)
                print(f"Restored the SMS action of {number.e164}.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="An SMS auto-responder (DTMF.io webhooks).")
    parser.add_argument("--public-url", help="where the service reaches this receiver")
    parser.add_argument("--number", help="a number you rent already (default: rent one)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    # dtmf.webhooks logs when a reply is altered (WARNING) and repeated deliveries (INFO).
    logging.basicConfig(format="  log       %(name)s %(levelname)s: %(message)s")
    logging.getLogger("dtmf.webhooks").setLevel(logging.INFO)
    if not os.environ.get("DTMF_TOKEN"):
        return demo()
    if not args.public_url:
        parser.error("with DTMF_TOKEN set, --public-url is needed: the service must reach you")
    return serve(args)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except dtmf.DTMFError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        sys.exit(1)
