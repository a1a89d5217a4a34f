"""The cassette scenario: every operation once, written once for every client.

`tour()` is a generator of calls; `run_sync` and `run_async` perform them on a
`Client` or `AsyncClient`, and `run_compat` on the original `DTMF` class, so the
three cassettes record the same conversation.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import dtmf

FRIEND = "+447700900123"

Step = tuple[str, tuple[Any, ...]]
Tour = Generator[Step, Any, dict[str, Any]]

# The original class's method for each new-API call.
COMPAT_NAMES = {
    "account.get": "account",
    "addresses.list": "addresses",
    "addresses.create": "new_address",
    "groups.list": "groups",
    "numbers.list": "numbers",
    "numbers.get": "number",
    "numbers.rent": "start_rental",
    "numbers.end_rental": "end_rental",
    "numbers.set_sms_action": "set_sms_action",
    "messages.send": "send_sms",
}


def _field(value: Any, name: str) -> Any:
    return value[name] if isinstance(value, dict) else getattr(value, name)


def tour() -> Tour:
    """Every operation of the API, in the order a user would meet them."""
    seen: dict[str, Any] = {}
    seen["account"] = yield "account.get", ()
    seen["addresses"] = yield "addresses.list", ()
    seen["new_address"] = yield "addresses.create", ()
    seen["mobile"] = yield "groups.list", ("mobile",)
    seen["local"] = yield "groups.list", ("local",)
    group = next(g for g in seen["mobile"] if _field(g, "sms_support"))
    seen["rented"] = yield "numbers.rent", (_field(group, "id"),)
    e164 = _field(seen["rented"], "e164")
    seen["numbers"] = yield "numbers.list", ()
    seen["forward"] = yield "numbers.set_sms_action", (e164, "forward", FRIEND)
    seen["sent"] = yield "messages.send", (e164, FRIEND, "Hello from dtmf-io")
    seen["number"] = yield "numbers.get", (e164,)
    seen["no_action"] = yield "numbers.set_sms_action", (e164, None, None)
    seen["ended"] = yield "numbers.end_rental", (e164,)
    seen["account_after"] = yield "account.get", ()
    return seen


def _method(client: dtmf.Client | dtmf.AsyncClient, name: str) -> Any:
    resource, method = name.split(".")
    return getattr(getattr(client, resource), method)


def run(perform: Callable[[str, tuple[Any, ...]], Any]) -> dict[str, Any]:
    """Play the tour through `perform(name, args)`, returning what each step gave."""
    steps = tour()
    result: Any = None
    try:
        while True:
            name, args = steps.send(result)
            result = perform(name, args)
    except StopIteration as done:
        return dict(done.value)


def run_sync(client: dtmf.Client) -> dict[str, Any]:
    return run(lambda name, args: _method(client, name)(*args))


def run_compat(old: dtmf.DTMF) -> dict[str, Any]:
    return run(lambda name, args: getattr(old, COMPAT_NAMES[name])(*args))


async def run_async(client: dtmf.AsyncClient) -> dict[str, Any]:
    steps = tour()
    result: Any = None
    try:
        while True:
            name, args = steps.send(result)
            result = await _method(client, name)(*args)
    except StopIteration as done:
        return dict(done.value)
