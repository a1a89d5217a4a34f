"""`make bench`: what the SDK costs over raw httpx and httpx2, as paired ratios.

A raw HTTP/1.1 keep-alive server with canned bodies runs in its own process on a
loopback port (bench/server.py), so this process's CPU time is the client's alone
and the server never limits throughput. Every figure is a ratio taken round by
round from interleaved measurements (bench/measure.py); the table gives the median
ratio, its interquartile range and its min-max over the rounds, and the target.

    python -m bench            # full run (~2-4 minutes); writes bench/results/latest.{json,md}
    python -m bench --smoke    # a few iterations, to keep the benchmark from rotting
    python -m bench --check    # exit 1 when a target is missed

A figure is worth trusting when three consecutive runs meet its target.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import inspect
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pydantic

import dtmf

from .measure import Row, cpu_per_call, rotated

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent
POOL = 16  # the pool httpx2 is given: the size of dtmf's default one


@dataclass
class Settings:
    rounds: int  # rounds of the in-process figures
    small_calls: int  # calls per variant per round
    big_calls: int
    parse_calls: int
    async_rounds: int
    async_requests: int  # requests per variant per round, in bursts of the width
    import_rounds: int
    rss_samples: int


FULL = Settings(
    rounds=21,
    small_calls=200,
    big_calls=8,
    parse_calls=10,
    async_rounds=21,
    async_requests=320,
    import_rounds=15,
    rss_samples=3,
)
# Every loop once (two rounds, so that a spread exists): it runs, and says nothing.
SMOKE = Settings(**{**{f.name: 1 for f in fields(Settings)}, "rounds": 2, "small_calls": 5})
WIDTHS = (32, 300)
RAW_HTTPX_WIDTH = 300


def load_httpx2() -> tuple[ModuleType | None, str]:
    """httpx2, or None and why: its reference rows are skipped without it."""
    try:
        import httpx2
    except ImportError:
        why = "httpx2 is not installed"
        if sys.version_info < (3, 11):
            why += " (httpx2 2.16 needs Python 3.11; this is " + platform.python_version() + ")"
        return None, why
    return httpx2, ""


@contextmanager
def served() -> Iterator[dict[str, Any]]:
    """Start bench/server.py and yield what it prints: base URL, token, e164s."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.server"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the benchmark server did not start")
        yield json.loads(line)
    finally:
        process.stdin.close()  # the server's signal to stop
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


# Sync calls over one keep-alive connection -------------------------------------------


def sync_rows(server: dict[str, Any], settings: Settings, httpx2: ModuleType | None) -> list[Row]:
    base, token, e164s = server["base_url"], server["token"], server["e164s"]
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    number_url, account_url = f"{base}/number", f"{base}/account"
    small, big, later = ({"e164": e164s[k]} for k in ("small", "big", "later"))
    with (
        httpx.Client(headers=headers) as raw,
        dtmf.Client(token, base_url=base) as client,
        dtmf.DTMF(token, base_url=base) as old,
    ):
        small_variants: dict[str, Callable[[], object]] = {
            "raw number": lambda: raw.get(number_url, params=small).json(),
            "sdk number": lambda: client.numbers.get(small["e164"]),
            "raw account": lambda: raw.get(account_url).json(),
            "sdk account": client.account.get,
        }
        ref = httpx2.Client(headers=headers) if httpx2 is not None else None
        if ref is not None:
            small_variants["httpx2 number"] = lambda: ref.get(number_url, params=small).json()
        try:
            cpu = cpu_per_call(small_variants, settings.small_calls, settings.rounds)
        finally:
            if ref is not None:
                ref.close()
        big_cpu = cpu_per_call(
            {
                "raw": lambda: json.loads(raw.get(number_url, params=big).content),
                "floor": lambda: dtmf.Number.model_validate_json(
                    raw.get(number_url, params=big).content
                ),
                "sdk": lambda: client.numbers.get(big["e164"]),
                "compat": lambda: old.number(big["e164"]),
                "sdk later": lambda: client.numbers.get(later["e164"]),
                "compat later": lambda: old.number(later["e164"]),
            },
            settings.big_calls,
            settings.rounds,
        )
        body = raw.get(number_url, params=big).content

    cpu.update(big_cpu)
    rows = [
        Row(name, "ms CPU", [t * 1000 for t in cpu[of]], [t * 1000 for t in cpu[to]], target)
        for name, of, to, target in SYNC_ROWS
        if of in cpu
    ]
    return rows + parse_rows(body, settings)


# (figure, measured variant, baseline variant, target; None: a reference row)
SYNC_ROWS: list[tuple[str, str, str, float | None]] = [
    (
        "small read: numbers.get(e164) vs raw httpx GET ?e164= + .json()",
        "sdk number",
        "raw number",
        1.00,
    ),
    ("small read: account.get() vs raw httpx GET + .json()", "sdk account", "raw account", 1.25),
    ("reference: httpx2 GET ?e164= + .json() vs raw httpx", "httpx2 number", "raw number", None),
    ("big read: numbers.get() vs raw httpx + json.loads", "sdk", "raw", 2.6),
    ("big read: numbers.get() vs floor (httpx + model_validate_json)", "sdk", "floor", 1.10),
    ("DTMF.number() vs Client numbers.get(), documented dialect", "compat", "sdk", 1.10),
    (
        "DTMF.number() vs Client numbers.get(), the API page's later dialect",
        "compat later",
        "sdk later",
        1.30,
    ),
]


def parse_rows(body: bytes, settings: Settings) -> list[Row]:
    """The SDK's parse of a 1000-message number, in MB/s, without HTTP."""
    from dtmf._contract import get_number

    parse = get_number.result.parse_sync
    cpu = cpu_per_call(
        {
            "json": lambda: json.loads(body),
            "floor": lambda: dtmf.Number.model_validate_json(body),
            "sdk": lambda: parse(body),
        },
        settings.parse_calls,
        settings.rounds,
    )
    megabytes = len(body) / 1e6
    rate = {name: [megabytes / seconds for seconds in values] for name, values in cpu.items()}
    return [
        Row(
            f"parse a {len(body) // 1000} KB number: MB/s vs json.loads",
            "MB/s",
            rate["sdk"],
            rate["json"],
            0.35,
            higher_is_better=True,
        ),
        Row(
            "parse: MB/s vs floor (model_validate_json)",
            "MB/s",
            rate["sdk"],
            rate["floor"],
            0.90,
            higher_is_better=True,
        ),
    ]


# Async bursts -----------------------------------------------------------------------


def default_limits() -> httpx.Limits:
    """dtmf.AsyncClient's default pool, read from its signature."""
    limits = inspect.signature(dtmf.AsyncClient).parameters["limits"].default
    assert isinstance(limits, httpx.Limits)
    return limits


def async_rows(server: dict[str, Any], settings: Settings, httpx2: ModuleType | None) -> list[Row]:
    """Bursts of concurrent account.get(): CPU per request and requests per second."""
    base, token = server["base_url"], server["token"]
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    url = f"{base}/account"
    limits = default_limits()

    async def run() -> dict[tuple[int, str], tuple[list[float], list[float]]]:
        async with AsyncExitStack() as stack:
            client = await stack.enter_async_context(dtmf.AsyncClient(token, base_url=base))
            # The opt-in pool: dtmf.AsyncFastTransport under the user's httpx client.
            fast_http = await stack.enter_async_context(
                httpx.AsyncClient(transport=dtmf.AsyncFastTransport(limits=limits), timeout=30)
            )
            fast = await stack.enter_async_context(
                dtmf.AsyncClient(token, base_url=base, http_client=fast_http)
            )
            raw = await stack.enter_async_context(
                httpx.AsyncClient(headers=headers, limits=limits, timeout=60)
            )

            async def raw_call() -> object:
                return (await raw.get(url)).json()

            calls: dict[str, Callable[[], Awaitable[object]]] = {
                "dtmf": client.account.get,
                "dtmf-fast": fast.account.get,
                "httpx": raw_call,
            }
            if httpx2 is not None:
                ref = await stack.enter_async_context(
                    httpx2.AsyncClient(
                        headers=headers,
                        limits=httpx2.Limits(max_connections=POOL, max_keepalive_connections=POOL),
                        timeout=60,
                    )
                )

                async def ref_call() -> object:
                    return (await ref.get(url)).json()

                calls["httpx2"] = ref_call
            samples: dict[tuple[int, str], tuple[list[float], list[float]]] = {}
            for width in WIDTHS:
                # Raw httpx (the old baseline, the costliest client to run) at 300 only.
                names = [n for n in calls if n != "httpx" or width == RAW_HTTPX_WIDTH]
                bursts = max(1, round(settings.async_requests / width))
                for name in names:  # warm-up: fills the pools
                    await asyncio.gather(*(calls[name]() for _ in range(width)))
                for index in range(settings.async_rounds):
                    # Burst by burst, the clients taking turns: a round's figures for
                    # each client come from the same second or two of the machine's load.
                    cpu = dict.fromkeys(names, 0.0)
                    wall = dict.fromkeys(names, 0.0)
                    for burst in range(bursts):
                        for name in rotated(names, index + burst):
                            call = calls[name]
                            gc.collect()  # no client pays for another's garbage
                            cpu_start, wall_start = time.process_time(), time.perf_counter()
                            await asyncio.gather(*(call() for _ in range(width)))
                            cpu[name] += time.process_time() - cpu_start
                            wall[name] += time.perf_counter() - wall_start
                    for name in names:
                        cpus, rates = samples.setdefault((width, name), ([], []))
                        cpus.append(cpu[name] / (bursts * width) * 1e6)
                        rates.append(bursts * width / wall[name])
            return samples

    samples = asyncio.run(run())
    pools = f"{limits.max_connections}/{limits.max_keepalive_connections}"
    # (measured, baseline, label, CPU target, rate target): the default stack (httpx's
    # own pool) against raw httpx, the opt-in fast transport against httpx2.
    against = [
        ("dtmf", "httpx", "raw httpx (same pool)", None, 1.0),
        ("dtmf", "httpx2", f"httpx2 ({pools} vs {POOL}/{POOL} pool)", None, None),
        ("dtmf-fast", "httpx2", f"httpx2 ({pools} vs {POOL}/{POOL} pool)", 1.15, 0.87),
    ]
    rows: list[Row] = []
    for width in WIDTHS:
        for measured, name, label, cpu_target, rate_target in against:
            if (width, name) not in samples:
                continue  # httpx2 is not installed, or raw httpx at this width
            cpu, rate = samples[(width, measured)]
            ref_cpu, ref_rate = samples[(width, name)]
            label = f"{measured} vs {label}"
            rows += [
                Row(f"async {width} wide: CPU/req {label}", "us CPU", cpu, ref_cpu, cpu_target),
                Row(
                    f"async {width} wide: req/s {label}",
                    "req/s",
                    rate,
                    ref_rate,
                    rate_target,
                    higher_is_better=True,
                ),
            ]
    return rows


# Start-up -------------------------------------------------------------------------

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
    """The resident set (KB) of a fresh interpreter after `import <modules>`."""
    code = RSS_CODE.format(modules=modules)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return int(result.stdout)


def child_cpu(code: str) -> float:
    """CPU seconds (user + system) of a fresh interpreter running `code`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", code], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def import_rows(settings: Settings) -> list[Row]:
    # Compile the bytecode first, as any installed package has it: with
    # PYTHONDONTWRITEBYTECODE set, dtmf's own modules would be compiled at every import.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", "import dtmf, httpx, pydantic"], check=True, env=env)
    # CPU time rather than wall time: on a loaded machine the wall clock also counts
    # the waits for a free core, which have nothing to do with what an import costs.
    codes = {"none": "pass", "deps": "import httpx, pydantic", "sdk": "import dtmf"}
    samples: dict[str, list[float]] = {name: [] for name in codes}
    for index in range(settings.import_rounds):
        for name in rotated(list(codes), index):
            samples[name].append(child_cpu(codes[name]))
    own = [(s - n) * 1000 for s, n in zip(samples["sdk"], samples["none"], strict=True)]
    deps = [(d - n) * 1000 for d, n in zip(samples["deps"], samples["none"], strict=True)]
    sdk_mb, deps_mb = [], []
    for _ in range(settings.rss_samples):
        sdk_mb.append(resident_kb("dtmf") / 1024)
        deps_mb.append(resident_kb("httpx, pydantic") / 1024)
    return [
        Row("import dtmf vs import httpx, pydantic", "ms CPU", own, deps, 1.20),
        Row("resident memory after import", "MB", sdk_mb, deps_mb, 1.20),
    ]


# Report ---------------------------------------------------------------------------


def machine(httpx2: ModuleType | None) -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        load = "?"
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "load": load,
        "python": platform.python_version(),
        "httpx": httpx.__version__,
        "httpx2": httpx2.__version__ if httpx2 is not None else "-",
        "pydantic": pydantic.VERSION,
        "dtmf-io": dtmf.__version__,
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
        "platform": platform.platform(),
    }


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def table(rows: list[Row], info: dict[str, str], notes: list[str], smoke: bool) -> str:
    """The rows as a markdown table; a smoke run's are too few to judge ('-')."""
    lines = [
        f"machine: {info['cpu']}, {info['cores']} cores (load {info['load']}), "
        f"Python {info['python']}, httpx {info['httpx']}, httpx2 {info['httpx2']}, "
        f"pydantic {info['pydantic']}",
        "",
        *notes,
        *(["smoke run: a few iterations to keep the benchmark working; no target judged"] * smoke),
        *([""] if notes or smoke else []),
        "| figure | measured | baseline | ratio | IQR | min-max | target | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        q1, q3 = row.quartiles
        met = "-" if smoke or row.met is None else "yes" if row.met else "NO"
        lines.append(
            f"| {row.name} | {_number(statistics.median(row.measured))} {row.unit} "
            f"| {_number(statistics.median(row.baseline))} {row.unit} | {row.ratio:.2f}x "
            f"| {q1:.2f}-{q3:.2f} | {min(row.ratios):.2f}-{max(row.ratios):.2f} "
            f"| {row.target_text} | {met} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--smoke", action="store_true", help="a few iterations; judges nothing")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    settings = SMOKE if args.smoke else FULL
    httpx2, missing = load_httpx2()
    notes = [] if httpx2 is not None else [f"httpx2 rows skipped: {missing}."]
    for note in notes:
        print(note, flush=True)
    started = time.perf_counter()
    with served() as server:
        rows = sync_rows(server, settings, httpx2)
        rows += async_rows(server, settings, httpx2)
    rows += import_rows(settings)
    seconds = time.perf_counter() - started
    info = machine(httpx2)
    report = table(rows, info, notes, smoke=args.smoke)
    judged = [row for row in rows if row.met is not None]
    missed = [row.name for row in judged if not row.met]
    print(report)
    verdict = f"{len(judged) - len(missed)} of {len(judged)} targets met"
    verdict = "smoke run, nothing judged" if args.smoke else verdict
    print(f"\n{verdict}, in {seconds:.0f} s")
    if not args.smoke:
        RESULTS.mkdir(exist_ok=True)
        payload = {
            "machine": info,
            "settings": asdict(settings),
            "seconds": round(seconds, 1),
            "notes": notes,
            "figures": [row.as_json() for row in rows],
        }
        (RESULTS / "latest.json").write_text(json.dumps(payload, indent=2) + "\n")
        (RESULTS / "latest.md").write_text(f"`make bench` ({seconds:.0f} s)\n\n{report}\n")
        print(f"written to {RESULTS / 'latest.json'} and latest.md")
    return 1 if args.check and missed and not args.smoke else 0


if __name__ == "__main__":
    sys.exit(main())
