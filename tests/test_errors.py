"""Status codes and bad bodies become the right `DTMFError`, with useful messages."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pydantic
import pytest

import dtmf
from dtmf._contract import OPERATIONS
from dtmf._errors import MAX_BODY_KEPT, STATUS_ERRORS, status_error_class

from .conftest import ARGS, BODIES, E164, OPS, MockClient, success

EXPECTED_CLASSES: dict[int, type[dtmf.APIStatusError]] = {
    **STATUS_ERRORS,
    400: dtmf.BadRequestError,
    401: dtmf.AuthenticationError,
    402: dtmf.InsufficientFundsError,
    403: dtmf.PermissionDeniedError,
    404: dtmf.NotFoundError,
    409: dtmf.ConflictError,
    422: dtmf.BadRequestError,
    429: dtmf.RateLimitError,
    418: dtmf.APIStatusError,
    451: dtmf.APIStatusError,
    **{status: dtmf.InternalServerError for status in (500, 501, 502, 503, 504, 507, 599)},
    **{status: dtmf.UnexpectedRedirectError for status in (300, 301, 302, 303, 304, 307, 308)},
}


def test_status_table_is_what_the_docs_say() -> None:
    for status, error_class in STATUS_ERRORS.items():
        assert EXPECTED_CLASSES[status] is error_class


@pytest.mark.parametrize("status", sorted(EXPECTED_CLASSES))
def test_status_error_class(status: int) -> None:
    assert status_error_class(status) is EXPECTED_CLASSES[status]


def test_ladder() -> None:
    assert issubclass(dtmf.InvalidParameterError, ValueError)
    for error_class in (
        dtmf.InvalidParameterError,
        dtmf.ConfigurationError,
        dtmf.UnboundModelError,
        dtmf.ClientClosedError,
        dtmf.MessageTimeoutError,
        dtmf.APIError,
    ):
        assert issubclass(error_class, dtmf.DTMFError)
    assert issubclass(dtmf.APITimeoutError, dtmf.APIConnectionError)
    for error_class in set(EXPECTED_CLASSES.values()):
        assert issubclass(error_class, dtmf.APIStatusError)
        assert issubclass(error_class, dtmf.APIError)
    assert issubclass(dtmf.APIResponseValidationError, dtmf.APIError)
    assert not issubclass(dtmf.APIResponseValidationError, dtmf.APIStatusError)


@pytest.mark.parametrize("status", sorted(EXPECTED_CLASSES))
def test_status_through_the_client(mock_client: MockClient, kind: str, status: int) -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status,
            json={"message": "the server's own words"},
            headers={"x-request-id": "req-42", "Location": "https://elsewhere.example/x"},
        )

    harness = mock_client(respond, kind, max_retries=0)
    with pytest.raises(dtmf.APIStatusError) as caught:
        harness.call("numbers.get", E164)
    error = caught.value
    assert type(error) is EXPECTED_CLASSES[status]
    text = str(error)
    assert "numbers.get" in text
    assert E164 in text
    assert str(status) in text
    assert "the server's own words" in text
    assert "req-42" in text
    assert error.status_code == status
    assert error.request_id == "req-42"
    assert error.server_message == "the server's own words"
    assert error.operation == "numbers.get"
    assert error.response.status_code == status
    assert error.request is not None
    assert json.loads(error.body) == {"message": "the server's own words"}
    if 300 <= status < 400:
        assert "https://elsewhere.example/x" in text


@pytest.mark.parametrize("key", ["message", "error", "detail"])
def test_server_message_keys(mock_client: MockClient, key: str) -> None:
    harness = mock_client(lambda request: httpx.Response(400, json={key: "bad e164"}))
    with pytest.raises(dtmf.BadRequestError) as caught:
        harness.call("numbers.get", E164)
    assert caught.value.server_message == "bad e164"
    assert "bad e164" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "hint"), [(401, "DTMF_TOKEN"), (402, "funds"), (429, "try again later")]
)
def test_hints(mock_client: MockClient, status: int, hint: str) -> None:
    harness = mock_client(lambda request: httpx.Response(status), max_retries=0)
    with pytest.raises(dtmf.APIStatusError) as caught:
        harness.call("account.get")
    assert hint in str(caught.value)


def test_redirect_without_location(mock_client: MockClient) -> None:
    harness = mock_client(lambda request: httpx.Response(302))
    with pytest.raises(dtmf.UnexpectedRedirectError) as caught:
        harness.call("account.get")
    assert "no location" in str(caught.value)


HTML = (
    "<html><head><title>502 Bad Gateway</title></head><body>"
    + "<p>nginx is sad</p>" * 2000
    + "</body></html>"
)


def test_html_502_page(mock_client: MockClient, kind: str) -> None:
    harness = mock_client(
        lambda request: httpx.Response(502, text=HTML, headers={"content-type": "text/html"}),
        kind,
    )
    with pytest.raises(dtmf.InternalServerError) as caught:
        harness.call("numbers.get", E164)
    error = caught.value
    assert "502 Bad Gateway" in str(error)
    assert len(str(error)) < 600, "the whole page in the message"
    assert error.server_message is None
    assert len(error.body) <= MAX_BODY_KEPT
    assert error.body == HTML[:MAX_BODY_KEPT]


@pytest.mark.parametrize("name", [op.name for op in OPERATIONS if op.result.has_body])
def test_200_with_html(mock_client: MockClient, kind: str, name: str) -> None:
    harness = mock_client(
        lambda request: httpx.Response(
            OPS[name].success_status, text=HTML, headers={"content-type": "text/html"}
        ),
        kind,
    )
    with pytest.raises(dtmf.APIResponseValidationError) as caught:
        harness.call(name, *ARGS[name])
    error = caught.value
    text = str(error)
    assert name in text
    assert "text/html" in text
    assert "not valid JSON" in text
    assert "<html>" in text
    assert len(text) < 600
    assert isinstance(error.__cause__, pydantic.ValidationError)
    assert len(error.body) == MAX_BODY_KEPT
    assert error.status_code == OPS[name].success_status


def _truncated(name: str) -> bytes:
    whole = json.dumps(BODIES[name]).encode()
    return whole[: len(whole) // 2]


@pytest.mark.parametrize("name", [op.name for op in OPERATIONS if op.result.has_body])
@pytest.mark.parametrize(
    "body",
    [
        pytest.param(_truncated, id="truncated"),
        pytest.param(lambda name: b"", id="empty"),
        pytest.param(lambda name: b"\xff\xfe\x00garbage", id="binary"),
        pytest.param(lambda name: b"null", id="null"),
        pytest.param(lambda name: b'"a string"', id="string"),
        pytest.param(lambda name: b"[" * 100_000, id="deeply nested"),
    ],
)
def test_bad_bodies(mock_client: MockClient, kind: str, name: str, body: Any) -> None:
    content: bytes = body(name)
    harness = mock_client(
        lambda request: httpx.Response(OPS[name].success_status, content=content), kind
    )
    with pytest.raises(dtmf.APIResponseValidationError) as caught:
        harness.call(name, *ARGS[name])
    assert isinstance(caught.value.__cause__, pydantic.ValidationError)
    assert name in str(caught.value)


WRONG_TYPES: list[tuple[str, Any, str]] = [
    ("account.get", {"balance": "lots"}, "balance"),
    ("account.get", {}, "balance"),
    ("account.get", [{"balance": 1}], "body"),
    ("addresses.list", {"address": "1abc"}, "body"),
    ("addresses.list", [{"address": 5}], "address"),
    ("addresses.create", {"address": None}, "address"),
    ("groups.list", [{**BODIES["groups.list"][0], "setup_cost": "cheap"}], "setup_cost"),
    ("numbers.get", {**BODIES["numbers.get"], "e164": None}, "e164"),
    ("numbers.get", {**BODIES["numbers.get"], "messages": "none"}, "messages"),
    ("numbers.get", {**BODIES["numbers.get"], "messages": [{"from": "+1"}]}, "content"),
    (
        "numbers.get",
        {**BODIES["numbers.get"], "assignment_start": "yesterday-ish"},
        "assignment_start",
    ),
    ("numbers.list", [{**BODIES["numbers.get"], "cost_per_month": "2.5 EUR"}], "cost_per_month"),
    ("numbers.rent", {**BODIES["numbers.rent"], "sms": "maybe"}, "sms"),
]


@pytest.mark.parametrize(("name", "body", "where"), WRONG_TYPES)
def test_wrong_types(mock_client: MockClient, kind: str, name: str, body: Any, where: str) -> None:
    harness = mock_client(lambda request: httpx.Response(OPS[name].success_status, json=body), kind)
    with pytest.raises(dtmf.APIResponseValidationError) as caught:
        harness.call(name, *ARGS[name])
    error = caught.value
    assert isinstance(error.__cause__, pydantic.ValidationError)
    assert "expected shape" in str(error)
    assert where in str(error)
    assert name in str(error)


@pytest.mark.parametrize("name", ["numbers.rent", "addresses.create"])
def test_bad_body_of_a_creating_call_may_have_succeeded(mock_client: MockClient, name: str) -> None:
    harness = mock_client(lambda request: httpx.Response(201, text="oops"))
    with pytest.raises(dtmf.APIResponseValidationError) as caught:
        harness.call(name, *ARGS[name])
    assert caught.value.may_have_succeeded is True
    assert "may or may not" in str(caught.value)
    assert ".list()" in str(caught.value)


def test_unknown_fields_are_kept(mock_client: MockClient, kind: str) -> None:
    body = {
        **BODIES["numbers.get"],
        "brand_new": {"nested": [1, 2]},
        "messages": [{**BODIES["numbers.get"]["messages"][0], "emoji": "yes"}],
    }
    harness = mock_client(lambda request: httpx.Response(200, json=body), kind)
    number = harness.call("numbers.get", E164)
    assert number.model_extra == {"brand_new": {"nested": [1, 2]}}
    assert number.messages[0].model_extra == {"emoji": "yes"}
    account_harness = mock_client(
        lambda request: httpx.Response(200, json={"balance": 1, "currency": "sat"}), kind
    )
    assert account_harness.call("account.get").model_extra == {"currency": "sat"}


def test_body_and_server_message_are_bounded(mock_client: MockClient) -> None:
    huge = "x" * 100_000
    harness = mock_client(lambda request: httpx.Response(400, json={"message": huge}))
    with pytest.raises(dtmf.BadRequestError) as caught:
        harness.call("account.get")
    error = caught.value
    assert len(error.body) == MAX_BODY_KEPT
    assert error.server_message is not None
    assert len(error.server_message) <= 500
    assert len(str(error)) < 1000


def test_non_utf8_error_body(mock_client: MockClient) -> None:
    harness = mock_client(lambda request: httpx.Response(400, content=b"\xff\xfe bad \x80"))
    with pytest.raises(dtmf.BadRequestError) as caught:
        harness.call("account.get")
    assert caught.value.server_message is None
    assert "\ufffd" in caught.value.body


def test_deeply_nested_error_body(mock_client: MockClient) -> None:
    harness = mock_client(lambda request: httpx.Response(400, content=b"[" * 100_000))
    with pytest.raises(dtmf.BadRequestError) as caught:
        harness.call("account.get")
    assert caught.value.server_message is None


def test_success_statuses(mock_client: MockClient, kind: str) -> None:
    for name in OPS:
        harness = mock_client(lambda request, name=name: success(name), kind)
        harness.call(name, *ARGS[name])
        request = harness.requests[0]
        op = OPS[name]
        assert request.method == op.method
        assert request.url.path == "/api/v1" + op.path


def test_errors_survive_pickling() -> None:
    """Errors cross process boundaries (multiprocessing, task queues) intact."""
    import pickle

    bad_input = pickle.loads(pickle.dumps(dtmf.InvalidParameterError("e164", "is bad")))
    assert isinstance(bad_input, ValueError)
    assert (bad_input.parameter, bad_input.problem, str(bad_input)) == (
        "e164",
        "is bad",
        "e164: is bad",
    )
    request = httpx.Request("GET", "https://dtmf.io/api/v1/number?e164=%2B1234567890")
    response = httpx.Response(404, json={"message": "not rented"}, request=request)
    error = dtmf.NotFoundError("numbers.get: 404", operation="numbers.get", response=response)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is dtmf.NotFoundError
    assert (copy.status_code, copy.operation, str(copy)) == (404, "numbers.get", "numbers.get: 404")
    assert type(copy).__module__ == "dtmf"
