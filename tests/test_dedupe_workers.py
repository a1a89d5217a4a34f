"""One reply per SMS across worker processes: 4 uvicorn processes sharing RedisDedupe.

The receiver (`tests.workers.make_app`) runs in 4 uvicorn processes, each on its own
port, and the deliveries' connections go to them in turn, as a load balancer's would
(under `uvicorn --workers 4` the kernel picks the worker, and on a loaded machine one
can take every connection, which would leave nothing to test). Its handler appends
each message id it handles to a file, so the handler's runs are counted across
processes. 1,000 deliveries, 30% of them repeats, are sent over 48 connections at
once. Then the same again while Redis is stopped and restarted in the middle of the run.
"""

from __future__ import annotations

import asyncio
import collections
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .redis_server import RedisServer
from .workers import Result, deliveries, post_all, serve_processes

WORKERS = 4
UNIQUE = 700
REPEATS = 300
CONCURRENCY = 48


@pytest.fixture(scope="module")
def redis_for_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A Redis of this module's own: one test stops and restarts it."""
    server = RedisServer.started(tmp_path_factory.mktemp("redis-workers"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def receiver(
    redis_for_workers: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[list[int], Path]]:
    """(ports, handler log) of the receiver in 4 uvicorn processes."""
    directory = tmp_path_factory.mktemp("workers")
    log = directory / "handled.txt"
    log.touch()
    env = {
        "DEDUPE_REDIS_URL": redis_for_workers.url,
        "DEDUPE_PREFIX": f"test:{uuid.uuid4().hex}:",
        "DEDUPE_LOG": str(log),
        "DEDUPE_SLOW": "1",
    }
    with serve_processes(WORKERS, directory, env) as ports:
        yield ports, log


def handled(log: Path, ids: range) -> collections.Counter[int]:
    """How many times the handler ran for each of `ids`, from the handlers' shared log."""
    counts = collections.Counter(int(line) for line in log.read_text().split())
    return collections.Counter({id: counts[id] for id in ids})


def check_once(results: list[Result], log: Path, ids: range) -> set[str]:
    """Each id handled once; every delivery of an id got the first answer or no reply.

    Returns the worker pids that answered.
    """
    assert len(results) == UNIQUE + REPEATS  # every delivery got a final answer
    runs = handled(log, ids)
    assert sorted(set(runs.values())) == [1], {id: n for id, n in runs.items() if n != 1}
    answers: dict[int, set[str]] = collections.defaultdict(set)
    for id, statuses, text in results:
        assert statuses[-1] in (200, 204), (id, statuses)
        assert set(statuses[:-1]) <= {503}, (id, statuses)  # 503: no reply, delivered again
        answers[id].add(f"{statuses[-1]} {text}")
    pids: set[str] = set()
    for id in ids:
        [answer] = answers[id]  # one answer per message, whichever worker answered
        if id % 10 == 0:
            assert answer == "204 "
        else:
            match = re.fullmatch(rf"200 reply {id} from (\d+)", answer)
            assert match, answer
            pids.add(match[1])
    return pids


def test_four_workers_run_the_handler_once_per_message(receiver: tuple[list[int], Path]) -> None:
    ports, log = receiver
    ids = range(1, UNIQUE + 1)
    results = asyncio.run(
        post_all(ports, deliveries(ids, REPEATS, seed=17), CONCURRENCY, retry_503=True)
    )
    pids = check_once(results, log, ids)
    assert len(pids) == WORKERS, "every process answered some deliveries"


def test_redis_stopped_and_restarted_mid_run_loses_and_doubles_nothing(
    receiver: tuple[list[int], Path], redis_for_workers: RedisServer
) -> None:
    ports, log = receiver
    ids = range(10_001, 10_001 + UNIQUE)
    answered = 0
    quarter = asyncio.Event()  # bound to the loop of its first wait (Python 3.10+)

    def count(result: Result) -> None:
        nonlocal answered
        answered += 1
        if answered == (UNIQUE + REPEATS) // 4:
            quarter.set()

    async def outage() -> None:
        await quarter.wait()
        await asyncio.to_thread(redis_for_workers.stop)
        await asyncio.sleep(0.5)  # deliveries go on meanwhile, answered 503 and delivered again
        await asyncio.to_thread(redis_for_workers.start)

    async def run() -> list[Result]:
        order = deliveries(ids, REPEATS, seed=29)
        _, results = await asyncio.gather(
            outage(), post_all(ports, order, CONCURRENCY, retry_503=True, on_result=count)
        )
        return results

    results = asyncio.run(run())
    assert any(503 in statuses for _, statuses, _ in results), "the outage hit no delivery"
    check_once(results, log, ids)
