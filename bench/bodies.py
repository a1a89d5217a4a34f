"""The benchmark's response bodies, made once by the reference server (in-process, no HTTP).

- ``account``: ``GET /account``.
- ``small``: ``GET /number`` of a freshly rented number (no messages): the small read.
- ``big``: ``GET /number`` of a number with 1000 messages (about 200 KB), the
  documented dialect (``from``/``to``, integer satoshis).
- ``later``: the same number in the dialect of the service's API page
  (``other_number``/``inbound``, decimal-string fiat costs, ``calls``), see
  /work/shared/spec/dtmf-io-live-api-notes.md.
"""

from __future__ import annotations

import json
from typing import Any

from dtmf.testing import Emulator
from tests.documented import LIVE_NUMBER

__all__ = ["E164S", "TOKEN", "make_bodies", "later_dialect"]

TOKEN = "bench-token"
MESSAGES = 1000
# Which number each body belongs to, by the e164 query parameter it is asked with.
E164S = {"small": "", "big": "", "later": LIVE_NUMBER["e164"]}


def later_dialect(number: dict[str, Any]) -> dict[str, Any]:
    """`number` (documented dialect) as the API page shows it: its example, with these messages."""
    e164 = number["e164"]
    messages = []
    for i, message in enumerate(number["messages"]):
        inbound = message["to"] == e164
        messages.append(
            {
                "id": 8901 + i,
                "other_number": message["from"] if inbound else message["to"],
                "inbound": inbound,
                "content": message["content"],
                "timestamp": message["timestamp"],
                "status": "received" if inbound else "delivered",
            }
        )
    return {**LIVE_NUMBER, "assignment_start": number["assignment_start"], "messages": messages}


def make_bodies() -> tuple[dict[str, str], dict[str, bytes]]:
    """The numbers' e164s by body name, and every body by name."""
    with Emulator(seed=9) as emulator:
        emulator.add_account(TOKEN, balance=10**12)
        with emulator.client(TOKEN) as client:
            groups = [g for g in client.groups.list("mobile") if g.sms_support]
            small = client.numbers.rent(groups[0].id).e164
            big = client.numbers.rent(groups[1].id).e164
        for i in range(MESSAGES):
            emulator.simulate_inbound_sms(
                to=big,
                sender="+447700900123",
                content=f"Your verification code is {100000 + i}. It expires in 10 minutes.",
            )

        def get(path: str, **query: str) -> bytes:
            headers = {"authorization": f"Bearer {TOKEN}"}
            reply = emulator.handle("GET", f"/api/v1{path}", query, headers, b"")
            assert reply.status == 200, reply
            return reply.body

        e164s = {**E164S, "small": small, "big": big}
        big_body = get("/number", e164=big)
        bodies = {
            "account": get("/account"),
            "small": get("/number", e164=small),
            "big": big_body,
            "later": json.dumps(later_dialect(json.loads(big_body))).encode(),
        }
    return e164s, bodies
