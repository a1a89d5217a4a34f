"""Fuzz the reference server with schemathesis, driven by the API's own OpenAPI document.

The emulator is served on a free loopback port; schemathesis loads the document the
server publishes (``GET /api/v1/openapi.json``) and runs its phases against it:
the documents' examples, boundary ("coverage") cases, random positive and negative
cases, and stateful sequences along the document's links (groups -> rent -> get ->
end rental). Every check is on: no 5xx, each answer's status and body as
documented, valid input accepted, invalid input refused with 4xx (settings in
tests/schemathesis.toml; strategies for the document's custom formats in
tests/fuzz_hooks.py).

`make fuzz` runs it long (`python -m tests.fuzz`); `tests/test_fuzz.py` runs it
short, with a fixed seed, in `make test`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dtmf.testing import Emulator

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "tests" / "schemathesis.toml"
TOKEN = "fuzz-token"
BALANCE = 10**12
SHORT = {"max_examples": 12, "seed": 16}
LONG = {"max_examples": 300, "seed": None}


@dataclass
class Seen:
    """What the service did for the fuzzer (the emulator's own methods, observed)."""

    rented: list[str] = field(default_factory=list[str])
    fetched: list[str] = field(default_factory=list[str])
    ended: list[str] = field(default_factory=list[str])
    sent_from: list[str] = field(default_factory=list[str])

    def chains(self) -> list[str]:
        """Numbers that were rented, then fetched, then released: the stateful links at work."""
        return [e164 for e164 in self.rented if e164 in self.fetched and e164 in self.ended]


@contextmanager
def served(pool_size: int = 50) -> Iterator[tuple[str, Emulator, Seen]]:
    """The emulator on a free loopback port: (base URL, emulator, what it saw done)."""
    seen = Seen()
    with Emulator(seed=16, pool_size=pool_size) as emu:
        emu.add_account(TOKEN, balance=BALANCE)
        state = emu.state
        rent, number, end_rental, send = state.rent, state.number, state.end_rental, state.send_sms

        def observed_rent(token: str, group_id: str) -> dict[str, Any]:
            result = rent(token, group_id)
            seen.rented.append(result["e164"])
            return result

        def observed_number(token: str, e164: str) -> dict[str, Any]:
            result = number(token, e164)
            seen.fetched.append(e164)
            return result

        def observed_end(token: str, e164: str) -> None:
            end_rental(token, e164)
            seen.ended.append(e164)

        def observed_send(token: str, sender: str, recipient: str, content: str) -> None:
            send(token, sender, recipient, content)
            seen.sent_from.append(sender)

        state.rent = observed_rent  # type: ignore[method-assign]
        state.number = observed_number  # type: ignore[method-assign]
        state.end_rental = observed_end  # type: ignore[method-assign]
        state.send_sms = observed_send  # type: ignore[method-assign]
        with emu.serve() as base_url:
            yield base_url, emu, seen


def command(
    base_url: str, max_examples: int, seed: int | None, extra: tuple[str, ...]
) -> list[str]:
    """The schemathesis command line for a served emulator."""
    args = [
        sys.executable, "-m", "schemathesis.cli", "--no-color", "--config-file", str(CONFIG),
        "run", f"{base_url}/openapi.json",
        "--url", base_url,
        "--header", f"Authorization: Bearer {TOKEN}",
        "--checks", "all",
        "--mode", "all",
        "--phases", "examples,coverage,fuzzing,stateful",
        "--max-examples", str(max_examples),
        "--workers", "1",
        "--request-timeout", "10",
    ]  # fmt: skip
    if seed is not None:
        args += ["--seed", str(seed)]
    return [*args, *extra]


def run(
    base_url: str,
    max_examples: int,
    seed: int | None,
    extra: tuple[str, ...] = (),
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """Run schemathesis against a served emulator, to completion."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "NO_PROXY": "*"}
    env.pop("SCHEMATHESIS_HOOKS", None)
    return subprocess.run(
        command(base_url, max_examples, seed, extra),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fuzz", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--max-examples", type=int, default=LONG["max_examples"])
    parser.add_argument("--seed", type=int, default=None, help="default: a new one each run")
    parser.add_argument("extra", nargs="*", help="more schemathesis run options (after --)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with served() as (base_url, _emu, seen):
        result = run(base_url, args.max_examples, args.seed, tuple(args.extra), timeout=3600)
    print(result.stdout)
    print(result.stderr, file=sys.stderr)
    print(
        f"rented {len(seen.rented)}, fetched {len(seen.fetched)}, released {len(seen.ended)}, "
        f"SMS sent {len(seen.sent_from)}; "
        f"rent -> get -> end chains: {len(seen.chains())}; {time.monotonic() - started:.1f} s"
    )
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
