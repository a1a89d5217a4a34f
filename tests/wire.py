"""The wire contract as tests address it, derived from `dtmf._contract.OPERATIONS`.

Tests that talk HTTP name operations, not paths, so that someone who corrects a
method or path in `_contract.py` has nothing to fix here.
"""

from __future__ import annotations

from typing import Any

from dtmf._contract import OPERATIONS, Operation
from dtmf.testing._server import API_PREFIX

OPS: dict[str, Operation[Any, Any, Any]] = {op.name: op for op in OPERATIONS}


def wire(name: str) -> tuple[str, str]:
    """An operation's HTTP method and full path (with the API prefix, '/api/v1')."""
    op = OPS[name]
    return op.method, API_PREFIX + op.path


def relative(name: str) -> tuple[str, str]:
    """An operation's HTTP method and path relative to the base URL, for `httpx.Client`."""
    op = OPS[name]
    return op.method, op.path.lstrip("/")
