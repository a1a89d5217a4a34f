"""The README's wire table matches the contract (its code blocks: test_docs_blocks.py)."""

from __future__ import annotations

from pathlib import Path

from dtmf._contract import OPERATIONS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_wire_table_matches_the_contract() -> None:
    for op in OPERATIONS:
        row = (
            f"| `{op.name}` | {op.method} | `{op.path}` | {', '.join(op.query) or '-'} "
            f"| {', '.join(op.body) or '-'} | {op.success_status} | {op.retry.value} "
            f"| {op.summary} |"
        )
        assert row in README, f"README wire table out of date for {op.name}:\n{row}"
