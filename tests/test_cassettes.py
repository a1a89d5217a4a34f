"""Replay the recorded tours (cassettes/) through every client, with no network.

The cassettes come from the reference server (`make record`), or from a live
account when re-recorded with DTMF_TOKEN and DTMF_BASE_URL set.
"""

from __future__ import annotations

import asyncio
from datetime import timezone
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

import dtmf
from tests.recording import CASSETTES, REPLAY_BASE_URL, recorder
from tests.tour import FRIEND, run_async, run_compat, run_sync
from tests.wire import OPS, wire

DOCUMENTED_NUMBER_KEYS = {
    "e164",
    "group_id",
    "sms",
    "cost_per_minute",
    "cost_per_inbound_message",
    "assignment_start",
    "sms_forwarded_to",
    "messages",
}
DOCUMENTED_MESSAGE_KEYS = {"from", "to", "content", "timestamp", "success", "cost"}
DOCUMENTED_GROUP_KEYS = {
    "id",
    "type",
    "name",
    "country_code",
    "sms_support",
    "voice_support",
    "setup_cost",
    "rental_cost_per_minute",
    "cost_per_inbound_message",
    "cost_per_inbound_call_minute",
}

replay = recorder("none")
CASSETTE_NAMES = sorted(p.name for p in CASSETTES.glob("*.yaml"))


@pytest.mark.parametrize("cassette", CASSETTE_NAMES)
def test_every_operation_is_in_the_cassettes(cassette: str) -> None:
    recorded = yaml.safe_load((CASSETTES / cassette).read_text())
    routes = {
        (interaction["request"]["method"], urlsplit(interaction["request"]["uri"]).path)
        for interaction in recorded["interactions"]
    }
    assert routes == {wire(name) for name in OPS}


def test_client_replays_the_tour() -> None:
    with replay.use_cassette("client_tour.yaml") as cassette:
        with dtmf.Client("replay-token", base_url=REPLAY_BASE_URL) as client:
            seen = run_sync(client)
        assert cassette.all_played
    _check_typed(seen, dtmf.Number, dtmf.Group)


def test_async_client_replays_the_tour() -> None:
    async def play() -> dict[str, Any]:
        async with dtmf.AsyncClient("replay-token", base_url=REPLAY_BASE_URL) as client:
            return await run_async(client)

    with replay.use_cassette("async_tour.yaml") as cassette:
        seen = asyncio.run(play())
        assert cassette.all_played
    _check_typed(seen, dtmf.AsyncNumber, dtmf.AsyncGroup)


def _check_typed(seen: dict[str, Any], number_class: type[Any], group_class: type[Any]) -> None:
    assert isinstance(seen["account"], dtmf.Account)
    assert isinstance(seen["account"].balance, int)
    assert all(isinstance(a, dtmf.Address) for a in seen["addresses"])
    assert seen["new_address"].address.startswith(("1", "3", "bc1"))
    assert seen["mobile"]
    assert all(isinstance(g, group_class) for g in seen["mobile"])
    assert {g.type for g in seen["mobile"]} == {"mobile"}
    assert {g.type for g in seen["local"]} == {"local"}
    rented = seen["rented"]
    assert isinstance(rented, number_class)
    assert rented.e164 in {n.e164 for n in seen["numbers"]}
    number = seen["number"]
    assert number.sms_action == (("forward", FRIEND))
    sent = [m for m in number.messages if m.content == "Hello from dtmf-io"]
    assert len(sent) == 1
    assert sent[0].to == FRIEND
    assert sent[0].timestamp is not None
    assert sent[0].timestamp.tzinfo == timezone.utc
    for step in ("forward", "sent", "no_action", "ended"):
        assert seen[step] is None
    assert seen["account_after"].balance < seen["account"].balance


def test_compat_replays_the_tour_with_documented_shapes() -> None:
    with replay.use_cassette("compat_tour.yaml") as cassette:
        with dtmf.DTMF("replay-token", base_url=REPLAY_BASE_URL) as old:
            seen = run_compat(old)
        assert cassette.all_played
    assert set(seen["account"]) == {"balance"}
    assert all(set(a) == {"address"} for a in seen["addresses"])
    assert all(set(g) == DOCUMENTED_GROUP_KEYS for g in seen["mobile"] + seen["local"])
    for number in [seen["rented"], seen["number"], *seen["numbers"]]:
        assert set(number) == DOCUMENTED_NUMBER_KEYS
        for message in number["messages"]:
            assert set(message) == DOCUMENTED_MESSAGE_KEYS
    [sent] = [m for m in seen["number"]["messages"] if m["content"] == "Hello from dtmf-io"]
    assert sent["from"] == seen["rented"]["e164"]
    assert sent["to"] == FRIEND
    assert isinstance(sent["timestamp"], str)
    assert len(sent["timestamp"]) == 26
    for step in ("forward", "sent", "no_action", "ended"):
        assert seen[step] is True


@pytest.mark.parametrize("cassette", CASSETTE_NAMES)
def test_no_cassette_holds_a_token(cassette: str) -> None:
    text = (CASSETTES / cassette).read_text()
    assert "Bearer" not in text
    assert "authorization" not in text.lower()
    assert "cassette-recording-token" not in text
