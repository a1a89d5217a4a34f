"""Generate `dtmf/_resources.py` from the wire contract (`make generate`).

Every resource method of both clients, and every model action (`number.end_rental()`),
is written out as a plain method with its exact signature, return type and the
docstring of its contract row, so that every editor (jedi as well as pyright) and
every documentation tool sees it without running code. The contract stays the one
source: `tests/test_generated.py` fails when the file is stale.

    python -m tests.generate          # rewrite dtmf/_resources.py
    python -m tests.generate --check  # exit 1 if it is stale
"""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parent.parent / "dtmf"
TARGET = PACKAGE / "_resources.py"

if "dtmf" not in sys.modules:
    # Read the contract without running `dtmf/__init__.py`, which imports the file
    # this writes: a stale or broken one must not stop its own regeneration.
    _package = types.ModuleType("dtmf")
    _package.__path__ = [str(PACKAGE)]
    sys.modules["dtmf"] = _package

from dtmf._contract import OPERATIONS, Action, Operation  # noqa: E402

RESOURCES = {
    "account": "Your account and its balance.",
    "addresses": "Bitcoin deposit addresses that fund your account.",
    "groups": "The groups of phone numbers you can rent from.",
    "numbers": "The phone numbers your account rents.",
    "messages": "Sending SMS.",
}

MIXINS: dict[str, tuple[str, ...]] = {
    "NumbersResource": ("_leaks.FindLeaks", "_rentals.RentalMethods", "_codes.CodeMethods"),
    "AsyncNumbersResource": (
        "_leaks.AsyncFindLeaks",
        "_rentals.AsyncRentalMethods",
        "_codes.AsyncCodeMethods",
    ),
    "GroupActions": ("_rentals.GroupRentalMethods",),
    "AsyncGroupActions": ("_rentals.AsyncGroupRentalMethods",),
    "MessagesResource": ("_reconcile.ReconcileMessages",),
    "AsyncMessagesResource": ("_reconcile.AsyncReconcileMessages",),
    "NumberActions": ("_reconcile.ReconcileNumber",),
    "AsyncNumberActions": ("_reconcile.AsyncReconcileNumber",),
}
"""Hand-written base classes of generated classes: generated class -> 'module.Class' in
`dtmf`. A method a mixin defines (in its class body, not under `if TYPE_CHECKING`) is
not generated: the hand-written one, with its wider signature, takes its place (as
`send_sms(..., on_ambiguous=...)` does)."""


def _mixin_methods(mixin: str) -> set[str]:
    """The methods a mixin ('_module.Class') defines, read from its source (not imported)."""
    module, _, name = mixin.partition(".")
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return {
                item.name
                for item in node.body
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
            }
    raise LookupError(f"dtmf/{module}.py defines no class {name} (see MIXINS)")


def _inherited(class_name: str) -> set[str]:
    return set().union(*(_mixin_methods(m) for m in MIXINS.get(class_name, ())))


def _bases(class_name: str, *others: str) -> str:
    return ", ".join([*(m.partition(".")[2] for m in MIXINS.get(class_name, ())), *others])


def _mixin_imports() -> str:
    by_module: dict[str, set[str]] = {}
    for mixins in MIXINS.values():
        for mixin in mixins:
            module, _, name = mixin.partition(".")
            by_module.setdefault(module, set()).add(name)
    return "".join(
        f"from .{module} import {', '.join(sorted(names))}\n"
        for module, names in sorted(by_module.items())
    )


HEADER = '''"""The resource methods of both clients and the models' actions.

GENERATED from the wire contract (`dtmf/_contract.py`) by `make generate`: do not
edit. Each method names its operation and hands it to the client's requester
(`_requester.py`); everything else about a call lives in the contract row and the
sans-I/O core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _contract as contract
from ._requester import AsyncRequester, Resource, SyncRequester

if TYPE_CHECKING:
    from ._client import AsyncClient, Client
    from ._models import Account, Address, AsyncGroup, AsyncNumber, Group, Number
    from ._validate import GroupType, SmsActionName
'''


def _class_name(resource: str, asynchronous: bool) -> str:
    return ("Async" if asynchronous else "") + resource.capitalize() + "Resource"


def _result_name(operation: Operation[Any, Any, Any]) -> str | None:
    model = operation.result.sync_model
    if model is None:
        return None
    name = model.lower()
    if operation.result.is_list:
        name += "es" if name.endswith("s") else "s"
    return name


def _parameters(operation: Operation[Any, Any, Any]) -> list[inspect.Parameter]:
    return list(inspect.signature(operation.signature).parameters.values())


def _example_args(operation: Operation[Any, Any, Any]) -> list[str]:
    if not operation.example:
        return []
    source = f"f({operation.example})"
    call = ast.parse(source, mode="eval").body
    assert isinstance(call, ast.Call)
    return [ast.get_source_segment(source, arg) or "" for arg in call.args]


def _declare(parameter: inspect.Parameter) -> str:
    """A parameter as written in code: 'destination: str | None = None'."""
    text = f"{parameter.name}: {parameter.annotation}"
    if parameter.default is not inspect.Parameter.empty:
        text += f" = {parameter.default!r}"
    return text


def _docstring_sections(operation: Operation[Any, Any, Any]) -> tuple[list[str], dict[str, str]]:
    """The signature function's docstring as (lines without Args, Args entries by name)."""
    lines = inspect.cleandoc(operation.signature.__doc__ or "").splitlines()
    kept: list[str] = []
    args: dict[str, str] = {}
    in_args = False
    current = ""
    for line in lines:
        if line == "Args:":
            in_args = True
            continue
        if in_args:
            if not line.strip():
                in_args = False
                continue
            if line.startswith("    ") and not line.startswith("        "):
                current, _, text = line.strip().partition(": ")
                args[current] = text
            else:
                args[current] += " " + line.strip()
            continue
        kept.append(line)
    return kept, args


def _without_entries_naming(lines: list[str], name: str) -> list[str]:
    """`lines` less the indented section entries (and their continuations) that mention `name`."""
    kept: list[str] = []
    entry: list[str] = []
    for line in [*lines, ""]:
        if line.startswith("        "):
            entry.append(line)
            continue
        if entry and not any(name in part for part in entry):
            kept.extend(entry)
        entry = []
        if line.startswith("    "):
            entry = [line]
        else:
            kept.append(line)
    return kept[:-1]


def _docstring(
    summary: str | None,
    operation: Operation[Any, Any, Any],
    parameters: dict[str, str],
    example: str,
    filled: str | None = None,
) -> str:
    """The method's docstring: summary, body, Args (`parameters`: name -> row name), example.

    `filled` is a parameter a model action fills from its own field: errors about
    it are left out, since the caller does not pass it.
    """
    kept, args = _docstring_sections(operation)
    if filled is not None:
        kept = _without_entries_naming(kept, f"`{filled}`")
    if summary is not None:
        kept = [summary, *kept[1:]]
    # Args go after the description, before Raises.
    raises = kept.index("Raises:") if "Raises:" in kept else len(kept)
    body = kept[:raises]
    while body and not body[-1]:
        body.pop()
    arg_lines: list[str] = []
    for name, row_name in parameters.items():
        wrapped = textwrap.wrap(f"{name}: {args[row_name]}", 84)
        arg_lines.append("    " + wrapped[0])
        arg_lines.extend("        " + more for more in wrapped[1:])
    sections = [*body, ""]
    if arg_lines:
        sections += ["Args:", *arg_lines, ""]
    sections += kept[raises:]
    while sections and not sections[-1]:
        sections.pop()
    sections += ["", "Example:", f"    ``{example}``"]
    return '"""' + "\n".join(sections) + '\n"""'


def _method(
    name: str,
    signature: list[str],
    returns: str,
    docstring: str,
    call: str,
    asynchronous: bool,
) -> str:
    prefix = "async def" if asynchronous else "def"
    await_ = "await " if asynchronous else ""
    head = f"{prefix} {name}({', '.join(['self', *signature])}) -> {returns}:"
    if len(head) > 96:
        head = f"{prefix} {name}(\n    " + ", ".join(["self", *signature]) + f"\n) -> {returns}:"
    return_ = "return " if returns != "None" else ""
    body = textwrap.indent(f"{docstring}\n{return_}{await_}{call}", "    ")
    return f"{head}\n{body}\n"


def _resource_method(operation: Operation[Any, Any, Any], asynchronous: bool) -> str:
    parameters = _parameters(operation)
    result = _result_name(operation)
    await_ = "await " if asynchronous else ""
    example_args = ", ".join(_example_args(operation))
    call = f"client.{operation.resource}.{operation.method_name}({example_args})"
    example = f"{result} = {await_}{call}" if result else f"{await_}{call}"
    args = ", ".join(["contract." + operation.signature.__name__, *(p.name for p in parameters)])
    return _method(
        operation.method_name,
        [_declare(p) for p in parameters],
        operation.result.annotation(asynchronous=asynchronous),
        _docstring(None, operation, {p.name: p.name for p in parameters}, example),
        f"self._requester.call({args})",
        asynchronous,
    )


def _action_method(operation: Operation[Any, Any, Any], action: Action, asynchronous: bool) -> str:
    parameters_all = _parameters(operation)
    parameters = parameters_all[1:]  # the first comes from the model's field
    renamed = [p.replace(name=action.renames.get(p.name, p.name)) for p in parameters]
    variable = action.model.lower()
    await_ = "await " if asynchronous else ""
    example_args = ", ".join(_example_args(operation)[1:])
    example = f"{await_}{variable}.{action.method}({example_args})"
    result = _result_name(operation)
    if result:
        example = f"{result} = {example}"
    forwarded = ", ".join([f"self.{action.model_field}", *(p.name for p in renamed)])
    return _method(
        action.method,
        [_declare(p) for p in renamed],
        operation.result.annotation(asynchronous=asynchronous),
        _docstring(
            action.summary,
            operation,
            {new.name: old.name for new, old in zip(renamed, parameters, strict=True)},
            example,
            filled=parameters_all[0].name,
        ),
        f"self._client().{operation.resource}.{operation.method_name}({forwarded})",
        asynchronous,
    )


def _resource_classes(asynchronous: bool) -> Iterator[str]:
    requester = "AsyncRequester" if asynchronous else "SyncRequester"
    client = "AsyncClient" if asynchronous else "Client"
    for resource, doc in RESOURCES.items():
        name = _class_name(resource, asynchronous)
        methods = [
            _resource_method(op, asynchronous)
            for op in OPERATIONS
            if op.resource == resource and op.method_name not in _inherited(name)
        ]
        yield (
            f"class {name}({_bases(name, f'Resource[{requester}]')}):\n"
            f'    """{doc[:-1]} (`{client}.{resource}`)."""\n\n'
            "    __slots__ = ()\n\n" + textwrap.indent("\n".join(methods), "    ")
        )


def _action_classes(asynchronous: bool) -> Iterator[str]:
    models = sorted({action.model for op in OPERATIONS for action in op.actions})
    for model in models:
        actions = [action for op in OPERATIONS for action in op.actions if action.model == model]
        fields = sorted({action.model_field for action in actions})
        client = "AsyncClient" if asynchronous else "Client"
        name = ("Async" if asynchronous else "") + model
        methods = [
            _action_method(op, action, asynchronous)
            for op in OPERATIONS
            for action in op.actions
            if action.model == model and action.method not in _inherited(f"{name}Actions")
        ]
        declared = "".join(f"        {field}: str\n" for field in fields)
        bases = f"({_bases(name + 'Actions')})" if MIXINS.get(name + "Actions") else ""
        yield (
            f"class {name}Actions{bases}:\n"
            f'    """The actions of `{name}`, run through the {client} that returned it."""\n\n'
            "    __slots__ = ()\n\n"
            "    if TYPE_CHECKING:\n"
            f"{declared}\n"
            f"        def _client(self) -> {client}: ...\n\n"
            + textwrap.indent("\n".join(methods), "    ")
        )


def render() -> str:
    """The generated module's source, formatted by ruff."""
    parts = [
        HEADER.replace("from ._requester import", _mixin_imports() + "from ._requester import")
    ]
    for asynchronous in (False, True):
        parts.extend(_resource_classes(asynchronous))
    for asynchronous in (False, True):
        parts.extend(_action_classes(asynchronous))
    for asynchronous, name in ((False, "SYNC_RESOURCES"), (True, "ASYNC_RESOURCES")):
        entries = "".join(
            f"    {resource!r}: {_class_name(resource, asynchronous)},\n" for resource in RESOURCES
        )
        client = "AsyncClient" if asynchronous else "Client"
        parts.append(
            f"{name}: dict[str, type[Resource[Any]]] = {{\n{entries}}}\n"
            f'"""The resources of a {client}, by attribute."""\n'
        )
    source = "\n\n".join(parts)
    ruff = Path(sys.executable).parent / "ruff"
    formatted = subprocess.run(
        [str(ruff), "format", "--stdin-filename", str(TARGET), "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return formatted


def main() -> int:
    source = render()
    if "--check" in sys.argv:
        if TARGET.read_text() != source:
            print(f"{TARGET} is stale: run `make generate`", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(source)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
