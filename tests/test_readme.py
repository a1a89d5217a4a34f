"""The README's examples run as printed, and its wire table matches the contract."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from dtmf._contract import OPERATIONS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _python_blocks() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    # Blocks that only show a signature or need a live service are not programs.
    return [b for b in blocks if "with dtmf.Client()" in b or "asyncio.run(main())" in b]


def test_wire_table_matches_the_contract() -> None:
    for op in OPERATIONS:
        row = (
            f"| `{op.name}` | {op.method} | `{op.path}` | {', '.join(op.query) or '-'} "
            f"| {', '.join(op.body) or '-'} | {op.success_status} | {op.retry.value} "
            f"| {op.summary} |"
        )
        assert row in README, f"README wire table out of date for {op.name}:\n{row}"


@pytest.mark.parametrize("block", _python_blocks(), ids=["quickstart", "async"])
def test_readme_example_runs(block: str, tmp_path: Path) -> None:
    from dtmf.testing import Emulator

    script = tmp_path / "example.py"
    script.write_text(block)
    with Emulator(seed=7) as emulator:
        emulator.add_account("readme-token", balance=10_000_000)
        with emulator.serve(port=0) as base_url:
            env = {"DTMF_TOKEN": "readme-token", "DTMF_BASE_URL": base_url, "PATH": ""}
            result = subprocess.run(
                [sys.executable, str(script)],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
