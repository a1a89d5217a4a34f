"""Issue 14's cases through every transport that applies: `tests.faultscenarios`.

Each cell must end as its row says (correct behaviour or the expected clear
error), never with an unclear failure, and never send an SMS twice.
"""

from __future__ import annotations

import pytest

from tests.faultmatrix import Transport
from tests.faultscenarios import CELLS, Row, run_cell


@pytest.mark.parametrize(
    ("transport", "row"),
    CELLS,
    ids=[f"{t}-{row.name}".replace(" ", "_") for t, row in CELLS],
)
def test_case(transport: Transport, row: Row) -> None:
    cell = run_cell(transport, row)
    assert cell.clear, repr(cell.error)
    assert cell.paid <= 1, f"{row.name}: {cell.paid} SMS sent"
    assert cell.expected, f"{row.name} must: {row.must}; got {cell.code} {cell.error!r}"
