"""The emulator on the wire: bad requests straight over httpx, and every injected fault.

Faults run in-process and on a real port; either way the SDK must see what a
real network would show it (a transport error, not a 500, for a dropped line).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

import dtmf
from dtmf.testing import Emulator
from tests.wire import OPS, relative, wire

TOKEN = "wire-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(seed=3) as emulator:
        emulator.add_account(TOKEN, balance=1_000_000)
        yield emulator


@pytest.fixture(params=["in-process", "port"])
def base_url(request: pytest.FixtureRequest, emu: Emulator) -> Iterator[str]:
    if request.param == "in-process":
        yield emu.base_url
    else:
        with emu.serve() as url:
            yield url


@pytest.fixture
def http(emu: Emulator, base_url: str) -> Iterator[httpx.Client]:
    transport = emu.transport() if base_url == emu.base_url else None
    with httpx.Client(base_url=base_url, transport=transport, headers=AUTH) as client:
        yield client


@pytest.fixture
def client(emu: Emulator, base_url: str) -> Iterator[dtmf.Client]:
    if base_url == emu.base_url:
        with emu.client(TOKEN) as c:
            yield c
    else:
        with dtmf.Client(TOKEN, base_url=base_url) as c:
            yield c


def _message(response: httpx.Response) -> str:
    assert response.headers["content-type"] == "application/json"
    message = response.json()["message"]
    assert isinstance(message, str)
    assert message
    return message


@pytest.mark.parametrize(
    ("name", "kwargs", "status", "needle"),
    [
        ("numbers.get", {}, 400, "e164"),
        ("numbers.get", {"params": {"e164": "0044 7700"}}, 400, "E.164"),
        ("groups.list", {"params": {"type": "landline"}}, 400, "'mobile' or 'local'"),
        ("groups.list", {}, 400, "type"),
        ("numbers.rent", {"content": b"{not json"}, 422, "not JSON"),
        ("numbers.rent", {"json": ["gb-mobile"]}, 422, "JSON object"),
        ("numbers.rent", {"json": {}}, 400, "group_id"),
        ("numbers.rent", {"json": {"group_id": 12}}, 400, "group_id"),
        ("messages.send", {"json": {"from": "+447700900001", "to": "+1",
                                    "content": "hi"}}, 400, "E.164"),
        ("messages.send", {"json": {"from": "+447700900001", "to": "+447700900002",
                                    "content": "x" * 161}}, 400, "161"),
        ("numbers.set_sms_action", {"params": {"e164": "+447700900001"},
                                    "json": {"action": "email", "destination": None}},
         400, "action"),
        ("numbers.set_sms_action", {"params": {"e164": "+447700900001"},
                                    "json": {"action": "webhook", "destination": "ftp://x"}},
         400, "destination"),
    ],
)  # fmt: skip
def test_bad_requests_get_json_errors(
    http: httpx.Client, name: str, kwargs: dict[str, object], status: int, needle: str
) -> None:
    response = http.request(*relative(name), **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status
    assert needle in _message(response)


def test_unknown_paths_and_methods_get_json_errors(http: httpx.Client) -> None:
    response = http.get("nowhere")
    assert response.status_code == 404
    assert "no endpoint" in _message(response)
    path = OPS["numbers.list"].path
    allowed = sorted(op.method for op in OPS.values() if op.path == path)
    response = http.request("PATCH", path.lstrip("/"))
    assert response.status_code == 405
    assert "not allowed" in _message(response)
    assert response.headers["allow"] == ", ".join(allowed)


def test_missing_or_unknown_token(http: httpx.Client) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer someone-else"}):
        response = http.request(*relative("account.get"), headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == "unauthorized"
        assert _message(response)


def test_requests_are_recorded(emu: Emulator, client: dtmf.Client) -> None:
    client.account.get()
    client.groups.list("local")
    assert [(r.operation, r.method, r.path) for r in emu.requests] == [
        (name, *wire(name)) for name in ("account.get", "groups.list")
    ]


def test_status_fault_is_retried_for_reads(emu: Emulator, client: dtmf.Client) -> None:
    emu.faults.add("account.get", status=503, count=2)
    assert client.with_options(max_retries=2).account.get().balance == 1_000_000
    assert [r.fault for r in emu.requests] == ["status=503", "status=503", None]


def test_500_on_send_is_not_retried_and_changes_nothing(emu: Emulator, client: dtmf.Client) -> None:
    number = client.numbers.rent("gb-mobile")
    emu.faults.add("messages.send", status=500)
    with pytest.raises(dtmf.InternalServerError) as caught:
        number.send_sms("+447700900123", "hi")
    assert caught.value.may_have_succeeded
    assert number.refresh().messages == []
    assert sum(r.operation == "messages.send" for r in emu.requests) == 1


def test_429_with_retry_after(emu: Emulator, client: dtmf.Client) -> None:
    emu.faults.add("*", status=429, retry_after=0.2)
    started = time.monotonic()
    assert client.addresses.list()
    assert time.monotonic() - started >= 0.2
    assert len(emu.requests) == 2


def test_delay_trips_the_client_timeout(emu: Emulator, client: dtmf.Client) -> None:
    emu.faults.add("account.get", delay=0.5)
    with pytest.raises(dtmf.APITimeoutError):
        client.with_options(timeout=0.1, max_retries=0).account.get()


def test_delay_is_real(emu: Emulator, client: dtmf.Client) -> None:
    emu.faults.add("account.get", delay=0.3)
    started = time.monotonic()
    client.account.get()
    assert time.monotonic() - started >= 0.3


def test_drop_before_changes_nothing(emu: Emulator, client: dtmf.Client) -> None:
    emu.faults.add("numbers.rent", drop="before")
    with pytest.raises(dtmf.APIConnectionError):
        client.with_options(max_retries=0).numbers.rent("gb-mobile")
    assert client.numbers.list() == []
    assert client.account.get().balance == 1_000_000


def test_drop_after_rents_but_the_client_cannot_tell(emu: Emulator, client: dtmf.Client) -> None:
    emu.faults.add("numbers.rent", drop="after")
    with pytest.raises(dtmf.APIConnectionError) as caught:
        client.numbers.rent("gb-mobile")
    assert caught.value.may_have_succeeded
    assert not isinstance(caught.value, dtmf.APIStatusError)
    assert len(client.numbers.list()) == 1
    assert sum(r.operation == "numbers.rent" for r in emu.requests) == 1  # not retried


def test_drop_after_on_idempotent_end_rental_counts_as_done(
    emu: Emulator, client: dtmf.Client
) -> None:
    number = client.numbers.rent("gb-mobile")
    emu.faults.add("numbers.end_rental", drop="after")
    number.end_rental()  # the retry finds the number gone: done
    assert client.numbers.list() == []


@pytest.mark.parametrize("kind", ["truncated", "html", "wrong_types"])
def test_spoiled_bodies(emu: Emulator, client: dtmf.Client, kind: str) -> None:
    emu.faults.add("account.get", body=kind, always=True)  # type: ignore[arg-type]
    expected = dtmf.APIStatusError if kind == "html" else dtmf.APIResponseValidationError
    with pytest.raises(expected):
        client.with_options(max_retries=1).account.get()


def test_wrong_types_in_a_list(emu: Emulator, client: dtmf.Client) -> None:
    emu.faults.add("groups.list", body="wrong_types")
    with pytest.raises(dtmf.APIResponseValidationError):
        client.groups.list("mobile")


def test_extra_fields_are_kept(emu: Emulator, client: dtmf.Client) -> None:
    emu.faults.add("numbers.rent", body="extra_fields")
    number = client.numbers.rent("gb-mobile")
    assert number.model_extra == {"x_emulator_note": "an unknown field", "x_emulator_level": 3}


def test_always_and_clear(emu: Emulator, client: dtmf.Client) -> None:
    emu.faults.add("account.get", status=500, always=True)
    for _ in range(2):
        with pytest.raises(dtmf.InternalServerError):
            client.with_options(max_retries=0).account.get()
    emu.faults.clear()
    assert client.account.get().balance == 1_000_000


def test_fault_arguments_are_checked(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="not an operation"):
        emu.faults.add("numbers.buy", status=500)
    with pytest.raises(ValueError, match="drop"):
        emu.faults.add(drop="sideways")  # type: ignore[arg-type]


def test_a_handler_bug_is_a_json_500(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(token: str) -> None:
        raise KeyError("oops")

    monkeypatch.setattr(emu.state, "account_wire", broken)
    status, headers, body = emu.handle(
        *wire("account.get"), {}, {"authorization": f"Bearer {TOKEN}"}, b""
    )
    assert status == 500
    assert dict(headers)["content-type"] == "application/json"
    assert b"KeyError" in body
    assert b"Traceback" not in body


def test_async_client_under_trio(emu: Emulator) -> None:
    import trio

    async def main() -> int:
        async with emu.async_client(TOKEN) as client:
            return (await client.account.get()).balance

    assert trio.run(main) == 1_000_000
