"""Sends that reconcile: after an ambiguous `send_sms` failure, look in the history.

A send that fails after its request may have reached the service (a dropped
connection, a read timeout, a 5xx) leaves one question: did the SMS go out? The
SDK never retries it blindly; this module answers the question from the sending
number's message history (`numbers.get(from).messages`).

The rule (`_Lookup.find`): the SMS counts as sent when the history holds a message

- sent by the number (outbound, not received),
- to the same recipient (`to`, or `other_number` in the service's later dialect),
- with the same text (as given, or as rendered to ASCII, which is what is sent),
- timestamped at or after `sent_after - clock_skew` (a message without a
  timestamp counts: it cannot be ruled out, and a wrong "not sent" would send twice).

The history may lag behind the send, so it is read up to `lookups` times,
`interval` seconds apart. Found: that message is returned (the earliest match).
Not found on any read: `SendNotFoundError`, and sending once more is safe, with
the limits in `docs/reconcile.md` (a request still in flight at the service, a
history that lags longer than the lookups, the same text sent to the same
recipient inside the window). The send itself is never retried here.

Sync and async share `_Lookup` (no I/O); they differ only in how they read the
number and sleep.
"""

from __future__ import annotations

import math
import time
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Literal, TypeAlias, cast

from ._errors import APIError, DTMFError, InvalidParameterError
from ._validate import check_content, check_e164, render_sms

if TYPE_CHECKING:
    from ._client import AsyncClient, Client
    from ._models import BaseNumber, Message
    from ._requester import AsyncRequester, SyncRequester

__all__ = [
    "AsyncReconcileMessages",
    "AsyncReconcileNumber",
    "OnAmbiguous",
    "ReconcileMessages",
    "ReconcileNumber",
    "SendNotFoundError",
]

OnAmbiguous: TypeAlias = Literal["raise", "check"]
"""What `send_sms` does when a send may or may not have happened: 'raise' the
`APIError` (its `may_have_succeeded` is true), or 'check' the message history."""

DEFAULT_CLOCK_SKEW = timedelta(seconds=30)
DEFAULT_LOOKUPS = 3
DEFAULT_INTERVAL = 1.0


class SendNotFoundError(DTMFError):
    """The SMS is not in the sending number's message history: it was not sent.

    Raised by `reconcile_send()` (and `send_sms(..., on_ambiguous="check")`) after
    `lookups` reads of the history found no outbound message to `to` with this
    content, timestamped at or after `sent_after - clock_skew`. Sending it once
    more is safe; a second failure needs a new check (with a new `sent_after`).
    """

    def __init__(
        self, from_e164: str, to: str, content: str, sent_after: datetime, lookups: int
    ) -> None:
        super().__init__(
            f"the SMS from {from_e164} to {to} was not sent: no such message is in "
            f"{from_e164}'s history (outbound to {to}, this content, timestamped at or after "
            f"{sent_after.isoformat()}) after {lookups} "
            f"{'lookup' if lookups == 1 else 'lookups'}. Sending it once more is safe."
        )
        self.from_e164 = from_e164
        self.to = to
        self.content = content
        self.sent_after = sent_after
        self.lookups = lookups


def _aware(value: object, parameter: str) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidParameterError(parameter, f"expected a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidParameterError(
            parameter, "must be timezone-aware, e.g. datetime.now(timezone.utc)"
        )
    return value


class _Lookup:
    """One reconciliation, sans I/O: the validated question and the rule that answers it."""

    def __init__(
        self,
        from_e164: str,
        to: str,
        content: str,
        *,
        sent_after: object,
        clock_skew: object,
        lookups: object,
        interval: object,
        to_parameter: str = "to",
    ) -> None:
        # `object`: callers' values are checked here, whatever their annotations said.
        # `to_parameter`: send_sms names `to` as messages.send does ('to_e164').
        self.from_e164 = check_e164(from_e164)
        self.to = check_e164(to, to_parameter)
        self.contents = {check_content(content), render_sms(content)}
        self.content = content
        start = _aware(sent_after, "sent_after")
        if not isinstance(clock_skew, timedelta) or clock_skew < timedelta(0):
            raise InvalidParameterError("clock_skew", "must be a timedelta of zero or more")
        if isinstance(lookups, bool) or not isinstance(lookups, int) or lookups < 1:
            raise InvalidParameterError("lookups", f"must be an int of 1 or more, got {lookups!r}")
        if (
            isinstance(interval, bool)
            or not isinstance(interval, (int, float))
            or not math.isfinite(interval)
            or interval < 0
        ):
            raise InvalidParameterError("interval", f"must be seconds >= 0, got {interval!r}")
        self.earliest = start - clock_skew
        self.lookups = lookups
        self.interval = float(interval)

    def find(self, number: BaseNumber) -> Message | None:
        """The earliest message of `number`'s history that is this send, or None."""
        for message in number.messages:
            if message.is_inbound_to(number.e164):
                continue
            recipient = message.to if message.to is not None else message.other_number
            if recipient != self.to or message.content not in self.contents:
                continue
            stamp = message.timestamp
            if stamp is None or stamp >= self.earliest:
                return message
        return None

    def not_found(self) -> SendNotFoundError:
        return SendNotFoundError(self.from_e164, self.to, self.content, self.earliest, self.lookups)


def _check_on_ambiguous(on_ambiguous: object) -> OnAmbiguous:
    if on_ambiguous == "raise":
        return "raise"
    if on_ambiguous == "check":
        return "check"
    raise InvalidParameterError("on_ambiguous", f"is 'raise' or 'check', not {on_ambiguous!r}")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _reconcile(client: Client, lookup: _Lookup) -> Message:
    for attempt in range(lookup.lookups):
        if attempt:
            time.sleep(lookup.interval)
        found = lookup.find(client.numbers.get(lookup.from_e164))
        if found is not None:
            return found
    raise lookup.not_found()


async def _areconcile(client: AsyncClient, lookup: _Lookup) -> Message:
    import anyio  # loaded by async code only: `import dtmf` stays lean

    for attempt in range(lookup.lookups):
        if attempt:
            await anyio.sleep(lookup.interval)
        found = lookup.find(await client.numbers.get(lookup.from_e164))
        if found is not None:
            return found
    raise lookup.not_found()


def _unsure(exc: APIError, on_ambiguous: OnAmbiguous) -> bool:
    """Whether a failed send is to be checked: 'check' asked, and it may have gone out."""
    return on_ambiguous == "check" and exc.may_have_succeeded


class ReconcileMessages:
    """`client.messages.reconcile_send()`: was an SMS sent? (the hand-written part)."""

    __slots__ = ()

    if TYPE_CHECKING:
        _requester: SyncRequester

    def _owner(self) -> Client:
        return cast("Client", self._requester.owner)

    def reconcile_send(
        self,
        e164: str,
        to: str,
        content: str,
        *,
        sent_after: datetime,
        clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
        lookups: int = DEFAULT_LOOKUPS,
        interval: float = DEFAULT_INTERVAL,
    ) -> Message:
        """Find an SMS that `e164` may have sent, in its message history; never sends.

        Call it after a send failed with `may_have_succeeded` true. The SMS counts as
        sent when the history holds an outbound message to `to` with this content
        (as given or as rendered to ASCII), timestamped at or after `sent_after -
        clock_skew`, or with no timestamp. The history is read up to `lookups` times,
        `interval` seconds apart, since it may lag behind the send.

        Args:
            e164: The number you rent that sent it, in E.164 form.
            to: The recipient, in E.164 form.
            content: The text that was sent.
            sent_after: An aware datetime taken just before the send (this machine's clock).
            clock_skew: How far the service's clock may be behind this machine's.
            lookups: How many times to read the history before concluding "not sent".
            interval: Seconds between lookups.

        Returns:
            The message found (the earliest that matches).

        Raises:
            InvalidParameterError: a parameter is malformed (raised before any request).
            SendNotFoundError: no such message: it was not sent; sending once more is safe.
            NotFoundError: your account does not rent `e164`.

        Example:
            ``message = client.messages.reconcile_send(e164, to, "Hi", sent_after=started)``
        """
        lookup = _Lookup(
            e164, to, content, sent_after=sent_after, clock_skew=clock_skew, lookups=lookups,
            interval=interval,
        )  # fmt: skip
        return _reconcile(self._owner(), lookup)


class AsyncReconcileMessages:
    """`await client.messages.reconcile_send()`: was an SMS sent? (the hand-written part)."""

    __slots__ = ()

    if TYPE_CHECKING:
        _requester: AsyncRequester

    def _owner(self) -> AsyncClient:
        return cast("AsyncClient", self._requester.owner)

    async def reconcile_send(
        self,
        e164: str,
        to: str,
        content: str,
        *,
        sent_after: datetime,
        clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
        lookups: int = DEFAULT_LOOKUPS,
        interval: float = DEFAULT_INTERVAL,
    ) -> Message:
        """Find an SMS that `e164` may have sent, in its message history; never sends.

        Call it after a send failed with `may_have_succeeded` true. The SMS counts as
        sent when the history holds an outbound message to `to` with this content
        (as given or as rendered to ASCII), timestamped at or after `sent_after -
        clock_skew`, or with no timestamp. The history is read up to `lookups` times,
        `interval` seconds apart (other tasks run meanwhile).

        Args:
            e164: The number you rent that sent it, in E.164 form.
            to: The recipient, in E.164 form.
            content: The text that was sent.
            sent_after: An aware datetime taken just before the send (this machine's clock).
            clock_skew: How far the service's clock may be behind this machine's.
            lookups: How many times to read the history before concluding "not sent".
            interval: Seconds between lookups.

        Returns:
            The message found (the earliest that matches).

        Raises:
            InvalidParameterError: a parameter is malformed (raised before any request).
            SendNotFoundError: no such message: it was not sent; sending once more is safe.
            NotFoundError: your account does not rent `e164`.

        Example:
            ``message = await client.messages.reconcile_send(e164, to, "Hi", sent_after=t)``
        """
        lookup = _Lookup(
            e164, to, content, sent_after=sent_after, clock_skew=clock_skew, lookups=lookups,
            interval=interval,
        )  # fmt: skip
        return await _areconcile(self._owner(), lookup)


class ReconcileNumber:
    """`number.send_sms(..., on_ambiguous=...)` and `number.reconcile_send()`."""

    __slots__ = ()

    if TYPE_CHECKING:
        e164: str

        def _client(self) -> Client: ...

    def send_sms(
        self,
        to: str,
        content: str,
        *,
        on_ambiguous: OnAmbiguous = "raise",
        clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
        lookups: int = DEFAULT_LOOKUPS,
        interval: float = DEFAULT_INTERVAL,
    ) -> Message | None:
        """Send an SMS from this number (at most 160 characters once rendered to ASCII).

        Never retried after a failure that may have reached the service, so one call
        never sends the SMS twice. With ``on_ambiguous="check"``, such a failure is
        answered from this number's message history instead (see `reconcile_send`):
        the message found is returned, or `SendNotFoundError` says it was not sent.

        Args:
            to: The recipient, in E.164 form.
            content: The text; non-ASCII characters are transliterated to ASCII.
            on_ambiguous: 'raise' the `APIError` of a send that may have happened, or
                'check' the history for it.
            clock_skew: With 'check': how far the service's clock may be behind this
                machine's.
            lookups: With 'check': how many reads of the history before "not sent".
            interval: With 'check': seconds between those reads.

        Returns:
            None when the service confirmed the send; with 'check', the `Message` found
            in the history after an ambiguous failure.

        Raises:
            InvalidParameterError: a number is not E.164, the content is too long, or
                an option is malformed (raised before any request).
            SendNotFoundError: ('check') the send failed and the SMS is not in the
                history: it was not sent, and sending once more is safe.
            APIError: the call failed; its `may_have_succeeded` says whether to check
                first. With 'check', raised as well when the history could not be read
                (the lookup's error is its `__context__`).

        Example:
            ``number.send_sms("+447700900999", "Hello", on_ambiguous="check")``
        """
        mode = _check_on_ambiguous(on_ambiguous)
        lookup = _Lookup(
            self.e164, to, content, sent_after=_now(), clock_skew=clock_skew, lookups=lookups,
            interval=interval, to_parameter="to_e164",
        )  # fmt: skip
        client = self._client()
        try:
            client.messages.send(self.e164, to, content)
        except APIError as exc:
            if not _unsure(exc, mode):
                raise
            try:
                return _reconcile(client, lookup)
            except APIError:
                raise exc from None  # the history could not be read: still unknown
        return None

    def reconcile_send(
        self,
        to: str,
        content: str,
        *,
        sent_after: datetime,
        clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
        lookups: int = DEFAULT_LOOKUPS,
        interval: float = DEFAULT_INTERVAL,
    ) -> Message:
        """Find an SMS this number may have sent, in its message history; never sends.

        The rule and its limits are those of `client.messages.reconcile_send`.

        Args:
            to: The recipient, in E.164 form.
            content: The text that was sent.
            sent_after: An aware datetime taken just before the send (this machine's clock).
            clock_skew: How far the service's clock may be behind this machine's.
            lookups: How many times to read the history before concluding "not sent".
            interval: Seconds between lookups.

        Raises:
            InvalidParameterError: a parameter is malformed (raised before any request).
            SendNotFoundError: no such message: it was not sent; sending once more is safe.

        Example:
            ``message = number.reconcile_send("+447700900999", "Hello", sent_after=started)``
        """
        return self._client().messages.reconcile_send(
            self.e164, to, content, sent_after=sent_after, clock_skew=clock_skew,
            lookups=lookups, interval=interval,
        )  # fmt: skip


class AsyncReconcileNumber:
    """`await number.send_sms(..., on_ambiguous=...)` and `await number.reconcile_send()`."""

    __slots__ = ()

    if TYPE_CHECKING:
        e164: str

        def _client(self) -> AsyncClient: ...

    async def send_sms(
        self,
        to: str,
        content: str,
        *,
        on_ambiguous: OnAmbiguous = "raise",
        clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
        lookups: int = DEFAULT_LOOKUPS,
        interval: float = DEFAULT_INTERVAL,
    ) -> Message | None:
        """Send an SMS from this number (at most 160 characters once rendered to ASCII).

        Never retried after a failure that may have reached the service, so one call
        never sends the SMS twice. With ``on_ambiguous="check"``, such a failure is
        answered from this number's message history instead (see `reconcile_send`):
        the message found is returned, or `SendNotFoundError` says it was not sent.

        Args:
            to: The recipient, in E.164 form.
            content: The text; non-ASCII characters are transliterated to ASCII.
            on_ambiguous: 'raise' the `APIError` of a send that may have happened, or
                'check' the history for it.
            clock_skew: With 'check': how far the service's clock may be behind this
                machine's.
            lookups: With 'check': how many reads of the history before "not sent".
            interval: With 'check': seconds between those reads.

        Returns:
            None when the service confirmed the send; with 'check', the `Message` found
            in the history after an ambiguous failure.

        Raises:
            InvalidParameterError: a number is not E.164, the content is too long, or
                an option is malformed (raised before any request).
            SendNotFoundError: ('check') the send failed and the SMS is not in the
                history: it was not sent, and sending once more is safe.
            APIError: the call failed; its `may_have_succeeded` says whether to check
                first. With 'check', raised as well when the history could not be read
                (the lookup's error is its `__context__`).

        Example:
            ``await number.send_sms("+447700900999", "Hello", on_ambiguous="check")``
        """
        mode = _check_on_ambiguous(on_ambiguous)
        lookup = _Lookup(
            self.e164, to, content, sent_after=_now(), clock_skew=clock_skew, lookups=lookups,
            interval=interval, to_parameter="to_e164",
        )  # fmt: skip
        client = self._client()
        try:
            await client.messages.send(self.e164, to, content)
        except APIError as exc:
            if not _unsure(exc, mode):
                raise
            try:
                return await _areconcile(client, lookup)
            except APIError:
                raise exc from None  # the history could not be read: still unknown
        return None

    async def reconcile_send(
        self,
        to: str,
        content: str,
        *,
        sent_after: datetime,
        clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
        lookups: int = DEFAULT_LOOKUPS,
        interval: float = DEFAULT_INTERVAL,
    ) -> Message:
        """Find an SMS this number may have sent, in its message history; never sends.

        The rule and its limits are those of `client.messages.reconcile_send`.

        Args:
            to: The recipient, in E.164 form.
            content: The text that was sent.
            sent_after: An aware datetime taken just before the send (this machine's clock).
            clock_skew: How far the service's clock may be behind this machine's.
            lookups: How many times to read the history before concluding "not sent".
            interval: Seconds between lookups.

        Raises:
            InvalidParameterError: a parameter is malformed (raised before any request).
            SendNotFoundError: no such message: it was not sent; sending once more is safe.

        Example:
            ``message = await number.reconcile_send("+447700900999", "Hi", sent_after=t)``
        """
        return await self._client().messages.reconcile_send(
            self.e164, to, content, sent_after=sent_after, clock_skew=clock_skew,
            lookups=lookups, interval=interval,
        )  # fmt: skip
