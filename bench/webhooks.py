"""`make bench-webhooks`: deliveries per second to a receiver under 4 uvicorn workers.

Two receivers run side by side, each `uvicorn --workers 4` serving
`tests.workers:make_app` (a plain handler that answers at once): one with the
in-memory default, one with `RedisDedupe` on a local redis-server (append-only
file on, as in production). Rounds alternate between them; each round POSTs new
deliveries, 30% of them repeats, over 32 keep-alive connections from one lean
asyncio client, and counts answered deliveries per wall-clock second. The
client shares the machine's cores with the workers and Redis, so the figures
are this machine's, and the ratio is the comparable part. Figures are
reported, never asserted.

    python -m bench.webhooks            # 7 rounds of 3,000 deliveries per receiver
    python -m bench.webhooks --smoke    # one small round, 2 workers each: keeps it working
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from tests.redis_server import MISSING, RedisServer, binary
from tests.workers import deliveries, post_all, serve_workers

RESULTS = Path(__file__).resolve().parent / "results"
CONCURRENCY = 32


def one_round(port: int, first_id: int, count: int) -> float:
    """Deliveries per second for `count` deliveries (30% repeats) of new message ids."""
    unique = round(count * 0.7)
    order = deliveries(range(first_id, first_id + unique), count - unique, seed=first_id)
    started = time.perf_counter()
    results = asyncio.run(post_all(port, order, CONCURRENCY))
    elapsed = time.perf_counter() - started
    bad = [statuses for _, statuses, _ in results if statuses[-1] not in (200, 204)]
    if bad:
        raise RuntimeError(f"{len(bad)} deliveries were not answered 200/204: {bad[:5]}")
    return len(results) / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__)
    parser.add_argument(
        "--smoke", action="store_true", help="one small round; figures mean nothing"
    )
    args = parser.parse_args()
    workers, rounds, count = (2, 1, 200) if args.smoke else (4, 7, 3000)
    executable = binary()
    if executable is None:
        print(MISSING, file=sys.stderr)
        # The smoke run of `make test` skips (as the Redis tests do) where no server can
        # be had without root; a real run, and CI, need one.
        return 0 if args.smoke and not os.environ.get("CI") else 1
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        directory = Path(folder)
        redis = RedisServer(executable, directory)
        redis.start()
        stack.callback(redis.stop)
        ports = {
            "in-memory (default)": stack.enter_context(serve_workers(workers, directory, {})),
            "RedisDedupe": stack.enter_context(
                serve_workers(workers, directory, {"DEDUPE_REDIS_URL": redis.url})
            ),
        }
        samples: dict[str, list[float]] = {name: [] for name in ports}
        next_id = 1
        for port in ports.values():  # warm-up: connections, imports, first requests
            one_round(port, next_id, min(count, 500))
            next_id += count
        for _ in range(rounds):
            for name, port in ports.items():
                samples[name].append(one_round(port, next_id, count))
                next_id += count
    lines = [
        f"deliveries/s, {workers} uvicorn workers, {CONCURRENCY} connections, 30% repeats, "
        f"{rounds} interleaved round(s) of {count}; {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "",
        "| store | median | spread (min-max) |",
        "|---|---|---|",
    ]
    medians = {name: statistics.median(values) for name, values in samples.items()}
    for name, values in samples.items():
        lines.append(f"| {name} | {medians[name]:,.0f} | {min(values):,.0f}-{max(values):,.0f} |")
    memory, on_redis = medians.values()
    lines += ["", f"RedisDedupe / in-memory: {on_redis / memory:.2f}x"]
    if args.smoke:
        lines.insert(
            0, "smoke run: one small round to keep the benchmark working; no figure counts"
        )
    print("\n".join(lines))
    if not args.smoke:
        RESULTS.mkdir(exist_ok=True)
        record = {"workers": workers, "rounds": rounds, "count": count, "samples": samples}
        (RESULTS / "webhooks.json").write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
