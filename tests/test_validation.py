"""Bad input is refused before any request, by every client, naming the parameter."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import dtmf

from .conftest import BASE_URL, E164, OTHER, TOKEN, MockClient, success

# The original class's method for each operation.
COMPAT = {
    "groups.list": "groups",
    "numbers.get": "number",
    "numbers.rent": "start_rental",
    "numbers.end_rental": "end_rental",
    "numbers.set_sms_action": "set_sms_action",
    "messages.send": "send_sms",
}

BAD_E164: list[Any] = [
    "441234567890",  # no plus
    "+0441234567890",  # leading zero
    "+1",  # too short
    "+1234567890123456",  # 16 digits: too long
    "+44 1234 567890",  # spaces
    " +441234567890",
    "+441234567890\n",
    "+44-1234-567890",
    "+44abc4567890",
    "+44\uff11\uff12\uff13",  # full-width digits
    "+44\u0661\u0662\u0663",  # Arabic-Indic digits
    "",
    "+",
    "++441234567890",
    441234567890,
    None,
    b"+441234567890",
    ["+441234567890"],
]

BAD_GROUP_TYPES: list[Any] = ["Mobile", "landline", "", " mobile", None, 1, ["mobile"]]
BAD_GROUP_IDS: list[Any] = ["", "US-mobile", "us mobile", "../etc", "a" * 65, "-us", None, 5]

BAD_ACTIONS: list[tuple[Any, Any, str]] = [
    (None, E164, "destination"),
    (None, "", "destination"),
    ("forward", "https://example.org/hook", "destination"),
    ("forward", None, "destination"),
    ("forward", "0044123", "destination"),
    ("webhook", "ftp://example.org/hook", "destination"),
    ("webhook", "/relative/hook", "destination"),
    ("webhook", "example.org/hook", "destination"),
    ("webhook", "https://", "destination"),
    ("webhook", "https:///path-only", "destination"),
    ("webhook", "https://exa mple.org/hook", "destination"),
    ("webhook", "https://[::1/hook", "destination"),
    ("webhook", "\x01https://example.org/hook", "destination"),
    ("webhook", "https://example.org/hook\x7f", "destination"),
    ("webhook", "https://example.org/\u200bhook", "destination"),
    ("webhook", "https://example.org:port/hook", "destination"),
    ("webhook", None, "destination"),
    ("webhook", E164, "destination"),
    ("sms", E164, "action"),
    ("FORWARD", E164, "action"),
    ("", None, "action"),
    (1, None, "action"),
]

BAD_CONTENT: list[Any] = [
    "a" * 161,
    "\u00e9" * 161,
    "\u20ac" * 54,  # 'EUR' * 54 = 162 characters
    "",
    "\x00\x01\x02",  # nothing left once rendered
    None,
    123,
    b"bytes",
]

Case = tuple[str, tuple[Any, ...], str]


def _cases() -> Iterator[Case]:
    for bad in BAD_E164:
        yield "numbers.get", (bad,), "e164"
        yield "numbers.end_rental", (bad,), "e164"
        yield "numbers.set_sms_action", (bad, None, None), "e164"
        yield "numbers.set_sms_action", (E164, "forward", bad), "destination"
        yield "messages.send", (bad, OTHER, "hi"), "from_e164"
        yield "messages.send", (E164, bad, "hi"), "to_e164"
    for bad in BAD_GROUP_TYPES:
        yield "groups.list", (bad,), "group_type"
    for bad in BAD_GROUP_IDS:
        yield "numbers.rent", (bad,), "group_id"
    for action, destination, parameter in BAD_ACTIONS:
        yield "numbers.set_sms_action", (E164, action, destination), parameter
    for bad in BAD_CONTENT:
        yield "messages.send", (E164, OTHER, bad), "content"


CASES = list(_cases())

GOOD: list[tuple[str, tuple[Any, ...]]] = [
    ("numbers.get", ("+12",)),
    ("numbers.get", ("+123456789012345",)),
    ("groups.list", ("local",)),
    ("numbers.rent", ("us-mobile",)),
    ("numbers.rent", ("a" * 64,)),
    ("numbers.set_sms_action", (E164, None, None)),
    ("numbers.set_sms_action", (E164, "forward", OTHER)),
    ("numbers.set_sms_action", (E164, "webhook", "https://example.org/hook?x=1")),
    ("numbers.set_sms_action", (E164, "webhook", "http://127.0.0.1:8000/hook")),
    ("messages.send", (E164, OTHER, "a" * 160)),
    ("messages.send", (E164, OTHER, "\u00e9" * 150)),
    ("messages.send", (E164, OTHER, "\u00e9" * 160)),
    ("messages.send", (E164, OTHER, "\u20ac" * 53)),  # 159 once rendered
    ("messages.send", (E164, OTHER, "Z\u00fcrich\nline two")),
]


def _refuse(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"a request was made: {request.method} {request.url}")


VIA = ["sync", "async", "compat"]


def run(mock_client: MockClient, via: str, name: str, args: tuple[Any, ...], respond: Any) -> Any:
    if via != "compat":
        return mock_client(respond, via).call(name, *args)
    with (
        httpx.Client(transport=httpx.MockTransport(respond)) as http,
        dtmf.DTMF(TOKEN, base_url=BASE_URL, http_client=http) as old_style,
    ):
        return getattr(old_style, COMPAT[name])(*args)


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize(("name", "args", "parameter"), CASES)
def test_bad_input_is_refused_before_any_request(
    mock_client: MockClient, via: str, name: str, args: tuple[Any, ...], parameter: str
) -> None:
    with pytest.raises(dtmf.InvalidParameterError) as caught:
        run(mock_client, via, name, args, _refuse)
    error = caught.value
    assert isinstance(error, ValueError)
    assert isinstance(error, dtmf.DTMFError)
    assert error.parameter == parameter
    assert str(error).startswith(f"{parameter}: ")
    assert error.problem
    assert len(str(error)) < 300


@pytest.mark.parametrize("via", VIA)
@pytest.mark.parametrize(("name", "args"), GOOD)
def test_good_input_is_sent(
    mock_client: MockClient, via: str, name: str, args: tuple[Any, ...]
) -> None:
    sent: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return success(name)

    run(mock_client, via, name, args, respond)
    assert len(sent) == 1


def test_content_is_sent_as_given(mock_client: MockClient) -> None:
    harness = mock_client(lambda request: success("messages.send"))
    harness.call("messages.send", E164, OTHER, "Z\u00fcrich \u20ac")

    assert json.loads(harness.requests[0].content) == {
        "from": E164,
        "to": OTHER,
        "content": "Z\u00fcrich \u20ac",
    }


def test_e164_travels_url_encoded(mock_client: MockClient) -> None:
    harness = mock_client(lambda request: success("numbers.get"))
    harness.call("numbers.get", E164)
    assert b"e164=%2B441234567890" in harness.requests[0].url.query


def test_render_sms() -> None:
    assert dtmf.render_sms("Z\u00fcrich") == "Zurich"
    assert dtmf.render_sms("\u20ac") == "EUR"
    assert dtmf.render_sms("a\x00b\nc\td") == "ab\ncd"
    assert len(dtmf.render_sms("\u00e9" * 150)) == 150
