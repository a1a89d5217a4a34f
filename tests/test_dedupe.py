"""Repeat protection: the store contract on both stores, and the apps on each store.

The contract runs against `MemoryDedupe` and `RedisDedupe` (a real redis-server),
through the sync methods and through the async ones under asyncio and trio. The
apps run under real servers (uvicorn, wsgiref) with each store.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import redis

import dtmf
from dtmf import webhooks
from dtmf.webhooks import MemoryDedupe, RedisDedupe

from .redis_server import RedisServer, free_port
from .test_webhooks import BODY, SMS, Calls, asgi_server, wsgi_server

STORES = ("memory", "redis")


def new_store(kind: str, server: RedisServer | None, **options: Any) -> MemoryDedupe | RedisDedupe:
    """A fresh store: for Redis, one with a prefix of its own (a test's keys are its own)."""
    if kind == "memory":
        return MemoryDedupe(**options)
    assert server is not None
    return RedisDedupe(server.url, prefix=f"test:{uuid.uuid4().hex}:", **options)


@pytest.fixture
def make_store(
    request: pytest.FixtureRequest,
) -> Iterator[Callable[..., MemoryDedupe | RedisDedupe]]:
    """make_store(kind, **options): stores closed at teardown; Redis started only when asked for."""
    made: list[MemoryDedupe | RedisDedupe] = []

    def make(kind: str, **options: Any) -> MemoryDedupe | RedisDedupe:
        server = request.getfixturevalue("redis_server") if kind == "redis" else None
        made.append(new_store(kind, server, **options))
        return made[-1]

    yield make
    for store in made:
        if isinstance(store, RedisDedupe):
            store.close()


class AsyncFlavour:
    """A store's async methods called from sync code: each call in an event loop of its own.

    After each call the store's client for that loop is closed (as asgi_app does at
    shutdown), so this also shows that a store serves several event loops.
    """

    def __init__(self, store: MemoryDedupe | RedisDedupe, backend: str) -> None:
        self.store = store
        self.backend = backend

    def _run(self, call: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        async def go() -> Any:
            try:
                return await call()
            finally:
                if isinstance(self.store, RedisDedupe):
                    await self.store.aclose()

        return anyio.run(go, backend=self.backend)

    def claim(self, key: str) -> bool | str:
        outcome: bool | str = self._run(lambda: self.store.aclaim(key))
        return outcome

    def record(self, key: str, reply: str) -> None:
        self._run(lambda: self.store.arecord(key, reply))

    def release(self, key: str) -> None:
        self._run(lambda: self.store.arelease(key))


Store = MemoryDedupe | RedisDedupe | AsyncFlavour


@pytest.fixture(
    params=[(kind, flavour) for kind in STORES for flavour in ("sync", "asyncio", "trio")],
    ids=lambda param: "-".join(param),
)
def store(request: pytest.FixtureRequest, make_store: Callable[..., Any]) -> Store:
    """Each store, through its sync methods or its async ones (asyncio, trio)."""
    kind, flavour = request.param
    made = make_store(kind)
    return made if flavour == "sync" else AsyncFlavour(made, flavour)


# The contract.


def test_the_first_delivery_claims_and_a_repeat_gets_the_recorded_reply(store: Store) -> None:
    assert store.claim("+1:1") is True
    assert store.claim("+1:1") is False  # claimed, not answered yet
    store.record("+1:1", "Thanks")
    assert store.claim("+1:1") == "Thanks"
    assert store.claim("+1:1") == "Thanks"


def test_no_reply_is_recorded_as_empty(store: Store) -> None:
    assert store.claim("+1:2") is True
    store.record("+1:2", "")
    assert store.claim("+1:2") == ""


def test_a_released_claim_is_claimed_again(store: Store) -> None:
    assert store.claim("+1:3") is True
    store.release("+1:3")
    assert store.claim("+1:3") is True


def test_keys_are_independent(store: Store) -> None:
    assert store.claim("+1:4") is True
    assert store.claim("+2:4") is True
    assert store.claim("+1:5") is True
    store.record("+1:4", "one")
    assert store.claim("+2:4") is False
    assert store.claim("+1:4") == "one"


def test_one_of_many_simultaneous_claims_wins(store: Store) -> None:
    threads = 8
    start = threading.Barrier(threads)
    outcomes: list[bool | str] = []
    lock = threading.Lock()

    def claim() -> None:
        start.wait(10)
        outcome = store.claim("+1:6")
        with lock:
            outcomes.append(outcome)

    workers = [threading.Thread(target=claim) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(20)
    assert sorted(outcomes, key=str) == [False] * (threads - 1) + [True]


# Redis: expiry, prefix, ownership, failures.


def test_redis_keys_carry_the_prefix_and_expire(redis_server: RedisServer) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    store = RedisDedupe(redis_server.url, prefix=prefix, ttl=3600, claim_ttl=60)
    with redis.Redis.from_url(redis_server.url) as inspect:
        store.claim("+1:7")
        assert 0 < inspect.pttl(prefix + "+1:7") <= 60_000
        store.record("+1:7", "hi")
        assert 60_000 < inspect.pttl(prefix + "+1:7") <= 3_600_000
        assert inspect.get(prefix + "+1:7") == b"=hi"
        assert inspect.keys(prefix + "*") == [(prefix + "+1:7").encode()]
    store.close()


def wait_until_claimed(store: RedisDedupe, key: str) -> None:
    """Claims `key` as soon as it expired (polling Redis; fails after 5 s)."""
    deadline = time.monotonic() + 5
    while (outcome := store.claim(key)) is not True:
        assert time.monotonic() < deadline, f"{key} never expired: {outcome!r}"
        time.sleep(0.01)


def test_redis_answers_and_abandoned_claims_expire(redis_server: RedisServer) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    store = RedisDedupe(redis_server.url, prefix=prefix, ttl=0.05, claim_ttl=0.05)
    assert store.claim("+1:8") is True
    store.record("+1:8", "hi")
    assert store.claim("+1:8") in ("hi", True)  # 50 ms may already have passed
    wait_until_claimed(store, "+1:9")
    wait_until_claimed(store, "+1:9")  # the worker holding the first claim died: it expires
    store.close()


def test_redis_release_leaves_another_deliverys_claim(redis_server: RedisServer) -> None:
    # Two workers: the first one's claim expired and the second claimed the message;
    # the first one's handler then fails: its release must not free the second's claim.
    prefix = f"test:{uuid.uuid4().hex}:"
    first = RedisDedupe(redis_server.url, prefix=prefix, claim_ttl=0.05)
    second = RedisDedupe(redis_server.url, prefix=prefix)
    assert first.claim("+1:10") is True
    wait_until_claimed(second, "+1:10")
    first.release("+1:10")
    assert first.claim("+1:10") is False
    second.record("+1:10", "second")
    first.release("+1:10")
    assert first.claim("+1:10") == "second"
    first.close()
    second.close()


class LosesAnswers(redis.Redis):
    """A client whose SET reaches Redis but whose answer is lost (Redis stopped meanwhile)."""

    lose = True
    resend = False  # instead: send it again, as redis-py's retry does

    def execute_command(self, *args: Any, **options: Any) -> Any:
        reply = super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        if args[0] == "SET" and self.lose:
            if self.resend:
                return super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
            raise redis.ConnectionError("Connection closed by server.")
        return reply


def test_redis_a_claim_whose_answer_was_lost_is_released(redis_server: RedisServer) -> None:
    # Left alone, the claim would hold the message for claim_ttl: every repeat would
    # wait and get 503. The worker releases it as soon as Redis answers again.
    prefix = f"test:{uuid.uuid4().hex}:"
    client = LosesAnswers.from_url(redis_server.url)
    worker = RedisDedupe(client, prefix=prefix)
    other_worker = RedisDedupe(redis_server.url, prefix=prefix)
    with pytest.raises(redis.ConnectionError):
        worker.claim("+1:20")
    assert other_worker.claim("+1:20") is False  # claimed, in Redis
    client.lose = False
    assert worker.claim("+1:21") is True  # any call releases it first
    assert other_worker.claim("+1:20") is True
    client.lose = client.resend = True
    assert worker.claim("+1:22") is True  # its own claim, sent twice: still its own
    assert other_worker.claim("+1:22") is False
    other_worker.close()
    client.close()


def test_redis_down_raises_quickly() -> None:
    store = RedisDedupe(f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    with pytest.raises(redis.ConnectionError):
        store.claim("+1:11")
    assert time.monotonic() - started < 2  # no retries with backoff: the delivery gets 503
    store.close()


def test_a_foreign_value_under_the_prefix_is_an_error(redis_server: RedisServer) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    with redis.Redis.from_url(redis_server.url) as other:
        other.set(prefix + "+1:12", "something else")
    store = RedisDedupe(redis_server.url, prefix=prefix)
    with pytest.raises(ValueError, match="is the prefix shared"):
        store.claim("+1:12")
    store.close()


@pytest.mark.parametrize(
    ("args", "options", "parameter"),
    [
        (("redis://localhost",), {"ttl": 0}, "ttl"),
        (("redis://localhost",), {"claim_ttl": float("nan")}, "claim_ttl"),
        (("localhost:6379",), {}, "url_or_client"),
        ((42,), {}, "url_or_client"),
    ],
)
def test_redis_bad_options_are_refused(
    args: tuple[Any, ...], options: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(dtmf.InvalidParameterError) as raised:
        RedisDedupe(*args, **options)
    assert raised.value.parameter == parameter


def test_redis_repr_hides_the_url() -> None:
    store = RedisDedupe("redis://:hunter2@localhost:6379/0", prefix="p:")
    assert "hunter2" not in repr(store)
    assert repr(store) == "RedisDedupe(prefix='p:', ttl=86400)"
    store.close()


def test_clients_given_are_used_and_not_closed(redis_server: RedisServer) -> None:
    sync_client = redis.Redis.from_url(redis_server.url)
    store = RedisDedupe(sync_client, prefix=f"test:{uuid.uuid4().hex}:")
    assert store.claim("+1:13") is True
    assert AsyncFlavour(store, "asyncio").claim("+1:13") is False  # in a worker thread
    store.close()
    assert sync_client.ping()
    sync_client.close()

    async def with_async_client() -> None:
        client = redis.asyncio.Redis.from_url(redis_server.url)
        store = RedisDedupe(client, prefix=f"test:{uuid.uuid4().hex}:")
        assert await store.aclaim("+1:14") is True
        await store.aclose()
        assert await client.ping()
        await client.aclose()
        with pytest.raises(dtmf.InvalidParameterError, match="asgi_app only"):
            webhooks.wsgi_app(Calls(), dedupe=store)
        with pytest.raises(dtmf.ConfigurationError, match="asgi_app"):
            store.claim("+1:14")

    anyio.run(with_async_client)


def test_an_object_that_is_no_store_is_refused() -> None:
    with pytest.raises(dtmf.InvalidParameterError, match="object has no aclaim, arecord, arelease"):
        webhooks.asgi_app(Calls(), dedupe=object())  # type: ignore[arg-type]
    with pytest.raises(dtmf.InvalidParameterError, match="AsyncOnly has no claim, record, release"):
        webhooks.wsgi_app(Calls(), dedupe=AsyncOnly())  # type: ignore[arg-type]
    webhooks.asgi_app(Calls(), dedupe=AsyncOnly())  # an AsyncDedupeStore is enough for ASGI


class AsyncOnly:
    """A store for asyncio code only."""

    async def aclaim(self, key: str) -> bool | str:
        return True

    async def arecord(self, key: str, reply: str) -> None:
        pass

    async def arelease(self, key: str) -> None:
        pass


# The apps on each store, under real servers.


class Spy:
    """A store wrapper: counts what it was asked and how it answered; can fail on purpose."""

    def __init__(self, inner: MemoryDedupe | RedisDedupe) -> None:
        self.inner = inner
        self.busy: set[object] = set()  # the requests told "claimed, not answered yet"
        self.record_failures = 0
        self.record_failed = threading.Event()
        self.lock = threading.Lock()

    def _saw(self, outcome: bool | str) -> bool | str:
        if outcome is False:
            with self.lock:
                self.busy.add(_current_request())
        return outcome

    def _recording(self, error: BaseException | None) -> None:
        if error is not None:
            with self.lock:
                self.record_failures += 1
            self.record_failed.set()
            raise error

    def claim(self, key: str) -> bool | str:
        return self._saw(self.inner.claim(key))

    def record(self, key: str, reply: str) -> None:
        try:
            self.inner.record(key, reply)
        except Exception as exc:
            self._recording(exc)

    def release(self, key: str) -> None:
        self.inner.release(key)

    async def aclaim(self, key: str) -> bool | str:
        return self._saw(await self.inner.aclaim(key))

    async def arecord(self, key: str, reply: str) -> None:
        try:
            await self.inner.arecord(key, reply)
        except Exception as exc:
            self._recording(exc)

    async def arelease(self, key: str) -> None:
        await self.inner.arelease(key)

    async def aclose(self) -> None:  # asgi_app calls it at shutdown
        if isinstance(self.inner, RedisDedupe):
            await self.inner.aclose()


def _current_request() -> object:
    """Which request the running code serves: its asyncio task (ASGI) or thread (WSGI)."""
    try:
        return anyio.get_current_task().id
    except RuntimeError:  # not in an event loop
        return threading.get_ident()


Serve = Callable[..., str]


@pytest.fixture(
    params=[(app, kind) for app in ("asgi", "wsgi") for kind in STORES],
    ids=lambda param: "-".join(param),
)
def serve(
    request: pytest.FixtureRequest, make_store: Callable[..., Any]
) -> Iterator[Callable[..., tuple[str, Spy]]]:
    """serve(handler, **store_options) -> (base URL of a real server, the app's store spy)."""
    app_kind, store_kind = request.param
    servers: list[Any] = []

    def start(handler: Any, **store_options: Any) -> tuple[str, Spy]:
        spy = Spy(make_store(store_kind, **store_options))
        if app_kind == "asgi":
            server = asgi_server(webhooks.asgi_app(handler, dedupe=spy))
        else:
            server = wsgi_server(webhooks.wsgi_app(handler, dedupe=spy))
        servers.append(server)
        return server.__enter__(), spy

    yield start
    for server in reversed(servers):
        server.__exit__(None, None, None)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


def delivery(id: int) -> bytes:
    return json.dumps({**SMS, "id": id}).encode()


class Stuck:
    """A handler that starts, then answers only once the test sets `go_on`."""

    def __init__(self, reply: str) -> None:
        self.calls = Calls(reply)
        self.handling = threading.Event()
        self.go_on = threading.Event()

    def __call__(self, sms: dtmf.InboundSMS) -> str | None:
        self.handling.set()
        self.go_on.wait(20)
        return self.calls(sms)


@contextmanager
def posting(http: httpx.Client, url: str) -> Iterator[list[httpx.Response]]:
    """POST BODY from another thread during the block; its response is in the list after it."""
    response: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: response.append(http.post(url, content=BODY)))
    thread.start()
    try:
        yield response
    finally:
        thread.join(30)


def test_a_repeat_gets_the_first_answer(
    serve: Callable[..., tuple[str, Spy]], http: httpx.Client
) -> None:
    calls = Calls("Thanks")
    url, _ = serve(calls)
    assert http.post(url, content=BODY).text == "Thanks"
    calls.reply = "changed"
    assert http.post(url, content=BODY).text == "Thanks"
    silent = Calls(None)
    url, _ = serve(silent)
    assert [http.post(url, content=BODY).status_code for _ in range(2)] == [204, 204]
    assert (len(calls.received), len(silent.received)) == (1, 1)


def test_a_failed_handler_releases_its_claim(
    serve: Callable[..., tuple[str, Spy]], http: httpx.Client
) -> None:
    outcomes: list[str | Exception] = [RuntimeError("down"), "second try"]
    calls: list[int] = []

    def handler(sms: dtmf.InboundSMS) -> str:
        calls.append(sms.id)
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    url, _ = serve(handler)
    assert http.post(url, content=BODY).status_code == 500
    assert http.post(url, content=BODY).text == "second try"
    assert http.post(url, content=BODY).text == "second try"
    assert calls == [1234, 1234]


def test_a_concurrent_repeat_waits_for_the_first_answer(
    serve: Callable[..., tuple[str, Spy]],
) -> None:
    # The handler does not answer until both repeats have been told that the
    # message is being handled (the busy path), however late their threads start.
    calls: list[int] = []
    handling = threading.Event()
    spies: list[Spy] = []

    def slow(sms: dtmf.InboundSMS) -> str:
        calls.append(sms.id)
        handling.set()
        deadline = time.monotonic() + 10
        while len(spies[0].busy) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        return "once"

    url, spy = serve(slow)
    spies.append(spy)
    answers: list[str] = []

    def post() -> None:
        with httpx.Client(timeout=20) as client:
            answers.append(client.post(url, content=BODY).text)

    first = threading.Thread(target=post)
    first.start()
    assert handling.wait(10)
    repeats = [threading.Thread(target=post) for _ in range(2)]
    for thread in repeats:
        thread.start()
    for thread in [first, *repeats]:
        thread.join(20)
    assert len(spy.busy) == 2
    assert answers == ["once"] * 3
    assert calls == [1234]


def test_a_repeat_waits_only_so_long_then_503_and_a_log(
    serve: Callable[..., tuple[str, Spy]],
    http: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(webhooks, "_BUSY_LIMIT", 0.2)
    caplog.set_level(logging.WARNING, logger="dtmf.webhooks")
    stuck = Stuck("late")
    url, _ = serve(stuck)
    with posting(http, url) as first:
        try:
            assert stuck.handling.wait(20)
            repeat = http.post(url, content=BODY)
        finally:
            stuck.go_on.set()
    assert repeat.status_code == 503  # no reply sent; a later delivery gets the answer
    assert "still being handled after 0.2 s" in caplog.text
    assert first[0].text == "late"
    assert http.post(url, content=BODY).text == "late"
    assert len(stuck.calls.received) == 1


@pytest.mark.parametrize("app_kind", ["asgi", "wsgi"])
def test_redis_down_is_503_and_the_handler_is_not_called(
    app_kind: str, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="dtmf.webhooks")
    calls = Calls()
    store = RedisDedupe(f"redis://127.0.0.1:{free_port()}/0")
    app = webhooks.asgi_app if app_kind == "asgi" else webhooks.wsgi_app
    with (asgi_server if app_kind == "asgi" else wsgi_server)(app(calls, dedupe=store)) as url:
        response = http.post(url, content=BODY)
    store.close()
    assert response.status_code == 503
    assert response.text == "Repeat protection is unavailable; deliver again later"
    assert calls.received == []
    assert "repeat protection is unavailable (ConnectionError" in caplog.text


@pytest.mark.parametrize("app_kind", ["asgi", "wsgi"])
def test_a_reply_is_recorded_once_redis_is_back(
    app_kind: str, tmp_path: Any, http: httpx.Client
) -> None:
    # Redis stops while the handler runs: recording the reply fails, is retried,
    # and succeeds once Redis is back; the answer is sent once and kept.
    server = RedisServer.started(tmp_path)
    try:
        spy = Spy(RedisDedupe(server.url))
        stuck = Stuck("kept")
        app = webhooks.asgi_app if app_kind == "asgi" else webhooks.wsgi_app
        with (asgi_server if app_kind == "asgi" else wsgi_server)(app(stuck, dedupe=spy)) as url:
            with posting(http, url) as first:
                assert stuck.handling.wait(20)
                server.stop()
                stuck.go_on.set()
                assert spy.record_failed.wait(20)
                server.start()
            assert first[0].text == "kept"
            assert http.post(url, content=BODY).text == "kept"
        assert len(stuck.calls.received) == 1
        assert spy.record_failures >= 1
        assert isinstance(spy.inner, RedisDedupe)
        spy.inner.close()
    finally:
        server.stop()


@pytest.mark.parametrize("kind", STORES)
def test_a_cancelled_asgi_handler_releases_its_claim(
    kind: str, make_store: Callable[..., MemoryDedupe | RedisDedupe]
) -> None:
    store = make_store(kind)

    async def scenario() -> None:
        handling = anyio.Event()

        async def forever(sms: dtmf.InboundSMS) -> str:
            handling.set()
            await anyio.sleep_forever()
            raise AssertionError("unreachable")

        app = webhooks.asgi_app(forever, dedupe=store)
        scope = {"type": "http", "method": "POST", "path": "/", "headers": []}
        bodies = iter([{"type": "http.request", "body": BODY}])

        async def receive() -> Any:
            return next(bodies)

        async def send(message: Any) -> None:
            raise AssertionError("a cancelled request sends nothing")

        async with anyio.create_task_group() as group:
            group.start_soon(app, scope, receive, send)
            await handling.wait()
            assert await store.aclaim("+1234567890:1234") is False
            group.cancel_scope.cancel()
        assert await store.aclaim("+1234567890:1234") is True
        if isinstance(store, RedisDedupe):
            await store.aclose()

    anyio.run(scenario)


def test_the_readme_example_serves_on_redis(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch, http: httpx.Client
) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    [block] = [
        b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "RedisDedupe(" in b
    ]
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    calls = Calls("from the README")
    namespace: dict[str, Any] = {"on_sms": calls, "secret": "s3cr3t"}
    exec(block, namespace)
    with asgi_server(namespace["app"]) as url:
        assert http.post(f"{url}/sms/s3cr3t", content=BODY).text == "from the README"
        assert http.post(f"{url}/sms/s3cr3t", content=BODY).text == "from the README"
    assert len(calls.received) == 1
    namespace["dedupe"].close()
