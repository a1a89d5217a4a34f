"""The generated resource methods are current, and each matches its contract row."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import dtmf
from dtmf._contract import OPERATIONS, Operation
from dtmf._resources import ASYNC_RESOURCES, SYNC_RESOURCES
from tests import generate


def test_resources_module_is_current() -> None:
    assert generate.TARGET.read_text() == generate.render(), "run `make generate`"


def _methods(operation: Operation[Any, Any, Any]) -> list[Any]:
    return [
        getattr(resources[operation.resource], operation.method_name)
        for resources in (SYNC_RESOURCES, ASYNC_RESOURCES)
    ]


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
def test_each_method_has_its_rows_parameters_and_summary(
    operation: Operation[Any, Any, Any],
) -> None:
    row = inspect.signature(operation.signature)
    for method in _methods(operation):
        parameters = list(inspect.signature(method).parameters.values())[1:]  # less self
        assert [(p.name, p.default, p.kind) for p in parameters] == [
            (p.name, p.default, p.kind) for p in row.parameters.values()
        ]
        assert inspect.getdoc(method).splitlines()[0] == operation.summary  # type: ignore[union-attr]


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
def test_async_methods_are_coroutine_functions(operation: Operation[Any, Any, Any]) -> None:
    sync, async_ = _methods(operation)
    assert not inspect.iscoroutinefunction(sync)
    assert inspect.iscoroutinefunction(async_)


def test_every_model_action_is_a_plain_method_of_its_model() -> None:
    for operation in OPERATIONS:
        for action in operation.actions:
            sync_model = getattr(dtmf, action.model)
            async_model = getattr(dtmf, "Async" + action.model)
            assert not inspect.iscoroutinefunction(getattr(sync_model, action.method))
            assert inspect.iscoroutinefunction(getattr(async_model, action.method))
            assert getattr(sync_model, action.method).__doc__.startswith(action.summary)
