"""The wire contract: every operation of the DTMF.io API, in one table.

Each operation names its HTTP method and path (relative to the base URL, e.g.
``https://dtmf.io/api/v1``), which of its fields travel in the query string and
which in the JSON body, what a successful response holds, and whether it may be
retried. Its signature function validates the caller's arguments and returns
the wire fields.

Everything else reads this table: the resource methods of `Client` and
`AsyncClient` and the model actions (`number.end_rental()`) are generated from it
into `_resources.py` (`make generate`), with the signature function's docstring;
`DTMF` calls those methods; and the reference server in `dtmf.testing` routes
requests by the same method and path and validates their fields by calling the
same signature function. What varies per operation for error messages (the field
a call is about, what to check after a failure that may have happened) is in the
row too, so the request core never asks for an operation by name.

Seven paths are corroborated by the live service's page and a public third-party
client (see the README's wire contract section); the deposit-address operations
and the SMS action are this project's choice. Someone who learns a real path
corrects it here and nowhere else.
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

__all__ = ["OPERATIONS", "Action", "Operation", "Retry", "Shape", "WireFields"]

if TYPE_CHECKING:
    from ._models import Account, Address, AsyncGroup, AsyncNumber, Group, Number
else:
    # At run time the table names its models, which load with the first parser that
    # needs them: pydantic's model machinery stays out of `import dtmf`. Type
    # checkers see the classes, so each row knows what it returns.
    Account, Address, AsyncGroup, AsyncNumber, Group, Number = (
        "Account",
        "Address",
        "AsyncGroup",
        "AsyncNumber",
        "Group",
        "Number",
    )

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

    It names the models (`sync_model`, `async_model`: names in `_models.py`) and
    whether the body is one object or a JSON array of them. `parse_sync` and
    `parse_async` turn the body into the result a `Client` or an `AsyncClient`
    returns; their models differ only in how their actions run. Each parser is
    built on first use, once (building one costs milliseconds: doing it for every
    operation would slow `import dtmf`); afterwards reading it is a plain
    attribute lookup.
    """

    def __init__(
        self, sync_model: str | None, async_model: str | None, *, is_list: bool = False
    ) -> None:
        self.sync_model = sync_model
        self.async_model = async_model
        self.is_list = is_list

    @property
    def has_body(self) -> bool:
        """Whether a successful response carries a body to read."""
        return self.sync_model is not None

    def annotation(self, *, asynchronous: bool) -> str:
        """The result's type as written in code: 'Number', 'list[AsyncGroup]', 'None'."""
        name = self.async_model if asynchronous else self.sync_model
        if name is None:
            return "None"
        return f"list[{name}]" if self.is_list else name

    def model(self, *, asynchronous: bool = False) -> type[Any] | None:
        """The model class of the result (of each item of a list), None for no content."""
        name = self.async_model if asynchronous else self.sync_model
        if name is None:
            return None
        from . import _models  # pyright: ignore[reportPrivateUsage]

        model: type[Any] = getattr(_models, name)
        return model

    @cached_property
    def parse_sync(self) -> Callable[[bytes], S]:
        """The body as a `Client`'s result."""
        return self._parser(asynchronous=False)

    @cached_property
    def parse_async(self) -> Callable[[bytes], A]:
        """The body as an `AsyncClient`'s result."""
        return self._parser(asynchronous=True)

    def _parser(self, *, asynchronous: bool) -> Callable[[bytes], Any]:
        model = self.model(asynchronous=asynchronous)
        if model is None:
            return _nothing
        from pydantic import TypeAdapter

        return TypeAdapter(list[model] if self.is_list else model).validate_json  # type: ignore[valid-type]


def _nothing(content: bytes) -> None:
    return None


# The type parameters only tell type checkers what each operation returns; the
# models themselves are named by string and loaded on first use, so that pydantic's
# model machinery stays out of `import dtmf`.
NO_CONTENT: Shape[None, None] = Shape(None, None)


def _name(model: type[Any] | str) -> str:
    return model if isinstance(model, str) else model.__name__


def one(sync_model: type[M], async_model: type[AM]) -> Shape[M, AM]:
    """A response holding one object: the model a `Client` returns, and an `AsyncClient`'s."""
    return Shape(_name(sync_model), _name(async_model))


def many(sync_model: type[M], async_model: type[AM]) -> Shape[list[M], list[AM]]:
    """A response holding a JSON array of objects of these models."""
    return Shape(_name(sync_model), _name(async_model), is_list=True)


@dataclass(frozen=True)
class Action:
    """An operation offered as a method of the models it returns (`number.end_rental()`).

    The operation's first parameter is filled from the model's field `model_field`; the
    others are the method's parameters, renamed by `renames`.
    """

    model: str
    """The sync model's name; the async flavour gets the same method as a coroutine."""
    method: str
    model_field: str
    summary: str
    """The method's first docstring line."""
    renames: Mapping[str, str] = field(default_factory=dict[str, str])


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
    example: str
    """The arguments of the documented one-line example call."""
    subject: str | None = None
    """The wire field naming what a call is about, for error messages ('e164')."""
    if_unsure: str = "It is safe to try again."
    """What to check after a failure that may have happened, with wire fields as {name}."""
    gone_means_done: bool = False
    """After an ambiguous failure, a 404 on the retry means the first attempt worked."""
    corroborated_by: str | None = None
    """The independent source that shows this method and path; None: this project's choice."""
    actions: tuple[Action, ...] = ()
    """The model methods that call this operation."""
    wire_to_parameter: Mapping[str, str] = field(default_factory=dict[str, str])
    optional: frozenset[str] = frozenset()
    """Wire fields that may be left out (their parameter has a default)."""

    @property
    def resource(self) -> str:
        """The client attribute holding the method: 'numbers'."""
        return self.name.partition(".")[0]

    @property
    def method_name(self) -> str:
        """The resource method: 'get'."""
        return self.name.partition(".")[2]

    @property
    def summary(self) -> str:
        """The first line of the signature function's docstring."""
        return (self.signature.__doc__ or self.name).strip().splitlines()[0]

    def describe_call(self, wire: WireFields) -> str:
        """The call as error messages name it: 'numbers.get(e164=+447700900001)'."""
        if self.subject is None or self.subject not in wire:
            return self.name
        return f"{self.name}({self.subject}={wire[self.subject]})"

    def advice_if_unsure(self, wire: WireFields) -> str:
        """What to check before trying again after a failure that may have happened."""
        return self.if_unsure.format_map(wire)

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
    example: str = "",
    success_status: int = 200,
    query: tuple[str, ...] = (),
    body: tuple[str, ...] = (),
    subject: str | None = None,
    if_unsure: str = "It is safe to try again.",
    gone_means_done: bool = False,
    corroborated_by: str | None = None,
    actions: tuple[Action, ...] = (),
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
            example=example,
            subject=subject,
            if_unsure=if_unsure,
            gone_means_done=gone_means_done,
            corroborated_by=corroborated_by,
            actions=actions,
            wire_to_parameter=dict(zip(wire_names, parameters, strict=True)),
            optional=frozenset(
                wire
                for wire, parameter in zip(wire_names, parameters.values(), strict=True)
                if parameter.default is not inspect.Parameter.empty
            ),
        )

    return declare


# The sources that corroborate a method and path (see the README's wire contract section).
THIRD_PARTY = "a public third-party shell client of the live API"
PAGE_AND_THIRD_PARTY = "the live service's API page and a public third-party shell client"


@operation(
    "account.get",
    "GET",
    "/account",
    result=one(Account, Account),
    retry=Retry.READ,
    corroborated_by=THIRD_PARTY,
)
def get_account() -> WireFields:
    """Get your account: its balance in satoshis.

    Raises:
        AuthenticationError: the API token is wrong or revoked.
        APIConnectionError: the service could not be reached (safe to try again).
    """
    return {}


@operation("addresses.list", "GET", "/addresses", result=many(Address, Address), retry=Retry.READ)
def list_addresses() -> WireFields:
    """List your active Bitcoin deposit addresses.

    Raises:
        AuthenticationError: the API token is wrong or revoked.
        APIConnectionError: the service could not be reached (safe to try again).
    """
    return {}


@operation(
    "addresses.create",
    "POST",
    "/addresses",
    result=one(Address, Address),
    retry=Retry.NEVER_TWICE,
    success_status=201,
    if_unsure="An address may or may not have been created: check client.addresses.list().",
)
def create_address() -> WireFields:
    """Generate a new Bitcoin deposit address for adding funds.

    Not retried after a failure that may have reached the service.

    Raises:
        AuthenticationError: the API token is wrong or revoked.
        APIError: the call failed; its `may_have_succeeded` says whether to check first.
    """
    return {}


@operation(
    "groups.list",
    "GET",
    "/groups",
    result=many(Group, AsyncGroup),
    retry=Retry.READ,
    query=("type",),
    subject="type",
    example='"mobile"',
    corroborated_by=THIRD_PARTY,
)
def list_groups(group_type: GroupType) -> WireFields:
    """List the phone number groups of a type, 'mobile' or 'local', with their costs.

    Args:
        group_type: 'mobile' or 'local'.

    Raises:
        InvalidParameterError: `group_type` is neither (raised before any request).
        APIConnectionError: the service could not be reached (safe to try again).
    """
    return {"type": check_group_type(group_type)}


@operation(
    "numbers.list",
    "GET",
    "/numbers",
    result=many(Number, AsyncNumber),
    retry=Retry.READ,
    corroborated_by=THIRD_PARTY,
)
def list_numbers() -> WireFields:
    """List the numbers your account rents, with their messages.

    Raises:
        AuthenticationError: the API token is wrong or revoked.
        APIConnectionError: the service could not be reached (safe to try again).
    """
    return {}


@operation(
    "numbers.get",
    "GET",
    "/number",
    result=one(Number, AsyncNumber),
    retry=Retry.READ,
    query=("e164",),
    subject="e164",
    example='"+447700900001"',
    actions=(
        Action("Number", "refresh", "e164", "Fetch this number again: its settings and messages."),
    ),
    corroborated_by=PAGE_AND_THIRD_PARTY,
)
def get_number(e164: str) -> WireFields:
    """Get one number your account rents, with its messages.

    Args:
        e164: The number in E.164 form, e.g. '+447700900001'.

    Raises:
        InvalidParameterError: `e164` is not in E.164 form (raised before any request).
        NotFoundError: your account does not rent this number.
    """
    return {"e164": check_e164(e164)}


@operation(
    "numbers.rent",
    "POST",
    "/numbers",
    result=one(Number, AsyncNumber),
    retry=Retry.NEVER_TWICE,
    success_status=201,
    body=("group_id",),
    subject="group_id",
    if_unsure=(
        "A number may or may not have been rented: check client.numbers.list() "
        "before renting again."
    ),
    example='"gb-mobile"',
    actions=(
        Action("Group", "rent", "id", "Rent a number from this group (debits `setup_cost`)."),
    ),
    corroborated_by=THIRD_PARTY,
)
def rent_number(group_id: str) -> WireFields:
    """Rent a number from a group (debits the group's setup cost, in satoshis).

    Never retried after a failure that may have reached the service, so one call
    never rents two numbers.

    Args:
        group_id: The id of a group from `groups.list()`, e.g. 'gb-mobile'.

    Raises:
        InvalidParameterError: `group_id` is malformed (raised before any request).
        InsufficientFundsError: the balance does not cover the setup cost.
        APIError: the call failed; its `may_have_succeeded` says whether to check first.
    """
    return {"group_id": check_group_id(group_id)}


@operation(
    "numbers.end_rental",
    "DELETE",
    "/number",
    result=NO_CONTENT,
    retry=Retry.IDEMPOTENT,
    success_status=204,
    query=("e164",),
    subject="e164",
    gone_means_done=True,
    example='"+447700900001"',
    actions=(
        Action(
            "Number",
            "end_rental",
            "e164",
            "End this rental: billing stops and the number is released.",
        ),
    ),
    corroborated_by=THIRD_PARTY,
)
def end_rental(e164: str) -> WireFields:
    """End the rental of a number: billing stops and the number is released.

    Args:
        e164: The rented number in E.164 form.

    Raises:
        InvalidParameterError: `e164` is not in E.164 form (raised before any request).
        NotFoundError: your account does not rent this number.
    """
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
    subject="e164",
    example='"+447700900001", "webhook", "https://example.com/sms"',
    actions=(
        Action(
            "Number",
            "set_sms_action",
            "e164",
            "Forward inbound SMS to a number, POST them to a webhook, or (None) only store them.",
        ),
    ),
)
def set_sms_action(
    e164: str, action: SmsActionName | None, destination: str | None = None
) -> WireFields:
    """Choose what a number does with inbound SMS: forward, webhook, or None (store only).

    Args:
        e164: The rented number in E.164 form.
        action: 'forward' (to the E.164 number in `destination`), 'webhook' (POST
            to the http(s) URL in `destination`) or None (only store them).
        destination: The number or URL; None when `action` is None.

    Raises:
        InvalidParameterError: a parameter is malformed, or `destination` does not
            suit `action` (raised before any request).
        NotFoundError: your account does not rent this number.
    """
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
    subject="from",
    if_unsure=(
        "The SMS may or may not have been sent: check the messages of {from} "
        "(client.numbers.get(...).messages) before sending it again."
    ),
    example='"+447700900001", "+447700900999", "Hello"',
    actions=(
        Action(
            "Number",
            "send_sms",
            "e164",
            "Send an SMS from this number (at most 160 characters once rendered to ASCII).",
            renames={"to_e164": "to"},
        ),
    ),
    corroborated_by=PAGE_AND_THIRD_PARTY,
)
def send_message(from_e164: str, to_e164: str, content: str) -> WireFields:
    """Send an SMS from a number you rent (at most 160 characters once rendered to ASCII).

    Never retried after a failure that may have reached the service, so one call
    never sends the SMS twice.

    Args:
        from_e164: The number you rent that sends it, in E.164 form.
        to_e164: The recipient, in E.164 form.
        content: The text; non-ASCII characters are transliterated to ASCII.

    Raises:
        InvalidParameterError: a number is not E.164, or the content is too long
            (raised before any request).
        APIError: the call failed; its `may_have_succeeded` says whether to check first.
    """
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
