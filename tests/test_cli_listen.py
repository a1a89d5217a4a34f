"""`dtmf listen`: its decisions without I/O, then end to end with a receiver on a real port."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

import dtmf
from dtmf.cli._listen import Delivered, Inbox, Listener, Outbox, Retrying
from dtmf.testing import Emulator, serve_asgi

from .cli_support import SENDER, TOKEN, Lines, start_cli, stop, wait_for_polls

pytest.importorskip("click")
pytest.importorskip("rich")

E164 = "+447700900001"


def _message(content: str, id: int | None = None, inbound: bool = True) -> dtmf.Message:
    sender, recipient = (SENDER, E164) if inbound else (E164, SENDER)
    return dtmf.Message.model_validate(
        {"id": id, "from": sender, "to": recipient, "content": content}
    )


def test_inbox_skips_what_existed_and_dedupes_by_id() -> None:
    inbox = Inbox(E164)
    old = _message("old", 1)
    assert inbox.new([old]) == []
    first = inbox.new([old, _message("a", 2), _message("reply", 3, inbound=False)])
    assert [(s.id, s.sender, s.content, s.e164) for s in first] == [(2, SENDER, "a", E164)]
    assert inbox.new([old, _message("a", 2), _message("b", 4)])[0].id == 4
    assert inbox.new([old, _message("a", 2), _message("b", 4)]) == []


def test_inbox_without_ids_counts_repeats_and_makes_stable_ids() -> None:
    inbox = Inbox(E164)
    inbox.new([_message("code 1")])
    twice = inbox.new([_message("code 1"), _message("code 1"), _message("code 1")])
    assert [s.content for s in twice] == ["code 1", "code 1"]
    assert len({s.id for s in twice}) == 2
    again = Inbox(E164)
    again.new([])
    assert [s.id for s in again.new([_message("code 1")] * 3)][1:] == [s.id for s in twice]


def test_outbox_retries_the_head_with_doubling_delays() -> None:
    outbox = Outbox(0.5)
    sms = dtmf.InboundSMS(id=1, e164=E164, sender=SENDER, content="x")
    outbox.add(sms, now=10.0)
    outbox.add(sms.model_copy(update={"id": 2}), now=10.0)
    assert outbox.due(10.0) is not None
    assert [outbox.failed(10.0).due for _ in range(3)] == [10.5, 11.0, 12.0]
    assert outbox.due(11.9) is None
    assert outbox.due(12.0) is not None
    outbox.done()
    assert [s.id for s in outbox.pending()] == [2]


def test_listener_core_with_a_fake_app(emu: Emulator) -> None:
    events: list[object] = []
    calls: list[dict[str, object]] = []
    down = [True]

    def app(request: httpx.Request) -> httpx.Response:
        if down[0]:
            raise httpx.ConnectError("connection refused", request=request)
        calls.append(json.loads(request.content))
        return httpx.Response(200, text="Thanks, Zürich")

    now = [0.0]
    with emu.client(TOKEN) as client, httpx.Client(transport=httpx.MockTransport(app)) as http:
        number = client.numbers.rent("gb-mobile").e164
        listener = Listener(
            client,
            number,
            "http://app/hook",
            events.append,
            http=http,
            clock=lambda: now[0],
            poll_interval=0.1,
        )
        listener.step()  # the baseline poll
        emu.simulate_inbound_sms(number, SENDER, "hi")
        now[0] = 1.0
        listener.step()
        assert isinstance(events[-1], Retrying)
        down[0] = False
        now[0] = 3.0
        listener.step()
        now[0] = 30.0
        listener.step()
        delivered = [e for e in events if isinstance(e, Delivered)]
        assert len(delivered) == 1
        assert (delivered[0].status, delivered[0].reply) == (200, "Thanks, Zurich")
        assert calls == [{"id": calls[0]["id"], "e164": number, "sender": SENDER, "content": "hi"}]
        out = [m for m in client.numbers.get(number).messages if not m.is_inbound_to(number)]
        assert [(m.to, m.content) for m in out] == [(SENDER, "Thanks, Zurich")]


@dataclass
class OneSmsWaiting:
    """A Listener whose local app answers 'Thanks', past its baseline poll, one SMS waiting."""

    client: dtmf.Client
    number: str
    listener: Listener
    events: list[object]
    now: list[float]

    def step_at(self, *moments: float) -> None:
        for moment in moments:
            self.now[0] = moment
            self.listener.step()

    def delivered(self) -> list[Delivered]:
        return [e for e in self.events if isinstance(e, Delivered)]


@contextlib.contextmanager
def one_sms_waiting(emu: Emulator) -> Iterator[OneSmsWaiting]:
    def app(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="Thanks")

    events: list[object] = []
    now = [0.0]
    with emu.client(TOKEN) as client, httpx.Client(transport=httpx.MockTransport(app)) as http:
        number = client.numbers.rent("gb-mobile").e164
        listener = Listener(
            client, number, "http://app/hook", events.append, http=http, clock=lambda: now[0]
        )
        listener.step()  # the baseline poll
        emu.simulate_inbound_sms(number, SENDER, "hi")
        yield OneSmsWaiting(client, number, listener, events, now)
        client.numbers.end_rental(number)


@pytest.mark.parametrize(
    ("fault", "stored"),
    [({"drop": "after"}, 1), ({"status": 500}, 0)],
    ids=["dropped-after-sending", "500"],
)
def test_a_reply_that_may_have_been_sent_says_so_and_is_not_sent_again(
    emu: Emulator, fault: dict[str, Any], stored: int
) -> None:
    with one_sms_waiting(emu) as waiting:
        sends = sum(r.operation == "messages.send" for r in emu.requests)
        emu.faults.add("messages.send", **fault)
        waiting.step_at(1.0, 30.0, 60.0)
        delivered = waiting.delivered()
        assert len(delivered) == 1
        assert delivered[0].reply is None
        assert delivered[0].error is not None
        assert delivered[0].error.startswith(
            "the reply may or may not have been sent: check the number's messages"
        )
        assert sum(r.operation == "messages.send" for r in emu.requests) == sends + 1
        number = waiting.number
        messages = waiting.client.numbers.get(number).messages
        out = [m for m in messages if not m.is_inbound_to(number)]
        assert [m.content for m in out] == ["Thanks"] * stored
        assert waiting.listener.replies == 0


def test_a_reply_refused_before_sending_says_not_sent(emu: Emulator) -> None:
    with one_sms_waiting(emu) as waiting:
        emu.faults.add("messages.send", status=400)
        waiting.step_at(1.0, 30.0)
        delivered = waiting.delivered()
        assert len(delivered) == 1
        assert delivered[0].error is not None
        assert delivered[0].error.startswith("reply not sent: ")


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(seed=5) as emulator:
        emulator.add_account(TOKEN, balance=10_000_000)
        yield emulator


@pytest.fixture
def number(emu: Emulator) -> Iterator[str]:
    with emu.client(TOKEN) as client:
        rented = client.numbers.rent("gb-mobile").e164
        yield rented
        client.numbers.end_rental(rented)


class Receiver:
    """A webhook app (the SDK's own receiver) that counts what it handled."""

    def __init__(self) -> None:
        self.handled: list[dtmf.InboundSMS] = []
        self._lock = threading.Lock()
        self.app = dtmf.webhooks.asgi_app(self.handle)

    def handle(self, sms: dtmf.InboundSMS) -> str:
        with self._lock:
            self.handled.append(sms)
        return f"got {sms.content}"


def _summary_line(stderr: list[str]) -> str:
    return next(line for line in stderr if line.startswith("Stopped listening"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _listen_json(
    base_url: str, number: str, root: str
) -> tuple[subprocess.Popen[str], Lines, Lines]:
    """`dtmf listen --json` forwarding to the receiver at `root`, polling fast."""
    process = start_cli(
        base_url, "listen", number, "--forward-to", f"{root}/hook",
        "--poll-interval", "0.05", "--json",
    )  # fmt: skip
    return process, Lines(process.stdout), Lines(process.stderr)


def test_listen_end_to_end(base_url: str, emu: Emulator, number: str) -> None:
    receiver = Receiver()
    with serve_asgi(receiver.app, port=0) as root:
        since = len(emu.requests)
        process, stdout, stderr = _listen_json(base_url, number, root)
        try:
            wait_for_polls(emu, number, 2, since)
            emu.simulate_inbound_sms(number, SENDER, "ping")
            delivery = json.loads(stdout.next())
            assert delivery["status"] == 200
            assert delivery["reply"] == "got ping"
            assert (delivery["sender"], delivery["content"]) == (SENDER, "ping")
            assert delivery["attempts"] == 1
            emu.simulate_inbound_sms(number, SENDER, "pong")
            assert json.loads(stdout.next())["reply"] == "got pong"
        finally:
            rest = stop(process, stderr)
    assert [s.content for s in receiver.handled] == ["ping", "pong"]
    assert _summary_line(rest).startswith(
        f"Stopped listening to {number}: 2 delivered, 2 replies sent"
    )
    with emu.client(TOKEN) as client:
        messages = client.numbers.get(number).messages
    replies = [(m.to, m.content) for m in messages if not m.is_inbound_to(number)]
    assert replies == [(SENDER, "got ping"), (SENDER, "got pong")]


def test_listen_retries_until_the_app_is_up_and_delivers_once(
    base_url: str, emu: Emulator, number: str
) -> None:
    receiver = Receiver()
    port = _free_port()
    since = len(emu.requests)
    process = start_cli(
        base_url, "listen", number, "--forward-to", f"http://127.0.0.1:{port}/hook",
        "--poll-interval", "0.05", "--no-json",
    )  # fmt: skip
    stdout, stderr = Lines(process.stdout), Lines(process.stderr)
    try:
        wait_for_polls(emu, number, 2, since)
        emu.simulate_inbound_sms(number, SENDER, "are you there?")
        retry = stderr.until(lambda line: "retrying in" in line)
        assert f"could not reach http://127.0.0.1:{port}/***" in retry
        with serve_asgi(receiver.app, port=port):
            line = stdout.next()
            assert SENDER in line
            assert "200" in line
            assert "got are you there?" in line
    finally:
        rest = stop(process, stderr)
    assert [s.content for s in receiver.handled] == ["are you there?"]
    assert _summary_line(rest).startswith(f"Stopped listening to {number}: 1 delivered")


def test_listen_refuses_a_number_not_rented(base_url: str) -> None:
    from .cli_support import run_cli

    result = run_cli(base_url, "listen", "+15550000000", "--forward-to", "http://127.0.0.1:9/")
    assert result.returncode == 3
    assert len(result.stderr.splitlines()) == 1


def test_listen_lines_json_times_hints_and_summary(
    emu: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import datetime, timezone

    from dtmf.cli._listen_command import _printer, _summary  # pyright: ignore[reportPrivateUsage]
    from dtmf.cli._output import Output

    sms = dtmf.InboundSMS(id=14, e164=E164, sender=SENDER, content="hi")
    at = datetime(2026, 11, 25, 22, 35, 16, 82160, tzinfo=timezone.utc)
    _printer(Output(as_json=True))(Delivered(sms, at, 200, None, None, 1))
    assert json.loads(capsys.readouterr().out)["time"] == "2026-11-25T22:35:16.082160"
    show = _printer(Output(as_json=False))
    for status in (404, 405):
        show(Delivered(sms, at, status, None, None, 1))
        line = capsys.readouterr().out
        assert f"  {status}  " in line
        assert "check the --forward-to URL (path, secret)" in line
    show(Delivered(sms, at, 200, None, None, 1))
    assert "--forward-to" not in capsys.readouterr().out

    with emu.client(TOKEN) as client:
        listener = Listener(client, E164, "http://127.0.0.1:9/hook", lambda event: None)
        listener.outbox.add(sms, 0.0)
        assert _summary(E164, listener)[0].endswith(", 1 not delivered (message id 14).")
        listener.outbox.add(sms.model_copy(update={"id": 15}), 0.0)
        assert _summary(E164, listener)[0].endswith(", 2 not delivered (message ids 14, 15).")
        listener.close()


# Nothing lost or misreported (issue 14) --------------------------------------------


def test_an_sms_arriving_while_the_first_polls_fail_is_delivered(
    base_url: str, emu: Emulator, number: str
) -> None:
    receiver = Receiver()
    with serve_asgi(receiver.app, port=0) as root:
        since = len(emu.requests)
        emu.faults.add("numbers.get", delay=0.001)  # the command's own first look: served
        emu.faults.add("numbers.get", status=503, count=3)  # the first poll, with its retries
        process, stdout, stderr = _listen_json(base_url, number, root)
        try:
            deadline = time.monotonic() + 15
            while not any("503" in (r.fault or "") for r in emu.requests[since:]):
                assert time.monotonic() < deadline, "the listener never polled"
                time.sleep(0.01)
            emu.simulate_inbound_sms(number, SENDER, "during the outage")
            assert "could not check for messages" in stderr.until(lambda line: "could not" in line)
            delivery = json.loads(stdout.next(timeout=10))
            assert delivery["content"] == "during the outage"
        finally:
            emu.faults.clear()
            stop(process, stderr)
    assert [s.content for s in receiver.handled] == ["during the outage"]


class SlowReceiver:
    """A webhook app (with a secret) that holds each request until released."""

    SECRET = "hook-s3cret-4f9a"

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.handled: list[str] = []
        self.app = dtmf.webhooks.asgi_app(self.handle, secret=self.SECRET)

    def handle(self, sms: dtmf.InboundSMS) -> str:
        self.entered.set()
        assert self.release.wait(20)
        self.handled.append(sms.content)
        return f"got {sms.content}"


def test_sigterm_during_a_delivery_finishes_it_and_reports_it(
    base_url: str, emu: Emulator, number: str
) -> None:
    receiver = SlowReceiver()
    secret = SlowReceiver.SECRET
    with serve_asgi(receiver.app, port=0) as root:
        since = len(emu.requests)
        process = start_cli(
            base_url, "listen", number, "--forward-to", f"{root}/hook/{secret}?secret={secret}",
            "--poll-interval", "0.05", "--json", "--debug",
        )  # fmt: skip
        stdout, stderr = Lines(process.stdout), Lines(process.stderr)
        try:
            wait_for_polls(emu, number, 1, since)
            emu.simulate_inbound_sms(number, SENDER, "slow one")
            assert receiver.entered.wait(15)
            process.send_signal(signal.SIGTERM)  # mid-POST: the app has the message
            time.sleep(0.2)
            receiver.release.set()
            assert process.wait(15) == 0
            delivery = json.loads(stdout.next())
            rest = stderr.rest()
        finally:
            receiver.release.set()
            if process.poll() is None:
                process.kill()
            for stream in (process.stdout, process.stderr):
                assert stream is not None
                stream.close()
    assert (delivery["status"], delivery["reply"]) == (200, "got slow one")
    assert receiver.handled == ["slow one"]
    lines = stderr.seen + rest
    summary = _summary_line(lines)
    assert summary == f"Stopped listening to {number}: 1 delivered, 1 reply sent.", lines
    assert any(": delivered: HTTP 200; reply sent" in line for line in lines), lines
    assert not any("not delivered" in line for line in lines), lines
    assert any("HTTP Request: POST" in line and "/hook/***" in line for line in lines), lines
    assert not any(secret in line for line in lines), lines  # not even with --debug
    with emu.client(TOKEN) as client:
        messages = client.numbers.get(number).messages
    assert [m.content for m in messages if not m.is_inbound_to(number)] == ["got slow one"]


def test_undelivered_messages_are_listed_on_exit_with_how_to_fetch_them(
    base_url: str, emu: Emulator, number: str
) -> None:
    port = _free_port()  # nothing listens: the app is down
    secret = "s3cret-for-the-app"
    since = len(emu.requests)
    process = start_cli(
        base_url, "listen", number, "--forward-to",
        f"http://127.0.0.1:{port}/hook/{secret}?secret={secret}",
        "--poll-interval", "0.05", "--no-json",
    )  # fmt: skip
    stderr = Lines(process.stderr)
    try:
        wait_for_polls(emu, number, 1, since)
        first = emu.simulate_inbound_sms(number, SENDER, "never delivered")
        stderr.until(lambda line: "retrying in" in line)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
        rest = stderr.rest()
        for stream in (process.stdout, process.stderr):
            assert stream is not None
            stream.close()
    lines = stderr.seen + rest
    summary = _summary_line(lines)
    assert summary.endswith(
        f"0 delivered, 0 replies sent, 1 not delivered (message id {first['id']})."
    )
    assert f"  {first['id']} from {SENDER}: not delivered: never handed to the app" in lines
    assert any(f"dtmf numbers show {number}" in line for line in lines), lines
    assert not any(secret in line for line in lines), lines


def test_the_summary_covers_messages_that_arrived_after_the_last_poll(emu: Emulator) -> None:
    from dtmf.cli._listen_command import _summary  # pyright: ignore[reportPrivateUsage]

    with one_sms_waiting(emu) as waiting:  # polled once; "hi" arrived after that poll
        waiting.listener.request_stop()
        waiting.listener.final_poll()
        [fate] = waiting.listener.fates()
        assert (fate.sms.content, fate.state) == ("hi", "not delivered")
        lines = _summary(waiting.number, waiting.listener)
        assert lines[0].endswith(f", 1 not delivered (message id {fate.sms.id}).")
        assert f"dtmf numbers show {waiting.number}" in lines[-1]


def test_a_delivery_cut_short_is_reported_as_in_flight(emu: Emulator) -> None:
    with one_sms_waiting(emu) as waiting:

        def interrupted(*args: object, **kwargs: object) -> None:
            raise KeyboardInterrupt

        waiting.listener._http.post = interrupted  # type: ignore[method-assign]  # pyright: ignore[reportPrivateUsage, reportAttributeAccessIssue]
        with pytest.raises(KeyboardInterrupt):
            waiting.step_at(30.0)
        [fate] = waiting.listener.fates()
        assert fate.state == "in flight"
        assert "the app may have handled it" in fate.detail
        from dtmf.cli._listen_command import _summary  # pyright: ignore[reportPrivateUsage]

        lines = _summary(waiting.number, waiting.listener)
        assert lines[0].endswith(f", 1 cut short (message id {fate.sms.id}).")
        assert f"dtmf numbers show {waiting.number}" in lines[-1]


def test_listener_starts_from_the_number_as_fetched(emu: Emulator) -> None:
    events: list[object] = []
    with (
        emu.client(TOKEN) as client,
        httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(204))) as http,
    ):
        rented = client.numbers.rent("gb-mobile")
        emu.simulate_inbound_sms(rented.e164, SENDER, "before")
        baseline = client.numbers.get(rented.e164).messages
        listener = Listener(
            client, rented.e164, "http://app/hook", events.append, http=http, baseline=baseline
        )
        emu.simulate_inbound_sms(rented.e164, SENDER, "after")
        listener.step()  # its first poll already delivers
        assert [e.sms.content for e in events if isinstance(e, Delivered)] == ["after"]
        client.numbers.end_rental(rented.e164)
