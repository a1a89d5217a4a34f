"""The reference server's control API (/_emulator), off unless asked for."""

from __future__ import annotations

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
        not_json = httpx.post(control_url(base_url, "inbound"), content=b"{", trust_env=False)
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
