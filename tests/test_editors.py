"""What users' editors see: jedi (pylsp, IPython, vim/emacs) completes, signs and documents.

pyright and mypy see the same types (tests/typing/, tests/test_typing.py); these
tests check the engine that does not run a type checker's inference.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import jedi
import pytest

import dtmf
from dtmf._contract import OPERATIONS, Operation

ROOT = Path(__file__).resolve().parent.parent

PROGRAM = """\
import dtmf

client = dtmf.Client("token")
number = client.numbers.get("+447700900001")
group = client.groups.list("mobile")[0]
account = client.account.get()
message = number.messages[0]


async def main() -> None:
    async with dtmf.AsyncClient("token") as aclient:
        anumber = await aclient.numbers.get("+447700900001")
        agroup = (await aclient.groups.list("mobile"))[0]
"""

# At each dot, what must be offered (a sample of fields, and every action).
EXPECTED = {
    "client.": {"account", "addresses", "groups", "numbers", "messages", "with_options", "close"},
    "client.numbers.": {
        "list",
        "get",
        "rent",
        "end_rental",
        "set_sms_action",
        "rental",
        "receive_code",
    },
    "client.messages.": {"send"},
    "number.": {
        "e164",
        "messages",
        "cost_per_minute",
        "refresh",
        "end_rental",
        "set_sms_action",
        "send_sms",
        "wait_for_message",
    },
    "group.": {"id", "setup_cost", "rental_cost_per_minute", "rent", "rental"},
    "message.": {"content", "from_", "to", "timestamp", "inbound"},
    "account.": {"balance"},
    "        anumber.": {"e164", "refresh", "end_rental", "send_sms", "wait_for_message"},
    "        agroup.": {"id", "rent", "rental"},
    "        aclient.numbers.": {"list", "get", "rent", "end_rental", "rental", "receive_code"},
}


def _script(extra: str) -> tuple[jedi.Script, int, int]:
    source = PROGRAM + extra
    lines = source.splitlines()
    return jedi.Script(source, path=str(ROOT / "example.py")), len(lines), len(lines[-1])


@pytest.mark.parametrize("prefix", sorted(EXPECTED))
def test_completion_offers_fields_and_methods(prefix: str) -> None:
    script, line, column = _script(prefix)
    offered = {completion.name for completion in script.complete(line, column)}
    assert offered >= EXPECTED[prefix], EXPECTED[prefix] - offered


def _signature(call: str) -> tuple[str, str]:
    script, line, column = _script(call)
    signatures = script.get_signatures(line, column)
    assert len(signatures) == 1, f"jedi shows no signature for {call!r}"
    return signatures[0].to_string(), signatures[0].docstring(raw=True)


def _parameters(function: Any) -> list[str]:
    return [name for name in inspect.signature(function).parameters if name != "self"]


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
def test_resource_methods_show_signature_and_docstring(
    operation: Operation[Any, Any, Any], asynchronous: bool
) -> None:
    client = "        aclient" if asynchronous else "client"
    shown, doc = _signature(f"{client}.{operation.resource}.{operation.method_name}(")
    for parameter in _parameters(operation.signature):
        assert f"{parameter}:" in shown, shown
    assert doc.startswith(operation.summary), doc
    assert "Example:" in doc


ACTIONS = [(operation, action) for operation in OPERATIONS for action in operation.actions]


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(
    ("operation", "action"), ACTIONS, ids=[f"{a.model}.{a.method}" for _, a in ACTIONS]
)
def test_model_actions_show_signature_and_docstring(
    operation: Operation[Any, Any, Any], action: Any, asynchronous: bool
) -> None:
    variable = action.model.lower()
    receiver = f"        a{variable}" if asynchronous else variable
    model = getattr(dtmf, ("Async" if asynchronous else "") + action.model)
    shown, doc = _signature(f"{receiver}.{action.method}(")
    for parameter in _parameters(getattr(model, action.method)):
        assert f"{parameter}:" in shown, shown
    assert doc.startswith(action.summary), doc


@pytest.mark.parametrize("receiver", ["number", "        anumber"])
def test_wait_for_message_shows_signature_and_docstring(receiver: str) -> None:
    shown, doc = _signature(f"{receiver}.wait_for_message(")
    for parameter in ("timeout: float", "match:", "since:"):
        assert parameter in shown
    assert doc.startswith("Wait for a new inbound SMS")


@pytest.mark.parametrize(
    ("call", "parameters", "summary"),
    [
        ("client.numbers.rental(", ("group_id: str", "keep: bool", "end_timeout: float"), "Rent"),
        ("        aclient.numbers.rental(", ("group_id: str", "keep: bool"), "Rent"),
        ("group.rental(", ("keep: bool", "end_timeout: float"), "Rent"),
        ("client.numbers.receive_code(", ("group_id: str", "pattern:", "timeout:"), "Rent"),
        ("        aclient.numbers.receive_code(", ("pattern:", "on_rented:"), "Rent"),
    ],
)
def test_scoped_rental_methods_show_signature_and_docstring(
    call: str, parameters: tuple[str, ...], summary: str
) -> None:
    shown, doc = _signature(call)
    for parameter in parameters:
        assert parameter in shown, shown
    assert doc.startswith(summary), doc
    assert "Example:" in doc


def test_hover_on_a_field_shows_its_meaning_and_unit() -> None:
    script, line, column = _script("number.cost_per_minute")
    (hover,) = script.help(line, column - 2)
    assert "Satoshis per minute" in hover.docstring()


def test_go_to_definition_lands_on_the_method() -> None:
    script, line, column = _script("client.numbers.get")
    (definition,) = script.goto(line, column - 1)
    assert definition.module_path is not None
    assert Path(definition.module_path).name == "_resources.py"
    assert definition.type == "function"
    assert definition.name == "get"


def test_ipython_limited_evaluation_reaches_the_resources() -> None:
    # IPython's default completion evaluates `client.numbers` only if no code runs
    # (no property getters): resources are plain attributes, on views too.
    from IPython.core.guarded_eval import EvaluationContext, guarded_eval

    with dtmf.Client("token", base_url="http://127.0.0.1:9") as client:
        view = client.with_options(timeout=3)
        context = EvaluationContext(
            locals={"client": client, "view": view}, globals={}, evaluation="limited"
        )
        for name in ("client", "view"):
            numbers = guarded_eval(f"{name}.numbers", context)
            assert isinstance(numbers, dtmf._resources.NumbersResource)  # pyright: ignore[reportPrivateUsage]
            assert callable(guarded_eval(f"{name}.numbers.get", context))
