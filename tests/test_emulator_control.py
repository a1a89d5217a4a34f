"""The reference server's control API (/_emulator), off unless asked for."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

import dtmf
from dtmf.testing import Emulator, serve_asgi
from dtmf.testing._control import ControlError, control_url, inbound

TOKEN = "control-token"
SENDER = "+447700900123"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(seed=2) as emulator:
        emulator.add_account(TOKEN, balance=1_000_000)
        yield emulator


def _post(base_url: str, endpoint: str, body: object) -> httpx.Response:
    return httpx.post(control_url(base_url, endpoint), json=body, trust_env=False)


def test_inbound_stores_the_message_and_calls_the_webhook(emu: Emulator) -> None:
    receiver = dtmf.webhooks.asgi_app(lambda sms: f"echo {sms.content}")
    with (
        emu.client(TOKEN) as client,
        emu.serve(control=True) as base_url,
        serve_asgi(receiver) as hook,
    ):
        number = client.numbers.rent("gb-mobile")
        number.set_sms_action("webhook", f"{hook}/hook")
        answer = inbound(base_url, number.e164, SENDER, "hello")
        assert answer["message"]["content"] == "hello"
        assert answer["message"]["from"] == SENDER
        assert answer["webhook"]["status"] == 200
        assert answer["webhook"]["reply"] == "echo hello"
        contents = [m.content for m in number.refresh().messages]
        assert contents == ["hello", "echo hello"]


def test_errors_are_json_with_statuses(emu: Emulator) -> None:
    with emu.serve(control=True) as base_url:
        with pytest.raises(ControlError) as not_rented:
            inbound(base_url, "+15550000000", SENDER, "x")
        assert not_rented.value.status == 404
        bad = _post(base_url, "inbound", {"to": "123", "sender": SENDER, "content": "x"})
        assert bad.status_code == 400
        assert bad.json()["error"] == "invalid_parameter"
        assert _post(base_url, "inbound", {"to": 1}).status_code == 400
        assert _post(base_url, "nothing", {}).status_code == 404
        assert httpx.get(control_url(base_url, "inbound"), trust_env=False).status_code == 405
        not_json = httpx.post(
            control_url(base_url, "inbound"),
            content=b"{",
            headers={"Content-Type": "application/json"},
            trust_env=False,
        )
        assert not_json.status_code == 400


def test_clock_and_credit(emu: Emulator) -> None:
    with emu.client(TOKEN) as client, emu.serve(control=True) as base_url:
        client.numbers.rent("gb-mobile")
        before = emu.account(TOKEN).balance
        now = emu.clock.now()
        moved = _post(base_url, "clock/advance", {"minutes": 10})
        assert moved.status_code == 200
        assert moved.json()["now"] > now.isoformat()
        assert emu.account(TOKEN).balance < before
        assert _post(base_url, "clock/advance", {"seconds": -1}).status_code == 400
        credited = _post(base_url, "credit", {"token": TOKEN, "satoshis": 5})
        assert credited.json() == {"balance": emu.account(TOKEN).balance}
        assert _post(base_url, "credit", {"token": "nobody", "satoshis": 5}).status_code == 404


def test_off_unless_asked_for(emu: Emulator) -> None:
    with emu.serve() as base_url:
        response = _post(base_url, "inbound", {"to": SENDER, "sender": SENDER, "content": "x"})
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"  # the API's answer, not the control's
    assert not any("_emulator" in name for name in dir(dtmf.Client))


def test_served_from_the_command_line() -> None:
    command = [sys.executable, "-m", "dtmf.testing", "--port", "0", "--token", "t"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as p:
        assert p.stdout is not None
        base_url = p.stdout.readline().strip()
        try:
            with pytest.raises(ControlError) as refused:
                inbound(base_url, "+15550000000", SENDER, "x")
            assert refused.value.error == "not_rented"
        finally:
            p.terminate()
            p.communicate(timeout=15)
        assert p.returncode == 0


# Safe by default (issue 14) ---------------------------------------------------------


def _raw(base_url: str, endpoint: str, body: bytes, **headers: str) -> httpx.Response:
    return httpx.post(
        control_url(base_url, endpoint), content=body, headers=headers, trust_env=False
    )


JSON = {"Content-Type": "application/json"}


def test_only_json_bodies(emu: Emulator) -> None:
    body = b'{"token": "control-token", "satoshis": 5}'
    with emu.serve(control=True) as base_url:
        before = emu.account(TOKEN).balance
        # What an HTML form or a no-preflight fetch() from any web page can send.
        for content_type in ("text/plain", "application/x-www-form-urlencoded", ""):
            refused = _raw(base_url, "credit", body, **{"Content-Type": content_type})
            assert refused.status_code == 415, content_type
            assert refused.json()["error"] == "unsupported_media_type"
        assert emu.account(TOKEN).balance == before
        charset = {"Content-Type": "application/json; charset=utf-8"}
        assert _raw(base_url, "credit", body, **charset).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_cross_origin_browser_requests_are_refused(emu: Emulator, headers: dict[str, str]) -> None:
    body = b'{"token": "control-token", "satoshis": 5}'
    with emu.serve(control=True) as base_url:
        before = emu.account(TOKEN).balance
        refused = _raw(base_url, "credit", body, **JSON, **headers)
        assert refused.status_code == 403
        assert refused.json()["error"] == "cross_origin"
        assert emu.account(TOKEN).balance == before
        own = base_url.split("/api/")[0]
        same = _raw(
            base_url, "credit", body, **JSON, Origin=own, **{"Sec-Fetch-Site": "same-origin"}
        )
        assert same.status_code == 200


def test_control_token(emu: Emulator) -> None:
    body = b'{"token": "control-token", "satoshis": 5}'
    with emu.serve(control=True, control_token="c0ntrol") as base_url:
        assert _raw(base_url, "credit", body, **JSON).status_code == 401
        wrong = _raw(base_url, "credit", body, **JSON, Authorization="Bearer nope")
        assert wrong.status_code == 401
        assert "c0ntrol" not in wrong.text
        right = _raw(base_url, "credit", body, **JSON, Authorization="Bearer c0ntrol")
        assert right.status_code == 200
        with pytest.raises(ControlError) as caught:
            inbound(base_url, SENDER, SENDER, "x")
        assert caught.value.status == 401
        with pytest.raises(ControlError) as caught:
            inbound(base_url, "+15550000000", SENDER, "x", control_token="c0ntrol")
        assert caught.value.error == "not_rented"  # past the guard


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("credit", b"[" * 30_000 + b"]" * 30_000),
        ("inbound", b'{"to": ' + b"[" * 20_000 + b"]" * 20_000 + b"}"),
        ("clock/advance", b'{"hours": 1e308}'),
        ("clock/advance", b'{"seconds": 1e300}'),
        ("clock/advance", b'{"minutes": 1e17}'),
        ("clock/advance", b'{"hours": NaN}'),
        ("clock/advance", b'{"hours": -Infinity}'),
        ("inbound", b'{"to": "+447700900123", "sender": "+447700900123", "content": "\\ud800"}'),
        ("credit", b'{"token": "control-token", "satoshis": 1e400}'),
        ("credit", b"\xff\xfe"),
    ],
)
def test_bad_control_input_is_400_never_500(emu: Emulator, endpoint: str, body: bytes) -> None:
    with emu.client(TOKEN) as client, emu.serve(control=True) as base_url:
        number = client.numbers.rent("gb-mobile")
        body = body.replace(b"+447700900123", number.e164.encode(), 1)
        answer = _raw(base_url, endpoint, body, **JSON)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"] in ("invalid_json", "invalid_parameter")
        assert client.account.get().balance >= 0  # the server still serves


def test_non_loopback_bind_needs_a_flag(emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ValueError, match="allow_remote"), emu.serve(host="0.0.0.0"):
        pass  # pragma: no cover
    with (
        caplog.at_level(logging.WARNING, "dtmf.testing"),
        emu.serve(host="0.0.0.0", allow_remote=True) as base_url,
    ):
        assert base_url.startswith("http://0.0.0.0:")
    assert "reachable from other machines" in caplog.text


def test_command_line_refuses_a_non_loopback_host_without_the_flag() -> None:
    command = [sys.executable, "-m", "dtmf.testing", "--port", "0", "--host", "0.0.0.0"]
    refused = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    assert refused.returncode == 2
    assert "--allow-remote" in refused.stderr
    assert refused.stdout == ""
    with subprocess.Popen(
        [*command, "--allow-remote", "--control-token", "c0ntrol"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as p:
        assert p.stdout is not None
        base_url = p.stdout.readline().strip().replace("0.0.0.0", "127.0.0.1")
        try:
            assert _raw(base_url, "credit", b"{}", **JSON).status_code == 401
        finally:
            p.terminate()
            _, stderr = p.communicate(timeout=15)
        assert "warning: serving on 0.0.0.0, reachable from other machines" in stderr


def test_command_line_inbound_with_a_control_token(emu: Emulator) -> None:
    from tests.cli_support import run_cli

    with emu.client(TOKEN) as client, emu.serve(control=True, control_token="c0ntrol") as url:
        e164 = client.numbers.rent("gb-mobile").e164
        inbound_args = ("emulator", "inbound", e164, "--from", SENDER, "--text", "hi")
        refused = run_cli(url, *inbound_args)
        assert refused.returncode == 3, refused.stderr
        assert "Authorization" in refused.stderr
        accepted = run_cli(url, *inbound_args, DTMF_EMULATOR_CONTROL_TOKEN="c0ntrol")
        assert accepted.returncode == 0, accepted.stderr
        assert [m.content for m in client.numbers.get(e164).messages] == ["hi"]
