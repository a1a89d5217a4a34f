"""The wire contract: every operation of the DTMF.io API, in one table.

Each operation names its HTTP method and path (relative to the base URL, e.g.
``https://dtmf.io/api/v1``), which of its fields travel in the query string and
which in the JSON body, what a successful response holds, and whether it may be
retried. Its signature function validates the caller's arguments and returns
the wire fields.

Everything else reads this table: `Client` and `AsyncClient` expose each operation
as a method (see `_resources.py`), `DTMF` calls those methods, and the reference
server in `dtmf.testing` routes requests by the same method and path and
validates their fields by calling the same signature function. Two endpoints are
known from the live service's page (``GET /number?e164=`` and ``POST /message``);
the rest are this project's choice. Someone who learns a real path corrects it
here and nowhere else.
"""

from __future__ import annotations

import enum
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

from ._validate import (
    GroupType,
    SmsActionName,
    check_content,
    check_e164,
    check_group_id,
    check_group_type,
    check_sms_action,
)

__all__ = ["OPERATIONS", "Operation", "Retry", "Shape", "WireFields"]

if TYPE_CHECKING:
    # At run time the models are loaded with the first parser that needs them
    # (see `_models_loaded`): pydantic's model machinery stays out of `import dtmf`.
    from ._models import Account, Address, AsyncGroup, AsyncNumber, Group, Number

P = ParamSpec("P")
S = TypeVar("S")
A = TypeVar("A")
M = TypeVar("M")
AM = TypeVar("AM")

WireFields = dict[str, Any]
"""An operation's fields by wire name, validated, ready to send."""


class Retry(enum.Enum):
    """Which failures an operation may be retried after (see `_retry.py`)."""

    READ = "read"
    """Reads: retried whenever the failure is transient."""
    IDEMPOTENT = "idempotent"
    """Writes whose repetition changes nothing: retried like reads."""
    NEVER_TWICE = "never twice"
    """Paid or creating writes: retried only when the service provably did not act."""


class Shape(Generic[S, A]):
    """What a successful response holds, and how to read it for each kind of client.

    `parse_sync` and `parse_async` turn the body into the result a `Client` or an
    `AsyncClient` returns; their models differ only in how their actions run. Each
    parser is built on first use, once (building one costs milliseconds: doing it
    for every operation would slow `import dtmf`); afterwards reading it is a
    plain attribute lookup.
    """

    def __init__(
        self,
        make_sync: Callable[[], Callable[[bytes], S]],
        make_async: Callable[[], Callable[[bytes], A]],
        has_body: bool = True,
    ) -> None:
        self._make_sync = make_sync
        self._make_async = make_async
        self.has_body = has_body

    @cached_property
    def parse_sync(self) -> Callable[[bytes], S]:
        """The body as a `Client`'s result."""
        return self._make_sync()

    @cached_property
    def parse_async(self) -> Callable[[bytes], A]:
        """The body as an `AsyncClient`'s result."""
        return self._make_async()


def _nothing(content: bytes) -> None:
    return None


def _no_parser() -> Callable[[bytes], None]:
    return _nothing


NO_CONTENT: Shape[None, None] = Shape(_no_parser, _no_parser, has_body=False)


def _models_loaded() -> None:
    """Load the models into this module's namespace, for the lambdas in the table below."""
    if "Number" not in globals():
        from . import _models  # pyright: ignore[reportPrivateUsage]

        globals().update({name: getattr(_models, name) for name in _models.__all__})


def _adapter(model: Callable[[], Any], as_list: bool) -> Callable[[bytes], Any]:
    from pydantic import TypeAdapter

    _models_loaded()
    resolved = model()
    return TypeAdapter(list[resolved] if as_list else resolved).validate_json  # type: ignore[valid-type]


def one(sync_model: Callable[[], type[M]], async_model: Callable[[], type[AM]]) -> Shape[M, AM]:
    """A response holding one object (models named lazily: `lambda: Number`)."""
    return Shape(lambda: _adapter(sync_model, False), lambda: _adapter(async_model, False))


def many(
    sync_model: Callable[[], type[M]], async_model: Callable[[], type[AM]]
) -> Shape[list[M], list[AM]]:
    """A response holding a JSON array of objects (models named lazily)."""
    return Shape(lambda: _adapter(sync_model, True), lambda: _adapter(async_model, True))


@dataclass(frozen=True, eq=False)
class Operation(Generic[P, S, A]):
    """One row of the wire contract."""

    name: str
    """Resource and method, as users call it: 'numbers.get'."""
    method: str
    path: str
    query: tuple[str, ...]
    body: tuple[str, ...]
    success_status: int
    result: Shape[S, A]
    retry: Retry
    signature: Callable[P, WireFields]
    """Validates the caller's arguments and returns the wire fields."""
    gone_means_done: bool = False
    """After an ambiguous failure, a 404 on the retry means the first attempt worked."""
    wire_to_parameter: Mapping[str, str] = field(default_factory=dict[str, str])
    optional: frozenset[str] = frozenset()
    """Wire fields that may be left out (their parameter has a default)."""

    @property
    def summary(self) -> str:
        """The first line of the signature function's docstring."""
        return (self.signature.__doc__ or self.name).strip().splitlines()[0]

    def split(self, wire: WireFields) -> tuple[dict[str, str] | None, dict[str, Any] | None]:
        """The wire fields as (query parameters, JSON body)."""
        params = {key: wire[key] for key in self.query} if self.query else None
        body = {key: wire[key] for key in self.body} if self.body else None
        return params, body

    def fields_from_wire(self, values: Mapping[str, Any]) -> WireFields:
        """Validate fields received on the wire (the reference server's side).

        Calls the same signature function the clients call, so both sides accept
        exactly the same input. Raises `InvalidParameterError` naming the wire field.
        """
        from ._errors import InvalidParameterError

        arguments: dict[str, Any] = {}
        for wire_name, parameter in self.wire_to_parameter.items():
            if wire_name in values:
                arguments[parameter] = values[wire_name]
            elif wire_name not in self.optional:
                where = "query parameter" if wire_name in self.query else "JSON body field"
                raise InvalidParameterError(wire_name, f"is required ({where})")
        try:
            return self.signature(**arguments)  # type: ignore[call-arg]
        except InvalidParameterError as exc:
            names = {parameter: wire for wire, parameter in self.wire_to_parameter.items()}
            wire_name = names.get(exc.parameter, exc.parameter)
            if wire_name == exc.parameter:
                raise
            raise InvalidParameterError(wire_name, exc.problem) from None


def operation(
    name: str,
    method: str,
    path: str,
    *,
    result: Shape[S, A],
    retry: Retry,
    success_status: int = 200,
    query: tuple[str, ...] = (),
    body: tuple[str, ...] = (),
    gone_means_done: bool = False,
) -> Callable[[Callable[P, WireFields]], Operation[P, S, A]]:
    """Declare an operation from its signature function."""

    def declare(signature: Callable[P, WireFields]) -> Operation[P, S, A]:
        # The signature's parameters are the wire fields in declaration order.
        parameters = inspect.signature(signature).parameters
        wire_names = query + body
        if len(parameters) != len(wire_names):
            raise TypeError(f"{name}: {len(parameters)} parameters for wire fields {wire_names}")
        return Operation(
            name=name,
            method=method,
            path=path,
            query=query,
            body=body,
            success_status=success_status,
            result=result,
            retry=retry,
            signature=signature,
            gone_means_done=gone_means_done,
            wire_to_parameter=dict(zip(wire_names, parameters, strict=True)),
            optional=frozenset(
                wire
                for wire, parameter in zip(wire_names, parameters.values(), strict=True)
                if parameter.default is not inspect.Parameter.empty
            ),
        )

    return declare


@operation(
    "account.get", "GET", "/account", result=one(lambda: Account, lambda: Account), retry=Retry.READ
)
def get_account() -> WireFields:
    """Get your account: its balance in satoshis."""
    return {}


@operation(
    "addresses.list",
    "GET",
    "/addresses",
    result=many(lambda: Address, lambda: Address),
    retry=Retry.READ,
)
def list_addresses() -> WireFields:
    """List your active Bitcoin deposit addresses."""
    return {}


@operation(
    "addresses.create",
    "POST",
    "/addresses",
    result=one(lambda: Address, lambda: Address),
    retry=Retry.NEVER_TWICE,
    success_status=201,
)
def create_address() -> WireFields:
    """Generate a new Bitcoin deposit address for adding funds."""
    return {}


@operation(
    "groups.list",
    "GET",
    "/groups",
    result=many(lambda: Group, lambda: AsyncGroup),
    retry=Retry.READ,
    query=("type",),
)
def list_groups(group_type: GroupType) -> WireFields:
    """List the phone number groups of a type, 'mobile' or 'local', with their costs."""
    return {"type": check_group_type(group_type)}


@operation(
    "numbers.list",
    "GET",
    "/numbers",
    result=many(lambda: Number, lambda: AsyncNumber),
    retry=Retry.READ,
)
def list_numbers() -> WireFields:
    """List the numbers your account rents, with their messages."""
    return {}


@operation(
    "numbers.get",
    "GET",
    "/number",
    result=one(lambda: Number, lambda: AsyncNumber),
    retry=Retry.READ,
    query=("e164",),
)
def get_number(e164: str) -> WireFields:
    """Get one number your account rents, with its messages."""
    return {"e164": check_e164(e164)}


@operation(
    "numbers.rent",
    "POST",
    "/numbers",
    result=one(lambda: Number, lambda: AsyncNumber),
    retry=Retry.NEVER_TWICE,
    success_status=201,
    body=("group_id",),
)
def rent_number(group_id: str) -> WireFields:
    """Rent a number from a group (debits the group's setup cost)."""
    return {"group_id": check_group_id(group_id)}


@operation(
    "numbers.end_rental",
    "DELETE",
    "/number",
    result=NO_CONTENT,
    retry=Retry.IDEMPOTENT,
    success_status=204,
    query=("e164",),
    gone_means_done=True,
)
def end_rental(e164: str) -> WireFields:
    """End the rental of a number: billing stops and the number is released."""
    return {"e164": check_e164(e164)}


@operation(
    "numbers.set_sms_action",
    "PUT",
    "/number/sms_action",
    result=NO_CONTENT,
    retry=Retry.IDEMPOTENT,
    success_status=204,
    query=("e164",),
    body=("action", "destination"),
)
def set_sms_action(
    e164: str, action: SmsActionName | None, destination: str | None = None
) -> WireFields:
    """Choose what a number does with inbound SMS: forward, webhook, or None (store only)."""
    checked_action, checked_destination = check_sms_action(action, destination)
    return {"e164": check_e164(e164), "action": checked_action, "destination": checked_destination}


@operation(
    "messages.send",
    "POST",
    "/message",
    result=NO_CONTENT,
    retry=Retry.NEVER_TWICE,
    success_status=204,
    body=("from", "to", "content"),
)
def send_message(from_e164: str, to_e164: str, content: str) -> WireFields:
    """Send an SMS from a number you rent (at most 160 characters once rendered to ASCII)."""
    return {
        "from": check_e164(from_e164, "from_e164"),
        "to": check_e164(to_e164, "to_e164"),
        "content": check_content(content),
    }


OPERATIONS: tuple[Operation[Any, Any, Any], ...] = (
    get_account,
    list_addresses,
    create_address,
    list_groups,
    list_numbers,
    get_number,
    rent_number,
    end_rental,
    set_sms_action,
    send_message,
)
