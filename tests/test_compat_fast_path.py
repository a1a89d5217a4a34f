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


LATER_MESSAGE = {
    "id": 8901,
    "other_number": "+1234567890",
    "inbound": False,
    "content": "message content",
    "timestamp": "",
    "status": "delivered",
}


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


@pytest.mark.parametrize(
    "bad",
    [
        {"messages": [{**NUMBER["messages"][0], "id": "x"}]},
        {"messages": [{**NUMBER["messages"][0], "content": 5}]},
        {"calls": [{"duration": "long"}]},
        {"next_renewal": "soon"},
        {"cost_per_month": [1]},
        {"e164": None},
    ],
)
def test_a_body_the_models_refuse_is_refused_with_their_error(bad: dict[str, Any]) -> None:
    content = json.dumps({**NUMBER, **bad}).encode()
    assert _compat_wire.number(content) is None
    with pytest.raises(pydantic.ValidationError) as fast:
        parse_number(content)
    with pytest.raises(pydantic.ValidationError) as slow:
        _slow(content)
    assert type(fast.value) is type(slow.value)
    assert str(fast.value) == str(slow.value)


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
