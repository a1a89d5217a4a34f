"""The resource managers: `client.account`, `.addresses`, `.groups`, `.numbers`, `.messages`.

Each method is one row of the wire contract (`_contract.py`), exposed through an
`Endpoint` descriptor. The same class serves both clients: on a `Client` the
method returns the result, on an `AsyncClient` it returns a coroutine of the
async flavour of the result, and type checkers know which (the descriptor's
overloads pick by the resource's client type).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Final, Generic, ParamSpec, TypeVar, overload

from . import _contract as contract

if TYPE_CHECKING:
    from ._client import AsyncClient, BaseClient, Client

__all__ = [
    "AccountResource",
    "AddressesResource",
    "Endpoint",
    "GroupsResource",
    "MessagesResource",
    "NumbersResource",
    "Resource",
]

P = ParamSpec("P")
S = TypeVar("S")
A = TypeVar("A")
# Covariant: a resource of a `Client` subclass is a resource of a `Client`.
ClientT = TypeVar("ClientT", bound="BaseClient[Any]", covariant=True)


class Resource(Generic[ClientT]):
    """A group of related operations, bound to one client."""

    def __init__(self, client: ClientT) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"


class Endpoint(Generic[P, S, A]):
    """A resource method made from a contract operation.

    Read from a resource, it is the client's function for the operation; it caches
    itself on the resource so that later reads are plain attribute lookups.
    """

    def __init__(self, operation: contract.Operation[P, S, A]) -> None:
        self.operation = operation
        self.__doc__ = operation.signature.__doc__
        self._name = operation.name.rpartition(".")[2]

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self._name = name

    @overload
    def __get__(self, resource: None, owner: type[Any]) -> Endpoint[P, S, A]: ...

    @overload
    def __get__(self, resource: Resource[Client], owner: type[Any]) -> Callable[P, S]: ...

    @overload
    def __get__(
        self, resource: Resource[AsyncClient], owner: type[Any]
    ) -> Callable[P, Coroutine[Any, Any, A]]: ...

    def __get__(self, resource: Resource[Any] | None, owner: type[Any]) -> Any:
        if resource is None:
            return self
        method = resource._client._method(self.operation)  # pyright: ignore[reportPrivateUsage]
        resource.__dict__[self._name] = method
        return method


class AccountResource(Resource[ClientT]):
    """Your account."""

    get: Final = Endpoint(contract.get_account)


class AddressesResource(Resource[ClientT]):
    """Bitcoin deposit addresses that fund your account."""

    list: Final = Endpoint(contract.list_addresses)
    create: Final = Endpoint(contract.create_address)


class GroupsResource(Resource[ClientT]):
    """The groups of phone numbers you can rent from."""

    list: Final = Endpoint(contract.list_groups)


class NumbersResource(Resource[ClientT]):
    """The phone numbers your account rents."""

    list: Final = Endpoint(contract.list_numbers)
    get: Final = Endpoint(contract.get_number)
    rent: Final = Endpoint(contract.rent_number)
    end_rental: Final = Endpoint(contract.end_rental)
    set_sms_action: Final = Endpoint(contract.set_sms_action)


class MessagesResource(Resource[ClientT]):
    """SMS messages."""

    send: Final = Endpoint(contract.send_message)
