"""The emulator's extras: webhooks over real HTTP, concurrency, the command line,
deposit addresses, and the pytest plugin's fixtures."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

import dtmf
from dtmf.testing import Emulator
from dtmf.testing._bitcoin import b58decode, decode_p2pkh, new_address, p2pkh_address

TOKEN = "extras-token"
SENDER = "+447700900777"


class Receiver:
    """A webhook receiver on a loopback port: records bodies, answers as told."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = 200
        self.reply = b""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["content-length"])
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(receiver.status)
                self.send_header("content-length", str(len(receiver.reply)))
                self.end_headers()
                self.wfile.write(receiver.reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(seed=11) as emulator:
        emulator.add_account(TOKEN, balance=10_000_000)
        yield emulator


@pytest.fixture
def client(emu: Emulator) -> Iterator[dtmf.Client]:
    with emu.client(TOKEN) as c:
        yield c


def test_webhook_reply_is_rendered_cut_and_sent(
    emu: Emulator, client: dtmf.Client, receiver: Receiver
) -> None:
    number = client.numbers.rent("us-mobile")
    number.set_sms_action("webhook", receiver.url)
    receiver.reply = ("Danke schön! " * 20).encode()
    before = client.account.get().balance
    inbound = emu.simulate_inbound_sms(number.e164, SENDER, "ping")
    assert receiver.bodies == [
        {"id": inbound["id"], "e164": number.e164, "sender": SENDER, "content": "ping"}
    ]
    expected = ("Danke schon! " * 20)[:160]
    [delivery] = emu.webhook_deliveries
    assert (delivery.status, delivery.error, delivery.reply) == (200, None, expected)
    inbound_msg, reply = number.refresh().messages
    assert (inbound_msg.inbound, reply.inbound) == (True, False)
    assert (reply.from_, reply.to, reply.content, reply.cost) == (
        number.e164,
        SENDER,
        expected,
        705,
    )
    assert client.account.get().balance == before - 2 * 705


@pytest.mark.parametrize(("status", "body"), [(200, b""), (500, b"oops"), (302, b"moved")])
def test_webhook_answers_that_send_no_reply(
    emu: Emulator, client: dtmf.Client, receiver: Receiver, status: int, body: bytes
) -> None:
    number = client.numbers.rent("gb-mobile")
    number.set_sms_action("webhook", receiver.url)
    receiver.status, receiver.reply = status, body
    emu.simulate_inbound_sms(number.e164, SENDER, "ping")
    assert [(d.status, d.reply) for d in emu.webhook_deliveries] == [(status, None)]
    assert len(number.refresh().messages) == 1


def test_webhook_refusing_connections_is_recorded(emu: Emulator, client: dtmf.Client) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    number = client.numbers.rent("gb-mobile")
    number.set_sms_action("webhook", f"http://127.0.0.1:{port}/hook")
    stored = emu.simulate_inbound_sms(number.e164, SENDER, "ping")
    assert stored["content"] == "ping"
    [delivery] = emu.webhook_deliveries
    assert delivery.status is None
    assert delivery.reply is None
    assert delivery.error is not None
    assert "ConnectError" in delivery.error


def test_webhook_async(emu: Emulator, client: dtmf.Client, receiver: Receiver) -> None:
    number = client.numbers.rent("nl-mobile")
    number.set_sms_action("webhook", receiver.url)
    receiver.reply = b"pong"
    asyncio.run(emu.asimulate_inbound_sms(number.e164, SENDER, "ping"))
    assert [m.content for m in number.refresh().messages] == ["ping", "pong"]


def test_inbound_sms_to_a_number_nobody_rents(emu: Emulator) -> None:
    with pytest.raises(LookupError):
        emu.simulate_inbound_sms("+447700900001", SENDER, "hi")


def test_concurrent_rents_never_share_a_number() -> None:
    with Emulator(seed=5, pool_size=20) as emu:
        emu.add_account(TOKEN, balance=10_000_000)
        with emu.client(TOKEN, max_retries=0) as client:

            def rent(_: int) -> str | None:
                try:
                    return client.numbers.rent("fr-mobile").e164
                except dtmf.ConflictError:
                    return None

            with ThreadPoolExecutor(max_workers=50) as pool:
                results = list(pool.map(rent, range(50)))
        rented = [e164 for e164 in results if e164 is not None]
        assert len(rented) == 20 == len(set(rented))
        assert emu.account(TOKEN).balance == 10_000_000 - 20 * 26500


def test_concurrent_clients_on_a_port() -> None:
    with Emulator(seed=5, pool_size=20) as emu:
        emu.add_account(TOKEN, balance=10_000_000)
        with emu.serve() as base_url, dtmf.Client(TOKEN, base_url=base_url) as client:
            with ThreadPoolExecutor(max_workers=20) as pool:
                numbers = list(pool.map(lambda _: client.numbers.rent("ie-mobile").e164, range(20)))
            assert len(set(numbers)) == 20


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_command_line_server(sig: signal.Signals) -> None:
    command = [sys.executable, "-m", "dtmf.testing", "--port", "0", "--token", "cli-token"]
    command += ["--balance", "123456", "--seed", "1"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        try:
            assert base_url.startswith("http://127.0.0.1:")
            assert base_url.endswith("/api/v1")
            headers = {"Authorization": "Bearer cli-token"}
            with httpx.Client(base_url=base_url, headers=headers) as http:
                assert http.get("account").json() == {"balance": 123456}
                assert http.get("groups", params={"type": "mobile"}).status_code == 200
                assert http.get("account", headers={"Authorization": "Bearer x"}).status_code == 401
            with dtmf.Client("cli-token", base_url=base_url) as client:
                assert client.addresses.list()[0].address.startswith("1")
        finally:
            process.send_signal(sig)
            _, stderr = process.communicate(timeout=15)
        assert process.returncode == 0, stderr


def test_addresses_are_valid_p2pkh(emu: Emulator, client: dtmf.Client) -> None:
    for _ in range(20):
        address = client.addresses.create().address
        raw = b58decode(address)
        assert len(raw) == 25
        assert raw[0] == 0
        assert address.startswith("1")
        assert len(decode_p2pkh(address)) == 20


def test_p2pkh_known_vector_and_bad_checksum() -> None:
    # The hash160 of the genesis block's public key, and its well-known address.
    payload = bytes.fromhex("62e907b15cbf27d5425399ebf6f0fb50ebb88f18")
    assert p2pkh_address(payload) == "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
    with pytest.raises(ValueError, match="checksum"):
        decode_p2pkh("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb")


def test_seeded_emulators_agree() -> None:
    import random

    assert new_address(random.Random(4)) == new_address(random.Random(4))
    rented = []
    for _ in range(2):
        with Emulator(seed=9) as emu:
            emu.add_account(TOKEN, balance=10_000_000)
            with emu.client(TOKEN) as client:
                rented.append((client.addresses.list(), client.numbers.rent("de-mobile").e164))
    assert rented[0] == rented[1]


def test_pool_numbers_are_e164_of_their_country(client: dtmf.Client) -> None:
    calling = {"us": "+1", "ca": "+1", "gb": "+44", "de": "+49", "fr": "+33", "cz": "+420"}
    calling |= {"nl": "+31", "se": "+46", "au": "+61", "es": "+34", "ie": "+353"}
    for kind in ("mobile", "local"):
        for group in client.groups.list(kind):
            number = group.rent()
            assert number.e164.startswith(calling[group.country_code])
            assert 11 <= len(number.e164) <= 14


def test_plugin_fixtures(dtmf_emulator: Emulator, dtmf_client: dtmf.Client) -> None:
    assert dtmf_client.account.get().balance == dtmf_emulator.account("test-token").balance
    assert dtmf_client.account.get().balance >= 1_000_000


def test_plugin_import_is_light() -> None:
    code = (
        "import sys, dtmf.testing.pytest_plugin; "
        "print(any(m.startswith(('uvicorn', 'anyascii')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stdout
