"""Async throughput of `dtmf.AsyncClient` against httpx2's, in interleaved rounds.

    python -m bench.async_pool [--rounds 7] [--burst 32,300] [--calls 1200]

A minimal HTTP/1.1 server in its own process answers `GET /api/v1/account` with a
fixed JSON body (so the server is never the bottleneck and its CPU is not counted).
Each round runs, for each burst width, `--calls` requests as bursts of that many
concurrent calls through:

- dtmf: `dtmf.AsyncClient(...).account.get()` on its default 16/16 pool;
- httpx2: `httpx2.AsyncClient(limits=16/16).get(url)` + `.json()` (the reference);

alternating which goes first. It prints the client CPU per request (process time
of this process) and req/s, and the per-round ratios dtmf/httpx2 as median and
spread. httpx2 needs Python 3.11 and `pip install httpx2`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

BODY = json.dumps({"id": 1, "email": "bench@example.com", "balance": 123456789}).encode()
TOKEN = "bench-token"

SERVER = rf"""
import asyncio, sys
BODY = {BODY!r}
HEAD = (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
        + str(len(BODY)).encode() + b"\r\n\r\n")
class P(asyncio.Protocol):
    def connection_made(self, t): self.t = t; self.buf = b""
    def data_received(self, data):
        self.buf += data
        while b"\r\n\r\n" in self.buf:
            _, self.buf = self.buf.split(b"\r\n\r\n", 1)
            self.t.write(HEAD + BODY)
async def main():
    server = await asyncio.get_running_loop().create_server(P, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
asyncio.run(main())
"""


async def _bursts(
    call: Callable[[], Awaitable[Any]], width: int, calls: int
) -> tuple[float, float]:
    """(CPU seconds, wall seconds) for `calls` requests in bursts of `width`."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(max(1, calls // width)):
        await asyncio.gather(*(call() for _ in range(width)))
    return time.process_time() - cpu, time.perf_counter() - wall


async def _dtmf(base_url: str, width: int, calls: int) -> tuple[float, float]:
    import dtmf

    async with dtmf.AsyncClient(TOKEN, base_url=base_url) as client:
        await _bursts(client.account.get, width, width)  # warm: connections open
        return await _bursts(client.account.get, width, calls)


async def _httpx2(base_url: str, width: int, calls: int) -> tuple[float, float]:
    import httpx2

    limits = httpx2.Limits(max_connections=16, max_keepalive_connections=16)
    url = base_url + "/account"
    async with httpx2.AsyncClient(limits=limits) as client:

        async def call() -> object:
            return (await client.get(url)).json()

        await _bursts(call, width, width)
        return await _bursts(call, width, calls)


async def _dtmf_httpcore(base_url: str, width: int, calls: int) -> tuple[float, float]:
    """dtmf over httpx's own pool (httpcore 1.0), as before `_transport.py`."""
    import httpx

    import dtmf

    limits = httpx.Limits(max_connections=16, max_keepalive_connections=16)
    http = httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(30.0, connect=5.0))
    async with http, dtmf.AsyncClient(TOKEN, base_url=base_url, http_client=http) as client:
        await _bursts(client.account.get, width, width)
        return await _bursts(client.account.get, width, calls)


CONTENDERS = {"dtmf": _dtmf, "httpx2": _httpx2, "dtmf-httpcore1": _dtmf_httpcore}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--burst", default="32,300")
    parser.add_argument("--calls", type=int, default=1200)
    parser.add_argument("--httpcore1", action="store_true", help="also dtmf on httpx's own pool")
    args = parser.parse_args()
    contenders = ["dtmf", "httpx2", *(["dtmf-httpcore1"] if args.httpcore1 else [])]
    widths = [int(w) for w in args.burst.split(",")]
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        base_url = f"http://127.0.0.1:{server.stdout.readline().strip()}/api/v1"
        sniffio = "sniffio" in {m.split(".")[0] for m in sys.modules} or _has("sniffio")
        print(f"python {sys.version.split()[0]}, sniffio installed: {sniffio}, pid {os.getpid()}")
        results: dict[tuple[int, str], list[tuple[float, float]]] = {}
        for round_ in range(args.rounds):
            for width in widths:
                order = contenders if round_ % 2 == 0 else contenders[::-1]
                for name in order:
                    cpu, wall = asyncio.run(CONTENDERS[name](base_url, width, args.calls))
                    n = (args.calls // width) * width
                    results.setdefault((width, name), []).append((cpu / n * 1e6, n / wall))
        for width in widths:
            mine, ref = results[(width, "dtmf")], results[(width, "httpx2")]
            cpu_ratio = [m[0] / r[0] for m, r in zip(mine, ref, strict=True)]
            rate_ratio = [m[1] / r[1] for m, r in zip(mine, ref, strict=True)]
            print(
                f"{width:4} wide: dtmf {statistics.median(m[0] for m in mine):6.0f} us/req "
                f"{statistics.median(m[1] for m in mine):6.0f} req/s | httpx2 "
                f"{statistics.median(r[0] for r in ref):6.0f} us/req "
                f"{statistics.median(r[1] for r in ref):6.0f} req/s | CPU ratio "
                f"{statistics.median(cpu_ratio):.2f}x ({min(cpu_ratio):.2f}-{max(cpu_ratio):.2f}) "
                f"(target <= 1.15) | req/s ratio {statistics.median(rate_ratio):.2f}x "
                f"({min(rate_ratio):.2f}-{max(rate_ratio):.2f}) (target >= 0.87)"
            )
            if args.httpcore1:
                old = results[(width, "dtmf-httpcore1")]
                print(
                    f"      dtmf on httpcore 1.0: {statistics.median(o[0] for o in old):6.0f} "
                    f"us/req {statistics.median(o[1] for o in old):6.0f} req/s"
                )
    finally:
        server.stdin.close()  # type: ignore[union-attr]
        server.wait()
    return 0


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


if __name__ == "__main__":
    sys.exit(main())
