"""Repeat protection for the webhook receivers: the store protocol, in memory and on Redis.

The service (or a proxy) may deliver one inbound SMS more than once. The receiver
calls the handler for the first delivery only: that delivery *claims* the
message's key, the handler's reply is *recorded*, and every later delivery gets
the recorded reply. A store keeps the claims and the replies; `MemoryDedupe`
keeps them in one process, `RedisDedupe` in Redis, shared by every worker and
machine that uses the same Redis and prefix.

The Redis logic is written once as generators of Redis commands (sans-I/O); the
sync and async methods only run the commands.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeAlias, cast

import anyio.to_thread

from ._errors import ConfigurationError, InvalidParameterError

if TYPE_CHECKING:
    import redis
    import redis.asyncio

__all__ = ["AsyncDedupeStore", "DedupeStore", "MemoryDedupe", "RedisDedupe"]

Claim: TypeAlias = "bool | str"
"""What claiming a key gives: True (the caller holds the claim), False (another
delivery holds it and has not answered yet) or the recorded reply ("" for none)."""


class DedupeStore(Protocol):
    """A store of claims and recorded replies, used from sync code (`wsgi_app`).

    Keys are strings ("<number>:<message id>"); a store may prefix them. Every
    method may be called from several threads at once. A method that cannot
    reach its store raises (any exception): the receiver then answers 503, so
    the service may deliver again later, and never calls the handler unclaimed.
    """

    def claim(self, key: str) -> bool | str:
        """Claim `key` for this delivery, atomically.

        True: this delivery now holds the claim; the receiver calls the handler and
        then `record` or `release`. False: another delivery holds it and has not
        answered yet (the receiver polls again, up to a bound). A str: the reply
        recorded for `key`, "" for no reply.
        """
        ...

    def record(self, key: str, reply: str) -> None:
        """Record the reply to a claimed key ("" for no reply), ending the claim."""
        ...

    def release(self, key: str) -> None:
        """Drop this delivery's claim on `key` (its handler failed): the next delivery claims it."""
        ...


class AsyncDedupeStore(Protocol):
    """`DedupeStore` for async code (`asgi_app`): the same methods as coroutines, `a`-prefixed."""

    async def aclaim(self, key: str) -> bool | str:
        """As `DedupeStore.claim`."""
        ...

    async def arecord(self, key: str, reply: str) -> None:
        """As `DedupeStore.record`."""
        ...

    async def arelease(self, key: str) -> None:
        """As `DedupeStore.release`."""
        ...


class MemoryDedupe:
    """The replies to the last `size` messages, in this process's memory (the default store).

    Only deliveries that reach this process are protected: a repeat that a load
    balancer or a second worker receives runs the handler again (use
    `RedisDedupe` there). Least recently used replies are forgotten first; a
    claim lasts until it is recorded or released. `size` 0 turns repeat
    protection off: every claim succeeds and nothing is kept.
    """

    def __init__(self, size: int = 1024) -> None:
        if size < 0:
            raise InvalidParameterError("size", f"must be >= 0, got {size!r}")
        self._size = size
        self._done: OrderedDict[str, str] = OrderedDict()
        self._pending: set[str] = set()
        self._lock = threading.Lock()  # WSGI servers call from many threads

    def __repr__(self) -> str:
        return f"MemoryDedupe(size={self._size})"

    def claim(self, key: str) -> bool | str:
        """See `DedupeStore.claim`."""
        with self._lock:
            if key in self._done:
                self._done.move_to_end(key)
                return self._done[key]
            if key in self._pending:
                return False
            if self._size:
                self._pending.add(key)
            return True

    def record(self, key: str, reply: str) -> None:
        """See `DedupeStore.record`."""
        with self._lock:
            self._pending.discard(key)
            if self._size:
                self._done[key] = reply
                while len(self._done) > self._size:
                    self._done.popitem(last=False)

    def release(self, key: str) -> None:
        """See `DedupeStore.release`."""
        with self._lock:
            self._pending.discard(key)

    # Memory needs no I/O: the coroutines do the same under the same lock.

    async def aclaim(self, key: str) -> bool | str:
        """See `DedupeStore.claim`."""
        return self.claim(key)

    async def arecord(self, key: str, reply: str) -> None:
        """See `DedupeStore.record`."""
        self.record(key, reply)

    async def arelease(self, key: str) -> None:
        """See `DedupeStore.release`."""
        self.release(key)


# A key's value in Redis: "?<token>" while claimed, "=<reply>" once answered.
_CLAIMED: Final = "?"
_ANSWERED: Final = "="
# Deletes a claim only if it is still this delivery's (not a later delivery's
# claim or answer, after this one's claim expired).
_RELEASE: Final = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
)
# A URL's clients: a Redis that does not answer costs a delivery at most a few
# seconds (then 503), and one immediate retry reconnects after Redis restarted.
_TIMEOUT: Final = 2.0

# At most this many claims with lost answers are remembered, and released per call.
_MAX_ORPHANS: Final = 10_000
_ORPHANS_AT_ONCE: Final = 20

_Command: TypeAlias = tuple[str | int, ...]


def _resume(
    steps: Generator[_Command, object, Any], reply: object, error: BaseException | None
) -> _Command:
    """The command after the last one: its `error` raised where it was yielded, else its
    `reply` sent there. What the sync and async drivers share besides the I/O."""
    return steps.send(reply) if error is None else steps.throw(error)


class _SyncClient(Protocol):
    """What this module uses of a ``redis.Redis`` (whose annotations vary by version)."""

    def execute_command(self, *args: Any) -> Any: ...
    def close(self) -> None: ...


class _AsyncClient(Protocol):
    """What this module uses of a ``redis.asyncio.Redis``."""

    async def execute_command(self, *args: Any) -> Any: ...
    async def aclose(self) -> None: ...


def _state(value: object) -> bool | str | None:
    """A key's value as a claim outcome: False (claimed), the reply, or None (no key)."""
    if value is None:
        return None
    text = value.decode() if isinstance(value, bytes) else str(value)
    if text.startswith(_CLAIMED):
        return False
    if text.startswith(_ANSWERED):
        return text[1:]
    raise ValueError(
        f"unexpected value in Redis at a dedupe key: {text[:20]!r}; is the prefix shared?"
    )


class RedisDedupe:
    """Claims and replies in Redis (or Valkey), shared by every worker and machine that uses it.

    `url_or_client` is a URL (``redis://host:6379/0``, ``rediss://...``,
    ``unix:///path``), usable from `wsgi_app` and `asgi_app` alike, or a
    ready ``redis.Redis`` (sync; `asgi_app` calls it in worker threads) or
    ``redis.asyncio.Redis`` (`asgi_app` only). Needs ``pip install 'dtmf-io[redis]'``.

    A claim is one ``SET key ?token NX PX claim_ttl``: atomic, so only one
    delivery across all workers runs the handler. A recorded reply is kept
    `ttl` seconds (default one day; keep it longer than deliveries are retried); a claim
    whose worker died expires after `claim_ttl` seconds (default 300: keep it
    above your handler's longest run, or a repeat may run the handler again).
    Every key starts with `prefix` and expires, so Redis does not fill up.
    When Redis cannot be reached, a delivery is answered 503 without calling
    the handler; a reply that cannot be recorded is retried for a few seconds,
    then sent anyway and logged. Redis must keep its data across restarts
    (``appendonly yes``) and must not evict these keys early, or a repeat of a
    forgotten message runs the handler again.
    """

    def __init__(
        self,
        url_or_client: str | redis.Redis | redis.asyncio.Redis,
        *,
        ttl: float = 86_400,
        claim_ttl: float = 300,
        prefix: str = "dtmf:webhook:",
    ) -> None:
        for name, value in (("ttl", ttl), ("claim_ttl", claim_ttl)):
            if not value >= 0.001:  # also refuses NaN
                raise InvalidParameterError(name, f"must be at least 0.001 seconds, got {value!r}")
        try:
            import redis
            import redis.asyncio
            import redis.asyncio.retry
            import redis.retry
            from redis.backoff import NoBackoff
        except ImportError as exc:  # pragma: no cover - the dev extra installs redis
            raise ConfigurationError(
                "RedisDedupe needs redis-py: pip install 'dtmf-io[redis]'"
            ) from exc
        self._ttl_ms = round(ttl * 1000)
        self._claim_ms = round(claim_ttl * 1000)
        self._prefix = prefix
        self._url: str | None = None
        self._sync: _SyncClient | None = None
        self._given_async: _AsyncClient | None = None
        self._owns_sync = False
        self._async_options: dict[str, Any] = {}
        if isinstance(url_or_client, str):
            if not url_or_client.startswith(("redis://", "rediss://", "unix://")):
                raise InvalidParameterError(
                    "url_or_client", "must start with redis://, rediss:// or unix://"
                )
            self._url = url_or_client
            options: dict[str, Any] = {"socket_timeout": _TIMEOUT}
            options["socket_connect_timeout"] = _TIMEOUT
            self._async_options = {
                **options,
                "retry": redis.asyncio.retry.Retry(NoBackoff(), 1),
            }
            self._sync = cast(
                _SyncClient,
                redis.Redis.from_url(  # pyright: ignore[reportUnknownMemberType]
                    url_or_client, **options, retry=redis.retry.Retry(NoBackoff(), 1)
                ),
            )
            self._owns_sync = True
        elif isinstance(url_or_client, redis.asyncio.Redis):
            self._given_async = cast(_AsyncClient, url_or_client)
        elif isinstance(url_or_client, redis.Redis):  # pyright: ignore[reportUnnecessaryIsInstance]
            self._sync = cast(_SyncClient, url_or_client)
        else:
            raise InvalidParameterError(
                "url_or_client",
                f"expected a URL, a redis.Redis or a redis.asyncio.Redis, got "
                f"{type(url_or_client).__name__}",
            )
        # A URL's asyncio clients, one per event loop: a connection belongs to its loop.
        self._async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _AsyncClient]
        self._async_clients = weakref.WeakKeyDictionary()
        # The token of each claim this process holds, so that release deletes only its own;
        # and the claims (key name, token) that may have been taken with their answer lost.
        self._held: dict[str, str] = {}
        self._orphans: dict[tuple[str, str], None] = {}  # an ordered set
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # no URL: it may carry a password
        return f"RedisDedupe(prefix={self._prefix!r}, ttl={self._ttl_ms / 1000:g})"

    @property
    def usable_from_sync_code(self) -> bool:
        """False when made from a ``redis.asyncio.Redis``: then only `asgi_app` can use it."""
        return self._sync is not None

    # The logic, as Redis commands. A command that fails is thrown back into its generator.

    def _claim(self, key: str) -> Generator[_Command, object, bool | str]:
        name = self._prefix + key
        token = _CLAIMED + uuid.uuid4().hex
        try:
            for _ in range(3):
                if (yield ("SET", name, token, "NX", "PX", self._claim_ms)) is not None:
                    break
                value = yield ("GET", name)
                if value in (token, token.encode()):
                    break  # our SET was applied but its answer lost (redis-py sent it again)
                state = _state(value)
                if state is not None:
                    return state
                # The key went (released or expired) between SET and GET: claim again.
            else:
                return False  # still changing hands: the receiver polls again
        except BaseException:
            # Redis may have applied the SET and lost its answer: this claim would then
            # block the message until it expires. Release it once Redis answers again.
            with self._lock:
                self._orphans[name, token] = None
                if len(self._orphans) > _MAX_ORPHANS:  # a long outage: the oldest expire anyway
                    del self._orphans[next(iter(self._orphans))]
            raise
        with self._lock:
            self._held[key] = token
        return True

    def _record(self, key: str, reply: str) -> Generator[_Command, object, None]:
        yield ("SET", self._prefix + key, _ANSWERED + reply, "PX", self._ttl_ms)
        with self._lock:
            self._held.pop(key, None)

    def _release(self, key: str) -> Generator[_Command, object, None]:
        with self._lock:
            token = self._held.get(key)
        if token is not None:
            yield ("EVAL", _RELEASE, 1, self._prefix + key, token)
            with self._lock:
                self._held.pop(key, None)

    def _steps(self, steps: Generator[_Command, object, Any]) -> Generator[_Command, object, Any]:
        """`steps`, after releasing the claims whose answers were lost."""
        with self._lock:
            orphans = list(itertools.islice(self._orphans, _ORPHANS_AT_ONCE))
        for orphan in orphans:
            yield ("EVAL", _RELEASE, 1, *orphan)  # if it fails, the orphan stays for next time
            with self._lock:
                self._orphans.pop(orphan, None)
        return (yield from steps)

    # The sync methods (wsgi_app).

    def _run(self, steps: Generator[_Command, object, Any]) -> Any:
        if self._sync is None:
            raise ConfigurationError(
                "this RedisDedupe was made from a redis.asyncio client: use it with asgi_app, "
                "or give it a URL or a redis.Redis"
            )
        steps = self._steps(steps)
        try:
            command = next(steps)
            while True:
                try:
                    reply, error = self._sync.execute_command(*command), None
                except BaseException as exc:
                    reply, error = None, exc
                command = _resume(steps, reply, error)
        except StopIteration as done:
            return done.value

    def claim(self, key: str) -> bool | str:
        """See `DedupeStore.claim`."""
        outcome: bool | str = self._run(self._claim(key))
        return outcome

    def record(self, key: str, reply: str) -> None:
        """See `DedupeStore.record`."""
        self._run(self._record(key, reply))

    def release(self, key: str) -> None:
        """See `DedupeStore.release`."""
        self._run(self._release(key))

    def close(self) -> None:
        """Close the sync client this store made from its URL (not a client it was given)."""
        if self._owns_sync and self._sync is not None:
            self._sync.close()

    # The async methods (asgi_app).

    def _async_client(self) -> _AsyncClient | None:
        """The asyncio client for the running loop; None: run the sync client in a thread."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not asyncio (trio): redis.asyncio cannot run here
            return None
        if self._given_async is not None or self._url is None:
            return self._given_async
        client = self._async_clients.get(loop)
        if client is None:
            import redis.asyncio

            client = cast(
                _AsyncClient,
                redis.asyncio.Redis.from_url(  # pyright: ignore[reportUnknownMemberType]
                    self._url, **self._async_options
                ),
            )
            self._async_clients[loop] = client
        return client

    async def _arun(self, steps: Generator[_Command, object, Any]) -> Any:
        client = self._async_client()
        if client is None:
            return await anyio.to_thread.run_sync(self._run, steps)
        steps = self._steps(steps)
        try:
            command = next(steps)
            while True:
                try:
                    reply, error = await client.execute_command(*command), None
                except BaseException as exc:
                    reply, error = None, exc
                command = _resume(steps, reply, error)
        except StopIteration as done:
            return done.value

    async def aclaim(self, key: str) -> bool | str:
        """See `DedupeStore.claim`."""
        outcome: bool | str = await self._arun(self._claim(key))
        return outcome

    async def arecord(self, key: str, reply: str) -> None:
        """See `DedupeStore.record`."""
        await self._arun(self._record(key, reply))

    async def arelease(self, key: str) -> None:
        """See `DedupeStore.release`."""
        await self._arun(self._release(key))

    async def aclose(self) -> None:
        """Close the asyncio client this store made for the running event loop.

        `asgi_app` calls it at ASGI lifespan shutdown. A client it was given is left open.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        client = self._async_clients.pop(loop, None)
        if client is not None:
            await client.aclose()


def sync_store(dedupe: int | DedupeStore) -> DedupeStore:
    """`wsgi_app`'s store for its `dedupe` option, or a clear error."""
    if isinstance(dedupe, int):
        return _memory(dedupe)
    if isinstance(dedupe, RedisDedupe) and not dedupe.usable_from_sync_code:
        raise InvalidParameterError(
            "dedupe", "a RedisDedupe made from a redis.asyncio client works with asgi_app only"
        )
    _check_methods(dedupe, ("claim", "record", "release"), "DedupeStore")
    return dedupe


def async_store(dedupe: int | AsyncDedupeStore) -> AsyncDedupeStore:
    """`asgi_app`'s store for its `dedupe` option, or a clear error."""
    if isinstance(dedupe, int):
        return _memory(dedupe)
    _check_methods(dedupe, ("aclaim", "arecord", "arelease"), "AsyncDedupeStore")
    return dedupe


def _memory(size: int) -> MemoryDedupe:
    if size < 0:
        raise InvalidParameterError("dedupe", f"must be >= 0, got {size!r}")
    return MemoryDedupe(size)


def _check_methods(store: object, names: tuple[str, ...], protocol: str) -> None:
    missing = [name for name in names if not callable(getattr(store, name, None))]
    if missing:
        raise InvalidParameterError(
            "dedupe",
            f"expected a number or a {protocol}; {type(store).__name__} has no "
            f"{', '.join(missing)}",
        )
