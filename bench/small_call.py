"""CPU per sync call of `Client.numbers.get(e164)` against raw httpx, in interleaved rounds.

    python -m bench.small_call [--rounds 9] [--calls 400]

A minimal HTTP/1.1 server in its own process answers `GET /api/v1/number?e164=...`
with bodies the reference server made: a number with one message (the small
call) and one with 1000 messages (about 200 KB, the big read). Each round times,
in turn, raw httpx (`get(url, params=...)` + `json.loads`), the floor of the big
read (raw httpx + `Number.model_validate_json`) and the SDK, and prints the
per-round ratios as median and spread.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import httpx

import dtmf
from dtmf.testing import Emulator

TOKEN = "bench-token"

SERVER = r"""
import asyncio, json, sys
BODIES = {k.encode(): v.encode() for k, v in json.loads(sys.stdin.readline()).items()}
class P(asyncio.Protocol):
    def connection_made(self, t): self.t = t; self.buf = b""
    def data_received(self, data):
        self.buf += data
        while b"\r\n\r\n" in self.buf:
            head, self.buf = self.buf.split(b"\r\n\r\n", 1)
            target = head.split(b" ", 2)[1]
            body = BODIES[target.split(b"?e164=")[1]]
            self.t.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)
async def main():
    server = await asyncio.get_running_loop().create_server(P, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
asyncio.run(main())
"""


def _bodies() -> dict[str, str]:
    """The reference server's answers for a number with 1 message and one with 1000."""
    with Emulator(seed=9) as emu:
        emu.add_account(TOKEN, balance=10**12)
        bodies: dict[str, str] = {}
        with emu.client(TOKEN) as client, httpx.Client(transport=emu.transport()) as raw:
            group = next(g for g in client.groups.list("mobile") if g.sms_support)
            for name, messages in (("small", 1), ("big", 1000)):
                e164 = client.numbers.rent(group.id).e164
                for i in range(messages):
                    emu.simulate_inbound_sms(to=e164, sender="+447700900123", content=f"code {i}")
                answer = raw.get(
                    f"{emu.base_url}/number",
                    params={"e164": e164},
                    headers={"Authorization": f"Bearer {TOKEN}"},
                )
                bodies[e164.replace("+", "%2B")] = answer.text
                bodies[name] = e164
        return bodies


def _rounds(
    variants: dict[str, Callable[[], object]], calls: int, rounds: int
) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for fn in variants.values():
        for _ in range(max(2, calls // 10)):
            fn()
    for round_ in range(rounds):
        order = list(variants) if round_ % 2 == 0 else list(reversed(variants))
        for name in order:
            fn = variants[name]
            start = time.process_time()
            for _ in range(calls):
                fn()
            samples[name].append((time.process_time() - start) / calls * 1e6)
    return samples


def _ratio(samples: dict[str, list[float]], mine: str, ref: str, target: float) -> str:
    ratios = [m / r for m, r in zip(samples[mine], samples[ref], strict=True)]
    return (
        f"{mine} {statistics.median(samples[mine]):7.1f} us vs {ref} "
        f"{statistics.median(samples[ref]):7.1f} us: {statistics.median(ratios):.3f}x "
        f"({min(ratios):.3f}-{max(ratios):.3f}, target <= {target:.2f}x)"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=400)
    args = parser.parse_args()
    bodies = _bodies()
    small, big = bodies.pop("small"), bodies.pop("big")
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert server.stdin is not None
    assert server.stdout is not None
    server.stdin.write(json.dumps(bodies) + "\n")
    server.stdin.flush()
    base = f"http://127.0.0.1:{server.stdout.readline().strip()}/api/v1"
    try:
        headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
        url = f"{base}/number"
        with httpx.Client(headers=headers) as raw, dtmf.Client(TOKEN, base_url=base) as client:
            small_params, big_params = {"e164": small}, {"e164": big}
            samples = _rounds(
                {
                    "raw small": lambda: json.loads(raw.get(url, params=small_params).content),
                    "sdk small": lambda: client.numbers.get(small),
                },
                args.calls,
                args.rounds,
            )
            print(_ratio(samples, "sdk small", "raw small", 1.00))
            samples = _rounds(
                {
                    "floor big": lambda: dtmf.Number.model_validate_json(
                        raw.get(url, params=big_params).content
                    ),
                    "sdk big": lambda: client.numbers.get(big),
                },
                max(20, args.calls // 10),
                args.rounds,
            )
            print(_ratio(samples, "sdk big", "floor big", 1.10))
    finally:
        server.stdin.close()
        server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
