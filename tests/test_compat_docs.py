"""Every documented example of the original client, run through `dtmf.DTMF`.

The service answers with the bodies the original documentation shows (via
httpx.MockTransport), and each method must return exactly what that
documentation prints, and raise `ValueError` where it says so.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import dtmf
from tests.documented import DOC_GROUP, DOC_NUMBER
from tests.wire import OPS, wire

DOC_RENTED = {
    **DOC_NUMBER,
    "e164": "+1234567891",
    "assignment_start": "2018-01-02T01:01:01.000000",
    "messages": [],
}
ADDRESS = {"address": "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"}

# What the service sends for each operation; None means no body.
ANSWERS: dict[str, Any] = {
    "account.get": {"balance": 12345},
    "addresses.list": [ADDRESS, ADDRESS],
    "addresses.create": ADDRESS,
    "groups.list": [DOC_GROUP],
    "numbers.list": [DOC_NUMBER],
    "numbers.get": DOC_NUMBER,
    "numbers.rent": DOC_RENTED,
    "numbers.end_rental": None,
    "numbers.set_sms_action": None,
    "messages.send": None,
}
# The same, by the (method, path) the wire contract gives each operation.
BY_ROUTE: dict[tuple[str, str], tuple[int, Any]] = {
    wire(name): (OPS[name].success_status, body) for name, body in ANSWERS.items()
}


def test_every_operation_has_an_answer() -> None:
    assert set(ANSWERS) == set(OPS)


@pytest.fixture
def sent() -> list[httpx.Request]:
    return []


@pytest.fixture
def old(sent: list[httpx.Request]) -> Iterator[dtmf.DTMF]:
    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        status, body = BY_ROUTE[(request.method, request.url.path)]
        if body is None:
            return httpx.Response(status)
        return httpx.Response(status, json=body)

    http = httpx.Client(transport=httpx.MockTransport(answer))
    with http, dtmf.DTMF("your-token", base_url="https://dtmf.io/api/v1", http_client=http) as d:
        yield d


def test_account(old: dtmf.DTMF) -> None:
    assert old.account() == {"balance": 12345}


def test_addresses(old: dtmf.DTMF) -> None:
    assert old.addresses() == [ADDRESS, ADDRESS]
    assert old.new_address() == ADDRESS


def test_groups(old: dtmf.DTMF, sent: list[httpx.Request]) -> None:
    assert old.groups("mobile") == [DOC_GROUP]
    assert sent[-1].url.params["type"] == "mobile"


def test_numbers_and_number(old: dtmf.DTMF, sent: list[httpx.Request]) -> None:
    assert old.numbers() == [DOC_NUMBER]
    assert old.number("+1234567890") == DOC_NUMBER
    assert sent[-1].url.params["e164"] == "+1234567890"


def test_start_rental(old: dtmf.DTMF, sent: list[httpx.Request]) -> None:
    assert old.start_rental("us-mobile") == DOC_RENTED
    assert json.loads(sent[-1].content) == {"group_id": "us-mobile"}


def test_end_rental(old: dtmf.DTMF) -> None:
    assert old.end_rental("+1234567891") is True


@pytest.mark.parametrize(
    ("action", "destination"),
    [(None, None), ("forward", "+44123456789"), ("webhook", "https://example.org/webhook")],
)
def test_set_sms_action(
    old: dtmf.DTMF, sent: list[httpx.Request], action: str | None, destination: str | None
) -> None:
    assert old.set_sms_action("+1234567890", action, destination) is True  # type: ignore[arg-type]
    assert json.loads(sent[-1].content) == {"action": action, "destination": destination}


def test_send_sms(old: dtmf.DTMF, sent: list[httpx.Request]) -> None:
    assert old.send_sms("+1234567890", "+1234", "this is the content of the SMS") is True
    assert json.loads(sent[-1].content) == {
        "from": "+1234567890",
        "to": "+1234",
        "content": "this is the content of the SMS",
    }


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("groups", ("landline",)),
        ("number", ("1234567890",)),
        ("end_rental", ("+12 34",)),
        ("set_sms_action", ("+1234567890", "email", "me@example.org")),
        ("set_sms_action", ("+1234567890", "forward", "https://example.org")),
        ("set_sms_action", ("+1234567890", "webhook", "+44123456789")),
        ("send_sms", ("+1234567890", "+1234", "x" * 161)),
    ],
)
def test_documented_value_errors(
    old: dtmf.DTMF, sent: list[httpx.Request], method: str, args: tuple[Any, ...]
) -> None:
    with pytest.raises(ValueError, match=r"\w+: "):
        getattr(old, method)(*args)
    assert sent == []
