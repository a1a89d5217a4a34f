"""The service's objects as validated pydantic models.

Every model keeps fields it does not know (`model_extra`), so a newer service
never breaks an older SDK. Costs are `int` satoshis. Timestamps are aware UTC
datetimes.

`Number` and `Group` come in two flavours that share their fields: the ones a
`Client` returns act through it synchronously (`number.end_rental()`), the
`AsyncNumber` and `AsyncGroup` an `AsyncClient` returns have coroutine actions
(`await number.end_rental()`). Both inherit their data from `BaseNumber` and
`BaseGroup`; annotate with those when code handles either.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, ClassVar, NamedTuple, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, Strict, computed_field

from ._binding import Bindable
from ._timestamps import OptionalTimestamp, parse_timestamp
from ._validate import SmsActionName

if TYPE_CHECKING:
    from typing_extensions import Self

    from ._client import AsyncClient, Client
    from ._waiting import MessageMatch, MessageMatcher

__all__ = [
    "Account",
    "Address",
    "AsyncGroup",
    "AsyncNumber",
    "BaseGroup",
    "BaseNumber",
    "Call",
    "Group",
    "InboundSMS",
    "Message",
    "Number",
    "SmsAction",
]

# A satoshi amount is a JSON integer. The service's later revision sends some costs
# as decimal strings in a fiat currency; those arrive as Decimal, never as float.
Amount: TypeAlias = Annotated[int, Strict()] | Decimal


class DTMFModel(BaseModel):
    """Base of every model: unknown fields are kept, not rejected."""

    # Schemas are built on first use, not at import (`import dtmf` stays lean).
    model_config: ClassVar[ConfigDict] = ConfigDict(
        extra="allow", populate_by_name=True, defer_build=True
    )


class Account(DTMFModel):
    """Your account: its balance in satoshis."""

    balance: int
    """Balance in satoshis (1 BTC = 100,000,000 satoshis)."""


class Address(DTMFModel):
    """A Bitcoin address that credits your account when paid."""

    address: str


class Message(DTMFModel):
    """An SMS sent or received by a rented number.

    The documented shape has `from_` (wire name ``from``), `to`, `success` and
    `cost`; the service's later revision has `id`, `other_number`, `inbound` and
    `status`. Whichever the service sends is filled in, the rest is None.
    """

    content: str
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    success: bool | None = None
    cost: int | None = None
    id: int | None = None
    other_number: str | None = None
    inbound: bool | None = None
    status: str | None = None
    # The wire value, parsed by pydantic-core when it is ISO 8601 and kept as text
    # otherwise; `timestamp` turns it into an aware datetime when read. A Python
    # validator per message would cost more than parsing the message itself.
    timestamp_on_wire: datetime | str | None = Field(
        default=None,
        alias="timestamp",
        exclude=True,
        repr=False,
        union_mode="left_to_right",
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def timestamp(self) -> datetime | None:
        """When the message was sent or received, in UTC; None when the service gave none."""
        try:
            return parse_timestamp(self.timestamp_on_wire)
        except ValueError:
            return None

    def is_inbound_to(self, e164: str) -> bool:
        """Whether this message was received by `e164` (rather than sent from it)."""
        if self.inbound is not None:
            return self.inbound
        return self.to == e164


class Call(DTMFModel):
    """A voice call on a rented number (the service's later revision only)."""

    id: int | None = None
    other_number: str | None = None
    inbound: bool | None = None
    start_timestamp: OptionalTimestamp = None
    duration: int | None = None
    status: str | None = None


class InboundSMS(DTMFModel):
    """The body the service POSTs to a number's webhook when it receives an SMS."""

    id: int
    e164: str
    sender: str
    content: str


class SmsAction(NamedTuple):
    """What a number does with an inbound SMS, as `set_sms_action()` takes it.

    `action` is 'forward' (to the E.164 number in `destination`), 'webhook' (a POST
    to the URL in `destination`) or None (the message is only stored).
    """

    action: SmsActionName | None
    destination: str | None


_URL = re.compile(r"https?://", re.IGNORECASE)


class BaseGroup(DTMFModel):
    """A group of phone numbers to rent from: a country and a type, with its costs."""

    id: str
    type: str
    """'mobile' or 'local' (kept as text: a new type from the service is not an error)."""
    name: str
    country_code: str
    sms_support: bool
    voice_support: bool
    setup_cost: int
    """Satoshis debited when a rental starts."""
    rental_cost_per_minute: int
    """Satoshis per minute of rental."""
    cost_per_inbound_message: int | None = None
    cost_per_inbound_call_minute: int | None = None


class BaseNumber(DTMFModel):
    """A phone number rented by your account, with its messages."""

    e164: str
    group_id: str | None = None
    sms: bool | None = None
    cost_per_minute: int | None = None
    cost_per_inbound_message: Amount | None = None
    assignment_start: OptionalTimestamp = None
    sms_forwarded_to: str | None = None
    messages: list[Message] = Field(default_factory=list[Message])
    # Fields of the service's later revision.
    id: int | None = None
    identifier: str | None = None
    voice: bool | None = None
    cost_per_month: Amount | None = None
    next_renewal: OptionalTimestamp = None
    calls: list[Call] = Field(default_factory=list[Call])

    @property
    def sms_action(self) -> SmsAction:
        """`sms_forwarded_to` decoded: forward to a number, POST to a webhook, or neither."""
        target = self.sms_forwarded_to
        if not target:
            return SmsAction(None, None)
        if _URL.match(target):
            return SmsAction("webhook", target)
        return SmsAction("forward", target)

    @property
    def inbound_messages(self) -> list[Message]:
        """The messages this number received, oldest first as the service lists them."""
        return [m for m in self.messages if m.is_inbound_to(self.e164)]


def _client_class() -> type[Client]:
    from ._client import Client

    return Client


def _async_client_class() -> type[AsyncClient]:
    from ._client import AsyncClient

    return AsyncClient


class Number(Bindable, BaseNumber):
    """A rented number returned by a `Client`; its actions run through that client."""

    __slots__ = ("_dtmf_client",)

    def bind(self, client: Client) -> Self:
        """Make this number act through `client` (for numbers built by hand or unpickled)."""
        self._bind_to(client, _client_class())
        return self

    def _client(self) -> Client:
        return self._bound(_client_class())

    def refresh(self) -> Number:
        """Fetch this number again: its current settings and messages."""
        return self._client().numbers.get(self.e164)

    def end_rental(self) -> None:
        """End this rental: billing stops and the number is released."""
        self._client().numbers.end_rental(self.e164)

    def set_sms_action(self, action: SmsActionName | None, destination: str | None = None) -> None:
        """Forward inbound SMS to a number, POST them to a webhook, or (None) only store them."""
        self._client().numbers.set_sms_action(self.e164, action, destination)

    def send_sms(self, to: str, content: str) -> None:
        """Send an SMS from this number to `to` (E.164)."""
        self._client().messages.send(self.e164, to, content)

    def wait_for_message(
        self,
        *,
        timeout: float = 60.0,
        match: MessageMatcher | None = None,
        since: datetime | None = None,
    ) -> MessageMatch:
        """Wait for a new inbound SMS to this number and return it.

        `match` picks the message: a substring of its content, a compiled regex (its
        first group becomes `.code`) or a predicate on the `Message`. Only messages
        that arrive after the call count (or, with `since`, are timestamped later);
        raises `MessageTimeoutError` after `timeout` seconds.
        """
        from ._waiting import wait_for_message

        return wait_for_message(self, timeout=timeout, match=match, since=since)


class AsyncNumber(Bindable, BaseNumber):
    """A rented number returned by an `AsyncClient`; its actions are coroutines."""

    __slots__ = ("_dtmf_client",)

    def bind(self, client: AsyncClient) -> Self:
        """Make this number act through `client` (for numbers built by hand or unpickled)."""
        self._bind_to(client, _async_client_class())
        return self

    def _client(self) -> AsyncClient:
        return self._bound(_async_client_class())

    async def refresh(self) -> AsyncNumber:
        """Fetch this number again: its current settings and messages."""
        return await self._client().numbers.get(self.e164)

    async def end_rental(self) -> None:
        """End this rental: billing stops and the number is released."""
        await self._client().numbers.end_rental(self.e164)

    async def set_sms_action(
        self, action: SmsActionName | None, destination: str | None = None
    ) -> None:
        """Forward inbound SMS to a number, POST them to a webhook, or (None) only store them."""
        await self._client().numbers.set_sms_action(self.e164, action, destination)

    async def send_sms(self, to: str, content: str) -> None:
        """Send an SMS from this number to `to` (E.164)."""
        await self._client().messages.send(self.e164, to, content)

    async def wait_for_message(
        self,
        *,
        timeout: float = 60.0,
        match: MessageMatcher | None = None,
        since: datetime | None = None,
    ) -> MessageMatch:
        """`Number.wait_for_message()` for async code (asyncio or trio)."""
        from ._waiting import async_wait_for_message

        return await async_wait_for_message(self, timeout=timeout, match=match, since=since)


class Group(Bindable, BaseGroup):
    """A number group returned by a `Client`; `rent()` rents a number from it."""

    __slots__ = ("_dtmf_client",)

    def bind(self, client: Client) -> Self:
        """Make this group act through `client`."""
        self._bind_to(client, _client_class())
        return self

    def rent(self) -> Number:
        """Rent a number from this group (debits `setup_cost`)."""
        return self._bound(_client_class()).numbers.rent(self.id)


class AsyncGroup(Bindable, BaseGroup):
    """A number group returned by an `AsyncClient`; `await rent()` rents a number from it."""

    __slots__ = ("_dtmf_client",)

    def bind(self, client: AsyncClient) -> Self:
        """Make this group act through `client`."""
        self._bind_to(client, _async_client_class())
        return self

    async def rent(self) -> AsyncNumber:
        """Rent a number from this group (debits `setup_cost`)."""
        return await self._bound(_async_client_class()).numbers.rent(self.id)
