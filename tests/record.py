"""Re-record every cassette: `make record`.

By default a reference server (`dtmf.testing`) is served on a free loopback port
and the tour runs over real HTTP. With DTMF_TOKEN and DTMF_BASE_URL set, the tour
runs against that service instead (a live account: it rents a number for a
minute and sends one SMS, which costs satoshis).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Iterator

import dtmf
from tests.recording import CASSETTES, recorder
from tests.tour import run_async, run_compat, run_sync

TOKEN = "cassette-recording-token"


@contextlib.contextmanager
def _service() -> Iterator[tuple[str, str]]:
    live_token, live_url = os.environ.get("DTMF_TOKEN"), os.environ.get("DTMF_BASE_URL")
    if live_token and live_url:
        print(f"recording against {live_url}")
        yield live_token, live_url
        return
    from dtmf.testing import Emulator

    with Emulator(seed=2018) as emulator:
        emulator.add_account(TOKEN, balance=5_000_000)
        with emulator.serve(port=0) as base_url:
            print(f"recording against the reference server at {base_url}")
            yield TOKEN, base_url


def main() -> int:
    CASSETTES.mkdir(exist_ok=True)
    tape = recorder("all")
    with _service() as (token, base_url):
        with tape.use_cassette("client_tour.yaml"), dtmf.Client(token, base_url=base_url) as client:
            run_sync(client)
        with tape.use_cassette("compat_tour.yaml"), dtmf.DTMF(token, base_url=base_url) as old:
            run_compat(old)

        async def record_async() -> None:
            async with dtmf.AsyncClient(token, base_url=base_url) as client:
                await run_async(client)

        with tape.use_cassette("async_tour.yaml"):
            asyncio.run(record_async())
    leaked = [p.name for p in CASSETTES.glob("*.yaml") if token in p.read_text()]
    if leaked:
        print(f"the token appears in {leaked}: not safe to commit", file=sys.stderr)
        return 1
    print(f"recorded {len(list(CASSETTES.glob('*.yaml')))} cassettes in {CASSETTES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
