"""`dtmf listen`: deliver a number's inbound SMS to a local webhook, as the service would.

For local development, where the service cannot reach a laptop: the number's
messages are polled, each new inbound one is POSTed to a local URL in the
documented webhook format ``{"id", "e164", "sender", "content"}``, and a
non-empty 2xx answer is sent back to the sender as an SMS (rendered and cut
like the service does, `dtmf.webhooks.reply_text`).

The decisions are kept apart from the I/O: `Inbox` says which polled messages
are new (by id, or by content when the service gives none), `Outbox` holds what
is still to deliver and when to try again. `Listener` only polls, POSTs, replies
and sleeps; each outcome is reported as an event (`Delivered`, `Retrying`,
`PollFailed`) for the command to print.

Nothing is lost silently: the starting point is the number as fetched when
listening starts (a message arriving while the first polls fail is still new),
a stop request during a delivery lets it finish (`request_stop`), a delivery
cut short is remembered (`in_flight`), and `fates()` says what became of every
message seen, for the summary.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import TypeAlias

import httpx

from .._asgi import redacted_path
from .._client import Client
from .._documented import message_dict
from .._errors import APIConnectionError, APIError, DTMFError, InternalServerError, RateLimitError
from .._models import InboundSMS, Message
from .._waiting import NewMessages
from ..webhooks import reply_text

__all__ = [
    "Delivered",
    "Event",
    "Fate",
    "Inbox",
    "Listener",
    "Outbox",
    "PollFailed",
    "Retrying",
    "redacted_url",
]

# Answers that mean "the app is not there right now" (a proxy or a restarting
# server): the message is tried again. Any other answer is a delivery.
RETRY_STATUSES = frozenset({502, 503, 504})
MAX_RETRY_DELAY = 30.0
POLL_BACKOFF = 1.5
MAX_POLL_FACTOR = 5.0  # polling slows down to 5x the first interval when nothing arrives


class Inbox:
    """Which polled messages are new inbound ones, each exactly once.

    The first poll only records what already exists: a listener delivers what
    arrives while it runs. Which messages are new is decided as
    `wait_for_message()` decides it (`NewMessages`: by id, or without one by
    everything the service said about it, counting repeats, so the same code
    sent twice is still two messages).
    """

    def __init__(self, e164: str, baseline: list[Message] | None = None) -> None:
        self.e164 = e164
        self._tracker = NewMessages(e164)
        self._polled = False
        if baseline is not None:  # the number as fetched at the start: no baseline poll
            self._tracker.baseline(baseline)
            self._polled = True

    def new(self, messages: list[Message]) -> list[InboundSMS]:
        """The new inbound messages of one poll, oldest first, as webhook payloads."""
        if not self._polled:
            self._polled = True
            self._tracker.baseline(messages)
            return []
        return [self._payload(message, key) for message, key in self._tracker.arrivals(messages)]

    def _payload(self, message: Message, key: Hashable) -> InboundSMS:
        sender = message_dict(message, self.e164)["from"] or ""
        return InboundSMS(
            id=message.id if message.id is not None else _surrogate_id(key),
            e164=self.e164,
            sender=sender,
            content=message.content,
        )


def _surrogate_id(key: Hashable) -> int:
    # The documented message shape has no id, but the webhook format does and
    # receivers dedupe on it: a stable id from the content, the same in every run.
    digest = hashlib.sha256(repr(key).encode()).digest()
    return int.from_bytes(digest[:6], "big")


@dataclass(frozen=True)
class Pending:
    """A message still to deliver: how often it was tried and when to try next."""

    sms: InboundSMS
    attempts: int = 0
    due: float = 0.0


class Outbox:
    """Messages waiting for delivery, in arrival order; the first blocks the rest.

    Keeping order means a reply never overtakes the message it follows. A failed
    try schedules the next one after `base`, doubling up to 30 s.
    """

    def __init__(self, base: float) -> None:
        self.base = base
        self._queue: deque[Pending] = deque()

    def add(self, sms: InboundSMS, now: float) -> None:
        """Queue a new message, due now."""
        self._queue.append(Pending(sms, 0, now))

    def due(self, now: float) -> Pending | None:
        """The message to deliver now, if one is due."""
        if self._queue and self._queue[0].due <= now:
            return self._queue[0]
        return None

    def done(self) -> None:
        """The first message was delivered: forget it."""
        self._queue.popleft()

    def failed(self, now: float) -> Pending:
        """The first message could not be delivered: schedule it again; returns it."""
        head = self._queue[0]
        delay = min(self.base * 2**head.attempts, MAX_RETRY_DELAY)
        self._queue[0] = replace(head, attempts=head.attempts + 1, due=now + delay)
        return self._queue[0]

    def next_due(self) -> float | None:
        """When the first message is due, or None when there is nothing to deliver."""
        return self._queue[0].due if self._queue else None

    def pending(self) -> list[InboundSMS]:
        """What is still undelivered."""
        return [p.sms for p in self._queue]


@dataclass(frozen=True)
class Delivered:
    """A message the local app answered (or that was handed over and then failed)."""

    sms: InboundSMS
    at: datetime
    status: int | None
    reply: str | None
    """The SMS sent back to the sender, or None."""
    error: str | None
    """What went wrong after the POST reached the app (e.g. the reply could not be sent)."""
    attempts: int


@dataclass(frozen=True)
class Retrying:
    """The local app could not be reached; the message will be tried again."""

    sms: InboundSMS
    at: datetime
    error: str
    delay: float
    attempts: int


@dataclass(frozen=True)
class PollFailed:
    """The service could not be polled; polling goes on after `delay`."""

    at: datetime
    error: str
    delay: float


Event: TypeAlias = Delivered | Retrying | PollFailed


@dataclass(frozen=True)
class Fate:
    """What became of one message, for the summary: 'delivered', 'in flight' or 'not delivered'."""

    sms: InboundSMS
    state: str
    detail: str


def redacted_url(url: str) -> str:
    """`url` as listen's lines and logs show it: no webhook secret (path end, query values)."""
    try:
        parts = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return "<the --forward-to URL>"
    path = redacted_path(parts.path, parts.query.decode("ascii", "replace"))
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.host}{port}{path}"


class _RedactForwardURL(logging.Filter):
    """Shows the app's URL redacted in httpx's request lines (`dtmf --debug listen`)."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self._url = httpx.URL(url)

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(
            isinstance(arg, httpx.URL) and arg == self._url for arg in args
        ):
            shown = redacted_url(str(self._url))
            record.args = tuple(
                shown if isinstance(arg, httpx.URL) and arg == self._url else arg for arg in args
            )
        return True


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _describe(exc: Exception) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Listener:
    """Polls a rented number and delivers its new inbound SMS to `forward_to`.

    `poll_interval` is the first pause between polls; it grows 1.5x while nothing
    arrives, up to 5x, and is also the first retry delay for an app that is down.
    `baseline` is the number's messages as fetched when listening starts (what
    arrives after is new); without it, the first poll records them. `http` POSTs
    to the app (a plain `httpx.Client` by default); `sleep` and `clock` are there
    so the loop can be driven without waiting.
    """

    def __init__(
        self,
        client: Client,
        e164: str,
        forward_to: str,
        on_event: Callable[[Event], None],
        *,
        poll_interval: float = 1.0,
        baseline: list[Message] | None = None,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.e164 = e164
        self.forward_to = forward_to
        self.on_event = on_event
        self.poll_interval = poll_interval
        self.inbox = Inbox(e164, baseline)
        self.outbox = Outbox(poll_interval)
        self.delivered = 0
        self.replies = 0
        self.deliveries: list[Delivered] = []
        """Every message handed to the app, in order."""
        self.in_flight: InboundSMS | None = None
        """The message being delivered (POST and reply); still set if that was cut short."""
        self.stop_requested = False
        self.shown_url = redacted_url(forward_to)
        """The app's URL as lines and logs show it (no webhook secret)."""
        # Loopback apps need no proxy; a long read timeout gives a debugger time.
        self._http = http or httpx.Client(
            timeout=httpx.Timeout(30.0, connect=5.0), trust_env=False, follow_redirects=False
        )
        self._owns_http = http is None
        self._sleep = sleep
        self._clock = clock
        self._interval = poll_interval
        self._next_poll = clock()

    def run(self) -> None:
        """Poll and deliver until `request_stop()`, an interruption or a fatal API error."""
        redact = _RedactForwardURL(self.forward_to)
        httpx_logger = logging.getLogger("httpx")
        httpx_logger.addFilter(redact)
        try:
            while not self.stop_requested:
                self._sleep(self.step())
        finally:
            httpx_logger.removeFilter(redact)
            self.close()

    def request_stop(self) -> bool:
        """Ask the loop to stop; True when a delivery is in flight and will finish first.

        False means nothing is in flight: the caller may interrupt the loop at once
        (a signal handler raises), and nothing is lost.
        """
        self.stop_requested = True
        return self.in_flight is not None

    def fates(self) -> list[Fate]:
        """What became of every message seen: delivered, cut short, or still to deliver."""
        fates: list[Fate] = []
        for event in self.deliveries:
            status = "no answer" if event.status is None else f"HTTP {event.status}"
            if event.error is not None:
                detail = f"{status}; {event.error}"
            elif event.reply is not None:
                detail = f"{status}; reply sent"
            else:
                detail = f"{status}; no reply"
            fates.append(Fate(event.sms, "delivered", detail))
        if self.in_flight is not None:
            fates.append(
                Fate(
                    self.in_flight,
                    "in flight",
                    "interrupted while being delivered: the app may have handled it and "
                    "its reply may have been sent",
                )
            )
        for pending in self.outbox.pending():
            if pending is not self.in_flight:
                fates.append(Fate(pending, "not delivered", "never handed to the app"))
        return fates

    def final_poll(self) -> None:
        """One last look for messages that arrived since the last poll, queued undelivered."""
        options = self.client.with_options(call_timeout=min(self.client.call_timeout, 5.0))
        messages = options.numbers.get(self.e164).messages
        now = self._clock()
        for sms in self.inbox.new(messages):
            self.outbox.add(sms, now)

    def close(self) -> None:
        """Close the HTTP client made for the app (not the API client)."""
        if self._owns_http:
            self._http.close()

    def step(self) -> float:
        """Poll if due, deliver what is due; returns how long to sleep before the next step."""
        now = self._clock()
        if now >= self._next_poll:
            self.poll()
        while not self.stop_requested and (pending := self.outbox.due(self._clock())) is not None:
            if not self.deliver(pending):
                break
        wake = self._next_poll
        due = self.outbox.next_due()
        if due is not None:
            wake = min(wake, due)
        return max(0.0, wake - self._clock())

    def poll(self) -> None:
        """Fetch the number's messages and queue the new inbound ones.

        A network failure, a rate limit or a server error is reported and polling
        goes on more slowly; any other API error (the number was released, the
        token revoked) is raised.
        """
        try:
            messages = self.client.numbers.get(self.e164).messages
        except (APIConnectionError, RateLimitError, InternalServerError) as exc:
            self._interval = min(self._interval * 2, self.poll_interval * MAX_POLL_FACTOR)
            self._next_poll = self._clock() + self._interval
            self.on_event(PollFailed(_now(), _describe(exc), self._interval))
            return
        fresh = self.inbox.new(messages)
        now = self._clock()
        for sms in fresh:
            self.outbox.add(sms, now)
        if fresh:
            self._interval = self.poll_interval
        else:
            self._interval = min(
                self._interval * POLL_BACKOFF, self.poll_interval * MAX_POLL_FACTOR
            )
        self._next_poll = now + self._interval

    def deliver(self, pending: Pending) -> bool:
        """POST one message to the app and send its reply; False when it must be retried."""
        sms = pending.sms
        attempts = pending.attempts + 1
        # Set until the outcome is recorded: a stop request meanwhile waits for it, and
        # an interruption leaves it set, so the summary says the app may have it.
        self.in_flight = sms
        try:
            response = self._http.post(self.forward_to, json=sms.model_dump(mode="json"))
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            # The request never reached the app: trying again cannot deliver it twice.
            self.in_flight = None
            return self._retry(f"could not reach {self.shown_url} ({_describe(exc)})")
        except httpx.HTTPError as exc:
            # The app may have handled it before failing: not tried again.
            self._done(sms, None, None, f"{_describe(exc)} (not retried)", attempts)
            return True
        if response.status_code in RETRY_STATUSES:
            self.in_flight = None
            return self._retry(f"{self.shown_url} answered HTTP {response.status_code}")
        reply, error = None, None
        if response.is_success and response.text.strip():
            reply, error = self._reply(sms, response.text)
        self._done(sms, response.status_code, reply, error, attempts)
        return True

    def _reply(self, sms: InboundSMS, answer: str) -> tuple[str | None, str | None]:
        text = reply_text(answer)
        if not text.strip():
            return None, None
        if not sms.sender:
            return None, "no reply sent: the message has no sender"
        try:
            # Sent once: a send is never retried (it could reach the sender twice).
            self.client.messages.send(self.e164, sms.sender, text)
        except DTMFError as exc:
            if isinstance(exc, APIError) and exc.may_have_succeeded:
                # A 5xx or a dropped connection after the request left: it may be sent.
                return None, (
                    f"the reply may or may not have been sent: check the number's messages ({exc})"
                )
            return None, f"reply not sent: {exc}"
        self.replies += 1
        return text, None

    def _retry(self, error: str) -> bool:
        pending = self.outbox.failed(self._clock())
        delay = max(0.0, pending.due - self._clock())
        self.on_event(Retrying(pending.sms, _now(), error, delay, pending.attempts))
        return False

    def _done(
        self, sms: InboundSMS, status: int | None, reply: str | None, error: str | None, tries: int
    ) -> None:
        event = Delivered(sms, _now(), status, reply, error, tries)
        self.outbox.done()
        self.delivered += 1
        self.deliveries.append(event)
        self.in_flight = None
        self.on_event(event)
