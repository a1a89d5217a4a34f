"""`make bench`: what the SDK costs over raw httpx, as ratios measured in one run.

The reference server runs in its own process on a loopback port (bench/server.py);
this process measures its own CPU time per call (`time.process_time`), as the
median of interleaved rounds after a warm-up, over one keep-alive connection.
Figures are reported, never asserted: speed does not fail CI.

    python -m bench            # full run, writes bench/results/latest.json
    python -m bench --smoke    # a few iterations, to keep the benchmark from rotting
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import pydantic

import dtmf
from dtmf._client import DEFAULT_LIMITS
from dtmf._contract import get_number

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Figure:
    name: str
    sdk: float
    baseline: float
    unit: str
    ratio: float
    target: str
    met: bool


@dataclass
class Settings:
    rounds: int
    small_calls: int
    big_calls: int
    bursts: int
    imports: int


FULL = Settings(rounds=7, small_calls=300, big_calls=40, bursts=3, imports=11)
SMOKE = Settings(rounds=2, small_calls=5, big_calls=2, bursts=1, imports=2)


@contextmanager
def served() -> Iterator[dict[str, str]]:
    """Start bench/server.py and yield its base URL, token and number."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.server"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the benchmark server did not start")
        yield json.loads(line)
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def interleaved(
    variants: dict[str, Callable[[], object]], calls: int, rounds: int
) -> dict[str, float]:
    """Median CPU seconds per call of each variant, the variants taking turns."""
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for fn in variants.values():  # warm-up: connections, caches, lazy imports
        for _ in range(max(2, calls // 10)):
            fn()
    for _ in range(rounds):
        for name, fn in variants.items():
            start = time.process_time()
            for _ in range(calls):
                fn()
            samples[name].append((time.process_time() - start) / calls)
    return {name: statistics.median(values) for name, values in samples.items()}


def figure(
    name: str, sdk: float, baseline: float, unit: str, target: float, higher_is_better: bool
) -> Figure:
    ratio = sdk / baseline
    met = ratio >= target if higher_is_better else ratio <= target
    sign = ">=" if higher_is_better else "<="
    return Figure(name, sdk, baseline, unit, ratio, f"{sign} {target:.2f}x", met)


def sync_figures(server: dict[str, str], settings: Settings) -> list[Figure]:
    base, token, e164 = server["base_url"], server["token"], server["e164"]
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    with (
        httpx.Client(headers=headers) as raw,
        dtmf.Client(token, base_url=base) as client,
        dtmf.DTMF(token, base_url=base) as old,
    ):
        small = interleaved(
            {
                "raw": lambda: json.loads(raw.get(f"{base}/account").content),
                "sdk": client.account.get,
            },
            settings.small_calls,
            settings.rounds,
        )
        number_url = f"{base}/number"
        params = {"e164": e164}
        big = interleaved(
            {
                "raw": lambda: json.loads(raw.get(number_url, params=params).content),
                "floor": lambda: dtmf.Number.model_validate_json(
                    raw.get(number_url, params=params).content
                ),
                "sdk": lambda: client.numbers.get(e164),
                "compat": lambda: old.number(e164),
            },
            settings.big_calls,
            settings.rounds,
        )
        body = raw.get(number_url, params=params).content
    ms = 1000.0
    return [
        figure(
            "small read: account.get() CPU/call",
            small["sdk"] * ms,
            small["raw"] * ms,
            "ms",
            1.25,
            False,
        ),
        figure(
            "big read: numbers.get() vs raw httpx+json.loads",
            big["sdk"] * ms,
            big["raw"] * ms,
            "ms",
            2.6,
            False,
        ),
        figure(
            "big read: numbers.get() vs floor (model_validate_json)",
            big["sdk"] * ms,
            big["floor"] * ms,
            "ms",
            1.10,
            False,
        ),
        figure(
            "compat: DTMF.number() vs Client numbers.get()",
            big["compat"] * ms,
            big["sdk"] * ms,
            "ms",
            1.10,
            False,
        ),
        *parse_figures(body, settings),
    ]


def parse_figures(body: bytes, settings: Settings) -> list[Figure]:
    parse = get_number.result.parse_sync
    times = interleaved(
        {
            "json": lambda: json.loads(body),
            "floor": lambda: dtmf.Number.model_validate_json(body),
            "sdk": lambda: parse(body),
        },
        max(2, settings.big_calls * 2),
        settings.rounds,
    )
    megabytes = len(body) / 1e6
    sdk_rate, json_rate, floor_rate = (megabytes / times[k] for k in ("sdk", "json", "floor"))
    return [
        figure(
            f"parse {len(body) // 1000} KB number: MB/s vs json.loads",
            sdk_rate,
            json_rate,
            "MB/s",
            0.35,
            True,
        ),
        figure(
            "parse: MB/s vs floor (model_validate_json)", sdk_rate, floor_rate, "MB/s", 0.90, True
        ),
    ]


def async_figure(
    server: dict[str, str],
    settings: Settings,
    concurrency: int = 300,
    raw_limits: httpx.Limits | None = None,
) -> Figure:
    """Both clients with their default pools; or raw httpx with `raw_limits`."""
    base, token = server["base_url"], server["token"]
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    pool: dict[str, Any] = {} if raw_limits is None else {"limits": raw_limits}

    async def run() -> tuple[float, float]:
        async with (
            httpx.AsyncClient(headers=headers, timeout=60, **pool) as raw,
            dtmf.AsyncClient(token, base_url=base) as client,
        ):

            async def raw_call() -> object:
                return json.loads((await raw.get(f"{base}/account")).content)

            async def burst(call: Callable[[], Any]) -> float:
                start = time.perf_counter()
                await asyncio.gather(*(call() for _ in range(concurrency)))
                return concurrency / (time.perf_counter() - start)

            await burst(raw_call)  # warm-up: opens the pools' connections
            await burst(client.account.get)
            raw_rates, sdk_rates = [], []
            for _ in range(max(settings.bursts, 1) * max(settings.rounds // 2, 1)):
                raw_rates.append(await burst(raw_call))
                sdk_rates.append(await burst(client.account.get))
            return statistics.median(sdk_rates), statistics.median(raw_rates)

    sdk_rate, raw_rate = asyncio.run(run())
    raw_pool = "httpx's default" if raw_limits is None else raw_limits.max_connections
    pools = f"pools: {DEFAULT_LIMITS.max_connections} vs {raw_pool}"
    return figure(
        f"async: {concurrency} concurrent account.get(), req/s ({pools})",
        sdk_rate,
        raw_rate,
        "req/s",
        0.85,
        True,
    )


# Resident memory after an import, measured in a fresh interpreter. Not ru_maxrss:
# on Linux a child's ru_maxrss starts from its parent's high-water mark (it survives
# fork and exec), so it reported this benchmark's own size for both imports.
RSS_CODE = """\
import sys
import {modules}
try:
    with open("/proc/self/status") as status:
        print(next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")))
except OSError:  # not Linux: the peak, which is after the import here
    import resource
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(peak // 1024 if sys.platform == "darwin" else peak)
"""


def resident_kb(modules: str) -> int:
    """Median resident set (KB) of fresh interpreters after `import <modules>`."""
    code = RSS_CODE.format(modules=modules)
    samples = [
        int(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(3)
    ]
    return int(statistics.median(samples))


def import_figures(settings: Settings) -> list[Figure]:
    # Compile the bytecode first, as any installed package has it: with
    # PYTHONDONTWRITEBYTECODE set, dtmf's own modules would be compiled at every import.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", "import dtmf, httpx, pydantic"], check=True, env=env)

    def wall(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - start

    codes = {"none": "pass", "deps": "import httpx, pydantic", "sdk": "import dtmf"}
    samples: dict[str, list[float]] = {k: [] for k in codes}
    for _ in range(settings.imports):
        for name, code in codes.items():
            samples[name].append(wall(code))
    start = statistics.median(samples["none"])
    sdk = (statistics.median(samples["sdk"]) - start) * 1000
    deps = (statistics.median(samples["deps"]) - start) * 1000
    sdk_kb, deps_kb = resident_kb("dtmf"), resident_kb("httpx, pydantic")
    return [
        figure("import dtmf vs import httpx, pydantic (ms)", sdk, deps, "ms", 1.20, False),
        figure(
            "resident memory after import (MB)", sdk_kb / 1024, deps_kb / 1024, "MB", 1.20, False
        ),
    ]


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "httpx": httpx.__version__,
        "pydantic": pydantic.VERSION,
        "dtmf-io": dtmf.__version__,
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
        "platform": platform.platform(),
    }


def table(figures: list[Figure], info: dict[str, str], smoke: bool = False) -> str:
    """The figures as a markdown table; a smoke run's are too few to judge ('-')."""
    lines = [
        f"machine: {info['cpu']}, {info['cores']} cores, Python {info['python']}, "
        f"httpx {info['httpx']}, pydantic {info['pydantic']}",
        "",
        *(
            ["smoke run: a few iterations to keep the benchmark working; no target is judged"]
            if smoke
            else []
        ),
        "| figure | SDK | baseline | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for f in figures:
        lines.append(
            f"| {f.name} | {f.sdk:,.3f} {f.unit} | {f.baseline:,.3f} {f.unit} "
            f"| {f.ratio:.2f}x | {f.target} | {'-' if smoke else 'yes' if f.met else 'NO'} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--smoke", action="store_true", help="a few iterations; figures mean nothing"
    )
    args = parser.parse_args()
    settings = SMOKE if args.smoke else FULL
    with served() as server:
        figures = sync_figures(server, settings)
        concurrency = 30 if args.smoke else 300
        figures.append(async_figure(server, settings, concurrency))
        # The same with equal pools: what the SDK's own per-call work costs.
        figures.append(async_figure(server, settings, concurrency, raw_limits=DEFAULT_LIMITS))
    figures.extend(import_figures(settings))
    info = machine()
    print(table(figures, info, smoke=args.smoke))
    if not args.smoke:
        RESULTS.mkdir(exist_ok=True)
        payload = {"machine": info, "figures": [asdict(f) for f in figures]}
        (RESULTS / "latest.json").write_text(json.dumps(payload, indent=2) + "\n")
        print(f"\nwritten to {RESULTS / 'latest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
