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
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, ClassVar, NamedTuple, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, Strict, computed_field

from ._binding import Bindable
from ._errors import InvalidParameterError
from ._resources import AsyncGroupActions, AsyncNumberActions, GroupActions, NumberActions
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
        extra="allow", populate_by_name=True, defer_build=True, use_attribute_docstrings=True
    )


class Account(DTMFModel):
    """Your account: its balance in satoshis."""

    balance: int
    """Balance in satoshis (1 BTC = 100,000,000 satoshis)."""


class Address(DTMFModel):
    """A Bitcoin address that credits your account when paid."""

    address: str
    """The Bitcoin address (Base58Check or bech32) to pay; each payment credits your balance."""


class Message(DTMFModel):
    """An SMS sent or received by a rented number.

    The documented shape has `from_` (wire name ``from``), `to`, `success` and
    `cost`; the service's later revision has `id`, `other_number`, `inbound` and
    `status`. Whichever the service sends is filled in, the rest is None.
    """

    content: str
    """The text of the SMS."""
    from_: str | None = Field(default=None, alias="from")
    """The sender, E.164 (wire name ``from``; documented dialect)."""
    to: str | None = None
    """The recipient, E.164 (documented dialect)."""
    success: bool | None = None
    """Whether delivery succeeded (documented dialect)."""
    cost: int | None = None
    """What the message cost, in satoshis (documented dialect)."""
    id: int | None = None
    """The service's id of the message (later dialect)."""
    other_number: str | None = None
    """The other party, E.164: the sender if `inbound`, else the recipient (later dialect)."""
    inbound: bool | None = None
    """True if the rented number received it, False if it sent it (later dialect)."""
    status: str | None = None
    """Delivery status as the service words it, e.g. 'delivered' (later dialect)."""
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
    """The timestamp as the service sent it; read `timestamp` instead."""

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
    """The service's id of the call."""
    other_number: str | None = None
    """The other party, E.164."""
    inbound: bool | None = None
    """True if the rented number was called, False if it called."""
    start_timestamp: OptionalTimestamp = None
    """When the call started: an aware datetime in UTC."""
    duration: int | None = None
    """Length of the call, in seconds."""
    status: str | None = None
    """The call's status as the service words it, e.g. 'completed'."""


class InboundSMS(DTMFModel):
    """The body the service POSTs to a number's webhook when it receives an SMS."""

    id: int
    """The message id: the same on a repeated delivery (receivers dedupe on it)."""
    e164: str
    """Your rented number that received the SMS, E.164."""
    sender: str
    """Who sent it, E.164."""
    content: str
    """The text of the SMS."""


class SmsAction(NamedTuple):
    """What a number does with an inbound SMS, as `set_sms_action()` takes it.

    `action` is 'forward' (to the E.164 number in `destination`), 'webhook' (a POST
    to the URL in `destination`) or None (the message is only stored).
    """

    action: SmsActionName | None
    destination: str | None


_URL = re.compile(r"https?://", re.IGNORECASE)


def _moment(now: object) -> datetime:
    """`now` checked to be an aware datetime; None is this moment, in UTC."""
    if now is None:
        return datetime.now(timezone.utc)
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise InvalidParameterError("now", "must be a timezone-aware datetime")
    return now


class BaseGroup(DTMFModel):
    """A group of phone numbers to rent from: a country and a type, with its costs."""

    id: str
    """The group's id, passed to `numbers.rent()`, e.g. 'gb-mobile'."""
    type: str
    """'mobile' or 'local' (kept as text: a new type from the service is not an error)."""
    name: str
    """A readable name, e.g. 'United Kingdom (mobile)'."""
    country_code: str
    """The country's ISO 3166 code, e.g. 'GB'."""
    sms_support: bool
    """Whether numbers of this group can send and receive SMS."""
    voice_support: bool
    """Whether numbers of this group can make and receive calls."""
    setup_cost: int
    """Satoshis debited when a rental starts."""
    rental_cost_per_minute: int
    """Satoshis per minute of rental."""
    cost_per_inbound_message: int | None = None
    """Satoshis per SMS received; None where SMS is not supported."""
    cost_per_inbound_call_minute: int | None = None
    """Satoshis per minute of a received call; None where voice is not supported."""


class BaseNumber(DTMFModel):
    """A phone number rented by your account, with its messages."""

    e164: str
    """The number, E.164, e.g. '+447700900001'."""
    group_id: str | None = None
    """The id of the group it was rented from."""
    sms: bool | None = None
    """Whether it can send and receive SMS."""
    cost_per_minute: int | None = None
    """Satoshis per minute of rental."""
    cost_per_inbound_message: Amount | None = None
    """Per SMS received: int satoshis, or a Decimal in fiat in the later dialect."""
    assignment_start: OptionalTimestamp = None
    """When the rental started: an aware datetime in UTC."""
    sms_forwarded_to: str | None = None
    """Where inbound SMS go: an E.164 number, a webhook URL, or None (see `sms_action`)."""
    messages: list[Message] = Field(default_factory=list[Message])
    """Its SMS, sent and received, oldest first."""
    # Fields of the service's later revision.
    id: int | None = None
    """The service's id of the rental (later dialect)."""
    identifier: str | None = None
    """A label the service may give the number (later dialect)."""
    voice: bool | None = None
    """Whether it can make and receive calls (later dialect)."""
    cost_per_month: Amount | None = None
    """Rental per month: a Decimal in fiat (later dialect); int satoshis otherwise."""
    next_renewal: OptionalTimestamp = None
    """When the rental renews: an aware datetime in UTC (later dialect)."""
    calls: list[Call] = Field(default_factory=list[Call])
    """Its voice calls (later dialect)."""

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

    def age(self, now: datetime | None = None) -> timedelta:
        """How long the rental has run: from `assignment_start` to `now` (default: now).

        A timedelta of zero when the service gave no `assignment_start` (its age is
        unknown; `numbers.end_older_than()` never ends such a rental), or when `now`
        is before the start.

        Raises:
            InvalidParameterError: `now` is not a timezone-aware datetime.
        """
        moment = _moment(now)
        if self.assignment_start is None:
            return timedelta(0)
        return max(timedelta(0), moment - self.assignment_start)

    def cost_so_far(self, now: datetime | None = None) -> int:
        """What the rental has cost up to `now` (default: now), in satoshis, as far as known.

        `cost_per_minute` for each whole minute of `age()` (a started minute is not
        counted: the docs do not say how the service rounds), plus the `cost` of each
        of its messages. Not included, because a number does not carry them: the
        group's `setup_cost` (see `client.groups.list()`), and costs given as fiat
        decimals (the service's later dialect) or not at all, which count as 0.

        Raises:
            InvalidParameterError: `now` is not a timezone-aware datetime.
        """
        minutes = int(self.age(now).total_seconds() // 60)
        rate = self.cost_per_minute if isinstance(self.cost_per_minute, int) else 0
        messages = sum(m.cost for m in self.messages if isinstance(m.cost, int))
        return minutes * rate + messages


def _client_class() -> type[Client]:
    from ._client import Client

    return Client


def _async_client_class() -> type[AsyncClient]:
    from ._client import AsyncClient

    return AsyncClient


class Number(Bindable, BaseNumber, NumberActions):
    """A rented number returned by a `Client`; its actions run through that client."""

    __slots__ = ("_dtmf_client",)

    def bind(self, client: Client) -> Self:
        """Make this number act through `client` (for numbers built by hand or unpickled).

        Raises:
            UnboundModelError: `client` is not a `Client` (an `AsyncNumber` takes an
                `AsyncClient`).
        """
        self._bind_to(client, _client_class())
        return self

    def _client(self) -> Client:
        return self._bound(_client_class())

    def wait_for_message(
        self,
        *,
        timeout: float = 60.0,
        match: MessageMatcher | None = None,
        since: datetime | None = None,
    ) -> MessageMatch:
        """Wait for a new inbound SMS to this number and return it.

        Args:
            timeout: Seconds to wait before giving up.
            match: Picks the message: a substring of its content, a compiled regex
                (its first group becomes `.code`) or a predicate on the `Message`.
            since: Count messages timestamped at or after this time, instead of
                only those that arrive after the call.

        Raises:
            MessageTimeoutError: no matching message within `timeout` seconds.

        Example:
            ``code = number.wait_for_message(match=re.compile(r"(\\d{6})")).code``
        """
        from ._waiting import wait_for_message

        return wait_for_message(self, timeout=timeout, match=match, since=since)


class AsyncNumber(Bindable, BaseNumber, AsyncNumberActions):
    """A rented number returned by an `AsyncClient`; its actions are coroutines."""

    __slots__ = ("_dtmf_client",)

    def bind(self, client: AsyncClient) -> Self:
        """Make this number act through `client` (for numbers built by hand or unpickled).

        Raises:
            UnboundModelError: `client` is not an `AsyncClient`.
        """
        self._bind_to(client, _async_client_class())
        return self

    def _client(self) -> AsyncClient:
        return self._bound(_async_client_class())

    async def wait_for_message(
        self,
        *,
        timeout: float = 60.0,
        match: MessageMatcher | None = None,
        since: datetime | None = None,
    ) -> MessageMatch:
        """Wait for a new inbound SMS to this number and return it (asyncio or trio).

        Args:
            timeout: Seconds to wait before giving up; other tasks run meanwhile.
            match: Picks the message: a substring of its content, a compiled regex
                (its first group becomes `.code`) or a predicate on the `Message`.
            since: Count messages timestamped at or after this time, instead of
                only those that arrive once the call is awaited.

        Raises:
            MessageTimeoutError: no matching message within `timeout` seconds.

        Example:
            ``code = (await number.wait_for_message(match="code")).code``
        """
        from ._waiting import async_wait_for_message

        return await async_wait_for_message(self, timeout=timeout, match=match, since=since)


class Group(Bindable, BaseGroup, GroupActions):
    """A number group returned by a `Client`; `rent()` rents a number from it."""

    __slots__ = ("_dtmf_client",)

    def bind(self, client: Client) -> Self:
        """Make this group act through `client` (for groups built by hand or unpickled)."""
        self._bind_to(client, _client_class())
        return self

    def _client(self) -> Client:
        return self._bound(_client_class())


class AsyncGroup(Bindable, BaseGroup, AsyncGroupActions):
    """A number group returned by an `AsyncClient`; `await rent()` rents a number from it."""

    __slots__ = ("_dtmf_client",)

    def bind(self, client: AsyncClient) -> Self:
        """Make this group act through `client` (for groups built by hand or unpickled)."""
        self._bind_to(client, _async_client_class())
        return self

    def _client(self) -> AsyncClient:
        return self._bound(_async_client_class())
