"""When a failed attempt may be tried again, and after how long.

The rule that matters: an action that costs money or creates something (send an
SMS, rent a number, new address) is retried only when the service provably did
not act on it: the connection was never made, or the service answered 429.
After anything else (a 5xx, a read timeout, a reset once the request was sent)
it fails with an error saying the action may or may not have happened.

Reads are retried on every transient failure. Ending a rental and setting an
SMS action are idempotent in effect, so they are retried like reads; a retried
end_rental that finds the number already gone (404) counts as done.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import httpx

from ._contract import Retry

__all__ = ["RetryPolicy", "never_reached_server"]

# Statuses after which a read is worth trying again.
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

# Failures that happen before a request's bytes can reach the service.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def never_reached_server(exc: Exception) -> bool:
    """Whether a transport error proves the service never saw the request."""
    return isinstance(exc, _NOT_SENT)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, capped, honouring Retry-After."""

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    def may_retry_status(self, retry: Retry, status_code: int) -> bool:
        if status_code == 429:
            return True  # the service did not act
        return retry is not Retry.NEVER_TWICE and status_code in TRANSIENT_STATUSES

    def may_retry_error(self, retry: Retry, exc: Exception) -> bool:
        return never_reached_server(exc) or retry is not Retry.NEVER_TWICE

    def delay(self, retries_done: int, response: httpx.Response | None = None) -> float:
        """Seconds to wait before retry number `retries_done + 1`."""
        if response is not None:
            asked = retry_after(response)
            if asked is not None:
                return min(asked, self.max_retry_after)
        backoff = min(self.initial_delay * 2.0**retries_done, self.max_delay)
        return backoff * (0.5 + random.random() / 2)


def retry_after(response: httpx.Response) -> float | None:
    """The Retry-After header in seconds (it may be seconds or an HTTP date)."""
    value: str | None = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = None
    if seconds is not None:
        return max(0.0, seconds) if seconds == seconds else None  # NaN is no answer
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
