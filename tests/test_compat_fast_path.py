"""`DTMF`'s fast path (dtmf/_compat_wire.py) gives exactly what the models give."""

from __future__ import annotations

import copy
import inspect
import json
import re
from datetime import datetime, timedelta
from typing import Any

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dtmf import _compat_wire
from dtmf._contract import get_number, list_numbers
from dtmf._documented import number_dict, parse_number, parse_numbers
from tests.documented import LIVE_NUMBER

from .conftest import NUMBER

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PATTERN = re.compile(_compat_wire.DOCUMENTED_TIMESTAMP)


def _slow(body: bytes) -> Any:
    """What `DTMF.number()` returned before the fast path: the model, then its dict."""
    return number_dict(get_number.result.parse_sync(body))


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)))
@SETTINGS
def test_every_documented_timestamp_is_fast_and_unchanged(moment: datetime) -> None:
    text = moment.isoformat(timespec="microseconds")
    assert PATTERN.match(text)
    body = json.dumps({**NUMBER, "assignment_start": text}).encode()
    assert _compat_wire.number(body) is not None
    assert parse_number(body) == _slow(body)


@given(st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}\Z"))
@SETTINGS
def test_the_pattern_accepts_exactly_the_valid_dates(text: str) -> None:
    try:
        datetime.fromisoformat(text)
        valid = True
    except ValueError:
        valid = False
    assert bool(PATTERN.match(text)) == valid


@pytest.mark.parametrize(
    "text",
    [
        "2000-02-29T00:00:00.000000",
        "2024-02-29T23:59:59.999999",
        "0004-02-29T00:00:00.000000",
        "1900-02-28T00:00:00.000000",
        "2018-04-30T00:00:00.000000",
        "2018-12-31T00:00:00.000000",
    ],
)
def test_edge_dates_are_fast(text: str) -> None:
    assert PATTERN.match(text)


@pytest.mark.parametrize(
    "text",
    [
        "1900-02-29T00:00:00.000000",
        "2023-02-29T00:00:00.000000",
        "2018-04-31T00:00:00.000000",
        "0000-01-01T00:00:00.000000",
        "2018-01-01T24:00:00.000000",
        "2018-01-01T01:01:60.000000",
        "2018-01-01T01:01:01",
        "2018-01-01T01:01:01.000000Z",
        "2018-01-01T01:01:01.000000+01:00",
        "2018-01-01 01:01:01.000000",
        "\u0662018-01-01T01:01:01.000000",
    ],
)
def test_other_timestamps_take_the_models(text: str) -> None:
    assert not PATTERN.match(text)


LATER_MESSAGE: dict[str, Any] = LIVE_NUMBER["messages"][0]


def _variants() -> list[dict[str, Any]]:
    """Bodies on both sides of the fast path's edge."""
    message = NUMBER["messages"][0]
    bodies: list[dict[str, Any]] = [copy.deepcopy(NUMBER)]
    for key, value in [
        ("timestamp", "2018-01-01T01:01:01Z"),
        ("timestamp", "2018-01-01T02:01:01+01:00"),
        ("timestamp", "2018-01-01T01:01:01"),
        ("timestamp", ""),
        ("timestamp", "not a time"),
        ("timestamp", None),
        ("timestamp", 1514768461),
        ("from", None),
        ("to", None),
        ("success", None),
        ("cost", None),
        ("status", "failed"),
        ("id", 7),
        ("inbound", True),
        ("extra", {"kept": "out"}),
    ]:
        changed = {**message, key: value}
        bodies.append({**NUMBER, "messages": [message, changed]})
    for key, value in [
        ("cost_per_inbound_message", "0.01"),
        ("cost_per_inbound_message", 1.5),
        ("assignment_start", "2018-01-01T01:01:01+02:00"),
        ("assignment_start", ""),
        ("assignment_start", None),
        ("voice", True),
        ("id", 3),
        ("calls", []),
        ("next_renewal", "2019-02-22T16:07:25.049383"),
        ("extra", [1, 2]),
    ]:
        bodies.append({**NUMBER, key: value})
    bodies.append({**NUMBER, "messages": [message, LATER_MESSAGE, message]})
    bodies.append({**NUMBER, "messages": [LATER_MESSAGE] * 3})
    bodies.append({**NUMBER, "messages": []})
    return bodies


@pytest.mark.parametrize("body", _variants())
def test_fast_and_slow_paths_agree(body: dict[str, Any]) -> None:
    content = json.dumps(body).encode()
    assert parse_number(content) == _slow(content)
    many = json.dumps([body, NUMBER]).encode()
    assert parse_numbers(many) == [number_dict(n) for n in list_numbers.result.parse_sync(many)]


def test_documented_keys_only() -> None:
    body = copy.deepcopy(NUMBER)
    body["messages"] = [{**body["messages"][0], "id": 1, "inbound": True}] * 3
    body.update(id=9, voice=True, calls=[])
    result = parse_number(json.dumps(body).encode())
    assert list(result) == list(_slow(json.dumps(body).encode()))
    for message in result["messages"]:
        assert set(message) == {"from", "to", "content", "timestamp", "success", "cost"}


def test_a_later_dialect_timestamp_is_normalised() -> None:
    moment = datetime(2018, 1, 1, 1, 1, 1) + timedelta(microseconds=5)
    body = {**NUMBER, "assignment_start": moment.isoformat() + "+00:00"}
    assert parse_number(json.dumps(body).encode())["assignment_start"] == (
        "2018-01-01T01:01:01.000005"
    )


def test_both_requesters_take_the_same_parse_seam() -> None:
    # `DTMF` reads number bodies through `send(..., parse)`: the async twin takes it too.
    from dtmf._requester import AsyncRequester, SyncRequester

    sync = inspect.signature(SyncRequester.send)
    async_ = inspect.signature(AsyncRequester.send)
    assert list(sync.parameters) == list(async_.parameters) == [
        "self", "operation", "wire", "parse"
    ]  # fmt: skip


# The later dialect: the API page's example (dtmf-io-live-api-notes.md) takes its own fast path.
LATER_NUMBER: dict[str, Any] = {
    **LIVE_NUMBER,
    "messages": [LATER_MESSAGE, {**LATER_MESSAGE, "inbound": True, "status": "received"}],
}


def _later_variants() -> list[dict[str, Any]]:
    """Later-dialect bodies on both sides of its fast path's edge."""
    message = LATER_MESSAGE
    bodies: list[dict[str, Any]] = [copy.deepcopy(LATER_NUMBER)]
    for key, value in [
        ("timestamp", "2018-01-01T01:01:01.000001"),
        ("timestamp", "2018-01-01T01:01:01Z"),
        ("timestamp", "2018-01-01T02:01:01+01:00"),
        ("timestamp", "2018-01-01T01:01:01"),
        ("timestamp", " "),
        ("timestamp", "not a time"),
        ("timestamp", None),
        ("timestamp", 1514768461),
        ("inbound", None),
        ("inbound", True),
        ("status", None),
        ("status", "failed"),
        ("status", "undelivered"),
        ("status", "error"),
        ("success", True),
        ("success", None),
        ("cost", 1000),
        ("cost", "1000"),
        ("cost", None),
        ("from", None),
        ("from", "+1555"),
        ("to", "+1555"),
        ("other_number", None),
        ("id", None),
        ("extra", {"kept": "out"}),
    ]:
        changed = {**message, key: value}
        bodies.append({**LATER_NUMBER, "messages": [message, changed]})
    for key in ("inbound", "status", "timestamp", "id"):
        changed = {k: v for k, v in message.items() if k != key}
        bodies.append({**LATER_NUMBER, "messages": [changed, message]})
    for key, value in [
        ("cost_per_inbound_message", 601),
        ("cost_per_inbound_message", None),
        ("cost_per_minute", 13),
        ("assignment_start", "2018-01-01T01:01:01+02:00"),
        ("assignment_start", ""),
        ("assignment_start", None),
        ("messages", []),
        ("extra", [1, 2]),
    ]:
        bodies.append({**LATER_NUMBER, key: value})
    for key in ("group_id", "sms", "assignment_start", "messages", "calls", "id"):
        bodies.append({k: v for k, v in LATER_NUMBER.items() if k != key})
    # Both dialects in one body.
    bodies.append({**LATER_NUMBER, "messages": [message, NUMBER["messages"][0]]})
    return bodies


@pytest.mark.parametrize("body", _later_variants())
def test_later_dialect_fast_and_slow_paths_agree(body: dict[str, Any]) -> None:
    content = json.dumps(body).encode()
    result, slow = parse_number(content), _slow(content)
    assert result == slow
    assert list(result) == list(slow)
    assert [list(m) for m in result["messages"]] == [list(m) for m in slow["messages"]]
    many = json.dumps([body, LATER_NUMBER]).encode()
    assert parse_numbers(many) == [number_dict(n) for n in list_numbers.result.parse_sync(many)]


def test_the_api_pages_example_takes_the_fast_path() -> None:
    content = json.dumps(LATER_NUMBER).encode()
    assert _compat_wire.number(content) is not None
    assert _compat_wire.numbers(json.dumps([LATER_NUMBER] * 2).encode()) is not None


@pytest.mark.parametrize(
    ("body", "bad"),
    [
        (NUMBER, {"messages": [{**NUMBER["messages"][0], "id": "x"}]}),
        (NUMBER, {"messages": [{**NUMBER["messages"][0], "content": 5}]}),
        (NUMBER, {"calls": [{"duration": "long"}]}),
        (NUMBER, {"next_renewal": "soon"}),
        (NUMBER, {"cost_per_month": [1]}),
        (NUMBER, {"e164": None}),
        (LATER_NUMBER, {"messages": [{**LATER_MESSAGE, "id": "x"}]}),
        (LATER_NUMBER, {"messages": [{**LATER_MESSAGE, "inbound": "sometimes"}]}),
        (LATER_NUMBER, {"messages": [{k: v for k, v in LATER_MESSAGE.items() if k != "content"}]}),
        (LATER_NUMBER, {"cost_per_month": [1]}),
        (LATER_NUMBER, {"calls": [{"duration": "long"}]}),
        (LATER_NUMBER, {"e164": None}),
    ],
)
def test_a_body_the_models_refuse_is_refused_with_their_error(
    body: dict[str, Any], bad: dict[str, Any]
) -> None:
    content = json.dumps({**body, **bad}).encode()
    assert _compat_wire.number(content) is None
    with pytest.raises(pydantic.ValidationError) as fast:
        parse_number(content)
    with pytest.raises(pydantic.ValidationError) as slow:
        _slow(content)
    assert type(fast.value) is type(slow.value)
    assert str(fast.value) == str(slow.value)


_later_messages = st.fixed_dictionaries(
    {"content": st.text(max_size=5)},
    optional={
        "other_number": st.one_of(st.none(), st.just("+1234")),
        "inbound": st.one_of(st.none(), st.booleans()),
        "status": st.one_of(st.none(), st.sampled_from(["failed", "delivered", "error", ""])),
        "success": st.one_of(st.none(), st.booleans()),
        "cost": st.one_of(st.none(), st.integers(-5, 5), st.just("7")),
        "id": st.one_of(st.none(), st.integers(0, 9)),
        "from": st.one_of(st.none(), st.just("+1555")),
        "timestamp": st.one_of(
            st.none(),
            st.sampled_from(["", "  ", "2018-01-01T01:01:01Z", "x", "2018-01-01T01:01:01"]),
            st.datetimes(min_value=datetime(1, 1, 1)).map(
                lambda d: d.isoformat(timespec="microseconds")
            ),
        ),
    },
)


@given(st.lists(_later_messages, max_size=4))
@SETTINGS
def test_any_later_messages_give_what_the_models_give(messages: list[dict[str, Any]]) -> None:
    content = json.dumps({**LATER_NUMBER, "messages": messages}).encode()
    try:
        slow = _slow(content)
    except pydantic.ValidationError:
        assert _compat_wire.number(content) is None
        return
    assert parse_number(content) == slow
