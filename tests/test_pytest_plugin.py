"""The fixtures the installed pytest plugin gives any project's tests."""

from __future__ import annotations

import pytest

import dtmf
from dtmf.testing import Emulator


def test_dtmf_client_talks_to_dtmf_emulator(
    dtmf_emulator: Emulator, dtmf_client: dtmf.Client
) -> None:
    number = dtmf_client.numbers.rent("gb-mobile")
    assert dtmf_emulator.requests[-1].operation == "numbers.rent"
    assert dtmf_emulator.account("test-token").balance < 100_000_000
    assert [n.e164 for n in dtmf_client.numbers.list()] == [number.e164]


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.anyio
async def test_dtmf_async_client_talks_to_dtmf_emulator(
    dtmf_emulator: Emulator, dtmf_async_client: dtmf.AsyncClient
) -> None:
    number = await dtmf_async_client.numbers.rent("gb-mobile")
    assert isinstance(number, dtmf.AsyncNumber)
    await number.send_sms("+447700900123", "hi")
    assert [r.operation for r in dtmf_emulator.requests] == ["numbers.rent", "messages.send"]
    assert dtmf_emulator.account("test-token").balance < 100_000_000
