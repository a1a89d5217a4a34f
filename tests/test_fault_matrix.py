"""The fault-injection matrix over the reference server, and what it must never leak.

Every operation x every fault x {sync, async} x {in-process, real port}: one cell
each, run by `tests.faultmatrix.run_cell` on a fresh emulator and checked against
`tests.faultmatrix.expect` (the outcome and error class, `may_have_succeeded`, the
requests the server saw, and for writes what the server's state shows: a paid
action happened once or not at all, never twice). Every cell runs with every
logger at DEBUG, and no log record or exception may show the token.

`make faults` prints the same matrix as a table; `pytest -v` prints it at the end.
The MockTransport-level retry rules are in test_retries.py and test_security.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

import dtmf
from dtmf.testing import Emulator
from tests import faultmatrix
from tests.faultmatrix import CELLS, TOKEN, CellResult, Fault, SharedPort, Transport
from tests.recording import CASSETTES, recorder
from tests.test_security import _texts  # pyright: ignore[reportPrivateUsage]
from tests.tour import run_async, run_sync

RESULTS: list[CellResult] = []
"""Every cell run in this session, for the table in the terminal summary (conftest.py)."""


@pytest.fixture(scope="module")
def port() -> Iterator[SharedPort]:
    with SharedPort().serving() as shared:
        yield shared


def _assert_no_token(caplog: pytest.LogCaptureFixture, errors: list[BaseException]) -> None:
    for record in caplog.records:
        assert TOKEN not in record.getMessage(), record.name
        assert TOKEN not in repr(record.args), record.name
        assert TOKEN not in (record.exc_text or ""), record.name
    assert TOKEN not in caplog.text
    for error in errors:
        for text in _texts(error):
            assert TOKEN not in text
        assert TOKEN not in str(getattr(error, "body", ""))


@pytest.mark.parametrize(
    ("transport", "operation", "fault"),
    CELLS,
    ids=[f"{t}-{n}-{f}".replace(" ", "_") for t, n, f in CELLS],
)
def test_cell(
    transport: Transport,
    operation: str,
    fault: Fault,
    port: SharedPort,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        result = faultmatrix.run_cell(transport, operation, fault, port=port)
    RESULTS.append(result)
    assert result.error is None or isinstance(result.error, dtmf.DTMFError), repr(result.error)
    assert not result.duplicate, f"{operation} took effect {result.effects} times"
    assert result.check() == [], result.error
    if transport.wire == "in-process" or fault.name != "refused":
        assert result.spoiled >= 1, "the fault was never applied"
    _assert_no_token(caplog, [result.error] if result.error else [])
    if transport.kind == "sync" or transport.wire == "port":
        # The SDK's own lines, at least one per attempt (async in-process has the same).
        assert any(r.name == "dtmf" and r.levelno == logging.DEBUG for r in caplog.records)


def test_matrix_covers_every_operation_and_fault() -> None:
    from dtmf._contract import OPERATIONS

    assert {name for _, name, _ in CELLS} == {op.name for op in OPERATIONS}
    assert len(CELLS) == 4 * len(OPERATIONS) * len(faultmatrix.FAULTS)


def test_a_cell_through_emulator_serve() -> None:
    """Without the shared port the cell starts its own server with `Emulator.serve()`."""
    result = faultmatrix.run_cell(
        Transport("sync", "port"), "messages.send", faultmatrix.FAULTS[5]
    )  # drop after
    assert result.check() == []
    assert result.effects == 1


def test_the_table_renders_with_totals() -> None:
    results = [
        faultmatrix.run_cell(Transport(kind, "in-process"), name, fault)
        for kind in ("sync", "async")
        for name in ("numbers.rent", "account.get")
        for fault in faultmatrix.FAULTS[:2]
    ]
    text = faultmatrix.render(results)
    assert "numbers.rent" in text
    assert "5xx? 1" in text
    assert "unclear failures:     0" in text
    assert "duplicates:           0" in text
    assert "8 cells" in text


# The whole tour against the reference server, with every logger at DEBUG ------------


def _tour(emu: Emulator, base_url: str | None, errors: list[BaseException]) -> None:
    if base_url is None:
        with emu.client(TOKEN) as client:
            run_sync(client)

        async def in_process() -> None:
            async with emu.async_client(TOKEN) as client:
                await run_async(client)
            await emu.aclose()

        asyncio.run(in_process())
        return
    with dtmf.Client(TOKEN, base_url=base_url) as client:
        run_sync(client)
        # Two refusals and a read timeout, for their messages.
        for call in (
            lambda: client.numbers.get("+15555550100"),
            lambda: client.numbers.rent("xx-mobile"),
            lambda: client.with_options(timeout=0.2).numbers.rent("gb-mobile"),
        ):
            if len(errors) == 2:
                emu.faults.add("numbers.rent", delay=0.4)
            try:
                call()
            except dtmf.DTMFError as exc:
                errors.append(exc)

    async def over_port() -> None:
        async with dtmf.AsyncClient(TOKEN, base_url=base_url) as client:
            await run_async(client)

    asyncio.run(over_port())


def test_tour_leaks_no_token_to_logs_errors_or_cassettes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The cassette tour in-process and on a port (recorded afresh there, with this token)."""
    errors: list[BaseException] = []
    tape = recorder("all")
    with caplog.at_level(logging.DEBUG), Emulator(seed=7) as emu:
        emu.add_account(TOKEN, balance=5_000_000)
        _tour(emu, None, errors)  # vcrpy records real transports only
        with emu.serve() as base_url, tape.use_cassette(str(tmp_path / "port.yaml")):
            _tour(emu, base_url, errors)
    assert len(errors) == 3
    assert isinstance(errors[-1], dtmf.APITimeoutError)
    _assert_no_token(caplog, errors)
    # httpcore2 carries the SDK's own connections; httpcore (or httpcore2 itself under
    # httpx2.alias_httpx()) the in-process and proxied ones.
    assert any(r.name in ("httpcore.http11", "httpcore2.http11") for r in caplog.records), (
        "httpcore was not logging"
    )
    recorded = tmp_path / "port.yaml"
    assert recorded.read_text().count("uri: http://127.0.0.1") >= 2 * 14  # sync + async tours
    for cassette in [recorded, *CASSETTES.glob("*.yaml")]:
        text = cassette.read_text()
        assert TOKEN not in text, cassette
        assert "cassette-recording-token" not in text, cassette  # tests/record.py's
        assert "bearer" not in text.lower(), cassette
        assert "authorization" not in text.lower(), cassette
