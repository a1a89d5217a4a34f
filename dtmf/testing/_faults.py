"""Fault injection: make the next matching request(s) fail in a chosen way.

>>> emu.faults.add("messages.send", status=500)                # an error answer
>>> emu.faults.add("*", status=429, retry_after=1, count=2)   # rate limited twice
>>> emu.faults.add("numbers.rent", drop="after")              # rented, then the line drops
>>> emu.faults.add("account.get", body="truncated", always=True)
>>> emu.faults.add("messages.send", delay=5, after_acting=True)  # sent, then no answer

A fault with `status` or `body="html"` answers before the service acts (nothing
changes). `drop="before"` loses the connection before the request reaches the
service (nothing changes); `drop="after"` lets the service act, then loses the
connection. The other `body` faults let the service act and spoil its answer.
`delay` waits that many seconds before anything else happens; with
`after_acting`, the service acts first and the wait comes after (a client whose
read timeout is shorter gives up on a request the service has carried out: the
"timeout after send" that `number.send_sms(..., on_ambiguous="check")` resolves).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

from .._contract import OPERATIONS

__all__ = ["BodyFault", "DropFault", "Fault", "Faults"]

DropFault = Literal["before", "after"]
BodyFault = Literal["truncated", "html", "wrong_types", "extra_fields"]

_OPERATION_NAMES = frozenset(op.name for op in OPERATIONS)
_BODIES = ("truncated", "html", "wrong_types", "extra_fields")


@dataclass(frozen=True)
class Fault:
    """One way to spoil one request."""

    operation: str
    status: int | None = None
    retry_after: float | None = None
    delay: float = 0.0
    drop: DropFault | None = None
    body: BodyFault | None = None
    after_acting: bool = False
    """The `delay` runs after the service acted, instead of before."""

    @property
    def answers_early(self) -> bool:
        """Whether the fault answers in the service's place (so the service never acts)."""
        return self.status is not None or self.body == "html"

    def describe(self) -> str:
        """The fault in a few words, e.g. 'status=503 delay=2'."""
        parts = [
            f"status={self.status}" if self.status is not None else "",
            f"delay={self.delay:g}" if self.delay else "",
            "after_acting" if self.after_acting else "",
            f"drop={self.drop}" if self.drop else "",
            f"body={self.body}" if self.body else "",
        ]
        return " ".join(part for part in parts if part)


@dataclass
class _Rule:
    fault: Fault
    remaining: int | None  # None: always


class Faults:
    """The scheduled faults of one emulator, taken in the order they were added."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []

    def add(
        self,
        operation: str = "*",
        *,
        status: int | None = None,
        retry_after: float | None = None,
        delay: float = 0.0,
        drop: DropFault | None = None,
        body: BodyFault | None = None,
        count: int = 1,
        always: bool = False,
        after_acting: bool = False,
    ) -> Fault:
        """Spoil the next `count` requests for `operation` (a name like 'numbers.rent', or '*').

        `after_acting` (with a `delay`): the service acts, then the delay runs.
        """
        if operation != "*" and operation not in _OPERATION_NAMES:
            raise ValueError(
                f"{operation!r} is not an operation: one of {sorted(_OPERATION_NAMES)}"
            )
        if status is not None and not 100 <= status <= 599:
            raise ValueError(f"status {status} is not an HTTP status")
        if drop not in (None, "before", "after"):
            raise ValueError("drop is 'before' or 'after'")
        if body is not None and body not in _BODIES:
            raise ValueError(f"body is one of {_BODIES}")
        if delay < 0 or count < 1:
            raise ValueError("delay must be >= 0 and count >= 1")
        fault = Fault(operation, status, retry_after, delay, drop, body, after_acting)
        if after_acting and (not delay or fault.answers_early or drop == "before"):
            raise ValueError(
                "after_acting delays an answer the service gives after acting: it needs a "
                "delay, and no status, body='html' or drop='before' (they keep it from acting)"
            )
        with self._lock:
            self._rules.append(_Rule(fault, None if always else count))
        return fault

    def take(self, operation: str) -> Fault | None:
        """The fault for a request to `operation`, if one is scheduled (and use it up)."""
        with self._lock:
            for index, rule in enumerate(self._rules):
                if rule.fault.operation in ("*", operation):
                    if rule.remaining is not None:
                        rule.remaining -= 1
                        if rule.remaining == 0:
                            del self._rules[index]
                    return rule.fault
        return None

    def clear(self) -> None:
        """Forget every scheduled fault."""
        with self._lock:
            self._rules.clear()

    @property
    def pending(self) -> int:
        """How many rules are still scheduled."""
        with self._lock:
            return len(self._rules)
