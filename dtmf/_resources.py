"""The resource methods of both clients and the models' actions.

GENERATED from the wire contract (`dtmf/_contract.py`) by `make generate`: do not
edit. Each method names its operation and hands it to the client's requester
(`_requester.py`); everything else about a call lives in the contract row and the
sans-I/O core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _contract as contract
from ._codes import AsyncCodeMethods, CodeMethods
from ._leaks import AsyncFindLeaks, FindLeaks
from ._reconcile import (
    AsyncReconcileMessages,
    AsyncReconcileNumber,
    ReconcileMessages,
    ReconcileNumber,
)
from ._rentals import AsyncGroupRentalMethods, AsyncRentalMethods, GroupRentalMethods, RentalMethods
from ._requester import AsyncRequester, Resource, SyncRequester

if TYPE_CHECKING:
    from ._client import AsyncClient, Client
    from ._models import Account, Address, AsyncGroup, AsyncNumber, Group, Number
    from ._validate import GroupType, SmsActionName


class AccountResource(Resource[SyncRequester]):
    """Your account and its balance (`Client.account`)."""

    __slots__ = ()

    def get(self) -> Account:
        """Get your account: its balance in satoshis.

        Raises:
            AuthenticationError: the API token is wrong or revoked.
            APIConnectionError: the service could not be reached (safe to try again).

        Example:
            ``account = client.account.get()``
        """
        return self._requester.call(contract.get_account)


class AddressesResource(Resource[SyncRequester]):
    """Bitcoin deposit addresses that fund your account (`Client.addresses`)."""

    __slots__ = ()

    def list(self) -> list[Address]:
        """List your active Bitcoin deposit addresses.

        Raises:
            AuthenticationError: the API token is wrong or revoked.
            APIConnectionError: the service could not be reached (safe to try again).

        Example:
            ``addresses = client.addresses.list()``
        """
        return self._requester.call(contract.list_addresses)

    def create(self) -> Address:
        """Generate a new Bitcoin deposit address for adding funds.

        Not retried after a failure that may have reached the service.

        Raises:
            AuthenticationError: the API token is wrong or revoked.
            APIError: the call failed; its `may_have_succeeded` says whether to check first.

        Example:
            ``address = client.addresses.create()``
        """
        return self._requester.call(contract.create_address)


class GroupsResource(Resource[SyncRequester]):
    """The groups of phone numbers you can rent from (`Client.groups`)."""

    __slots__ = ()

    def list(self, group_type: GroupType) -> list[Group]:
        """List the phone number groups of a type, 'mobile' or 'local', with their costs.

        Args:
            group_type: 'mobile' or 'local'.

        Raises:
            InvalidParameterError: `group_type` is neither (raised before any request).
            APIConnectionError: the service could not be reached (safe to try again).

        Example:
            ``groups = client.groups.list("mobile")``
        """
        return self._requester.call(contract.list_groups, group_type)


class NumbersResource(FindLeaks, RentalMethods, CodeMethods, Resource[SyncRequester]):
    """The phone numbers your account rents (`Client.numbers`)."""

    __slots__ = ()

    def list(self) -> list[Number]:
        """List the numbers your account rents, with their messages.

        Raises:
            AuthenticationError: the API token is wrong or revoked.
            APIConnectionError: the service could not be reached (safe to try again).

        Example:
            ``numbers = client.numbers.list()``
        """
        return self._requester.call(contract.list_numbers)

    def get(self, e164: str) -> Number:
        """Get one number your account rents, with its messages.

        Args:
            e164: The number in E.164 form, e.g. '+447700900001'.

        Raises:
            InvalidParameterError: `e164` is not in E.164 form (raised before any request).
            NotFoundError: your account does not rent this number.

        Example:
            ``number = client.numbers.get("+447700900001")``
        """
        return self._requester.call(contract.get_number, e164)

    def rent(self, group_id: str) -> Number:
        """Rent a number from a group (debits the group's setup cost, in satoshis).

        Never retried after a failure that may have reached the service, so one call
        never rents two numbers.

        Args:
            group_id: The id of a group from `groups.list()`, e.g. 'gb-mobile'.

        Raises:
            InvalidParameterError: `group_id` is malformed (raised before any request).
            InsufficientFundsError: the balance does not cover the setup cost.
            APIError: the call failed; its `may_have_succeeded` says whether to check first.

        Example:
            ``number = client.numbers.rent("gb-mobile")``
        """
        return self._requester.call(contract.rent_number, group_id)

    def end_rental(self, e164: str) -> None:
        """End the rental of a number: billing stops and the number is released.

        Args:
            e164: The rented number in E.164 form.

        Raises:
            InvalidParameterError: `e164` is not in E.164 form (raised before any request).
            NotFoundError: your account does not rent this number.

        Example:
            ``client.numbers.end_rental("+447700900001")``
        """
        self._requester.call(contract.end_rental, e164)

    def set_sms_action(
        self, e164: str, action: SmsActionName | None, destination: str | None = None
    ) -> None:
        """Choose what a number does with inbound SMS: forward, webhook, or None (store only).

        Args:
            e164: The rented number in E.164 form.
            action: 'forward' (to the E.164 number in `destination`), 'webhook' (POST to the
                http(s) URL in `destination`) or None (only store them).
            destination: The number or URL; None when `action` is None.

        Raises:
            InvalidParameterError: a parameter is malformed, or `destination` does not
                suit `action` (raised before any request).
            NotFoundError: your account does not rent this number.

        Example:
            ``client.numbers.set_sms_action("+447700900001", "webhook", "https://example.com/sms")``
        """
        self._requester.call(contract.set_sms_action, e164, action, destination)


class MessagesResource(ReconcileMessages, Resource[SyncRequester]):
    """Sending SMS (`Client.messages`)."""

    __slots__ = ()

    def send(self, from_e164: str, to_e164: str, content: str) -> None:
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

        Example:
            ``client.messages.send("+447700900001", "+447700900999", "Hello")``
        """
        self._requester.call(contract.send_message, from_e164, to_e164, content)


class AsyncAccountResource(Resource[AsyncRequester]):
    """Your account and its balance (`AsyncClient.account`)."""

    __slots__ = ()

    async def get(self) -> Account:
        """Get your account: its balance in satoshis.

        Raises:
            AuthenticationError: the API token is wrong or revoked.
            APIConnectionError: the service could not be reached (safe to try again).

        Example:
            ``account = await client.account.get()``
        """
        return await self._requester.call(contract.get_account)


class AsyncAddressesResource(Resource[AsyncRequester]):
    """Bitcoin deposit addresses that fund your account (`AsyncClient.addresses`)."""

    __slots__ = ()

    async def list(self) -> list[Address]:
        """List your active Bitcoin deposit addresses.

        Raises:
            AuthenticationError: the API token is wrong or revoked.
            APIConnectionError: the service could not be reached (safe to try again).

        Example:
            ``addresses = await client.addresses.list()``
        """
        return await self._requester.call(contract.list_addresses)

    async def create(self) -> Address:
        """Generate a new Bitcoin deposit address for adding funds.

        Not retried after a failure that may have reached the service.

        Raises:
            AuthenticationError: the API token is wrong or revoked.
            APIError: the call failed; its `may_have_succeeded` says whether to check first.

        Example:
            ``address = await client.addresses.create()``
        """
        return await self._requester.call(contract.create_address)


class AsyncGroupsResource(Resource[AsyncRequester]):
    """The groups of phone numbers you can rent from (`AsyncClient.groups`)."""

    __slots__ = ()

    async def list(self, group_type: GroupType) -> list[AsyncGroup]:
        """List the phone number groups of a type, 'mobile' or 'local', with their costs.

        Args:
            group_type: 'mobile' or 'local'.

        Raises:
            InvalidParameterError: `group_type` is neither (raised before any request).
            APIConnectionError: the service could not be reached (safe to try again).

        Example:
            ``groups = await client.groups.list("mobile")``
        """
        return await self._requester.call(contract.list_groups, group_type)


class AsyncNumbersResource(
    AsyncFindLeaks, AsyncRentalMethods, AsyncCodeMethods, Resource[AsyncRequester]
):
    """The phone numbers your account rents (`AsyncClient.numbers`)."""

    __slots__ = ()

    async def list(self) -> list[AsyncNumber]:
        """List the numbers your account rents, with their messages.

        Raises:
            AuthenticationError: the API token is wrong or revoked.
            APIConnectionError: the service could not be reached (safe to try again).

        Example:
            ``numbers = await client.numbers.list()``
        """
        return await self._requester.call(contract.list_numbers)

    async def get(self, e164: str) -> AsyncNumber:
        """Get one number your account rents, with its messages.

        Args:
            e164: The number in E.164 form, e.g. '+447700900001'.

        Raises:
            InvalidParameterError: `e164` is not in E.164 form (raised before any request).
            NotFoundError: your account does not rent this number.

        Example:
            ``number = await client.numbers.get("+447700900001")``
        """
        return await self._requester.call(contract.get_number, e164)

    async def rent(self, group_id: str) -> AsyncNumber:
        """Rent a number from a group (debits the group's setup cost, in satoshis).

        Never retried after a failure that may have reached the service, so one call
        never rents two numbers.

        Args:
            group_id: The id of a group from `groups.list()`, e.g. 'gb-mobile'.

        Raises:
            InvalidParameterError: `group_id` is malformed (raised before any request).
            InsufficientFundsError: the balance does not cover the setup cost.
            APIError: the call failed; its `may_have_succeeded` says whether to check first.

        Example:
            ``number = await client.numbers.rent("gb-mobile")``
        """
        return await self._requester.call(contract.rent_number, group_id)

    async def end_rental(self, e164: str) -> None:
        """End the rental of a number: billing stops and the number is released.

        Args:
            e164: The rented number in E.164 form.

        Raises:
            InvalidParameterError: `e164` is not in E.164 form (raised before any request).
            NotFoundError: your account does not rent this number.

        Example:
            ``await client.numbers.end_rental("+447700900001")``
        """
        await self._requester.call(contract.end_rental, e164)

    async def set_sms_action(
        self, e164: str, action: SmsActionName | None, destination: str | None = None
    ) -> None:
        """Choose what a number does with inbound SMS: forward, webhook, or None (store only).

        Args:
            e164: The rented number in E.164 form.
            action: 'forward' (to the E.164 number in `destination`), 'webhook' (POST to the
                http(s) URL in `destination`) or None (only store them).
            destination: The number or URL; None when `action` is None.

        Raises:
            InvalidParameterError: a parameter is malformed, or `destination` does not
                suit `action` (raised before any request).
            NotFoundError: your account does not rent this number.

        Example:
            ``await client.numbers.set_sms_action("+447700900001", "webhook", "https://example.com/sms")``
        """
        await self._requester.call(contract.set_sms_action, e164, action, destination)


class AsyncMessagesResource(AsyncReconcileMessages, Resource[AsyncRequester]):
    """Sending SMS (`AsyncClient.messages`)."""

    __slots__ = ()

    async def send(self, from_e164: str, to_e164: str, content: str) -> None:
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

        Example:
            ``await client.messages.send("+447700900001", "+447700900999", "Hello")``
        """
        await self._requester.call(contract.send_message, from_e164, to_e164, content)


class GroupActions(GroupRentalMethods):
    """The actions of `Group`, run through the Client that returned it."""

    __slots__ = ()

    if TYPE_CHECKING:
        id: str

        def _client(self) -> Client: ...

    def rent(self) -> Number:
        """Rent a number from this group (debits `setup_cost`).

        Never retried after a failure that may have reached the service, so one call
        never rents two numbers.

        Raises:
            InsufficientFundsError: the balance does not cover the setup cost.
            APIError: the call failed; its `may_have_succeeded` says whether to check first.

        Example:
            ``number = group.rent()``
        """
        return self._client().numbers.rent(self.id)


class NumberActions(ReconcileNumber):
    """The actions of `Number`, run through the Client that returned it."""

    __slots__ = ()

    if TYPE_CHECKING:
        e164: str

        def _client(self) -> Client: ...

    def refresh(self) -> Number:
        """Fetch this number again: its settings and messages.

        Raises:
            NotFoundError: your account does not rent this number.

        Example:
            ``number = number.refresh()``
        """
        return self._client().numbers.get(self.e164)

    def end_rental(self) -> None:
        """End this rental: billing stops and the number is released.

        Raises:
            NotFoundError: your account does not rent this number.

        Example:
            ``number.end_rental()``
        """
        self._client().numbers.end_rental(self.e164)

    def set_sms_action(self, action: SmsActionName | None, destination: str | None = None) -> None:
        """Forward inbound SMS to a number, POST them to a webhook, or (None) only store them.

        Args:
            action: 'forward' (to the E.164 number in `destination`), 'webhook' (POST to the
                http(s) URL in `destination`) or None (only store them).
            destination: The number or URL; None when `action` is None.

        Raises:
            InvalidParameterError: a parameter is malformed, or `destination` does not
                suit `action` (raised before any request).
            NotFoundError: your account does not rent this number.

        Example:
            ``number.set_sms_action("webhook", "https://example.com/sms")``
        """
        self._client().numbers.set_sms_action(self.e164, action, destination)


class AsyncGroupActions(AsyncGroupRentalMethods):
    """The actions of `AsyncGroup`, run through the AsyncClient that returned it."""

    __slots__ = ()

    if TYPE_CHECKING:
        id: str

        def _client(self) -> AsyncClient: ...

    async def rent(self) -> AsyncNumber:
        """Rent a number from this group (debits `setup_cost`).

        Never retried after a failure that may have reached the service, so one call
        never rents two numbers.

        Raises:
            InsufficientFundsError: the balance does not cover the setup cost.
            APIError: the call failed; its `may_have_succeeded` says whether to check first.

        Example:
            ``number = await group.rent()``
        """
        return await self._client().numbers.rent(self.id)


class AsyncNumberActions(AsyncReconcileNumber):
    """The actions of `AsyncNumber`, run through the AsyncClient that returned it."""

    __slots__ = ()

    if TYPE_CHECKING:
        e164: str

        def _client(self) -> AsyncClient: ...

    async def refresh(self) -> AsyncNumber:
        """Fetch this number again: its settings and messages.

        Raises:
            NotFoundError: your account does not rent this number.

        Example:
            ``number = await number.refresh()``
        """
        return await self._client().numbers.get(self.e164)

    async def end_rental(self) -> None:
        """End this rental: billing stops and the number is released.

        Raises:
            NotFoundError: your account does not rent this number.

        Example:
            ``await number.end_rental()``
        """
        await self._client().numbers.end_rental(self.e164)

    async def set_sms_action(
        self, action: SmsActionName | None, destination: str | None = None
    ) -> None:
        """Forward inbound SMS to a number, POST them to a webhook, or (None) only store them.

        Args:
            action: 'forward' (to the E.164 number in `destination`), 'webhook' (POST to the
                http(s) URL in `destination`) or None (only store them).
            destination: The number or URL; None when `action` is None.

        Raises:
            InvalidParameterError: a parameter is malformed, or `destination` does not
                suit `action` (raised before any request).
            NotFoundError: your account does not rent this number.

        Example:
            ``await number.set_sms_action("webhook", "https://example.com/sms")``
        """
        await self._client().numbers.set_sms_action(self.e164, action, destination)


SYNC_RESOURCES: dict[str, type[Resource[Any]]] = {
    "account": AccountResource,
    "addresses": AddressesResource,
    "groups": GroupsResource,
    "numbers": NumbersResource,
    "messages": MessagesResource,
}
"""The resources of a Client, by attribute."""


ASYNC_RESOURCES: dict[str, type[Resource[Any]]] = {
    "account": AsyncAccountResource,
    "addresses": AsyncAddressesResource,
    "groups": AsyncGroupsResource,
    "numbers": AsyncNumbersResource,
    "messages": AsyncMessagesResource,
}
"""The resources of a AsyncClient, by attribute."""
