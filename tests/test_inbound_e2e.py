"""Inbound SMS end to end, over real sockets, for the Client and the AsyncClient.

The emulator serves the API on one loopback port; a receiver made with
`dtmf.webhooks.asgi_app(handler, secret=...)` runs under uvicorn on another. A
number's webhook is set through the SDK, the emulator POSTs each inbound SMS to
the receiver, and the handler's reply comes back to the sender as an SMS, visible
in the number's messages through the SDK.
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread
import httpx
import pytest

import dtmf
from dtmf import webhooks
from dtmf.testing import Emulator, WebhookDelivery
from dtmf.testing._serving import serve_in_thread

from .test_scenarios import FLAVOURS, call, close

SECRET = "hook-s3cr3t-Zq8"
SENDER = "+447700900123"
# Rendered to ASCII ('Grusse aus Zurich - ...') and cut to 160 characters on the way.
LONG_REPLY = "Grüße aus Zürich \N{EN DASH} wir haben offen: " + "Brötchen, " * 20
EXPECTED_REPLY = dtmf.render_sms(LONG_REPLY)[:160]

_tokens = itertools.count(1)


class Inbox:
    """The receiver's handler: records each SMS, answers with the reply set for its number."""

    def __init__(self) -> None:
        self.received: list[dtmf.InboundSMS] = []
        self.replies: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def handle(self, sms: dtmf.InboundSMS) -> str | None:
        with self._lock:
            self.received.append(sms)
        return self.replies.get(sms.e164, "Thanks")

    async def ahandle(self, sms: dtmf.InboundSMS) -> str | None:
        await anyio.lowlevel.checkpoint()
        return self.handle(sms)

    def forget(self, e164: str) -> None:
        """Start afresh for a newly rented number (numbers are reused after a rental ends)."""
        with self._lock:
            self.received = [sms for sms in self.received if sms.e164 != e164]
            self.replies.pop(e164, None)

    def received_by(self, e164: str) -> list[dtmf.InboundSMS]:
        with self._lock:
            return [sms for sms in self.received if sms.e164 == e164]


class Receiver:
    def __init__(self, origin: str) -> None:
        self.origin = origin

    def url(self, variant: str, secret: str) -> str:
        if variant == "path":
            return f"{self.origin}/sms/{secret}"
        if variant == "query":
            return f"{self.origin}/sms?lang=de&secret={secret}"
        return f"{self.origin}/sms"  # no secret at all


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(seed=13, pool_size=50) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture(scope="module")
def receivers(inbox: Inbox) -> Iterator[dict[str, Receiver]]:
    """A receiver with a sync handler (for the Client's tests) and one with an async handler."""
    apps: dict[str, Any] = {
        "sync": webhooks.asgi_app(inbox.handle, secret=SECRET),
        "async": webhooks.asgi_app(inbox.ahandle, secret=SECRET),
    }
    with (
        serve_in_thread(apps["sync"], "127.0.0.1", 0) as sync_url,
        serve_in_thread(apps["async"], "127.0.0.1", 0) as async_url,
    ):
        yield {
            kind: Receiver(_origin(url)) for kind, url in (("sync", sync_url), ("async", async_url))
        }


def _origin(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}:{parsed.port}"


@pytest.fixture(params=FLAVOURS, ids=["Client", "AsyncClient-asyncio", "AsyncClient-trio"])
def flavour(request: pytest.FixtureRequest) -> tuple[str, str]:
    kind, backend = request.param
    return kind, backend


@pytest.fixture
def anyio_backend(flavour: tuple[str, str]) -> str:
    return flavour[1]


@pytest.fixture
def kind(flavour: tuple[str, str]) -> str:
    return flavour[0]


@pytest.fixture
async def client(emu: Emulator, base_url: str, kind: str) -> AsyncIterator[Any]:
    token = f"inbound-{next(_tokens)}"
    emu.add_account(token, balance=10_000_000)
    cls = dtmf.Client if kind == "sync" else dtmf.AsyncClient
    opened = cls(token, base_url=base_url, max_retries=0)
    try:
        yield opened
    finally:
        await close(opened)


async def simulate(emu: Emulator, kind: str, to: str, content: str) -> dict[str, Any]:
    """An SMS from SENDER arrives at `to`; the emulator calls the webhook before returning."""
    if kind == "sync":
        return await anyio.to_thread.run_sync(emu.simulate_inbound_sms, to, SENDER, content)
    return await emu.asimulate_inbound_sms(to, SENDER, content)


async def rent(client: Any, inbox: Inbox) -> Any:
    number = await call(client.numbers.rent, "gb-mobile")
    inbox.forget(number.e164)
    return number


def delivery_of(emu: Emulator, message: dict[str, Any]) -> WebhookDelivery:
    [delivery] = [d for d in emu.webhook_deliveries if d.message_id == message["id"]]
    return delivery


pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("variant", ["path", "query"])
async def test_the_handlers_reply_reaches_the_sender(
    emu: Emulator,
    client: Any,
    kind: str,
    inbox: Inbox,
    receivers: dict[str, Receiver],
    variant: str,
) -> None:
    number = await rent(client, inbox)
    url = receivers[kind].url(variant, SECRET)
    await call(number.set_sms_action, "webhook", url)
    assert (await call(number.refresh)).sms_action == dtmf.SmsAction("webhook", url)
    inbox.replies[number.e164] = LONG_REPLY

    message = await simulate(emu, kind, number.e164, "Hallo, ist der Laden offen? 🙂")

    assert inbox.received_by(number.e164) == [
        dtmf.InboundSMS(
            id=message["id"],
            e164=number.e164,
            sender=SENDER,
            content="Hallo, ist der Laden offen? 🙂",
        )
    ]
    delivery = delivery_of(emu, message)
    assert (delivery.url, delivery.status, delivery.error) == (url, 200, None)
    assert delivery.reply == EXPECTED_REPLY

    number = await call(number.refresh)
    [inbound, reply] = number.messages
    assert number.inbound_messages == [inbound]
    assert (inbound.from_, inbound.content) == (SENDER, "Hallo, ist der Laden offen? 🙂")
    assert (reply.from_, reply.to) == (number.e164, SENDER)
    assert reply.content == EXPECTED_REPLY
    assert reply.content.startswith("Grusse aus Zurich - wir haben offen: Brotchen, Brotchen, ")
    assert len(reply.content) == 160
    assert reply.content.isascii()
    await call(number.end_rental)


async def test_no_reply_when_the_handler_returns_none(
    emu: Emulator, client: Any, kind: str, inbox: Inbox, receivers: dict[str, Receiver]
) -> None:
    number = await rent(client, inbox)
    await call(number.set_sms_action, "webhook", receivers[kind].url("path", SECRET))
    inbox.replies[number.e164] = None
    message = await simulate(emu, kind, number.e164, "STOP")
    assert (delivery_of(emu, message).status, delivery_of(emu, message).reply) == (204, None)
    assert len(inbox.received_by(number.e164)) == 1
    assert [m.content for m in (await call(number.refresh)).messages] == ["STOP"]
    await call(number.end_rental)


async def test_wait_for_message_returns_the_code(
    emu: Emulator, client: Any, kind: str, inbox: Inbox, receivers: dict[str, Receiver]
) -> None:
    number = await rent(client, inbox)
    await call(number.set_sms_action, "webhook", receivers[kind].url("query", SECRET))
    await simulate(emu, kind, number.e164, "Your code 111111")  # before the wait: old

    async def sender() -> None:
        await anyio.sleep(0.2)
        await simulate(emu, kind, number.e164, "Ihr Code 222222")  # no match
        await simulate(emu, kind, number.e164, "Your code 654321. Don't share it.")

    wait = functools.partial(number.wait_for_message, timeout=10, match=re.compile(r"code (\d{6})"))
    async with anyio.create_task_group() as group:
        group.start_soon(sender)
        found = await call(wait)

    assert isinstance(found, dtmf.MessageMatch)
    assert found.code == "654321"
    assert found.message.content == "Your code 654321. Don't share it."
    assert found.message.from_ == SENDER
    # The receiver's replies ("Thanks") are outbound: never a match.
    outbound = [m for m in (await call(number.refresh)).messages if not m.inbound]
    assert [m.content for m in outbound] == ["Thanks"] * 3
    await call(number.end_rental)


@pytest.mark.parametrize(
    ("variant", "secret"),
    [("path", "wrong"), ("query", "wrong"), ("query", SECRET[:-1]), ("none", "")],
)
async def test_a_wrong_secret_is_refused_and_nothing_is_sent(
    emu: Emulator,
    client: Any,
    kind: str,
    inbox: Inbox,
    receivers: dict[str, Receiver],
    variant: str,
    secret: str,
) -> None:
    number = await rent(client, inbox)
    url = receivers[kind].url(variant, secret)
    await call(number.set_sms_action, "webhook", url)

    message = await simulate(emu, kind, number.e164, "Hello?")

    delivery = delivery_of(emu, message)
    assert (delivery.url, delivery.status, delivery.reply) == (url, 404, None)
    assert inbox.received_by(number.e164) == []
    assert [m.content for m in (await call(number.refresh)).messages] == ["Hello?"]
    await call(number.end_rental)


@pytest.mark.parametrize("flavour", [FLAVOURS[0]], ids=["Client"], indirect=True)
async def test_a_repeated_delivery_is_answered_as_before(
    emu: Emulator, client: Any, inbox: Inbox, receivers: dict[str, Receiver]
) -> None:
    # The service retries a delivery it got no answer to; the receiver answers the
    # repeat from its memory, without calling the handler again.
    number = await rent(client, inbox)
    url = receivers["sync"].url("path", SECRET)
    await call(number.set_sms_action, "webhook", url)
    message = await simulate(emu, "sync", number.e164, "Grüezi")
    payload = {"id": message["id"], "e164": number.e164, "sender": SENDER, "content": "Grüezi"}
    async with httpx.AsyncClient(trust_env=False) as http:
        again = await http.post(url, json=payload)
    assert (again.status_code, again.text) == (200, "Thanks")
    assert len(inbox.received_by(number.e164)) == 1
    await call(number.end_rental)
