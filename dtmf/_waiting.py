"""Waiting for an inbound SMS on a rented number (a one-time code, a reply).

`wait_for_message()` polls the number until a new inbound message matches, or
raises `MessageTimeoutError`. The decisions (which messages are new, which match,
how long to sleep) live once in `_Watch`, which does no I/O; the sync and async
functions only differ in how they refresh the number and sleep. Which polled
messages are new is `NewMessages`' decision, shared with `dtmf listen`.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, NamedTuple, TypeAlias, TypeVar

from ._errors import (
    APIConnectionError,
    InternalServerError,
    InvalidParameterError,
    MessageTimeoutError,
    RateLimitError,
)
from ._models import Message
from ._timestamps import as_utc

if TYPE_CHECKING:
    from ._models import AsyncNumber, BaseNumber, Number

__all__ = ["MessageMatch", "MessageMatcher", "async_wait_for_message", "wait_for_message"]

MessageMatcher: TypeAlias = str | re.Pattern[str] | Callable[[Message], bool]
"""What a wanted message looks like: a substring of its content, a compiled regex
searched in its content, or a predicate on the `Message`."""

# Polling backoff: quick at first (codes often arrive within seconds), then gentler
# on the service (and the rate limit) during a long wait.
FIRST_DELAY = 0.5
# A poll gets what is left of the wait, but at least this much to get an answer.
MIN_POLL_BUDGET = 0.5
# Failures a later poll may not meet: the wait goes on while time is left. Anything
# else (a 401, a 404 because the rental ended) ends the wait at once.
TRANSIENT = (APIConnectionError, RateLimitError, InternalServerError)
BACKOFF = 1.5
MAX_DELAY = 5.0

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class MessageMatch:
    """The message `wait_for_message()` found, with what the matcher captured.

    `match` is the regex match when the matcher was a compiled pattern; `code` is
    its first captured group (or the whole match when the pattern has no group),
    so ``re.compile(r"code is (\\d+)")`` gives the code without running the regex
    again. Both are None for a substring or predicate matcher.
    """

    message: Message
    match: re.Match[str] | None = None

    @property
    def code(self) -> str | None:
        """The first captured group of a regex match, else the whole match, else None."""
        if self.match is None:
            return None
        if self.match.re.groups and self.match.group(1) is not None:
            return self.match.group(1)
        return self.match.group(0)


# How a message is recognised from one poll to the next. The id when the service
# gives one; otherwise everything it sent about the message.
_Identity: TypeAlias = int | tuple[object, ...]
_Item = TypeVar("_Item")


def _identity(message: Message) -> _Identity:
    if message.id is not None:
        return message.id
    return (
        message.from_,
        message.to,
        message.other_number,
        message.inbound,
        message.content,
        message.timestamp_on_wire,
    )


def _sort_oldest_first(items: list[_Item], message: Callable[[_Item], Message]) -> None:
    """Oldest first, whatever order the service lists them in (when all have a timestamp)."""
    if all(message(item).timestamp is not None for item in items):
        items.sort(key=lambda item: message(item).timestamp or _EPOCH)


class Arrival(NamedTuple):
    """A new message, with the key that tells it apart from every other.

    The key is the message's id when the service gives one; otherwise everything
    the service said about it and which repeat it is (the same code sent twice is
    two messages), so it is the same from one run to the next.
    """

    message: Message
    key: tuple[_Identity, int]


class NewMessages:
    """Which of a number's polled messages are new inbound ones, each reported once.

    `baseline()` records the messages that already exist; `new()` then returns,
    from each poll, the inbound messages no earlier poll listed, oldest first. A
    message is recognised by its id; without one, by everything the service said
    about it, counting repeats. Before any `baseline()`, every message is new.
    """

    def __init__(self, e164: str) -> None:
        self.e164 = e164
        self._seen: Counter[_Identity] = Counter()

    def baseline(self, messages: Iterable[Message]) -> None:
        """Record `messages` as already there: `new()` never returns them."""
        self._seen = Counter(_identity(m) for m in messages)

    def new(self, messages: Iterable[Message]) -> list[Message]:
        """The inbound messages of one poll never seen before, oldest first."""
        return [arrival.message for arrival in self.arrivals(messages)]

    def arrivals(self, messages: Iterable[Message]) -> list[Arrival]:
        """`new()`, each message with its key."""
        seen = self._seen
        fresh: list[Arrival] = []
        for message, identity, nth in _occurrences(messages):
            if nth >= seen[identity]:
                seen[identity] = nth + 1
                if message.is_inbound_to(self.e164):
                    fresh.append(Arrival(message, (identity, nth)))
        _sort_oldest_first(fresh, lambda arrival: arrival.message)
        return fresh


def _occurrences(messages: Iterable[Message]) -> Iterable[tuple[Message, _Identity, int]]:
    # Two identical messages without id or timestamp (the same code sent twice) have
    # the same identity; counting occurrences keeps the second one distinguishable.
    seen: Counter[_Identity] = Counter()
    for message in messages:
        identity = _identity(message)
        yield message, identity, seen[identity]
        seen[identity] += 1


def _describe(match: MessageMatcher | None) -> str:
    if match is None:
        return ""
    if isinstance(match, str):
        return f" containing {match!r}"
    if isinstance(match, re.Pattern):
        return f" matching {match.pattern!r}"
    name = getattr(match, "__qualname__", None) or repr(match)
    return f" accepted by {name}"


def check_sms_support(number: BaseNumber) -> None:
    """Refuse at once to wait on a number whose group cannot receive SMS."""
    if number.sms is False:
        raise InvalidParameterError(
            "number",
            f"{number.e164} cannot receive SMS: its group {number.group_id or ''} has no SMS "
            "support (number.sms is False); rent from a group with sms_support",
        )


def _format(moment: datetime | None) -> str:
    return "None" if moment is None else moment.isoformat()


def check_timeout(timeout: object) -> None:
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not 0 <= timeout < math.inf  # also refuses nan, which would never time out
    ):
        raise InvalidParameterError(
            "timeout", f"must be a finite number of seconds >= 0, got {timeout!r}"
        )


def _since(since: object) -> datetime:
    if not isinstance(since, datetime):
        raise InvalidParameterError("since", f"expected a datetime, got {type(since).__name__}")
    try:
        return as_utc(since)
    except ValueError as exc:
        raise InvalidParameterError("since", str(exc)) from None


class _Watch:
    """The polling decisions of one wait, without I/O.

    The first poll records which messages already exist: those are never returned
    when `since` is None, so neither an old message nor a clock difference between
    this machine and the service can produce a false match. With an explicit
    `since`, a message counts when it is timestamped at or after `since` (or,
    when it has none, when it appeared after the first poll).
    """

    def __init__(
        self, e164: str, timeout: float, match: MessageMatcher | None, since: datetime | None
    ) -> None:
        check_timeout(timeout)
        if not (match is None or isinstance(match, (str, re.Pattern)) or callable(match)):
            raise InvalidParameterError(
                "match", "expected a substring, a compiled re.Pattern or a predicate"
            )
        self.e164 = e164
        self.timeout = timeout
        self.match = match
        self.since = None if since is None else _since(since)
        self.deadline = time.monotonic() + timeout
        self.delay = FIRST_DELAY
        self.tracker = NewMessages(e164)
        self.polled = False  # the first poll only records what is already there
        self.rejected = 0  # new inbound messages the matcher turned down, for the error
        self.too_old = 0  # new inbound messages timestamped before `since`, for the error
        self.poll_error: Exception | None = None  # the last failed poll, for the error

    def budget(self, call_timeout: float) -> float:
        """The next poll's call budget: the client's, cut to what is left of the wait."""
        return min(call_timeout, max(self.deadline - time.monotonic(), MIN_POLL_BUDGET))

    def check(self, messages: list[Message]) -> MessageMatch | None:
        """The first new inbound message that matches, from one poll's messages."""
        if not self.polled:
            self.polled = True
            self.tracker.baseline(messages)
            if self.since is None:
                return None
            # With `since`, a message already there counts when timestamped at or after it.
            since = self.since
            new = [
                m
                for m in messages
                if m.is_inbound_to(self.e164) and m.timestamp is not None and m.timestamp >= since
            ]
            _sort_oldest_first(new, lambda m: m)
        else:
            new = [m for m in self.tracker.new(messages) if self._is_new(m)]
        for message in new:
            found = self._try(message)
            if found is not None:
                return found
            self.rejected += 1
        return None

    def _is_new(self, message: Message) -> bool:
        """Whether a message that arrived after the first poll counts (with `since`: by time)."""
        too_old = (
            self.since is not None
            and message.timestamp is not None
            and message.timestamp < self.since
        )
        self.too_old += too_old
        return not too_old

    def _try(self, message: Message) -> MessageMatch | None:
        match = self.match
        if match is None:
            return MessageMatch(message)
        if isinstance(match, str):
            return MessageMatch(message) if match in message.content else None
        if isinstance(match, re.Pattern):
            found = match.search(message.content)
            return MessageMatch(message, found) if found is not None else None
        return MessageMatch(message) if match(message) else None

    def next_delay(self) -> float | None:
        """Seconds to sleep before the next poll, or None when the wait is over.

        The last sleep ends at the deadline, so one final poll happens there.
        """
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            return None
        delay = min(self.delay, remaining)
        self.delay = min(self.delay * BACKOFF, MAX_DELAY)
        return delay

    def after_poll(self, polled: BaseNumber | Exception) -> MessageMatch | float:
        """What follows one poll (the number as fetched, or the poll's transient error).

        The match, or the seconds to sleep before the next poll. Raises the poll's
        error when it was the first (with no baseline, what arrives meanwhile could
        not be told from old), `InvalidParameterError` when the number cannot
        receive SMS, and `MessageTimeoutError` when the time is up.
        """
        if isinstance(polled, Exception):
            if not self.polled:
                raise polled
            self.poll_error = polled  # poll again while time is left
        else:
            self.poll_error = None
            check_sms_support(polled)
            found = self.check(polled.messages)
            if found is not None:
                return found
        delay = self.next_delay()
        if delay is None:
            raise self.timed_out()
        return delay

    def timed_out(self) -> MessageTimeoutError:
        """The error for a wait that found nothing."""
        counted: list[str] = []
        if self.rejected:
            counted.append(f"{self.rejected} new inbound message(s) arrived but did not match")
        if self.too_old:
            counted.append(
                f"{self.too_old} new inbound message(s) arrived but were timestamped before "
                f"since={_format(self.since)}"
            )
        seen = f" ({'; '.join(counted)})" if counted else ""
        failed = f"; the last poll failed: {self.poll_error}" if self.poll_error else ""
        return MessageTimeoutError(
            f"no new inbound SMS to {self.e164}{_describe(self.match)} "
            f"within {self.timeout:g} s{seen}{failed}"
        )


def wait_for_message(
    number: Number,
    *,
    timeout: float = 60.0,
    match: MessageMatcher | None = None,
    since: datetime | None = None,
) -> MessageMatch:
    """Wait for a new inbound SMS to `number` and return it.

    `match` picks the wanted message: a substring of the content, a compiled
    regex (its first group becomes `.code`) or a predicate. Messages count when
    they arrive after this call (or, with `since`, are timestamped at or after it);
    outbound messages never count. Polls with backoff (0.5 s, x1.5, at most 5 s)
    and raises `MessageTimeoutError` after `timeout` seconds.

    Call it before triggering the SMS you expect, or pass `since`: a message that
    arrived before the call is old.
    """
    check_sms_support(number)
    watch = _Watch(number.e164, timeout, match, since)
    client = number._client()  # pyright: ignore[reportPrivateUsage]
    while True:
        polled: BaseNumber | Exception
        try:
            options = client.with_options(call_timeout=watch.budget(client.call_timeout))
            polled = options.numbers.get(number.e164)
        except TRANSIENT as exc:
            polled = exc
        step = watch.after_poll(polled)
        if isinstance(step, MessageMatch):
            return step
        time.sleep(step)


async def async_wait_for_message(
    number: AsyncNumber,
    *,
    # The same signature as the sync function; the timeout error says what was awaited,
    # which a bare anyio.fail_after around the call could not.
    timeout: float = 60.0,
    match: MessageMatcher | None = None,
    since: datetime | None = None,
) -> MessageMatch:
    """`wait_for_message()` for an `AsyncNumber`; works under asyncio and trio."""
    import anyio  # loaded by async code only: `import dtmf` stays lean

    check_sms_support(number)
    watch = _Watch(number.e164, timeout, match, since)
    client = number._client()  # pyright: ignore[reportPrivateUsage]
    while True:
        polled: BaseNumber | Exception
        try:
            options = client.with_options(call_timeout=watch.budget(client.call_timeout))
            polled = await options.numbers.get(number.e164)
        except TRANSIENT as exc:
            polled = exc
        step = watch.after_poll(polled)
        if isinstance(step, MessageMatch):
            return step
        await anyio.sleep(step)
