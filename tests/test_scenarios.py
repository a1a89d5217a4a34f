"""What a user does, written once and run for both clients.

Each scenario is one async function. `call(f, *args)` awaits `f(*args)` when `f` is
a coroutine function (an `AsyncClient`'s methods and its models' actions) and
otherwise runs it in a worker thread (a `Client`'s), so the same body drives both.

Every scenario runs for the `Client`, the `AsyncClient` under asyncio and the
`AsyncClient` under trio, each against the emulator in-process and on a real port
(`emu.serve()`, uvicorn on loopback).
"""

from __future__ import annotations

import functools
import inspect
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import anyio.to_thread
import httpx
import pytest

import dtmf
from dtmf.testing import Emulator

OTHER = "+447700900123"
NOT_RENTED = "+15550100999"
BALANCE = 10_000_000
GB_SETUP, GB_SMS = 15400, 520  # gb-mobile: setup cost, and the cost of each SMS in or out

# (client kind, async backend): the sync client is driven from asyncio through threads.
FLAVOURS = [("sync", "asyncio"), ("async", "asyncio"), ("async", "trio")]
PLACES = ["in-process", "port"]

_tokens = itertools.count(1)


async def call(function: Callable[..., Any], *args: Any) -> Any:
    """`function(*args)`: awaited when it is a coroutine function, else run in a thread."""
    if inspect.iscoroutinefunction(function):
        return await function(*args)
    return await anyio.to_thread.run_sync(functools.partial(function, *args))


async def close(client: dtmf.Client | dtmf.AsyncClient) -> None:
    if isinstance(client, dtmf.AsyncClient):
        await client.aclose()
    else:
        client.close()


@dataclass
class World:
    """The emulator, and how this test reaches it: which client, in-process or on a port."""

    emu: Emulator
    kind: str
    base_url: str | None  # None: in-process
    token: str = ""
    _clients: list[dtmf.Client | dtmf.AsyncClient] = field(default_factory=list)
    _http: list[httpx.Client | httpx.AsyncClient] = field(default_factory=list)

    @property
    def number_class(self) -> type[dtmf.BaseNumber]:
        return dtmf.Number if self.kind == "sync" else dtmf.AsyncNumber

    @property
    def group_class(self) -> type[dtmf.BaseGroup]:
        return dtmf.Group if self.kind == "sync" else dtmf.AsyncGroup

    def account(self, balance: int = BALANCE) -> str:
        """A new account's token (accounts keep tests apart on the shared emulator)."""
        token = f"scenario-{next(_tokens)}"
        self.emu.add_account(token, balance=balance)
        return token

    def client(self, token: str | None = None, **options: Any) -> Any:
        """A client of this test's kind; closed at teardown unless the test closes it."""
        token = token or self.token
        options.setdefault("max_retries", 0)
        base_url = self.base_url
        if base_url is None:
            base_url = Emulator.base_url
            if self.kind == "sync":
                options["http_client"] = httpx.Client(transport=self.emu.transport())
            else:
                options["http_client"] = httpx.AsyncClient(transport=self.emu.async_transport())
            self._http.append(options["http_client"])
        cls = dtmf.Client if self.kind == "sync" else dtmf.AsyncClient
        client = cls(token, base_url=base_url, **options)
        self._clients.append(client)
        return client

    async def aclose(self) -> None:
        for client in self._clients:
            await close(client)
        for http in self._http:
            if isinstance(http, httpx.AsyncClient):
                await http.aclose()
            else:
                http.close()


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(seed=11, pool_size=200) as emulator:
        yield emulator


@pytest.fixture(params=FLAVOURS, ids=["Client", "AsyncClient-asyncio", "AsyncClient-trio"])
def flavour(request: pytest.FixtureRequest) -> tuple[str, str]:
    kind, backend = request.param
    return kind, backend


@pytest.fixture
def anyio_backend(flavour: tuple[str, str]) -> str:
    return flavour[1]


@pytest.fixture(params=PLACES)
async def world(
    request: pytest.FixtureRequest, emu: Emulator, flavour: tuple[str, str]
) -> AsyncIterator[World]:
    base_url = request.getfixturevalue("base_url") if request.param == "port" else None
    world = World(emu, flavour[0], base_url)
    world.token = world.account()
    try:
        yield world
    finally:
        await world.aclose()


pytestmark = pytest.mark.anyio


async def test_rent_configure_send_read_end(world: World) -> None:
    client = world.client()
    balance = (await call(client.account.get)).balance
    assert balance == BALANCE

    number = await call(client.numbers.rent, "gb-mobile")
    assert isinstance(number, world.number_class)
    assert number.e164.startswith("+447700900")
    assert (number.group_id, number.messages) == ("gb-mobile", [])
    await call(number.set_sms_action, "webhook", "https://example.org/hook?k=1")
    await call(number.send_sms, OTHER, "Grüße aus Zürich \N{EN DASH} 5 €")

    number = await call(number.refresh)
    assert isinstance(number, world.number_class)
    assert number.sms_action == dtmf.SmsAction("webhook", "https://example.org/hook?k=1")
    [sent] = number.messages
    assert isinstance(sent, dtmf.Message)
    assert (sent.from_, sent.to, sent.content) == (number.e164, OTHER, "Grusse aus Zurich - 5 EUR")
    assert sent.timestamp is not None
    assert sent.timestamp.utcoffset() == timedelta(0)
    assert type(sent.cost) is int
    assert sent.cost == GB_SMS
    assert number.inbound_messages == []

    # An SMS arrives; with no action it is only stored.
    await call(number.set_sms_action, None)
    world.emu.simulate_inbound_sms(number.e164, OTHER, "Danke!")
    number = await call(client.numbers.get, number.e164)
    assert number.sms_action == dtmf.SmsAction(None, None)
    assert [(m.from_, m.content) for m in number.inbound_messages] == [(OTHER, "Danke!")]
    assert [n.e164 for n in await call(client.numbers.list)] == [number.e164]
    assert (await call(client.account.get)).balance == balance - GB_SETUP - 2 * GB_SMS

    assert await call(number.end_rental) is None
    assert await call(client.numbers.list) == []


async def test_rent_from_a_group(world: World) -> None:
    client = world.client()
    groups = await call(client.groups.list, "mobile")
    assert groups
    assert all(isinstance(group, world.group_class) for group in groups)
    group = next(g for g in groups if g.id == "us-mobile")
    assert group.sms_support
    number = await call(group.rent)
    assert isinstance(number, world.number_class)
    assert number.group_id == "us-mobile"
    assert (await call(client.account.get)).balance == BALANCE - group.setup_cost
    await call(number.end_rental)


async def test_insufficient_funds(world: World) -> None:
    client = world.client(world.account(balance=GB_SETUP + GB_SMS - 1))
    with pytest.raises(dtmf.InsufficientFundsError) as raised:
        await call(client.numbers.rent, "de-mobile")
    error = raised.value
    assert isinstance(error, dtmf.APIStatusError)
    assert error.status_code == 402
    assert error.server_message is not None
    assert "28700" in error.server_message
    assert not error.may_have_succeeded

    number = await call(client.numbers.rent, "gb-mobile")  # affordable
    with pytest.raises(dtmf.InsufficientFundsError, match="520"):
        await call(number.send_sms, OTHER, "hello")
    assert (await call(number.refresh)).messages == []
    assert (await call(client.account.get)).balance == GB_SMS - 1
    await call(number.end_rental)


async def test_not_found(world: World) -> None:
    client = world.client()
    with pytest.raises(dtmf.NotFoundError, match="is not a number your account rents") as raised:
        await call(client.numbers.get, NOT_RENTED)
    assert raised.value.status_code == 404
    with pytest.raises(dtmf.NotFoundError, match="no group 'xx-mobile'"):
        await call(client.numbers.rent, "xx-mobile")

    # Another account's number is not yours.
    number = await call(world.client(world.account()).numbers.rent, "us-mobile")
    with pytest.raises(dtmf.NotFoundError):
        await call(client.numbers.get, number.e164)
    with pytest.raises(dtmf.NotFoundError):
        await call(client.messages.send, number.e164, OTHER, "not mine")

    await call(number.end_rental)
    with pytest.raises(dtmf.NotFoundError):
        await call(number.end_rental)
    with pytest.raises(dtmf.NotFoundError):
        await call(number.refresh)

    with pytest.raises(dtmf.AuthenticationError) as unknown:
        await call(world.client("no-such-token").account.get)
    assert unknown.value.status_code == 401


INVALID: list[tuple[str, tuple[Any, ...], str]] = [
    ("numbers.get", ("447700900123",), "e164"),
    ("numbers.rent", ("",), "group_id"),
    ("groups.list", ("tollfree",), "group_type"),
    ("numbers.set_sms_action", (OTHER, "email", "x@example.org"), "action"),
    ("numbers.set_sms_action", (OTHER, "forward", "https://example.org"), "destination"),
    ("numbers.set_sms_action", (OTHER, "webhook", "ftp://example.org"), "destination"),
    ("numbers.set_sms_action", (OTHER, None, "+447700900124"), "destination"),
    ("messages.send", (OTHER, "0044", "hi"), "to_e164"),
    ("messages.send", (OTHER, NOT_RENTED, "x" * 161), "content"),
    ("messages.send", (OTHER, NOT_RENTED, "€" * 60), "content"),  # 'EUR' x 60 = 180
]


async def test_validation_errors_come_before_any_request(world: World) -> None:
    client = world.client()
    number = await call(client.numbers.rent, "us-mobile")
    requests = len(world.emu.requests)
    for operation, args, parameter in INVALID:
        resource, method = operation.split(".")
        with pytest.raises(dtmf.InvalidParameterError) as raised:
            await call(getattr(getattr(client, resource), method), *args)
        assert isinstance(raised.value, ValueError)
        assert raised.value.parameter == parameter, operation
    with pytest.raises(dtmf.InvalidParameterError, match="to_e164"):
        await call(number.send_sms, "not a number", "hi")
    with pytest.raises(dtmf.InvalidParameterError, match="destination"):
        await call(number.set_sms_action, "webhook", None)
    assert len(world.emu.requests) == requests
    await call(number.end_rental)


async def test_a_closed_client_refuses_calls(world: World) -> None:
    client = world.client()
    view = client.with_options(timeout=5)
    await call(client.account.get)
    await close(view)  # closing a view leaves the client's pool open
    assert not client.is_closed
    await call(view.account.get)

    await close(client)
    await close(client)  # idempotent
    assert client.is_closed
    assert view.is_closed
    assert "closed" in repr(client)
    for closed in (client, view):
        with pytest.raises(dtmf.ClientClosedError, match="is closed"):
            await call(closed.account.get)
    requests = len(world.emu.requests)
    with pytest.raises(dtmf.ClientClosedError):
        await call(client.messages.send, OTHER, NOT_RENTED, "hello")
    assert len(world.emu.requests) == requests


async def test_a_number_from_a_closed_client(world: World) -> None:
    client = world.client()
    number = await call(client.numbers.rent, "us-mobile")
    await close(client)
    with pytest.raises(dtmf.ClientClosedError):
        await call(number.refresh)
    with pytest.raises(dtmf.ClientClosedError):
        await call(number.send_sms, OTHER, "hello")
    # Bound to an open client, the same number acts again.
    number.bind(world.client())
    assert (await call(number.refresh)).e164 == number.e164
    await call(number.end_rental)


async def test_models_act_only_through_their_own_kind_of_client(world: World) -> None:
    client = world.client()
    number = await call(client.numbers.rent, "us-mobile")
    [group] = [g for g in await call(client.groups.list, "mobile") if g.id == "us-mobile"]

    # A model of one flavour refuses a client of the other kind (type checkers refuse it
    # too: tests/typing/check_inbound.py), and keeps acting through its own client.
    other_kind = dtmf.AsyncClient if world.kind == "sync" else dtmf.Client
    stranger = other_kind(world.token, base_url="http://127.0.0.1:9/api/v1")
    try:
        with pytest.raises(dtmf.UnboundModelError, match="acts through"):
            number.bind(stranger)
        with pytest.raises(dtmf.UnboundModelError, match="acts through"):
            group.bind(stranger)
    finally:
        await close(stranger)
    assert (await call(number.refresh)).e164 == number.e164

    # The other flavour of the same data cannot be bound to this client.
    other_class = dtmf.AsyncNumber if world.kind == "sync" else dtmf.Number
    with pytest.raises(dtmf.UnboundModelError, match="acts through"):
        other_class.model_validate(number.model_dump(by_alias=True)).bind(client)

    # A number built by hand acts once bound; the binding is not data.
    copy = world.number_class.model_validate(number.model_dump(by_alias=True))
    assert copy == number
    with pytest.raises(dtmf.UnboundModelError, match="not returned by a client"):
        await call(copy.refresh)
    copy.bind(client)
    assert (await call(copy.refresh)).e164 == number.e164
    assert copy.model_dump() == number.model_dump()
    await call(number.end_rental)
