"""A reference server ("emulator") of the DTMF.io API, for tests and demos.

It keeps accounts, deposit addresses, rentals and messages in memory, bills
rentals against a clock the test controls, delivers inbound SMS to webhooks over
real HTTP, and can be told to fail in chosen ways. It implements the wire
contract in `dtmf._contract`, validating requests with the SDK's own checks.

In-process, without sockets::

    with Emulator(seed=1) as emu:
        emu.add_account("token", balance=1_000_000)
        with emu.client("token") as client:
            number = client.numbers.rent("gb-mobile")
        emu.clock.advance(minutes=5)

On a port (`python -m dtmf.testing --port 8765` does the same from a shell)::

    with emu.serve(port=0) as base_url:
        ...  # http://127.0.0.1:<port>/api/v1

`openapi()` is the API's OpenAPI description, which a served emulator also answers
at ``GET /api/v1/openapi.json``.

The pytest plugin provides `dtmf_emulator` and `dtmf_client` fixtures.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from .._client import AsyncClient, Client, RequestOptions
from .._validate import check_e164
from ._asgi_app import ASGIApp
from ._faults import Fault, Faults
from ._server import Reply, RequestRecord, Server
from ._serving import check_bind, serve_in_thread
from ._state import Clock, State
from ._transports import AsyncTransport, SyncTransport

if TYPE_CHECKING:
    from typing_extensions import Self, Unpack

__all__ = [
    "AccountHandle",
    "Clock",
    "Emulator",
    "Fault",
    "Faults",
    "WebhookDelivery",
    "openapi",
    "serve_asgi",
]

IN_PROCESS_BASE_URL = "http://localhost/api/v1"  # never resolved: no socket is opened
WEBHOOK_TIMEOUT = 5.0


@contextlib.contextmanager
def serve_asgi(app: Any, host: str = "127.0.0.1", port: int = 0) -> Generator[str, None, None]:
    """Serve any ASGI app (e.g. a `dtmf.webhooks.asgi_app` receiver) on a loopback port.

    Runs uvicorn in a background thread; yields the root URL ('http://127.0.0.1:PORT')
    and stops the server on exit. Its access log (logger ``uvicorn.access``, INFO)
    never shows a webhook secret: each line's path has its last segment and every query
    value replaced by ``***``. Needs uvicorn (``pip install 'dtmf-io[testing]'``):
    without it, raises a `ConfigurationError` (also a `ModuleNotFoundError`) that says so.
    """
    with serve_in_thread(app, host, port, prefix="", redact_access_log=True) as url:
        yield url


def openapi() -> dict[str, Any]:
    """The API's OpenAPI 3.1 description, generated from the wire table and the models.

    The emulator serves the same document at ``GET /api/v1/openapi.json`` (no token);
    ``python -m dtmf.testing --openapi FILE`` writes it to a file.
    """
    from ._openapi import openapi as build

    return build()


@dataclass(frozen=True)
class WebhookDelivery:
    """One webhook call made for an inbound SMS: what was answered, and the reply sent."""

    url: str
    message_id: int
    status: int | None
    error: str | None
    reply: str | None
    """The reply SMS content sent back to the sender, or None when none was sent."""


class AccountHandle:
    """An emulated account, for a test to inspect and fund."""

    def __init__(self, state: State, token: str) -> None:
        self._state = state
        self.token = token

    @property
    def balance(self) -> int:
        """The balance in satoshis, with rentals billed up to now."""
        return self._state.balance(self.token)

    def credit(self, satoshis: int) -> int:
        """Add funds (as a Bitcoin deposit would); returns the new balance."""
        return self._state.credit(self.token, satoshis)

    def __repr__(self) -> str:
        return f"<AccountHandle balance={self.balance}>"


class Emulator:
    """An in-memory DTMF.io service. Deterministic when `seed` is given (and the clock frozen).

    `pool_size` is how many numbers each group can rent out; `clock` defaults to a
    frozen `Clock` that only `clock.advance()` moves. `history_lag=N` makes each
    stored message miss from its number's message list for a seeded random 0..N
    reads of it, like a service whose history lags (`stored_messages()` sees all).
    """

    base_url = IN_PROCESS_BASE_URL

    def __init__(
        self,
        *,
        seed: int | None = None,
        pool_size: int = 50,
        clock: Clock | None = None,
        webhook_timeout: float = WEBHOOK_TIMEOUT,
        history_lag: int = 0,
    ) -> None:
        self.clock: Clock = clock or Clock()
        self.faults: Faults = Faults()
        self.requests: list[RequestRecord] = []
        """Every request seen, in order (including ones a fault dropped)."""
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.webhook_timeout = webhook_timeout
        self.state: State = State(
            self.clock, random.Random(seed), pool_size, history_lag=history_lag
        )
        self.clock.on_advance(self.state.accrue)
        self.server: Server = Server(self.state, self.faults, self.requests)
        self.app: ASGIApp = ASGIApp(self.server)
        """The ASGI application, for uvicorn or any ASGI server."""
        self._http_clients: list[httpx.Client] = []
        self._async_http_clients: list[httpx.AsyncClient] = []
        self._lock = threading.Lock()

    # Accounts ----------------------------------------------------------------

    def add_account(self, token: str, *, balance: int = 0) -> AccountHandle:
        """Open an account known by `token`, with `balance` satoshis and one deposit address."""
        self.state.add_account(token, balance)
        return AccountHandle(self.state, token)

    def account(self, token: str) -> AccountHandle:
        """The handle of an existing account."""
        if not self.state.has_account(token):
            raise KeyError(f"no account with token {token!r}")
        return AccountHandle(self.state, token)

    def stored_messages(self, e164: str) -> list[dict[str, Any]]:
        """Every message stored on rented number `e164`, oldest first, even those the
        history lag still hides from its message list (what the service really did).

        Raises LookupError when no account rents `e164`.
        """
        return self.state.stored_messages(e164)

    # Clients -------------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> Reply:
        """Answer one request, sans I/O (`path` includes /api/v1; header names lower-case)."""
        fault = self.server.admit(method, path)
        return self.server.handle(method, path, query, headers, body, fault)

    def transport(self) -> httpx.BaseTransport:
        """An httpx transport that serves requests from this emulator, in-process."""
        return SyncTransport(self.server)

    def async_transport(self) -> httpx.AsyncBaseTransport:
        """An async httpx transport that serves requests from this emulator, in-process."""
        return AsyncTransport(self.server)

    def client(self, token: str, **options: Unpack[RequestOptions]) -> Client:
        """A `dtmf.Client` talking to this emulator in-process; `options` go to `Client`.

        Its httpx client belongs to the emulator and is closed by `close()`.
        """
        http = httpx.Client(transport=self.transport())
        with self._lock:
            self._http_clients.append(http)
        return Client(token, base_url=self.base_url, http_client=http, **options)

    def async_client(self, token: str, **options: Unpack[RequestOptions]) -> AsyncClient:
        """A `dtmf.AsyncClient` talking to this emulator in-process (asyncio or trio)."""
        http = httpx.AsyncClient(transport=self.async_transport())
        with self._lock:
            self._async_http_clients.append(http)
        return AsyncClient(token, base_url=self.base_url, http_client=http, **options)

    @contextlib.contextmanager
    def serve(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        control: bool = False,
        control_token: str | None = None,
        allow_remote: bool = False,
    ) -> Generator[str, None, None]:
        """Serve on a port in a background thread; yields the base URL (`port=0`: a free port).

        With `control`, the control API (``POST /_emulator/inbound``, ...; see
        `dtmf.testing._control`) is served too, for driving it from outside the process;
        with `control_token`, only to callers that send it as a Bearer token. A host
        other than loopback is refused unless `allow_remote` (then logged as a warning).
        Needs uvicorn (``pip install 'dtmf-io[testing]'``): without it, raises a
        `ConfigurationError` (also a `ModuleNotFoundError`) that says so.
        """
        check_bind(host, allow_remote)
        app = self.control_app(control_token) if control else self.app
        with serve_in_thread(app, host, port) as base_url:
            yield base_url

    def control_app(self, token: str | None = None) -> ASGIApp:
        """The ASGI application with the control API mounted under ``/_emulator``.

        With `token`, control requests must carry ``Authorization: Bearer <token>``.
        """
        from ._control import ControlApp

        return ControlApp(self, token)

    # Inbound SMS ---------------------------------------------------------------

    def simulate_inbound_sms(self, to: str, sender: str, content: str) -> dict[str, Any]:
        """Deliver an SMS to rented number `to`, apply its SMS action; returns the stored message.

        A webhook is POSTed to here, blocking (use `asimulate_inbound_sms` when the
        receiver runs in the caller's event loop).
        """
        outcome = self.state.receive_sms(
            check_e164(to, "to"), check_e164(sender, "sender"), content
        )
        if outcome.webhook is not None:
            payload = self._webhook_payload(outcome.message)
            with httpx.Client(**self._webhook_options()) as http:
                try:
                    response = http.post(outcome.webhook, json=payload)
                except httpx.HTTPError as exc:
                    self._record_failure(outcome.webhook, payload, exc)
                else:
                    self._handle_answer(outcome.webhook, payload, response)
        return outcome.message

    async def asimulate_inbound_sms(self, to: str, sender: str, content: str) -> dict[str, Any]:
        """`simulate_inbound_sms`, calling the webhook with an async client."""
        outcome = self.state.receive_sms(
            check_e164(to, "to"), check_e164(sender, "sender"), content
        )
        if outcome.webhook is not None:
            payload = self._webhook_payload(outcome.message)
            async with httpx.AsyncClient(**self._webhook_options()) as http:
                try:
                    response = await http.post(outcome.webhook, json=payload)
                except httpx.HTTPError as exc:
                    self._record_failure(outcome.webhook, payload, exc)
                else:
                    self._handle_answer(outcome.webhook, payload, response)
        return outcome.message

    def _webhook_options(self) -> dict[str, Any]:
        # No proxies from the environment: webhooks in tests point at loopback receivers.
        return {"timeout": self.webhook_timeout, "follow_redirects": False, "trust_env": False}

    @staticmethod
    def _webhook_payload(message: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": message["id"],
            "e164": message["to"],
            "sender": message["from"],
            "content": message["content"],
        }

    def _record_failure(self, url: str, payload: dict[str, Any], exc: Exception) -> None:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        self._record(WebhookDelivery(url, payload["id"], None, error, None))

    def _handle_answer(self, url: str, payload: dict[str, Any], response: httpx.Response) -> None:
        sent = None
        if response.is_success:
            sent = self.state.reply(payload["e164"], payload["sender"], response.text)
        reply: str | None = sent["content"] if sent is not None else None
        self._record(WebhookDelivery(url, payload["id"], response.status_code, None, reply))

    def _record(self, delivery: WebhookDelivery) -> None:
        with self._lock:
            self.webhook_deliveries.append(delivery)

    # Lifecycle -----------------------------------------------------------------

    def close(self) -> None:
        """Close the httpx clients made by `client()` (idempotent).

        The async ones hold nothing but an in-process transport; `aclose()` closes them too.
        """
        with self._lock:
            clients, self._http_clients = self._http_clients, []
        for http in clients:
            http.close()

    async def aclose(self) -> None:
        """Close every httpx client made by `client()` and `async_client()`."""
        self.close()
        with self._lock:
            clients, self._async_http_clients = self._async_http_clients, []
        for http in clients:
            await http.aclose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
