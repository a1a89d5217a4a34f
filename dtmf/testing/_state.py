"""The emulator's in-memory service: accounts, addresses, rentals, messages, billing.

No I/O happens here: the HTTP layer (`_server.py`) and the webhook sender
(`Emulator`) call these methods and turn `ServiceError` into error responses.
One lock guards every change, so concurrent requests see a consistent service.

Billing rules (the docs do not say; these are the emulator's choices):

- A rental is billed `rental_cost_per_minute` for each *whole* minute since it
  started; a started minute is free until it completes, and ending a rental
  bills only the whole minutes before the end.
- Billing accrues lazily, whenever a request arrives or the clock is advanced.
- The balance never goes below zero. When it cannot pay for a minute, the
  rental ends at that minute (the number returns to its pool). An outbound SMS
  it cannot pay for is refused (402); an inbound SMS it cannot pay for is still
  stored, with cost 0 and `success` false, and its SMS action is not applied.
- An outbound SMS costs the group's `cost_per_inbound_message` (1000 when the
  group has none).

History lag (off by default): with `history_lag=N`, each stored message stays out
of the number's message list for a seeded random 0..N reads of that list
(`numbers.get` / `numbers.list`), as a service whose history is eventually
consistent would. Counting reads rather than seconds keeps tests deterministic.
"""

from __future__ import annotations

import bisect
import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, cast

from .._contract import list_groups
from .._documented import MessageDict, NumberDict, documented_message
from .._validate import render_reply, render_sms
from ._bitcoin import new_address
from ._catalogue import GROUPS, GroupSpec

__all__ = ["Clock", "ServiceError", "State", "wire_time"]


def wire_time(moment: datetime) -> str:
    """A timestamp as the docs write them: naive UTC with microseconds."""
    utc = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds")


_LATEST = datetime.max.replace(tzinfo=timezone.utc) - timedelta(days=1)


class Clock:
    """The emulator's notion of now: frozen (tests move it) or ticking with the wall clock.

    Billing follows `elapsed()`: a frozen clock's only moves with `advance()`, so a
    test's charges never depend on how fast it runs; a ticking clock's also follows
    the wall clock. Timestamps follow `now()`: without a `start`, it is the wall
    clock plus what was advanced, even when frozen, so a message stored now is
    never timestamped before ``datetime.now(UTC)``. Given a `start`, a frozen
    clock's `now()` stays there until advanced (fully deterministic timestamps).

    `advance()` moves it forward; listeners (the emulator's billing) run after each move.
    """

    def __init__(self, start: datetime | None = None, *, ticking: bool = False) -> None:
        self._wall_start = datetime.now(timezone.utc)
        # Without a start, timestamps follow the wall clock at full precision: a frozen
        # or rounded-down start would stamp new messages before the caller's "now".
        self._follows_wall = ticking or start is None
        if start is None:
            start = self._wall_start
        elif start.tzinfo is None:
            start = start.replace(tzinfo=timezone.utc)
        self._base = start
        self._offset = timedelta()
        self._ticking = ticking
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def _wall_elapsed(self) -> timedelta:
        return datetime.now(timezone.utc) - self._wall_start

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        with self._lock:
            moment = self._base + self._offset
            if self._follows_wall:
                moment += self._wall_elapsed()
            return moment

    def elapsed(self) -> timedelta:
        """The time billing sees since the clock started: advances, plus wall time if ticking."""
        with self._lock:
            if self._ticking:
                return self._offset + self._wall_elapsed()
            return self._offset

    def advance(self, *, hours: float = 0, minutes: float = 0, seconds: float = 0) -> datetime:
        """Move time forward (never back) and bill what is due; returns the new now.

        Raises ValueError for a step that is negative or would take the clock past
        the year 9999.
        """
        try:
            step = timedelta(hours=hours, minutes=minutes, seconds=seconds)
        except OverflowError:
            raise ValueError("the step is too large: the clock stops at the year 9999") from None
        if step < timedelta():
            raise ValueError("the clock only moves forward")
        with self._lock:
            # A day short of datetime's end: slack for the wall clock to tick on.
            if self._offset + step > _LATEST - self._base - self._wall_elapsed():
                raise ValueError("the step is too large: the clock stops at the year 9999")
            self._offset += step
            listeners = list(self._listeners)
        for listener in listeners:
            listener()
        return self.now()

    def on_advance(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every `advance()`."""
        with self._lock:
            self._listeners.append(listener)


class ServiceError(Exception):
    """A request the service refuses: HTTP status, a short error code and a human message."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


@dataclass
class Message:
    """An SMS stored on a rental."""

    id: int
    sender: str
    recipient: str
    content: str
    timestamp: datetime
    success: bool
    cost: int
    inbound: bool
    hidden_reads: int = 0
    """How many more reads of the number's message list leave it out (history lag)."""

    def to_wire(self) -> dict[str, Any]:
        """The documented message, with the id and direction the emulator also gives."""
        documented = documented_message(
            self.sender, self.recipient, self.content, wire_time(self.timestamp), self.success,
            self.cost,
        )  # fmt: skip
        return {"id": self.id, **documented, "inbound": self.inbound}


@dataclass
class Rental:
    """A number rented by an account."""

    e164: str
    group: GroupSpec
    start: datetime
    billing_start: timedelta
    """`Clock.elapsed()` when the rental started: billing counts from there."""
    billed_minutes: int = 0
    action: str | None = None
    destination: str | None = None
    messages: list[Message] = field(default_factory=list[Message])

    def to_wire(self) -> NumberDict:
        """The number's body, in the documented shape (type checkers hold it to `NumberDict`)."""
        return {
            "e164": self.e164,
            "group_id": self.group.id,
            "sms": self.group.sms_support,
            "cost_per_minute": self.group.rental_cost_per_minute,
            "cost_per_inbound_message": self.group.cost_per_inbound_message,
            "assignment_start": wire_time(self.start),
            "sms_forwarded_to": self.destination,
            "messages": [
                cast("MessageDict", m.to_wire()) for m in self.messages if not m.hidden_reads
            ],
        }

    def read_history(self) -> NumberDict:
        """`to_wire()` for a read of the message list: lagging messages come one read closer."""
        wire = self.to_wire()
        for message in self.messages:
            message.hidden_reads = max(0, message.hidden_reads - 1)
        return wire


@dataclass
class Account:
    """An account, known by its API token."""

    token: str
    balance: int
    addresses: list[str] = field(default_factory=list[str])
    rentals: dict[str, Rental] = field(default_factory=dict[str, Rental])


@dataclass(frozen=True)
class InboundOutcome:
    """What receiving an SMS did, and the webhook still to call (outside the lock)."""

    message: dict[str, Any]
    webhook: str | None


class State:
    """The whole service in memory. Every public method takes the lock."""

    def __init__(
        self,
        clock: Clock,
        rng: random.Random,
        pool_size: int,
        groups: Iterable[GroupSpec] = GROUPS,
        *,
        history_lag: int = 0,
    ) -> None:
        if history_lag < 0:
            raise ValueError("history_lag is a number of reads, >= 0")
        self.lock: threading.Lock = threading.Lock()
        self.history_lag = history_lag
        self.clock = clock
        self._rng = rng
        self._groups = {group.id: group for group in groups}
        self._free = {gid: sorted(group.pool(pool_size)) for gid, group in self._groups.items()}
        self._accounts: dict[str, Account] = {}
        self._owner: dict[str, Account] = {}  # e164 -> the account renting it
        self._message_ids = 0

    # Accounts -----------------------------------------------------------------

    def add_account(self, token: str, balance: int) -> None:
        """Open an account for `token` with `balance` satoshis."""
        if balance < 0:
            raise ValueError("a balance is never negative")
        with self.lock:
            if token in self._accounts:
                raise ValueError("an account with this token exists already")
            self._accounts[token] = Account(token, balance, [new_address(self._rng)])

    def has_account(self, token: str) -> bool:
        """Whether `token` belongs to an account."""
        with self.lock:
            return token in self._accounts

    def balance(self, token: str) -> int:
        """The account's balance in satoshis, billing accrued up to now."""
        with self.lock:
            self._accrue()
            return self._account(token).balance

    def credit(self, token: str, satoshis: int) -> int:
        """Add funds, as a payment to a deposit address would; returns the new balance."""
        if satoshis < 0:
            raise ValueError("a credit is never negative")
        with self.lock:
            self._accrue()
            account = self._account(token)
            account.balance += satoshis
            return account.balance

    def account_wire(self, token: str) -> dict[str, Any]:
        """The body of `account.get`."""
        with self.lock:
            self._accrue()
            return {"balance": self._account(token).balance}

    def addresses(self, token: str) -> list[dict[str, Any]]:
        """The body of `addresses.list`."""
        with self.lock:
            return [{"address": a} for a in self._account(token).addresses]

    def create_address(self, token: str) -> dict[str, Any]:
        """Make a deposit address (`addresses.create`); its body."""
        with self.lock:
            address = new_address(self._rng)
            self._account(token).addresses.append(address)
            return {"address": address}

    # Groups and numbers ------------------------------------------------------

    def groups(self, group_type: str) -> list[dict[str, Any]]:
        """The body of `groups.list` for one type."""
        return [g.to_wire() for g in self._groups.values() if g.type == group_type]

    def numbers(self, token: str) -> list[NumberDict]:
        """The body of `numbers.list`."""
        with self.lock:
            self._accrue()
            return [r.read_history() for r in self._account(token).rentals.values()]

    def number(self, token: str, e164: str) -> NumberDict:
        """The body of `numbers.get`; NotFound unless the account rents `e164`."""
        with self.lock:
            self._accrue()
            return self._rental(token, e164).read_history()

    def stored_messages(self, e164: str) -> list[dict[str, Any]]:
        """Every message stored on the rental of `e164`, lagging or not (for tests)."""
        with self.lock:
            account = self._owner.get(e164)
            if account is None:
                raise LookupError(f"{e164} is not rented by any account")
            return [m.to_wire() for m in account.rentals[e164].messages]

    def rent(self, token: str, group_id: str) -> NumberDict:
        """Rent a free number of the group (`numbers.rent`), debiting its setup cost."""
        with self.lock:
            self._accrue()
            account = self._account(token)
            group = self._groups.get(group_id)
            if group is None:
                raise ServiceError(
                    404,
                    "not_found",
                    f"there is no group {group_id!r}: see {list_groups.method} {list_groups.path}",
                )
            free = self._free[group_id]
            if not free:
                raise ServiceError(409, "conflict", f"no free numbers in group {group_id}")
            if account.balance < group.setup_cost:
                raise ServiceError(
                    402,
                    "insufficient_funds",
                    f"renting from {group_id} costs {group.setup_cost} satoshis to set up; "
                    f"the balance is {account.balance}",
                )
            e164 = free.pop(self._rng.randrange(len(free)))
            account.balance -= group.setup_cost
            rental = Rental(e164, group, self.clock.now(), self.clock.elapsed())
            account.rentals[e164] = rental
            self._owner[e164] = account
            return rental.to_wire()

    def end_rental(self, token: str, e164: str) -> None:
        """End a rental (`numbers.end_rental`): billing stops, the number is free again."""
        with self.lock:
            self._accrue()
            self._rental(token, e164)
            self._release(self._accounts[token], e164)

    def set_sms_action(
        self, token: str, e164: str, action: str | None, destination: str | None
    ) -> None:
        """Set where a rental's inbound SMS go (`numbers.set_sms_action`)."""
        with self.lock:
            self._accrue()
            rental = self._rental(token, e164)
            rental.action, rental.destination = action, destination

    # Messages ----------------------------------------------------------------

    def send_sms(self, token: str, sender: str, recipient: str, content: str) -> None:
        """Send an SMS from a rented number (`messages.send`), debiting its cost."""
        with self.lock:
            self._accrue()
            rental = self._rental(token, sender)
            if not rental.group.sms_support:
                raise ServiceError(
                    403,
                    "forbidden",
                    f"{sender} cannot send SMS: its group {rental.group.id} has no SMS support",
                )
            cost = rental.group.cost_per_outbound_message
            account = self._accounts[token]
            if account.balance < cost:
                raise ServiceError(
                    402,
                    "insufficient_funds",
                    f"an SMS from {sender} costs {cost} satoshis; the balance is {account.balance}",
                )
            account.balance -= cost
            self._store(rental, sender, recipient, render_sms(content), cost, inbound=False)

    def receive_sms(self, e164: str, sender: str, content: str) -> InboundOutcome:
        """Store an SMS arriving at a rented number and apply its action, except the webhook."""
        with self.lock:
            self._accrue()
            account = self._owner.get(e164)
            if account is None:
                raise LookupError(f"{e164} is not rented by any account")
            rental = account.rentals[e164]
            if not rental.group.sms_support:
                raise ValueError(f"{e164} cannot receive SMS: its group has no SMS support")
            cost = rental.group.cost_per_inbound_message or 0
            paid = account.balance >= cost
            account.balance -= cost if paid else 0
            message = self._store(
                rental, sender, e164, content, cost if paid else 0, inbound=True, success=paid
            )
            webhook = None
            if paid and rental.action == "forward" and rental.destination:
                self._send_automatic(account, rental, rental.destination, render_reply(content))
            elif paid and rental.action == "webhook":
                webhook = rental.destination
            return InboundOutcome(message.to_wire(), webhook)

    def reply(self, e164: str, recipient: str, text: str) -> dict[str, Any] | None:
        """Send a webhook's answer `text` as an SMS from `e164`, as the service does.

        Returns the message sent, or None when nothing is: the answer renders to
        blank text, or the rental ended meanwhile.
        """
        content = render_reply(text)
        if not content.strip():
            return None
        with self.lock:
            self._accrue()
            account = self._owner.get(e164)
            if account is None:
                return None
            message = self._send_automatic(account, account.rentals[e164], recipient, content)
            return message.to_wire()

    # Internals (the lock is held) --------------------------------------------

    def _account(self, token: str) -> Account:
        account = self._accounts.get(token)
        if account is None:
            raise ServiceError(401, "unauthorized", "the API token is not valid")
        return account

    def _rental(self, token: str, e164: str) -> Rental:
        rental = self._account(token).rentals.get(e164)
        if rental is None:
            raise ServiceError(404, "not_found", f"{e164} is not a number your account rents")
        return rental

    def _store(
        self,
        rental: Rental,
        sender: str,
        recipient: str,
        content: str,
        cost: int,
        *,
        inbound: bool,
        success: bool = True,
    ) -> Message:
        self._message_ids += 1
        lag = self._rng.randint(0, self.history_lag) if self.history_lag else 0
        message = Message(
            self._message_ids, sender, recipient, content, self.clock.now(), success, cost, inbound,
            lag,
        )  # fmt: skip
        rental.messages.append(message)
        return message

    def _send_automatic(
        self, account: Account, rental: Rental, recipient: str, content: str
    ) -> Message:
        # Forwards and webhook replies (`content` rendered with `render_reply`):
        # stored unsent (cost 0) when unaffordable.
        cost = rental.group.cost_per_outbound_message
        paid = account.balance >= cost
        account.balance -= cost if paid else 0
        return self._store(
            rental, rental.e164, recipient, content, cost if paid else 0, inbound=False,
            success=paid,
        )  # fmt: skip

    def _release(self, account: Account, e164: str) -> None:
        rental = account.rentals.pop(e164)
        del self._owner[e164]
        bisect.insort(self._free[rental.group.id], e164)

    def _accrue(self) -> None:
        elapsed = self.clock.elapsed()
        for account in self._accounts.values():
            for rental in list(account.rentals.values()):
                minutes = int((elapsed - rental.billing_start).total_seconds() // 60)
                due = minutes - rental.billed_minutes
                if due <= 0:
                    continue
                rate = rental.group.rental_cost_per_minute
                affordable = account.balance // rate if rate else due
                paid = min(due, affordable)
                account.balance -= paid * rate
                rental.billed_minutes += paid
                if paid < due:
                    self._release(account, rental.e164)

    def accrue(self) -> None:
        """Bill every rental up to now (called after the clock moves)."""
        with self.lock:
            self._accrue()
