"""pytest fixtures for code that uses the dtmf SDK: an emulated service and a client of it.

Registered as the `dtmf` pytest plugin. Importing it is cheap (the emulator and
uvicorn load only when a test asks for a fixture), since pytest loads it in every
run of every project that has dtmf-io installed.

- `dtmf_emulator`: an `Emulator` (seed 0) with an account for token "test-token"
  holding 100,000,000 satoshis (1 BTC); closed after the test.
- `dtmf_client`: a `dtmf.Client` of that emulator, in-process.
- `dtmf_async_client`: a `dtmf.AsyncClient` of that emulator, in-process. It is an
  async fixture: mark the test ``@pytest.mark.anyio`` (anyio's pytest plugin comes
  with dtmf-io; asyncio and trio both work), or use pytest-asyncio in auto mode.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import dtmf
    from dtmf.testing import Emulator

TEST_TOKEN = "test-token"
TEST_BALANCE = 100_000_000


@pytest.fixture
def dtmf_emulator() -> Iterator[Emulator]:
    """An in-memory DTMF.io service with an account for token 'test-token' (1 BTC)."""
    from dtmf.testing import Emulator

    with Emulator(seed=0) as emulator:
        emulator.add_account(TEST_TOKEN, balance=TEST_BALANCE)
        yield emulator


@pytest.fixture
def dtmf_client(dtmf_emulator: Emulator) -> Iterator[dtmf.Client]:
    """A `dtmf.Client` of `dtmf_emulator`, for token 'test-token'."""
    with dtmf_emulator.client(TEST_TOKEN) as client:
        yield client


@pytest.fixture
async def dtmf_async_client(dtmf_emulator: Emulator) -> AsyncIterator[dtmf.AsyncClient]:
    """A `dtmf.AsyncClient` of `dtmf_emulator`, for token 'test-token' (an async fixture)."""
    async with dtmf_emulator.async_client(TEST_TOKEN) as client:
        yield client
