"""schemathesis fuzzes the reference server from its own OpenAPI document, and finds nothing.

A short run with a fixed seed (`make fuzz` runs a long one with a new seed): the
document's examples, boundary cases, random positive and negative cases, and
stateful sequences along its links, with every check on (see tests/fuzz.py).
"""

from __future__ import annotations

import pytest

pytest.importorskip("schemathesis")

from dtmf._contract import OPERATIONS

from . import fuzz


@pytest.mark.timeout(300)
def test_the_fuzzer_finds_nothing() -> None:
    with fuzz.served() as (base_url, emu, seen):
        result = fuzz.run(base_url, **fuzz.SHORT)
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert f"✅ {phase}" in report, report
    count = len(OPERATIONS)
    assert f"Operations:       {count} selected / {count} total" in report, report
    # The stateful links at work: a rented number fetched and released by the fuzzer,
    # and an SMS sent from a number it rented.
    assert seen.chains(), seen
    assert set(seen.sent_from) & set(seen.rented), seen
    assert emu.requests, "the fuzzer sent nothing"
