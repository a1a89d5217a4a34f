"""Models: both dialects of the service parse; bindings stay out of the data."""

from __future__ import annotations

import asyncio
import copy
import pickle
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest

import dtmf

from .conftest import BODIES, E164, NUMBER, MockClient, success
from .documented import LIVE_NUMBER

UTC = timezone.utc


@pytest.mark.parametrize("model", [dtmf.Number, dtmf.AsyncNumber])
def test_documented_dialect(model: type[dtmf.BaseNumber]) -> None:
    number = model.model_validate(NUMBER)
    assert number.e164 == E164
    assert number.cost_per_minute == 13
    assert number.cost_per_inbound_message == 705
    assert isinstance(number.cost_per_inbound_message, int)
    assert number.assignment_start == datetime(2018, 1, 1, 1, 1, 1, tzinfo=UTC)
    [message] = number.messages
    assert message.from_ == E164
    assert message.to == "+1234"
    assert message.success is True
    assert message.cost == 1000
    assert message.timestamp == datetime(2018, 1, 1, 1, 1, 2, tzinfo=UTC)
    assert number.calls == []
    assert number.model_extra == {}


@pytest.mark.parametrize("model", [dtmf.Number, dtmf.AsyncNumber])
def test_live_dialect(model: type[dtmf.BaseNumber]) -> None:
    number = model.model_validate(LIVE_NUMBER)
    assert number.id == 1234
    assert number.identifier == ""
    assert number.voice is True
    assert number.cost_per_month == Decimal("2.50")
    assert isinstance(number.cost_per_month, Decimal)
    assert number.cost_per_inbound_message == Decimal("0.01")
    assert isinstance(number.cost_per_inbound_message, Decimal)
    assert number.assignment_start == datetime(2018, 12, 22, 16, 7, 25, 49383, tzinfo=UTC)
    assert number.next_renewal == datetime(2019, 2, 22, 16, 7, 25, 49383, tzinfo=UTC)
    [call] = number.calls
    assert isinstance(call, dtmf.Call)
    assert call.other_number == "+1234567890"
    assert call.inbound is True
    assert call.duration == 60
    assert call.start_timestamp == datetime(2019, 1, 22, 16, 7, 25, 49383, tzinfo=UTC)
    [message] = number.messages
    assert message.other_number == "+1234567890"
    assert message.inbound is False
    assert message.status == "delivered"
    assert message.timestamp is None
    assert message.from_ is None
    assert message.to is None
    assert number.inbound_messages == []


def test_live_dialect_through_the_client(mock_client: MockClient, kind: str) -> None:
    harness = mock_client(lambda request: httpx.Response(200, json=LIVE_NUMBER), kind)
    number = harness.call("numbers.get", E164)
    assert number.cost_per_month == Decimal("2.50")
    assert isinstance(number, dtmf.Number if kind == "sync" else dtmf.AsyncNumber)


def test_float_cost_is_never_a_float() -> None:
    number = dtmf.Number.model_validate({"e164": E164, "cost_per_month": 2.5})
    assert isinstance(number.cost_per_month, Decimal)


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("2018-01-01T01:01:01.000000", datetime(2018, 1, 1, 1, 1, 1, tzinfo=UTC)),
        ("2018-01-01T01:01:01", datetime(2018, 1, 1, 1, 1, 1, tzinfo=UTC)),
        ("2018-01-01 01:01:01", datetime(2018, 1, 1, 1, 1, 1, tzinfo=UTC)),
        ("2018-01-01T01:01:01Z", datetime(2018, 1, 1, 1, 1, 1, tzinfo=UTC)),
        ("2018-01-01T03:01:01+02:00", datetime(2018, 1, 1, 1, 1, 1, tzinfo=UTC)),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_timestamps(wire: str | None, expected: datetime | None) -> None:
    message = dtmf.Message.model_validate({"content": "x", "timestamp": wire})
    number = dtmf.Number.model_validate({"e164": E164, "assignment_start": wire})
    call = dtmf.Call.model_validate({"start_timestamp": wire})
    for value in (message.timestamp, number.assignment_start, call.start_timestamp):
        assert value == expected
        if value is not None:
            assert value.utcoffset() == timedelta(0)  # always UTC, whatever the wire offset


def test_unreadable_message_timestamp_is_none_but_other_timestamps_fail() -> None:
    message = dtmf.Message.model_validate({"content": "x", "timestamp": "not a time at all"})
    assert message.timestamp is None
    with pytest.raises(ValueError, match="assignment_start"):
        dtmf.Number.model_validate({"e164": E164, "assignment_start": "not a time at all"})


@pytest.mark.parametrize(
    ("forwarded_to", "action"),
    [
        (None, dtmf.SmsAction(None, None)),
        ("", dtmf.SmsAction(None, None)),
        ("+447700900123", dtmf.SmsAction("forward", "+447700900123")),
        ("https://example.org/hook", dtmf.SmsAction("webhook", "https://example.org/hook")),
        ("HTTP://example.org/hook", dtmf.SmsAction("webhook", "HTTP://example.org/hook")),
    ],
)
def test_sms_action(forwarded_to: str | None, action: dtmf.SmsAction) -> None:
    number = dtmf.Number.model_validate({"e164": E164, "sms_forwarded_to": forwarded_to})
    assert number.sms_action == action
    assert number.sms_action.action == action.action


def test_inbound_messages_in_both_dialects() -> None:
    number = dtmf.Number.model_validate(
        {
            "e164": E164,
            "messages": [
                {"from": "+1234", "to": E164, "content": "in, documented"},
                {"from": E164, "to": "+1234", "content": "out, documented"},
                {"other_number": "+1234", "inbound": True, "content": "in, live"},
                {"other_number": "+1234", "inbound": False, "content": "out, live"},
            ],
        }
    )
    assert [m.content for m in number.inbound_messages] == ["in, documented", "in, live"]


# Hand-built models and bindings


@pytest.mark.parametrize(
    ("action", "args"),
    [
        ("refresh", ()),
        ("end_rental", ()),
        ("set_sms_action", (None, None)),
        ("send_sms", ("+1234", "hi")),
    ],
)
def test_hand_built_number_cannot_act(action: str, args: tuple[Any, ...]) -> None:
    number = dtmf.Number.model_validate(NUMBER)
    with pytest.raises(dtmf.UnboundModelError, match="bind"):
        getattr(number, action)(*args)
    async_number = dtmf.AsyncNumber.model_validate(NUMBER)
    with pytest.raises(dtmf.UnboundModelError):
        asyncio.run(getattr(async_number, action)(*args))


def test_hand_built_group_cannot_act() -> None:
    group = dtmf.Group.model_validate(BODIES["groups.list"][0])
    with pytest.raises(dtmf.UnboundModelError):
        group.rent()
    async_group = dtmf.AsyncGroup.model_validate(BODIES["groups.list"][0])
    with pytest.raises(dtmf.UnboundModelError):
        asyncio.run(async_group.rent())


def test_binding_is_not_data(mock_client: MockClient, kind: str) -> None:
    harness = mock_client(lambda request: success("numbers.get"), kind)
    number = harness.call("numbers.get", E164)
    model = type(number)
    by_hand = model.model_validate(NUMBER)
    assert number == by_hand
    assert number.model_dump() == by_hand.model_dump()
    assert "_dtmf_client" not in number.model_dump()
    assert "_dtmf_client" not in number.model_dump_json()
    assert "client" not in repr(number).lower()
    copied = copy.deepcopy(number)
    assert copied == number
    restored = pickle.loads(pickle.dumps(number))
    assert restored == number
    assert getattr(restored, "_dtmf_client", None) is None
    act = restored.refresh if kind == "sync" else lambda: asyncio.run(restored.refresh())
    with pytest.raises(dtmf.UnboundModelError):
        act()


def test_bound_number_acts_through_its_client(mock_client: MockClient, kind: str) -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":
            return success("numbers.end_rental")
        return success("numbers.get")

    harness = mock_client(respond, kind)
    number = harness.call("numbers.get", E164)
    restored = pickle.loads(pickle.dumps(number)).bind(harness.client)
    if kind == "sync":
        restored.end_rental()
    else:
        asyncio.run(restored.end_rental())
    assert [r.method for r in harness.requests] == ["GET", "DELETE"]
    assert harness.requests[1].url.params["e164"] == E164


def test_bind_to_the_wrong_kind_of_client(mock_client: MockClient) -> None:
    sync = mock_client(lambda request: success("numbers.get"), "sync").client
    async_ = mock_client(lambda request: success("numbers.get"), "async").client
    with pytest.raises(dtmf.UnboundModelError, match="AsyncClient"):
        dtmf.AsyncNumber.model_validate(NUMBER).bind(sync)
    with pytest.raises(dtmf.UnboundModelError, match="Client"):
        dtmf.Number.model_validate(NUMBER).bind(async_)
    with pytest.raises(dtmf.UnboundModelError):
        dtmf.Group.model_validate(BODIES["groups.list"][0]).bind(async_)
    with pytest.raises(dtmf.UnboundModelError):
        dtmf.Number.model_validate(NUMBER).bind("not a client")  # type: ignore[arg-type]


def test_models_keep_unknown_fields() -> None:
    account = dtmf.Account.model_validate({"balance": 5, "currency": "BTC"})
    assert account.model_extra == {"currency": "BTC"}
    assert account.model_dump() == {"balance": 5, "currency": "BTC"}
    sms = dtmf.InboundSMS.model_validate(
        {"id": 1234, "e164": E164, "sender": "+1234", "content": "SMS text", "x": 1}
    )
    assert sms.model_extra == {"x": 1}
