"""Property tests: validators, response parsing and header parsing never fail unexpectedly."""

from __future__ import annotations

import asyncio
import copy
import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dtmf
from dtmf._retry import retry_after
from dtmf._timestamps import parse_timestamp
from dtmf._validate import (
    check_content,
    check_e164,
    check_group_id,
    check_group_type,
    check_sms_action,
    check_webhook_url,
    render_sms,
)

from .conftest import ARGS, BASE_URL, BODIES, OPS, TOKEN

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

E164 = re.compile(r"\+[1-9][0-9]{1,14}")

anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(),
    st.binary(),
    st.lists(st.text(), max_size=3),
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


# Validators


def _outcome(check: Any, *args: Any) -> tuple[Any, dtmf.InvalidParameterError | None]:
    """What `check(*args)` returned, or the InvalidParameterError it raised (nothing else)."""
    try:
        return check(*args), None
    except dtmf.InvalidParameterError as exc:
        return None, exc


@SETTINGS
@given(value=st.one_of(st.text(), anything))
def test_validators_return_or_raise_invalid_parameter(value: Any) -> None:
    for check in (
        check_e164,
        check_group_type,
        check_group_id,
        check_webhook_url,
        check_content,
    ):
        result, error = _outcome(check, value)
        if error is None:
            assert result == value
        else:
            assert error.parameter
            assert isinstance(error, ValueError)


@SETTINGS
@given(
    action=st.one_of(st.sampled_from([None, "forward", "webhook"]), anything),
    destination=st.one_of(st.none(), st.text(), st.from_regex(E164, fullmatch=True), anything),
)
def test_sms_action_returns_or_raises_invalid_parameter(action: Any, destination: Any) -> None:
    checked, error = _outcome(check_sms_action, action, destination)
    if error is None:
        assert checked == (action, destination)
    else:
        assert error.parameter in ("action", "destination")


@SETTINGS
@given(value=st.from_regex(E164, fullmatch=True))
def test_e164_accepts_every_valid_number(value: str) -> None:
    assert check_e164(value) == value


@SETTINGS
@given(
    value=st.one_of(
        st.text(),
        st.text(alphabet="+0123456789 \n-", max_size=20),
        st.from_regex(r"\+?[0-9\s]{0,18}", fullmatch=True),
    )
)
def test_e164_accepts_exactly_the_pattern(value: str) -> None:
    valid = re.fullmatch(r"\+[1-9]\d{1,14}", value, flags=re.ASCII) is not None
    try:
        check_e164(value)
    except dtmf.InvalidParameterError:
        assert not valid
    else:
        assert valid


@SETTINGS
@given(content=st.text())
def test_render_sms_is_ascii(content: str) -> None:
    rendered = render_sms(content)
    assert rendered.isascii()
    assert all(ch >= " " or ch == "\n" for ch in rendered)
    if content.isascii() and all(ch >= " " or ch == "\n" for ch in content):
        assert rendered == content


@SETTINGS
@given(content=st.text(max_size=400))
def test_check_content_agrees_with_render_sms(content: str) -> None:
    rendered = render_sms(content)
    try:
        check_content(content)
    except dtmf.InvalidParameterError:
        assert not rendered or len(rendered) > 160
    else:
        assert 0 < len(rendered) <= 160


# Headers and timestamps


@SETTINGS
@given(
    value=st.one_of(
        st.text(),
        st.from_regex(
            r"[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{1,6} "
            r"\d\d:\d\d:\d\d( GMT| \+\d{4}| -\d{4})?",
            fullmatch=True,
        ),
    )
)
def test_retry_after_never_raises(value: str) -> None:
    try:
        response = httpx.Response(429, headers={"Retry-After": value})
    except (UnicodeEncodeError, ValueError):
        return  # not a header httpx can carry
    seconds = retry_after(response)
    assert seconds is None or seconds >= 0.0


@SETTINGS
@given(value=st.one_of(st.text(), st.datetimes().map(str), st.datetimes().map(datetime.isoformat)))
def test_timestamps_parse_or_raise_value_error(value: str) -> None:
    try:
        parsed = parse_timestamp(value)
    except ValueError:
        return
    assert parsed is None or parsed.tzinfo is not None
    # Message parses its timestamp lazily, and never fails on it.
    message = dtmf.Message.model_validate({"content": "x", "timestamp": value})
    assert message.timestamp is None or message.timestamp.tzinfo is not None
    if re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?", value):
        assert message.timestamp == parsed


# Responses


class Scripted:
    """One client of each kind, answering with whatever the test sets."""

    def __init__(self) -> None:
        self.response = httpx.Response(200)

    def respond(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            self.response.status_code,
            headers=self.response.headers,
            content=self.response.content,
        )


@pytest.fixture(scope="module")
def scripted() -> Iterator[tuple[Scripted, dtmf.Client, dtmf.AsyncClient]]:
    script = Scripted()
    transport = httpx.MockTransport(script.respond)
    http = httpx.Client(transport=transport)
    async_http = httpx.AsyncClient(transport=transport)
    client = dtmf.Client(TOKEN, base_url=BASE_URL, http_client=http, max_retries=0)
    async_client = dtmf.AsyncClient(TOKEN, base_url=BASE_URL, http_client=async_http, max_retries=0)
    yield script, client, async_client
    client.close()
    http.close()

    async def close() -> None:
        await async_client.aclose()
        await async_http.aclose()

    asyncio.run(close())


def _call(client: Any, name: str) -> Any:
    resource, method = name.split(".")
    function = getattr(getattr(client, resource), method)
    if isinstance(client, dtmf.Client):
        return function(*ARGS[name])

    async def run() -> Any:
        return await function(*ARGS[name])

    return asyncio.run(run())


def _check_outcome(
    scripted: tuple[Scripted, dtmf.Client, dtmf.AsyncClient], name: str, use_async: bool
) -> None:
    _, client, async_client = scripted
    error: dtmf.DTMFError | None = None
    try:
        _call(async_client if use_async else client, name)
    except dtmf.DTMFError as exc:
        error = exc
    if error is not None:
        assert isinstance(error, dtmf.APIError)
        assert error.operation == name
        assert name in str(error)


STATUSES = st.sampled_from([200, 201, 204, 302, 400, 401, 404, 408, 422, 429, 500, 502])


@SETTINGS
@given(
    name=st.sampled_from(sorted(OPS)),
    body=json_values,
    status=st.one_of(STATUSES, st.none()),
    use_async=st.booleans(),
)
def test_random_json_bodies(
    scripted: tuple[Scripted, dtmf.Client, dtmf.AsyncClient],
    name: str,
    body: Any,
    status: int | None,
    use_async: bool,
) -> None:
    script = scripted[0]
    script.response = httpx.Response(
        OPS[name].success_status if status is None else status,
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    _check_outcome(scripted, name, use_async)


@SETTINGS
@given(
    name=st.sampled_from(sorted(OPS)),
    content=st.binary(max_size=200),
    status=st.one_of(STATUSES, st.none()),
    use_async=st.booleans(),
)
def test_random_bytes(
    scripted: tuple[Scripted, dtmf.Client, dtmf.AsyncClient],
    name: str,
    content: bytes,
    status: int | None,
    use_async: bool,
) -> None:
    scripted[0].response = httpx.Response(
        OPS[name].success_status if status is None else status, content=content
    )
    _check_outcome(scripted, name, use_async)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def _mutate(body: Any, path: tuple[Any, ...], how: str, new: Any) -> Any:
    if not path:
        return new
    body = copy.deepcopy(body)
    parent = body
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if how == "delete":
        del parent[last]
    elif how == "add" and isinstance(parent, dict):
        parent[f"new_{last}"] = new
    else:
        parent[last] = new
    return body


BODIES_WITH_CONTENT = sorted(name for name, body in BODIES.items() if body is not None)


@SETTINGS
@given(data=st.data(), use_async=st.booleans())
def test_mutated_valid_bodies(
    scripted: tuple[Scripted, dtmf.Client, dtmf.AsyncClient], data: st.DataObject, use_async: bool
) -> None:
    name = data.draw(st.sampled_from(BODIES_WITH_CONTENT), label="operation")
    body = BODIES[name]
    path = data.draw(st.sampled_from(list(_paths(body))), label="path")
    how = data.draw(st.sampled_from(["replace", "delete", "add"]), label="how")
    new = data.draw(
        st.one_of(
            json_values,
            st.sampled_from(["", "2.50", "0.01", "2018-12-22T16:07:25.049383", "+1234", "-1"]),
        ),
        label="new",
    )
    mutated = _mutate(body, path, how, new)
    scripted[0].response = httpx.Response(OPS[name].success_status, json=mutated)
    _check_outcome(scripted, name, use_async)
