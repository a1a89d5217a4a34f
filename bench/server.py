"""The benchmark's server: a reference server on a loopback port, in its own process.

It holds an account and a rented number with 1000 messages (about 200 KB of
JSON), prints one JSON line with the base URL, token and number, and serves until
its standard input closes.
"""

from __future__ import annotations

import json
import sys

from dtmf.testing import Emulator

TOKEN = "bench-token"
MESSAGES = 1000


def main() -> None:
    with Emulator(seed=9) as emulator:
        emulator.add_account(TOKEN, balance=10**12)
        with emulator.client(TOKEN) as client:
            group = next(g for g in client.groups.list("mobile") if g.sms_support)
            e164 = client.numbers.rent(group.id).e164
        for i in range(MESSAGES):
            emulator.simulate_inbound_sms(
                to=e164,
                sender="+447700900123",
                content=f"Your verification code is {100000 + i}. It expires in 10 minutes.",
            )
        with emulator.serve(port=0) as base_url:
            print(json.dumps({"base_url": base_url, "token": TOKEN, "e164": e164}), flush=True)
            sys.stdin.read()


if __name__ == "__main__":
    main()
